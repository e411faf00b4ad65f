//! Phone-number parsing: any string is a number or a refusal, never a panic; an accepted
//! number is E.164 and parses back to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mobileid::domain::Msisdn;

fuzz_target!(|input: &str| {
    if let Ok(m) = Msisdn::parse(input) {
        let e164 = m.e164();
        assert!(e164.starts_with('+') && e164.len() <= 16, "{e164}");
        assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
        assert_eq!(m.digits(), &e164[1..]);
        assert_eq!(m.region().len(), 2, "{}", m.region());
        assert!(e164.starts_with(m.prefix()));
        assert_eq!(
            Msisdn::parse(e164).as_ref(),
            Ok(&m),
            "{e164} does not re-parse to itself"
        );
    }
});
