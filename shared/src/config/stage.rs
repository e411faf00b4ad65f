//! The stage table: which countries a stage serves, which sender ids and MO numbers it uses,
//! its SMS providers and its limits. One TOML file per stage under `infra/stages/`, compiled
//! into every function so that a stage's functions cannot disagree.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;
use super::web::{AllowedOrigin, AppHash, OtpDomain};
use crate::domain::{Mcc, Mnc, Msisdn};

/// The stages this build knows, with their files.
const STAGE_FILES: [(&str, &str); 4] = [
    ("dev", include_str!("../../../infra/stages/dev.toml")),
    (
        "load-stage",
        include_str!("../../../infra/stages/load-stage.toml"),
    ),
    (
        "production",
        include_str!("../../../infra/stages/production.toml"),
    ),
    (
        "real-stage",
        include_str!("../../../infra/stages/real-stage.toml"),
    ),
];

/// Stages whose SMS reach real phones: no fake gateway, no test numbers, no fictional senders,
/// strong webhook signatures only.
pub const REAL_STAGES: [&str; 2] = ["production", "real-stage"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageTable {
    pub stage: String,
    /// Ordered SMS providers: the first is tried first (`nexmo`, `sns`, `outbox`).
    pub sms_providers: Vec<String>,
    pub senders: Senders,
    pub countries: Vec<Country>,
    /// The catch-all ("Others" of the deployment notes): every country not listed above, when
    /// present. Absent (production), a number of an unlisted country is refused.
    #[serde(default)]
    pub others: Option<Others>,
    #[serde(default)]
    pub limits: Limits,
    /// Fictional numbers with fixed codes (never sent, exempt from limits); not in production.
    #[serde(default)]
    pub test_numbers: Vec<TestNumber>,
    /// Browser origins allowed to call the API (CORS); template.yaml's HttpApi mirrors it.
    #[serde(default)]
    pub cors_origins: Vec<AllowedOrigin>,
    /// The client web app's domain: SMS then end with `@<otp_domain> #<code>` (autofill).
    #[serde(default)]
    pub otp_domain: Option<OtpDomain>,
    /// The Android app's SMS Retriever hash, put in every code SMS when set.
    #[serde(default)]
    pub android_app_hash: Option<AppHash>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Senders {
    /// Sender id of SMS-MT when no network-specific one is set (`Mozilla@`).
    pub mt_default: String,
    /// The number devices text in the SMS-MO flow; absent disables that flow.
    #[serde(default)]
    pub mo_default: Option<String>,
    /// `"<mcc>"` or `"<mcc><mnc>"` → sender number.
    #[serde(default)]
    pub mt: BTreeMap<String, String>,
    /// `"<mcc>"` or `"<mcc><mnc>"` → MO number.
    #[serde(default)]
    pub mo: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    pub name: String,
    /// ISO 3166-1 alpha-2 regions of the numbers accepted for this country.
    pub regions: Vec<String>,
    pub mccs: Vec<String>,
    /// Daily SMS cap for this country (circuit breaker); the stage default when absent.
    #[serde(default)]
    pub daily_sms_cap: Option<u64>,
}

/// The catch-all entry. Its numbers are screened like any other (mobile-capable only) and each
/// unlisted country gets its own breaker, keyed by the number's real region: SMS pumping
/// concentrates on a few expensive destinations, so one shared counter would let one of them
/// exhaust the budget of all (and a per-country cap alone would let an attacker spread over
/// 200 countries), hence both caps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Others {
    /// Providers for these numbers, in failover order: a subset of the stage's.
    pub sms_providers: Vec<String>,
    /// Sender id of SMS-MT to these countries (the stage's `mt_default` when absent); a
    /// `senders.mt` entry for the exact network still wins.
    #[serde(default)]
    pub mt_sender: Option<String>,
    /// The SMS-MO number for these countries (the stage's `mo_default` when absent; `""`
    /// turns the SMS-MO flow off for them).
    #[serde(default)]
    pub mo_verifier: Option<String>,
    /// Daily SMS cap of each unlisted country.
    pub daily_sms_cap: u64,
    /// Daily SMS cap of all unlisted countries together.
    pub daily_sms_cap_total: u64,
}

/// Where the stage sends a number's SMS: a listed country, or the catch-all for the
/// number's own region.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    Listed(&'a Country),
    Others {
        /// ISO 3166-1 alpha-2 region of the number (what its breaker is keyed on).
        region: &'a str,
        others: &'a Others,
    },
}

impl Destination<'_> {
    /// The providers to use, when narrower than the stage's list.
    pub fn providers(&self) -> &[String] {
        match self {
            Destination::Listed(_) => &[],
            Destination::Others { others, .. } => &others.sms_providers,
        }
    }
}

/// Geographic MCCs (ITU-T E.212: zones 2 to 7). The catch-all serves their networks; the
/// others (test networks 001, international and satellite 9xx) are still refused.
fn is_geographic_mcc(mcc: &Mcc) -> bool {
    matches!(mcc.as_str().as_bytes()[0], b'2'..=b'7')
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNumber {
    pub msisdn: String,
    pub code: String,
}

/// Every limit of the service, with its default (see README "Limits" for the source of each).
/// Each is range-checked when the stage loads ([`Limits::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub code_ttl_secs: i64,
    pub wrong_tries_per_code: u32,
    pub session_ttl_secs: i64,
    pub verified_session_ttl_secs: i64,
    pub max_certificate_secs: i64,
    pub hawk_skew_secs: i64,
    pub require_payload_hash: bool,
    pub retry_after_secs: u64,
    pub max_body_bytes: usize,
    /// Wrong codes for one number from one client address (its /64 for IPv6) per
    /// `wrong_tries_window_secs`: what stops one guesser without stopping the owner.
    pub wrong_tries_per_number_per_client: u32,
    /// Wrong codes for one number from anywhere per `wrong_tries_window_secs`: stops a guesser
    /// spread over many addresses (NIST SP 800-63B: at most 100).
    pub wrong_tries_per_number: u32,
    /// The sliding window of both wrong-try budgets: the longest backoff either imposes.
    pub wrong_tries_window_secs: i64,
    pub send_interval_per_number_secs: i64,
    pub sends_per_number_per_10_min: u32,
    pub sends_per_number_per_day: u32,
    /// Codes one session may have sent in its life, whatever their kind.
    pub sends_per_session: u64,
    pub requests_per_ip_per_minute: u64,
    pub requests_per_ip_per_hour: u64,
    pub sends_per_prefix_per_hour: u64,
    pub sms_per_country_per_day: u64,
    /// Items the per-country daily counter is spread over (one DynamoDB partition takes about
    /// 1,000 writes/s); the cap can be overshot by fewer than this many SMS.
    pub country_counter_shards: u32,
    pub inbound_timestamp_window_secs: i64,
    /// Requests one process serves at once before it sheds load with 503 + Retry-After.
    pub max_in_flight: usize,
    /// Time a client has to send its whole body once its headers are in (408/119 after).
    pub body_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            code_ttl_secs: 600,
            wrong_tries_per_code: 3,
            session_ttl_secs: 86_400,
            verified_session_ttl_secs: 30 * 86_400,
            max_certificate_secs: 86_400,
            hawk_skew_secs: 60,
            require_payload_hash: false,
            retry_after_secs: 30,
            max_body_bytes: 10 * 1024,
            wrong_tries_per_number_per_client: 5,
            wrong_tries_per_number: 20,
            wrong_tries_window_secs: 3600,
            send_interval_per_number_secs: 30,
            sends_per_number_per_10_min: 5,
            sends_per_number_per_day: 10,
            sends_per_session: 5,
            requests_per_ip_per_minute: 50,
            requests_per_ip_per_hour: 500,
            sends_per_prefix_per_hour: 20,
            sms_per_country_per_day: 10_000,
            country_counter_shards: 10,
            inbound_timestamp_window_secs: 300,
            max_in_flight: 1024,
            body_timeout_secs: 10,
        }
    }
}

const DAY: i128 = 86_400;
/// The most a limit that allows events may be set to (beyond it, it is not a limit).
const HUGE: i128 = 1_000_000_000_000;

impl Limits {
    /// Refuses zero, negative and absurd values, naming the setting: a limit that panics,
    /// never binds or locks everyone out must not load.
    pub fn check(&self) -> Result<(), String> {
        let log = i128::from(crate::store::MAX_LOG);
        let ranges: [(&str, i128, i128, i128, &str); 23] = [
            (
                "body_timeout_secs",
                self.body_timeout_secs.into(),
                1,
                30,
                "a stalled body is answered 408 within it",
            ),
            (
                "code_ttl_secs",
                self.code_ttl_secs.into(),
                1,
                600,
                "NIST SP 800-63B: 10 minutes",
            ),
            (
                "wrong_tries_per_code",
                self.wrong_tries_per_code.into(),
                1,
                10,
                "",
            ),
            (
                "session_ttl_secs",
                self.session_ttl_secs.into(),
                60,
                7 * DAY,
                "",
            ),
            (
                "verified_session_ttl_secs",
                self.verified_session_ttl_secs.into(),
                60,
                90 * DAY,
                "",
            ),
            (
                "max_certificate_secs",
                self.max_certificate_secs.into(),
                60,
                DAY,
                "BrowserID certificates live at most a day",
            ),
            (
                "hawk_skew_secs",
                self.hawk_skew_secs.into(),
                1,
                600,
                "the window nonces are remembered for",
            ),
            (
                "retry_after_secs",
                self.retry_after_secs.into(),
                1,
                3600,
                "",
            ),
            (
                "max_body_bytes",
                self.max_body_bytes as i128,
                1024,
                1 << 20,
                "",
            ),
            (
                "wrong_tries_per_number_per_client",
                self.wrong_tries_per_number_per_client.into(),
                1,
                log,
                "",
            ),
            (
                "wrong_tries_per_number",
                self.wrong_tries_per_number.into(),
                1,
                log.min(100),
                "NIST SP 800-63B: at most 100",
            ),
            (
                "wrong_tries_window_secs",
                self.wrong_tries_window_secs.into(),
                60,
                DAY,
                "",
            ),
            (
                "send_interval_per_number_secs",
                self.send_interval_per_number_secs.into(),
                1,
                3600,
                "",
            ),
            (
                "sends_per_number_per_10_min",
                self.sends_per_number_per_10_min.into(),
                1,
                log,
                "",
            ),
            (
                "sends_per_number_per_day",
                self.sends_per_number_per_day.into(),
                1,
                log,
                "",
            ),
            (
                "sends_per_session",
                self.sends_per_session.into(),
                1,
                100,
                "",
            ),
            (
                "requests_per_ip_per_minute",
                self.requests_per_ip_per_minute.into(),
                1,
                HUGE,
                "",
            ),
            (
                "requests_per_ip_per_hour",
                self.requests_per_ip_per_hour.into(),
                1,
                HUGE,
                "",
            ),
            (
                "sends_per_prefix_per_hour",
                self.sends_per_prefix_per_hour.into(),
                1,
                HUGE,
                "",
            ),
            (
                "sms_per_country_per_day",
                self.sms_per_country_per_day.into(),
                1,
                HUGE,
                "",
            ),
            (
                "country_counter_shards",
                self.country_counter_shards.into(),
                1,
                100,
                "",
            ),
            (
                "inbound_timestamp_window_secs",
                self.inbound_timestamp_window_secs.into(),
                1,
                600,
                "Nexmo's callbacks are fresh; a longer window is a longer replay window",
            ),
            (
                "max_in_flight",
                self.max_in_flight as i128,
                1,
                1_000_000,
                "",
            ),
        ];
        for (name, value, min, max, why) in ranges {
            if !(min..=max).contains(&value) {
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!(" ({why})")
                };
                return Err(format!(
                    "limits.{name} = {value}: must be {min}..={max}{why}"
                ));
            }
        }
        if self.wrong_tries_per_number_per_client >= self.wrong_tries_per_number {
            return Err(format!(
                "limits.wrong_tries_per_number_per_client = {} must be below limits.wrong_tries_per_number = {}: \
                 otherwise one address can spend the number's whole budget and lock its owner out",
                self.wrong_tries_per_number_per_client, self.wrong_tries_per_number
            ));
        }
        if self.sends_per_number_per_10_min > self.sends_per_number_per_day {
            return Err("limits.sends_per_number_per_10_min must not exceed limits.sends_per_number_per_day".into());
        }
        Ok(())
    }
}

impl StageTable {
    /// The table of a known stage.
    pub fn load(stage: &str) -> Result<Self, ConfigError> {
        let (_, text) = STAGE_FILES
            .iter()
            .find(|(name, _)| *name == stage)
            .ok_or_else(|| {
                let names: Vec<_> = STAGE_FILES.iter().map(|(n, _)| *n).collect();
                ConfigError::new(format!(
                    "unknown stage {stage:?}; known stages: {}",
                    names.join(", ")
                ))
            })?;
        let table = Self::parse(text)?;
        if table.stage != stage {
            return Err(ConfigError::new(format!(
                "infra/stages/{stage}.toml says stage = {:?}",
                table.stage
            )));
        }
        Ok(table)
    }

    /// The names of the stages compiled into this build.
    pub fn known_stages() -> impl Iterator<Item = &'static str> {
        STAGE_FILES.iter().map(|(n, _)| *n)
    }

    /// Parses and checks a stage file; every mistake is reported with what to fix.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut table: StageTable =
            toml::from_str(text).map_err(|e| ConfigError::new(format!("stage file: {e}")))?;
        table.check()?;
        // Parsed once here (libphonenumber is costly), so requests compare E.164 strings.
        for t in &mut table.test_numbers {
            t.msisdn = Msisdn::parse(&t.msisdn)
                .expect("checked above")
                .e164()
                .to_owned();
        }
        Ok(table)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let fail = |m: String| Err(ConfigError::new(format!("stage {}: {m}", self.stage)));
        if self.countries.is_empty() {
            return fail("no country is served".into());
        }
        if self.sms_providers.is_empty() {
            return fail("sms_providers is empty".into());
        }
        for p in &self.sms_providers {
            if !["nexmo", "sns", "outbox"].contains(&p.as_str()) {
                return fail(format!("unknown SMS provider {p:?} (nexmo, sns or outbox)"));
            }
        }
        for c in &self.countries {
            for mcc in &c.mccs {
                if Mcc::parse(mcc).is_none() {
                    return fail(format!("country {}: MCC {mcc:?} is not 3 digits", c.name));
                }
            }
            for r in &c.regions {
                if r.len() != 2 || !r.bytes().all(|b| b.is_ascii_uppercase()) {
                    return fail(format!(
                        "country {}: region {r:?} is not ISO alpha-2",
                        c.name
                    ));
                }
            }
        }
        if let Some(o) = &self.others {
            if o.sms_providers.is_empty() {
                return fail("others.sms_providers is empty".into());
            }
            if let Some(p) = o
                .sms_providers
                .iter()
                .find(|p| !self.sms_providers.contains(p))
            {
                return fail(format!(
                    "others.sms_providers lists {p:?}, which is not in the stage's sms_providers"
                ));
            }
            if o.daily_sms_cap == 0 || o.daily_sms_cap > o.daily_sms_cap_total {
                return fail(
                    "others.daily_sms_cap must be positive and at most others.daily_sms_cap_total"
                        .into(),
                );
            }
        }
        for (kind, map) in [("mt", &self.senders.mt), ("mo", &self.senders.mo)] {
            for key in map.keys() {
                let ok = matches!(key.len(), 3 | 5 | 6) && key.bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return fail(format!(
                        "senders.{kind} key {key:?} is not <mcc> or <mcc><mnc>"
                    ));
                }
            }
        }
        self.check_senders()?;
        for t in &self.test_numbers {
            if Msisdn::parse(&t.msisdn).is_err() {
                return fail(format!(
                    "test number {} is not a valid mobile number",
                    t.msisdn
                ));
            }
            if t.code.len() != 6 || !t.code.bytes().all(|b| b.is_ascii_digit()) {
                return fail(format!("test number {}: code must be 6 digits", t.msisdn));
            }
        }
        if self.is_real() && !self.test_numbers.is_empty() {
            return fail(format!(
                "test numbers are not allowed in {0} (its SMS reach real phones): remove [[test_numbers]] from infra/stages/{0}.toml",
                self.stage
            ));
        }
        self.limits
            .check()
            .map_err(|m| ConfigError::new(format!("stage {}: {m}", self.stage)))?;
        for c in &self.countries {
            if let Some(cap) = c.daily_sms_cap
                && !(1..=HUGE).contains(&i128::from(cap))
            {
                return fail(format!(
                    "country {}: daily_sms_cap = {cap}: must be 1..={HUGE}",
                    c.name
                ));
            }
        }
        Ok(())
    }

    /// Every sender value with where it is set (`senders.mt."310"`), for checks and resolution.
    fn senders_mut(&mut self) -> Vec<(String, &mut String)> {
        let s = &mut self.senders;
        let mut all = vec![("senders.mt_default".to_owned(), &mut s.mt_default)];
        if let Some(mo) = s.mo_default.as_mut() {
            all.push(("senders.mo_default".to_owned(), mo));
        }
        for (kind, map) in [("mt", &mut s.mt), ("mo", &mut s.mo)] {
            for (key, value) in map.iter_mut() {
                all.push((format!("senders.{kind}.\"{key}\""), value));
            }
        }
        all
    }

    /// A sender is a literal, or `$NAME`: a value the operator provides (a template parameter
    /// or the stage secret, as the variable `NAME`) so that a real stage's numbers are not
    /// made up in a reviewed file. A real stage refuses numbers of the range reserved for
    /// fiction (NANP 555-0100…0199): providers refuse them as senders.
    fn check_senders(&self) -> Result<(), ConfigError> {
        let mut copy = self.clone();
        for (place, value) in copy.senders_mut() {
            if let Some(name) = value.strip_prefix('$') {
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                {
                    return Err(ConfigError::new(format!(
                        "stage {}: {place} = {value:?}: a placeholder is $ followed by a variable name (A-Z, 0-9, _)",
                        self.stage
                    )));
                }
                continue;
            }
            if self.is_real() && is_fictional_number(value) {
                return Err(ConfigError::new(format!(
                    "stage {}: {place} = {value:?} is in the NANP range reserved for fiction (555-0100..0199): \
                     providers refuse it as a sender. Set the stage's real sender numbers (template parameters)",
                    self.stage
                )));
            }
        }
        Ok(())
    }

    /// Replaces every `$NAME` sender by the value of `NAME` (refusing a missing one), then
    /// checks the result as the stage file's own values are checked.
    pub fn resolve_senders(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let stage = self.stage.clone();
        for (place, value) in self.senders_mut() {
            if let Some(name) = value.strip_prefix('$') {
                let resolved = var(name)
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                let Some(resolved) = resolved else {
                    return Err(ConfigError::new(format!(
                        "stage {stage}: {place} is {value}: set {name} to the sender the operator \
                         was given (template parameter; see docs/deployment.md)"
                    )));
                };
                *value = resolved;
            }
        }
        self.check_senders()
    }

    /// Whether this stage's SMS reach real phones (production and its mirror).
    pub fn is_real(&self) -> bool {
        REAL_STAGES.contains(&self.stage.as_str())
    }

    /// Sender of SMS-MT for a network: exact MCC+MNC, then MCC, then the catch-all's (for a
    /// network of an unlisted country), then the default.
    pub fn mt_sender(&self, mcc: &Mcc, mnc: Option<&Mnc>) -> &str {
        lookup(&self.senders.mt, mcc, mnc)
            .or_else(|| self.others_of_mcc(mcc).and_then(|o| o.mt_sender.as_deref()))
            .unwrap_or(&self.senders.mt_default)
    }

    /// The number to text in the SMS-MO flow, if the flow is offered for this network.
    pub fn mo_verifier(&self, mcc: &Mcc, mnc: Option<&Mnc>) -> Option<&str> {
        lookup(&self.senders.mo, mcc, mnc)
            .or_else(|| {
                self.others_of_mcc(mcc)
                    .and_then(|o| o.mo_verifier.as_deref())
            })
            .or(self.senders.mo_default.as_deref())
            .filter(|s| !s.is_empty())
    }

    /// The catch-all, when it is what serves networks of `mcc`.
    fn others_of_mcc(&self, mcc: &Mcc) -> Option<&Others> {
        self.others
            .as_ref()
            .filter(|_| self.country_of_mcc(mcc).is_none() && is_geographic_mcc(mcc))
    }

    /// Whether the stage serves networks of `mcc`: a listed country's, or (with a catch-all)
    /// any geographic one.
    pub fn serves_mcc(&self, mcc: &Mcc) -> bool {
        self.country_of_mcc(mcc).is_some() || self.others_of_mcc(mcc).is_some()
    }

    /// Where a number's SMS go: its listed country, else the catch-all; `None` if the stage
    /// does not serve it.
    pub fn destination<'a>(&'a self, msisdn: &'a Msisdn) -> Option<Destination<'a>> {
        match self.country_of_number(msisdn) {
            Some(country) => Some(Destination::Listed(country)),
            None => self.others.as_ref().map(|others| Destination::Others {
                region: msisdn.region(),
                others,
            }),
        }
    }

    pub fn country_of_mcc(&self, mcc: &Mcc) -> Option<&Country> {
        self.countries
            .iter()
            .find(|c| c.mccs.iter().any(|m| m == mcc.as_str()))
    }

    pub fn country_of_number(&self, msisdn: &Msisdn) -> Option<&Country> {
        self.countries
            .iter()
            .find(|c| c.regions.iter().any(|r| r == msisdn.region()))
    }

    /// The MCC to use for a number when the network did not say (first MCC of its country).
    pub fn default_mcc_for(&self, msisdn: &Msisdn) -> Option<Mcc> {
        self.country_of_number(msisdn)
            .and_then(|c| c.mccs.first())
            .and_then(|m| Mcc::parse(m))
    }

    pub fn test_code_for(&self, msisdn: &Msisdn) -> Option<&str> {
        self.test_numbers
            .iter()
            .find(|t| t.msisdn == msisdn.e164())
            .map(|t| t.code.as_str())
    }

    pub fn daily_cap(&self, country: &Country) -> u64 {
        country
            .daily_sms_cap
            .unwrap_or(self.limits.sms_per_country_per_day)
    }
}

/// NANP numbers 555-0100…555-0199 of any area code (+1 NPA 555 01XX): fiction's numbers.
fn is_fictional_number(sender: &str) -> bool {
    let digits = sender.strip_prefix('+').unwrap_or(sender);
    digits.len() == 11
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.starts_with('1')
        && &digits[4..9] == "55501"
}

fn lookup<'a>(map: &'a BTreeMap<String, String>, mcc: &Mcc, mnc: Option<&Mnc>) -> Option<&'a str> {
    mnc.and_then(|mnc| map.get(&format!("{mcc}{}", mnc.as_str())))
        .or_else(|| map.get(mcc.as_str()))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_file_loads() {
        for stage in StageTable::known_stages() {
            let t = StageTable::load(stage).unwrap_or_else(|e| panic!("{stage}: {e}"));
            assert_eq!(t.stage, stage);
        }
        assert!(StageTable::load("nope").is_err());
    }

    #[test]
    fn stages_serve_the_designed_countries() {
        let usa = [
            "302", "310", "311", "312", "313", "314", "315", "316", "332", "544",
        ];
        for stage in ["dev", "load-stage", "production", "real-stage"] {
            let t = StageTable::load(stage).unwrap();
            for mcc in usa {
                assert!(
                    t.country_of_mcc(&Mcc::parse(mcc).unwrap()).is_some(),
                    "{stage} {mcc}"
                );
            }
        }
        let dev = StageTable::load("dev").unwrap();
        for mcc in [
            "208", "308", "340", "543", "546", "547", "647", "742", "214",
        ] {
            assert!(
                dev.country_of_mcc(&Mcc::parse(mcc).unwrap()).is_some(),
                "dev {mcc}"
            );
        }
        let prod = StageTable::load("production").unwrap();
        assert!(prod.country_of_mcc(&Mcc::parse("208").unwrap()).is_none());
        assert_eq!(
            StageTable::load("load-stage").unwrap().sms_providers,
            ["outbox"]
        );
        assert!(prod.test_numbers.is_empty());
    }

    const MINIMAL: &str = r#"
stage = "dev"
sms_providers = ["outbox"]
[senders]
mt_default = "Mozilla@"
mo_default = "456"
[senders.mt]
"208" = "+33700000001"
"21407" = "1234"
[[countries]]
name = "France"
regions = ["FR"]
mccs = ["208"]
"#;

    #[test]
    fn sender_lookup_goes_exact_then_mcc_then_default() {
        let t = StageTable::parse(MINIMAL).unwrap();
        let mcc = |s| Mcc::parse(s).unwrap();
        assert_eq!(t.mt_sender(&mcc("214"), Mnc::parse("07").as_ref()), "1234");
        assert_eq!(
            t.mt_sender(&mcc("208"), Mnc::parse("10").as_ref()),
            "+33700000001"
        );
        assert_eq!(t.mt_sender(&mcc("208"), None), "+33700000001");
        assert_eq!(t.mt_sender(&mcc("514"), None), "Mozilla@");
        assert_eq!(t.mo_verifier(&mcc("514"), None), Some("456"));
        let no_mo =
            StageTable::parse(&MINIMAL.replace("mo_default = \"456\"", "mo_default = \"\""))
                .unwrap();
        assert_eq!(no_mo.mo_verifier(&mcc("514"), None), None);
    }

    #[test]
    fn mistakes_are_reported_clearly() {
        let bad_mcc = MINIMAL.replace("mccs = [\"208\"]", "mccs = [\"2O8\"]");
        assert!(
            StageTable::parse(&bad_mcc)
                .unwrap_err()
                .0
                .contains("MCC \"2O8\"")
        );
        let typo = MINIMAL.replace("mt_default", "mt_defualt");
        assert!(StageTable::parse(&typo).is_err());
        let provider = MINIMAL.replace("[\"outbox\"]", "[\"carrier-pigeon\"]");
        assert!(
            StageTable::parse(&provider)
                .unwrap_err()
                .0
                .contains("carrier-pigeon")
        );
    }

    #[test]
    fn test_numbers_are_normalised_once_at_load() {
        let dev = MINIMAL.to_owned()
            + "[[test_numbers]]\nmsisdn = \"+33 6 12 34 56 78\"\ncode = \"123456\"\n";
        let t = StageTable::parse(&dev).unwrap();
        assert_eq!(t.test_numbers[0].msisdn, "+33612345678");
        assert_eq!(
            t.test_code_for(&Msisdn::parse("+33612345678").unwrap()),
            Some("123456")
        );
        assert_eq!(
            t.test_code_for(&Msisdn::parse("+33612345679").unwrap()),
            None
        );
    }

    #[test]
    fn the_catch_all_is_dev_and_load_stage_only_and_checked_at_load() {
        for (stage, has) in [
            ("dev", true),
            ("load-stage", true),
            ("production", false),
            ("real-stage", false),
        ] {
            assert_eq!(
                StageTable::load(stage).unwrap().others.is_some(),
                has,
                "{stage}"
            );
        }
        let dev = StageTable::load("dev").unwrap();
        assert_eq!(dev.others.as_ref().unwrap().sms_providers, ["nexmo"]);
        let italy = Mcc::parse("222").unwrap();
        assert!(dev.serves_mcc(&italy) && !dev.serves_mcc(&Mcc::parse("901").unwrap()));
        let it = Msisdn::parse("+393123456789").unwrap();
        assert!(matches!(
            dev.destination(&it),
            Some(Destination::Others { region: "IT", .. })
        ));
        let prod = StageTable::load("production").unwrap();
        assert!(prod.destination(&it).is_none() && !prod.serves_mcc(&italy));
        let others = |body: &str| StageTable::parse(&format!("{MINIMAL}[others]\n{body}"));
        assert!(others("sms_providers = [\"outbox\"]\ndaily_sms_cap = 1\ndaily_sms_cap_total = 2\nmt_sender = \"Moz\"\n").is_ok());
        let foreign =
            others("sms_providers = [\"nexmo\"]\ndaily_sms_cap = 1\ndaily_sms_cap_total = 2\n");
        assert!(
            foreign
                .unwrap_err()
                .0
                .contains("not in the stage's sms_providers")
        );
        let caps =
            others("sms_providers = [\"outbox\"]\ndaily_sms_cap = 3\ndaily_sms_cap_total = 2\n");
        assert!(caps.unwrap_err().0.contains("daily_sms_cap"));
        let t = others("sms_providers = [\"outbox\"]\ndaily_sms_cap = 1\ndaily_sms_cap_total = 2\nmt_sender = \"Moz\"\nmo_verifier = \"\"\n").unwrap();
        // Unlisted networks get the catch-all's senders; listed ones keep theirs.
        assert_eq!(t.mt_sender(&italy, None), "Moz");
        assert_eq!(t.mo_verifier(&italy, None), None);
        assert_eq!(
            t.mt_sender(&Mcc::parse("208").unwrap(), None),
            "+33700000001"
        );
        assert_eq!(
            t.mo_verifier(&Mcc::parse("208").unwrap(), None),
            Some("456")
        );
    }

    #[test]
    fn real_stages_refuse_fictional_senders_and_take_the_operators() {
        let real = MINIMAL.replace("stage = \"dev\"", "stage = \"real-stage\"");
        let fictional = real.replace("\"+33700000001\"", "\"+12025550180\"");
        let err = StageTable::parse(&fictional).unwrap_err();
        assert!(
            err.0.contains("senders.mt.\"208\"") && err.0.contains("fiction"),
            "{err}"
        );
        // dev may use them (its NANP senders are placeholders for developers).
        assert!(
            StageTable::parse(&MINIMAL.replace("\"+33700000001\"", "\"+12025550180\"")).is_ok()
        );
        let placeholder = real.replace("\"+33700000001\"", "\"$MOBILEID_SENDER_FR\"");
        let mut t = StageTable::parse(&placeholder).unwrap();
        let err = t.clone().resolve_senders(|_| None).unwrap_err();
        assert!(err.0.contains("MOBILEID_SENDER_FR"), "{err}");
        let err = t
            .clone()
            .resolve_senders(|_| Some("+12025550199".into()))
            .unwrap_err();
        assert!(err.0.contains("fiction"), "{err}");
        t.resolve_senders(|n| (n == "MOBILEID_SENDER_FR").then(|| "+33700000009".into()))
            .unwrap();
        assert_eq!(
            t.mt_sender(&Mcc::parse("208").unwrap(), None),
            "+33700000009"
        );
        for stage in REAL_STAGES {
            let t = StageTable::load(stage).unwrap();
            let err = t.clone().resolve_senders(|_| None).unwrap_err();
            assert!(err.0.contains("MOBILEID_SENDER_NANP"), "{stage}: {err}");
        }
    }

    #[test]
    fn every_limit_is_range_checked_by_name() {
        for (line, name) in [
            (
                "send_interval_per_number_secs = 0",
                "send_interval_per_number_secs",
            ),
            ("max_certificate_secs = 999999999", "max_certificate_secs"),
            ("hawk_skew_secs = 86400", "hawk_skew_secs"),
            ("wrong_tries_per_number = 101", "wrong_tries_per_number"),
            ("sends_per_session = 0", "sends_per_session"),
            (
                "inbound_timestamp_window_secs = 86400",
                "inbound_timestamp_window_secs",
            ),
            ("code_ttl_secs = -1", "code_ttl_secs"),
            ("country_counter_shards = 0", "country_counter_shards"),
            (
                "wrong_tries_per_number_per_client = 20",
                "wrong_tries_per_number_per_client",
            ),
        ] {
            let err = StageTable::parse(&format!("{MINIMAL}\n[limits]\n{line}\n")).unwrap_err();
            assert!(err.0.contains(&format!("limits.{name}")), "{line}: {err}");
        }
        let err = StageTable::parse(
            &MINIMAL.replace("mccs = [\"208\"]", "mccs = [\"208\"]\ndaily_sms_cap = 0"),
        )
        .unwrap_err();
        assert!(err.0.contains("daily_sms_cap"), "{err}");
        assert!(Limits::default().check().is_ok());
    }

    #[test]
    fn production_refuses_test_numbers() {
        let prod = MINIMAL.replace("stage = \"dev\"", "stage = \"production\"")
            + "[[test_numbers]]\nmsisdn = \"+33612345678\"\ncode = \"123456\"\n";
        let err = StageTable::parse(&prod).unwrap_err();
        assert!(err.0.contains("not allowed in production"), "{err}");
        let mirror = prod.replace("stage = \"production\"", "stage = \"real-stage\"");
        let err = StageTable::parse(&mirror).unwrap_err();
        assert!(err.0.contains("not allowed in real-stage"), "{err}");
        let dev =
            MINIMAL.to_owned() + "[[test_numbers]]\nmsisdn = \"+33612345678\"\ncode = \"123456\"\n";
        let t = StageTable::parse(&dev).unwrap();
        assert_eq!(
            t.test_code_for(&Msisdn::parse("+33612345678").unwrap()),
            Some("123456")
        );
    }
}
