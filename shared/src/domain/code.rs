//! Verification codes: 6 uniform decimal digits (typed by a person) or 32 hex characters (read
//! by the client app from the SMS).

use std::fmt;

use crate::random::{Randomness, random_array, uniform_below};

const SHORT_LEN: usize = 6;
const LONG_BYTES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    Short,
    Long,
}

/// A well-formed verification code (not yet known to be right).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode {
    kind: CodeKind,
    text: String,
}

impl VerificationCode {
    /// Six digits, each of the 10^6 values equally likely (the original's were biased).
    pub fn generate_short(rng: &dyn Randomness) -> Self {
        let n = uniform_below(rng, 1_000_000);
        VerificationCode {
            kind: CodeKind::Short,
            text: format!("{n:06}"),
        }
    }

    /// 128 random bits as 32 lowercase hex characters.
    pub fn generate_long(rng: &dyn Randomness) -> Self {
        VerificationCode {
            kind: CodeKind::Long,
            text: hex::encode(random_array::<LONG_BYTES>(rng)),
        }
    }

    pub fn generate(kind: CodeKind, rng: &dyn Randomness) -> Self {
        match kind {
            CodeKind::Short => Self::generate_short(rng),
            CodeKind::Long => Self::generate_long(rng),
        }
    }

    /// Accepts 6 digits or 32 hex characters (hex in either case; codes are issued lowercase).
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() == SHORT_LEN && input.bytes().all(|b| b.is_ascii_digit()) {
            Some(VerificationCode {
                kind: CodeKind::Short,
                text: input.to_owned(),
            })
        } else if input.len() == 2 * LONG_BYTES && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(VerificationCode {
                kind: CodeKind::Long,
                text: input.to_ascii_lowercase(),
            })
        } else {
            None
        }
    }

    pub fn kind(&self) -> CodeKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerificationCode({:?}, redacted)", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandomness;

    #[test]
    fn generated_codes_have_their_shape() {
        for _ in 0..200 {
            let short = VerificationCode::generate_short(&OsRandomness);
            assert_eq!(short.as_str().len(), 6);
            assert!(short.as_str().bytes().all(|b| b.is_ascii_digit()));
            let long = VerificationCode::generate_long(&OsRandomness);
            assert_eq!(long.as_str().len(), 32);
            assert_eq!(VerificationCode::parse(long.as_str()), Some(long));
        }
    }

    #[test]
    fn parse_accepts_only_the_two_shapes() {
        assert_eq!(
            VerificationCode::parse("000123").unwrap().kind(),
            CodeKind::Short
        );
        let long = VerificationCode::parse("ABCDEF0123456789abcdef0123456789").unwrap();
        assert_eq!(long.as_str(), "abcdef0123456789abcdef0123456789");
        for bad in [
            "12345",
            "1234567",
            "12a456",
            "123456789",
            "",
            "g".repeat(32).as_str(),
        ] {
            assert!(VerificationCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn short_codes_keep_leading_zeros() {
        struct Zero;
        impl Randomness for Zero {
            fn fill(&self, buf: &mut [u8]) {
                buf.iter_mut().for_each(|b| *b = 0);
            }
        }
        assert_eq!(VerificationCode::generate_short(&Zero).as_str(), "000000");
    }
}
