//! Mobile network identifiers: MCC (country) and MNC (network).

use std::fmt;

/// A Mobile Country Code: exactly three ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mcc(String);

impl Mcc {
    pub fn parse(input: &str) -> Option<Self> {
        (input.len() == 3 && input.bytes().all(|b| b.is_ascii_digit())).then(|| Mcc(input.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Mobile Network Code: two or three ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mnc(String);

impl Mnc {
    pub fn parse(input: &str) -> Option<Self> {
        ((2..=3).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Mnc(input.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcc_is_three_digits() {
        assert_eq!(Mcc::parse("208").unwrap().as_str(), "208");
        for bad in ["", "20", "2080", "2a8", " 20", "２０８"] {
            assert!(Mcc::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn mnc_is_two_or_three_digits() {
        assert!(Mnc::parse("07").is_some());
        assert!(Mnc::parse("260").is_some());
        for bad in ["", "7", "2600", "0x"] {
            assert!(Mnc::parse(bad).is_none(), "{bad:?} accepted");
        }
    }
}
