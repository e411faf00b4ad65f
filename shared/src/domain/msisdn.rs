//! Phone numbers (MSISDN), parsed with libphonenumber's metadata to E.164.
//!
//! Two metadata sets: the territories the stage tables serve (`shared/data/phone-metadata.xml`,
//! written by `infra/numbering/subset.py`), judged by [`served`] at a small fraction of the
//! phonenumber crate's first-use cost, and the crate's whole world, which costs tens of
//! milliseconds to build and would otherwise land on the first request of every Lambda cold
//! start. A number the served set accepts is accepted with the same answer the whole world
//! gives (its territory is in the set); any other goes to the whole world, built only then,
//! so every answer stays exact.

mod served;

use std::fmt;

use phonenumber::metadata::{DATABASE, Database};
use phonenumber::{PhoneNumber, Type};

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
        let international = format!(
            "+{}",
            trimmed
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        );
        match served::judge(&international).flatten() {
            Some(found) => found.into_msisdn(),
            None => valid_in(&DATABASE, &international)
                .ok_or(MsisdnError::Invalid)?
                .into_msisdn(),
        }
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

    /// What a session seals of its number (`+33612345678 FR`): the number and its region as
    /// [`Msisdn::parse`] found them, so that reading it back parses nothing. Parsing again a
    /// number this service already checked would build its territory's metadata and compile
    /// its patterns on the first request of every verify-code and sign-certificate instance.
    pub fn to_sealed_form(&self) -> String {
        format!("{} {}", self.e164, self.region)
    }

    /// The inverse of [`Msisdn::to_sealed_form`], for text this service sealed (authenticated
    /// encryption under its own key: nobody else can make it). A session sealed before the
    /// region was (the bare E.164) is parsed as before.
    pub fn from_sealed_form(text: &str) -> Result<Self, MsisdnError> {
        match text.split_once(' ') {
            Some((e164, region))
                if e164.len() > 1
                    && e164.starts_with('+')
                    && e164[1..].bytes().all(|b| b.is_ascii_digit())
                    && region.len() == 2
                    && region.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                Ok(Msisdn {
                    e164: e164.to_owned(),
                    region: region.to_owned(),
                })
            }
            Some(_) => Err(MsisdnError::Invalid),
            None => Msisdn::parse(text),
        }
    }
}

/// A number valid in one metadata set, with what that set says of it.
#[derive(Debug, PartialEq)]
struct Found {
    e164: String,
    region: String,
    kind: Type,
}

impl Found {
    fn into_msisdn(self) -> Result<Msisdn, MsisdnError> {
        match self.kind {
            Type::Mobile | Type::FixedLineOrMobile => Ok(Msisdn {
                e164: self.e164,
                region: self.region,
            }),
            other => Err(MsisdnError::NotMobile(type_name(other))),
        }
    }
}

/// The number as `db` reads it, if `db` holds a territory it is valid in.
fn valid_in(db: &Database, international: &str) -> Option<Found> {
    let number: PhoneNumber = phonenumber::parse_with(db, None, international).ok()?;
    if !number.is_valid_with(db) {
        return None;
    }
    // A region is an ISO 3166 code; libphonenumber's "001" (international networks such as
    // +881 or +882) is no country a stage can serve: not a number we take.
    let region = number.metadata(db)?.id();
    if !(region.len() == 2 && region.bytes().all(|b| b.is_ascii_uppercase())) {
        return None;
    }
    Some(Found {
        region: region.to_owned(),
        kind: number.number_type(db),
        // E.164 is `+`, the calling code and the national number, zeros included. Written out
        // here: the crate's formatter builds the whole world's metadata (about 45 ms) whatever
        // database it is given, which would undo the point of the served set.
        e164: format!("+{}{}", number.code().value(), number.national()),
    })
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
    fn the_served_set_covers_every_region_a_stage_lists() {
        for name in crate::config::StageTable::known_stages() {
            let table = crate::config::StageTable::load(name).unwrap();
            for country in &table.countries {
                for region in &country.regions {
                    assert!(
                        served::holds(region),
                        "stage {}: region {region} has no metadata in shared/data/phone-metadata.xml; \
                         run infra/numbering/subset.py",
                        table.stage
                    );
                }
            }
        }
    }

    #[test]
    fn numbers_outside_the_served_set_get_the_whole_worlds_answer() {
        // Italy and Japan are in no stage table: the whole-world metadata judges them.
        assert!(!served::holds("IT") && served::holds("US"));
        assert_eq!(Msisdn::parse("+39 312 345 6789").unwrap().region(), "IT");
        assert_eq!(
            Msisdn::parse("+81 3 1234 5678"),
            Err(MsisdnError::NotMobile("fixed-line"))
        );
        // A Dominican number shares +1 with the served US and CA: still read as what it is.
        assert_eq!(Msisdn::parse("+1 809 234 5678").unwrap().region(), "DO");
    }

    /// The served set's judge gives the phonenumber crate's answer on the same metadata, for
    /// every number (valid or not, with leading zeros and national prefixes, of any length);
    /// and where it accepts a number, the whole world gives the same answer.
    #[test]
    fn the_served_set_answers_as_the_whole_world_does() {
        use rand::{Rng, SeedableRng};
        let subset = Database::parse(include_str!("../../data/phone-metadata.xml"))
            .expect("the vendored metadata parses");
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (mut valid, mut kinds) = (0, std::collections::HashSet::new());
        let codes = served::codes();
        assert!(codes.contains(&"1") && codes.contains(&"33"), "{codes:?}");
        for i in 0..20_000 {
            let code = codes[rng.gen_range(0..codes.len())];
            let len = if i % 2 == 0 {
                rng.gen_range(6..=11)
            } else {
                rng.gen_range(0..=18)
            };
            let mut national: String = (0..len).map(|_| rng.gen_range(0..10).to_string()).collect();
            // A quarter start with a national prefix or zeros, as careless input does.
            if i % 4 == 0 {
                national.insert_str(0, ["0", "1", "00", "11", "01"][i / 4 % 5]);
            }
            let number = format!("+{code}{national}");
            let judged = served::judge(&number).expect("a served code");
            let crate_answer = valid_in(&subset, &number);
            assert_eq!(judged, crate_answer, "{number}");
            if let Some(found) = judged {
                let world = valid_in(&DATABASE, &number).expect("valid in the whole world too");
                assert_eq!(found, world, "{number}");
                valid += 1;
                kinds.insert(format!("{:?}", found.kind));
            }
        }
        assert!(valid > 500, "only {valid} random numbers were valid");
        assert!(kinds.len() >= 4, "too few number types drawn: {kinds:?}");
    }

    #[test]
    fn international_network_numbers_are_refused() {
        assert_eq!(
            Msisdn::parse("+88 (1) 192 113912"),
            Err(MsisdnError::Invalid)
        );
        assert_eq!(
            Msisdn::parse("+882 16 1234 5678"),
            Err(MsisdnError::Invalid)
        );
    }

    #[test]
    fn debug_never_prints_the_number() {
        let m = Msisdn::parse("+33623456789").unwrap();
        assert!(!format!("{m:?}").contains("623456789"));
    }

    #[test]
    fn the_sealed_form_reads_back_without_parsing_and_old_sessions_still_read() {
        for input in ["+33623456789", "+14155552671", "+16135550123"] {
            let m = Msisdn::parse(input).unwrap();
            let back = Msisdn::from_sealed_form(&m.to_sealed_form()).unwrap();
            assert_eq!((back.e164(), back.region()), (m.e164(), m.region()));
        }
        assert_eq!(
            Msisdn::parse("+14155552671").unwrap().to_sealed_form(),
            "+14155552671 US"
        );
        // A session sealed before the region was: the bare number, parsed.
        let old = Msisdn::from_sealed_form("+33623456789").unwrap();
        assert_eq!(old.region(), "FR");
        for bad in [
            "+33623456789 fr",
            "+3362345678x FR",
            "33623456789 FR",
            "+ FR",
            "+33 F",
        ] {
            assert_eq!(
                Msisdn::from_sealed_form(bad),
                Err(MsisdnError::Invalid),
                "{bad}"
            );
        }
    }
}
