//! `Accept-Language` negotiation: any header value picks a supported language (English when
//! nothing matches), never panics; and the short-code text starts with the code.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mobileid::domain::VerificationCode;
use mobileid::sms::text::{Autofill, code_in, code_text, negotiate, supported_languages};

fuzz_target!(|input: &str| {
    let lang = negotiate(Some(input));
    assert!(supported_languages().contains(&lang), "{lang}");
    let code = VerificationCode::parse("042917").expect("six digits");
    let text = code_text(&code, Some(input), Autofill::default());
    assert_eq!(code_in(&text), Some("042917"), "{text}");
});
