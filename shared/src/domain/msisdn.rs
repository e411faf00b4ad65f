//! Phone numbers (MSISDN), parsed with libphonenumber's metadata to E.164.

use std::fmt;

use phonenumber::Type;
use phonenumber::metadata::DATABASE;

/// Longest input we hand to the parser (libphonenumber itself caps at 250; numbers are ≤ 16).
const MAX_INPUT_LEN: usize = 32;

/// A valid, SMS-capable phone number in E.164 form (`+` and digits).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Msisdn {
    e164: String,
    region: String,
}

/// Why a number was refused: each rule says its name, so the API can tell the client which one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsisdnError {
    #[error("the number must be in international format, starting with +")]
    NotInternational,
    #[error("the number is not a valid phone number")]
    Invalid,
    #[error("the number is a {0} number, which cannot receive verification SMS")]
    NotMobile(&'static str),
}

impl Msisdn {
    /// Parses an international number (`+33 6 12 34 56 78`, `+33612345678`) and keeps it only
    /// if its type can receive SMS (mobile, or fixed-line-or-mobile where the plan can't tell).
    pub fn parse(input: &str) -> Result<Self, MsisdnError> {
        let trimmed = input.trim();
        if trimmed.len() > MAX_INPUT_LEN || !trimmed.starts_with('+') {
            return Err(MsisdnError::NotInternational);
        }
        // Only digits and the usual visual separators; anything else (letters, extensions) is out.
        if !trimmed[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        {
            return Err(MsisdnError::Invalid);
        }
        // The separators carry nothing in an international number, and libphonenumber misreads
        // some placements (`+336-40-00-00-00` was refused while `+33 6 40 00 00 00` was not).
        let compact: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let number =
            phonenumber::parse(None, format!("+{compact}")).map_err(|_| MsisdnError::Invalid)?;
        if !number.is_valid() {
            return Err(MsisdnError::Invalid);
        }
        match number.number_type(&DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            other => return Err(MsisdnError::NotMobile(type_name(other))),
        }
        let region = number
            .country()
            .id()
            .map(|id| id.as_ref().to_owned())
            .ok_or(MsisdnError::Invalid)?;
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Msisdn { e164, region })
    }

    /// `+33612345678`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The number without its `+`, as SMS gateways write it (`33612345678`).
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }

    /// ISO 3166-1 alpha-2 region of the number (`FR`).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The number without its last four digits: the unit SMS-pumping fraud works in.
    pub fn prefix(&self) -> &str {
        &self.e164[..self.e164.len().saturating_sub(4)]
    }
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::FixedLine => "fixed-line",
        Type::TollFree => "toll-free",
        Type::PremiumRate => "premium-rate",
        Type::SharedCost => "shared-cost",
        Type::PersonalNumber => "personal",
        Type::Voip => "VoIP",
        Type::Pager => "pager",
        Type::Uan => "universal access",
        Type::Emergency => "emergency",
        Type::Voicemail => "voicemail",
        Type::ShortCode => "short-code",
        _ => "unknown-type",
    }
}

/// Never print a number in full by accident (logs, panics): Debug shows the region only.
impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({}, redacted)", self.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_mobile_parses_to_e164() {
        let m = Msisdn::parse("+33 6 23 45 67 89").unwrap();
        assert_eq!(m.e164(), "+33623456789");
        assert_eq!(m.digits(), "33623456789");
        assert_eq!(m.region(), "FR");
        assert_eq!(m.prefix(), "+3362345");
    }

    #[test]
    fn us_numbers_are_fixed_line_or_mobile_and_accepted() {
        let m = Msisdn::parse("+14155552671").unwrap();
        assert_eq!(m.region(), "US");
    }

    #[test]
    fn national_formats_are_refused() {
        assert_eq!(
            Msisdn::parse("0623456789"),
            Err(MsisdnError::NotInternational)
        );
        assert_eq!(
            Msisdn::parse("0123456789"),
            Err(MsisdnError::NotInternational)
        );
    }

    #[test]
    fn invalid_and_non_mobile_numbers_are_refused_with_their_rule() {
        assert_eq!(Msisdn::parse("+1 555 0100"), Err(MsisdnError::Invalid));
        assert_eq!(Msisdn::parse("+33abc"), Err(MsisdnError::Invalid));
        // A Paris fixed line.
        assert_eq!(
            Msisdn::parse("+33140205050"),
            Err(MsisdnError::NotMobile("fixed-line"))
        );
        // French premium-rate (08 9x).
        assert_eq!(
            Msisdn::parse("+33899123456"),
            Err(MsisdnError::NotMobile("premium-rate"))
        );
        // French toll-free (0800).
        assert_eq!(
            Msisdn::parse("+33800123456"),
            Err(MsisdnError::NotMobile("toll-free"))
        );
    }

    #[test]
    fn debug_never_prints_the_number() {
        let m = Msisdn::parse("+33623456789").unwrap();
        assert!(!format!("{m:?}").contains("623456789"));
    }
}
