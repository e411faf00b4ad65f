//! Rate limits, the wrong-code budgets and the per-country circuit breaker, charged in the
//! store so that they hold across Lambda instances. Every charge is one atomic
//! check-and-charge (`Store::charge`: one conditional write): no read-then-write to race.
//!
//! Only what happens is charged: the callers check everything that can refuse a send
//! (screening, the session's number and state, test numbers) before charging; a refusal by
//! one limit gives back what the others of its batch charged; a send that no provider made
//! gives everything back ([`Charges::refund`]).
//!
//! Every refusal answers the backoff protocol: 429, the errno of the limit, `Retry-After` and
//! `retryAfter` = the seconds until the charge could succeed.
//!
//! Subjects (numbers, ranges, addresses) are keyed by an HMAC under `msisdnSecret`. During a
//! rotation every honoured version is a subject of its own, and each is charged: the old
//! version's records keep their counts (a rotation restarts none), the new one's start to
//! fill, and a refusal by any of them refuses the request.

use std::net::IpAddr;

use futures_util::future::join_all;

use super::AppState;
use super::client::client_group;
use crate::config::{Country, Others};
use crate::crypto::SessionKey;
use crate::domain::Msisdn;
use crate::error::{ApiError, Errno};
use crate::store::{Charge, Limit, Window};

/// One limit to charge.
struct Rule {
    /// Names the limit in logs and keys (`number`, `country-day`).
    name: &'static str,
    /// The store key: `rl#<name>#<subject>…`; subjects are HMACs, never a number in clear.
    key: String,
    limit: Limit,
    errno: Errno,
    /// The message of each window of a sliding limit (the first one for a count).
    messages: &'static [&'static str],
}

/// What a request charged, to give back if what it paid for does not happen.
#[must_use = "give the charges back with `refund` when the send does not happen"]
#[derive(Default)]
pub struct Charges(Vec<(String, Limit, i64)>);

impl Charges {
    /// Gives every charge back, concurrently (best effort: a failure errs on the strict side).
    pub async fn refund(self, state: &AppState) {
        let refunds = self
            .0
            .iter()
            .map(|(key, limit, at)| state.store.refund(key, limit, *at));
        for result in join_all(refunds).await {
            if let Err(e) = result {
                tracing::warn!(error = %e, "a limit charge could not be given back");
            }
        }
    }

    fn extend(&mut self, other: Charges) {
        self.0.extend(other.0);
    }
}

/// A limit that said no.
struct Refusal {
    name: &'static str,
    errno: Errno,
    message: &'static str,
    retry_after: i64,
}

impl Refusal {
    fn into_error(self) -> ApiError {
        tracing::warn!(limit = self.name, "rate limit reached");
        ApiError::too_many(self.errno, self.retry_after.max(1) as u64, self.message)
    }
}

const CLIENT_MSG: &[&str] = &["Too many requests from this address: retry later."];
const NUMBER_MSGS: &[&str] = &[
    "A code was just sent to this number: wait before asking again.",
    "Too many codes sent to this number: retry later.",
    "Too many codes sent to this number today: retry later.",
];
const SESSION_MSG: &[&str] = &["Too many codes sent for this session: register again."];
const PREFIX_MSG: &[&str] = &["Too many codes sent to this number range: retry later."];
const COUNTRY_MSG: &[&str] = &["Too many SMS to this country today: retry tomorrow."];
const WRONG_MSG: &[&str] = &["Too many wrong codes for this number: retry later."];

pub struct Limiter<'a> {
    state: &'a AppState,
    now: i64,
}

impl<'a> Limiter<'a> {
    pub fn new(state: &'a AppState) -> Self {
        Limiter {
            state,
            now: state.clock.now_secs(),
        }
    }

    /// A count per aligned window of `secs` (the window's start is in the key): for limits
    /// too large for an exact log (per address, per range, per country).
    fn fixed(&self, name: &'static str, subject: &str, max: u64, secs: i64) -> (String, Limit) {
        let start = self.now - self.now.rem_euclid(secs);
        let limit = Limit::Count {
            max,
            expires_at: start + secs,
        };
        (format!("rl#{name}#{subject}#{start}"), limit)
    }

    /// Charges every rule at once (one round trip of latency). Keeps what was charged and
    /// returns the refusals; on a store failure, gives everything back.
    async fn try_charge(&self, rules: &[Rule]) -> Result<(Charges, Vec<Refusal>), ApiError> {
        let store = &self.state.store;
        let results = join_all(
            rules
                .iter()
                .map(|r| store.charge(&r.key, &r.limit, self.now)),
        )
        .await;
        let mut charged = Charges::default();
        let mut refused = Vec::new();
        let mut failure = None;
        for (rule, result) in rules.iter().zip(results) {
            match result {
                Ok(Charge::Charged) => {
                    charged
                        .0
                        .push((rule.key.clone(), rule.limit.clone(), self.now))
                }
                Ok(Charge::Refused {
                    window,
                    retry_after,
                }) => refused.push(Refusal {
                    name: rule.name,
                    errno: rule.errno,
                    message: rule.messages[window.min(rule.messages.len() - 1)],
                    retry_after,
                }),
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            charged.refund(self.state).await;
            return Err(self.state.store_error(e));
        }
        Ok((charged, refused))
    }

    /// All or nothing: every rule charged, or none (the refusal that waits longest answers:
    /// the request cannot succeed before it).
    async fn charge(&self, rules: &[Rule]) -> Result<Charges, ApiError> {
        let (charged, refused) = self.try_charge(rules).await?;
        match longest(refused) {
            None => Ok(charged),
            Some(refusal) => {
                charged.refund(self.state).await;
                Err(refusal.into_error())
            }
        }
    }

    fn client_rules(&self, ip: Option<IpAddr>) -> Vec<Rule> {
        let Some(ip) = ip else { return Vec::new() };
        let subjects = self.state.ids.client_macs(&client_group(ip));
        let l = self.state.limits();
        let mut rules = Vec::new();
        for subject in &subjects {
            for (name, max, secs) in [
                ("ip-minute", l.requests_per_ip_per_minute, 60),
                ("ip-hour", l.requests_per_ip_per_hour, 3600),
            ] {
                let (key, limit) = self.fixed(name, subject, max, secs);
                rules.push(Rule {
                    name,
                    key,
                    limit,
                    errno: Errno::TooManyForClient,
                    messages: CLIENT_MSG,
                });
            }
        }
        rules
    }

    /// Registrations from one client address, per minute and per hour.
    pub async fn client(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        // Nothing after this refuses a registration: the charges stay.
        let _kept = self.charge(&self.client_rules(ip)).await?;
        Ok(())
    }

    /// One code sent by `session` to `msisdn` of `country`, asked from `ip`: the client's
    /// address, the session's budget, the number's sliding windows (interval, 10 minutes,
    /// day), its range and one shard of the country's breaker. Call it only once nothing else
    /// can refuse the send; give the charges back if the send is not made.
    pub async fn send(
        &self,
        ip: Option<IpAddr>,
        session: &SessionKey,
        msisdn: &Msisdn,
        country: &Country,
    ) -> Result<Charges, ApiError> {
        self.send_with(ip, session, msisdn, country, Vec::new())
            .await
    }

    /// [`Limiter::send`] for a number of a country the stage does not list (its catch-all):
    /// the country's breaker is keyed by the number's own region (so that pumping to one
    /// expensive destination stops at its cap, whichever network the client names), and one
    /// more cap counts all unlisted countries together (so that spreading over many of them
    /// stops too).
    pub async fn send_unlisted(
        &self,
        ip: Option<IpAddr>,
        session: &SessionKey,
        msisdn: &Msisdn,
        region: &str,
        others: &Others,
    ) -> Result<Charges, ApiError> {
        let country = Country {
            name: format!("others-{region}"),
            regions: vec![region.to_owned()],
            mccs: Vec::new(),
            daily_sms_cap: Some(others.daily_sms_cap),
        };
        let (key, limit) = self.fixed("others-day", "all", others.daily_sms_cap_total, 86_400);
        let total = Rule {
            name: "others-day",
            key,
            limit,
            errno: Errno::TooManyForCountry,
            messages: COUNTRY_MSG,
        };
        self.send_with(ip, session, msisdn, &country, vec![total])
            .await
    }

    async fn send_with(
        &self,
        ip: Option<IpAddr>,
        session: &SessionKey,
        msisdn: &Msisdn,
        country: &Country,
        extra: Vec<Rule>,
    ) -> Result<Charges, ApiError> {
        let l = self.state.limits();
        let ids = &self.state.ids;
        let mut rules = self.client_rules(ip);
        rules.push(Rule {
            name: "session",
            key: format!("rl#session#{}", session.as_str()),
            // Outlives any session, verified ones included: a budget for the session's life.
            limit: Limit::Count {
                max: l.sends_per_session,
                expires_at: self.now + l.session_ttl_secs + l.verified_session_ttl_secs,
            },
            errno: Errno::TooManyForSession,
            messages: SESSION_MSG,
        });
        for number in ids.msisdn_macs(msisdn) {
            rules.push(Rule {
                name: "number",
                key: format!("rl#number#{number}"),
                limit: Limit::Sliding(vec![
                    Window {
                        max: 1,
                        secs: l.send_interval_per_number_secs,
                    },
                    Window {
                        max: l.sends_per_number_per_10_min,
                        secs: 600,
                    },
                    Window {
                        max: l.sends_per_number_per_day,
                        secs: 86_400,
                    },
                ]),
                errno: Errno::TooManyForNumber,
                messages: NUMBER_MSGS,
            });
        }
        for prefix in ids.prefix_macs(msisdn) {
            let (key, limit) =
                self.fixed("prefix-hour", &prefix, l.sends_per_prefix_per_hour, 3600);
            rules.push(Rule {
                name: "prefix-hour",
                key,
                limit,
                errno: Errno::TooManyForNumber,
                messages: PREFIX_MSG,
            });
        }
        let (shards, per_shard) = self.country_shards(country);
        let first = self.random_below(shards);
        rules.push(self.country_rule(country, first, per_shard));
        rules.extend(extra);
        let (mut charged, mut refused) = self.try_charge(&rules).await?;
        // Only the country's shard is full: the breaker trips when a second shard is full too
        // (shards fill unevenly; this keeps an early trip to when the cap is nearly reached).
        if shards > 1 && refused.len() == 1 && refused[0].name == "country-day" {
            let second = (first + 1 + self.random_below(shards - 1)) % shards;
            let rule = self.country_rule(country, second, per_shard);
            let (more, again) = self.try_charge(std::slice::from_ref(&rule)).await?;
            charged.extend(more);
            refused = again;
        }
        match longest(refused) {
            None => Ok(charged),
            Some(refusal) => {
                charged.refund(self.state).await;
                if refusal.errno == Errno::TooManyForCountry {
                    tracing::error!(country = %country.name, cap = self.state.settings.stage.daily_cap(country),
                        "circuit breaker: daily SMS cap reached for a country");
                }
                Err(refusal.into_error())
            }
        }
    }

    /// The shards of a country's daily counter and each one's cap: never more shards than
    /// the cap, so the total allowed (`shards × per_shard`) exceeds the cap by less than
    /// `shards`.
    fn country_shards(&self, country: &Country) -> (u32, u64) {
        let cap = self.state.settings.stage.daily_cap(country);
        let shards = u64::from(self.state.limits().country_counter_shards).clamp(1, cap.max(1));
        (shards as u32, cap.div_ceil(shards))
    }

    fn country_rule(&self, country: &Country, shard: u32, per_shard: u64) -> Rule {
        let subject = format!("{}#{shard}", country.name);
        let (key, limit) = self.fixed("country-day", &subject, per_shard, 86_400);
        Rule {
            name: "country-day",
            key,
            limit,
            errno: Errno::TooManyForCountry,
            messages: COUNTRY_MSG,
        }
    }

    fn random_below(&self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let bytes: [u8; 4] = crate::random::random_array(self.state.rng.as_ref());
        u32::from_le_bytes(bytes) % n
    }

    /// One code check for `msisdn`, from `ip`, charged before the code is compared: a tight
    /// budget per (number, client address) and a wider one per number. Sliding windows: the
    /// budget comes back as checks age, so a refusal is a backoff of at most
    /// `wrong_tries_window_secs`, never a day-long lock.
    pub async fn code_check(&self, msisdn: &Msisdn, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let l = self.state.limits();
        let ids = &self.state.ids;
        let numbers = ids.msisdn_macs(msisdn);
        // One client subject per secret version, paired with the number's of the same version.
        let clients = match ip {
            Some(ip) => ids.client_macs(&client_group(ip)),
            None => vec!["unknown".to_owned(); numbers.len()],
        };
        let window = |max| {
            Limit::Sliding(vec![Window {
                max,
                secs: l.wrong_tries_window_secs,
            }])
        };
        let mut rules = Vec::new();
        for (number, client) in numbers.iter().zip(&clients) {
            rules.push(Rule {
                name: "wrong-number-client",
                key: format!("rl#wrong#{number}#{client}"),
                limit: window(l.wrong_tries_per_number_per_client),
                errno: Errno::TooManyForNumber,
                messages: WRONG_MSG,
            });
            rules.push(Rule {
                name: "wrong-number",
                key: format!("rl#wrong#{number}"),
                limit: window(l.wrong_tries_per_number),
                errno: Errno::TooManyForNumber,
                messages: WRONG_MSG,
            });
        }
        // Checks are what is counted, right or wrong: the charges stay.
        let _kept = self.charge(&rules).await?;
        Ok(())
    }
}

fn longest(refused: Vec<Refusal>) -> Option<Refusal> {
    refused.into_iter().max_by_key(|r| r.retry_after)
}
