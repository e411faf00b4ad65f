//! `Accept-Language` negotiation: any header value picks a supported language (English when
//! nothing matches), never panics; and the short-code text carries the code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mobileid::sms::text::{negotiate, short_code_text, supported_languages};

fuzz_target!(|input: &str| {
    let lang = negotiate(Some(input));
    assert!(supported_languages().contains(&lang), "{lang}");
    assert!(short_code_text("042917", Some(input)).contains("042917"));
});
