//! Rate limits and the per-country circuit breaker, as fixed-window counters in the store
//! (one atomic increment each), so they hold across Lambda instances.
//!
//! Every refusal answers the backoff protocol: 429, the errno of the limit, `Retry-After`
//! and `retryAfter` = the seconds until the window ends.

use std::net::IpAddr;

use super::AppState;
use crate::config::Country;
use crate::crypto::SessionKey;
use crate::domain::Msisdn;
use crate::error::{ApiError, Errno};

/// One limit: at most `max` events per `window_secs` for `subject`.
struct Window<'a> {
    /// Names the limit in keys and logs (`number-10min`).
    name: &'static str,
    /// What is counted (an HMAC): never a phone number in clear. One key per honoured version
    /// of the secret it is keyed with (current first): during a rotation every key is charged
    /// and the highest count decides, so no count starts again from zero.
    subjects: &'a [String],
    max: u64,
    window_secs: i64,
    errno: Errno,
    message: &'static str,
}

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

    fn key(&self, w: &Window<'_>, subject: &str) -> (String, i64) {
        let start = self.now - self.now.rem_euclid(w.window_secs);
        (
            format!("rl#{}#{subject}#{start}", w.name),
            start + w.window_secs,
        )
    }

    /// Counts one event; refuses it if it goes over the limit.
    async fn hit(&self, w: Window<'_>) -> Result<(), ApiError> {
        let mut highest = (0, self.now);
        for subject in w.subjects {
            let (key, window_end) = self.key(&w, subject);
            let count = self
                .state
                .store
                .increment(&key, window_end, self.now)
                .await
                .map_err(|e| self.state.store_error(e))?;
            highest = highest.max((count, window_end));
        }
        self.judge(&w, highest.0, highest.1)
    }

    /// Refuses if the limit is already reached, without counting.
    async fn peek(&self, w: Window<'_>) -> Result<(), ApiError> {
        let mut highest = (0, self.now);
        for subject in w.subjects {
            let (key, window_end) = self.key(&w, subject);
            let count = self
                .state
                .store
                .counter(&key, self.now)
                .await
                .map_err(|e| self.state.store_error(e))?;
            highest = highest.max((count, window_end));
        }
        self.judge(&w, highest.0 + 1, highest.1)
    }

    fn judge(&self, w: &Window<'_>, count: u64, window_end: i64) -> Result<(), ApiError> {
        if count <= w.max {
            return Ok(());
        }
        tracing::warn!(limit = w.name, "rate limit reached");
        Err(ApiError::too_many(
            w.errno,
            (window_end - self.now) as u64,
            w.message,
        ))
    }

    /// Registrations and sends from one client address, per minute and per hour.
    pub async fn client(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = ip else { return Ok(()) };
        let subjects = self.state.ids.client_macs(&ip);
        let l = self.state.limits();
        const MSG: &str = "Too many requests from this address: retry later.";
        // Independent windows: counted concurrently (one store round trip of latency, not two).
        tokio::try_join!(
            self.hit(Window {
                name: "ip-minute",
                subjects: &subjects,
                max: l.requests_per_ip_per_minute,
                window_secs: 60,
                errno: Errno::TooManyForClient,
                message: MSG
            }),
            self.hit(Window {
                name: "ip-hour",
                subjects: &subjects,
                max: l.requests_per_ip_per_hour,
                window_secs: 3600,
                errno: Errno::TooManyForClient,
                message: MSG
            }),
        )
        .map(|_| ())
    }

    /// Short-code SMS per session (each costs money and a person's attention).
    pub async fn short_sends(
        &self,
        session: &SessionKey,
        session_expires_at: i64,
    ) -> Result<(), ApiError> {
        let l = self.state.limits();
        let window = (session_expires_at - self.now).max(1);
        // A window that ends with the session: the count never resets while it lives.
        let key = format!("rl#session-short#{}", session.as_str());
        let count = self
            .state
            .store
            .increment(&key, self.now + window, self.now)
            .await
            .map_err(|e| self.state.store_error(e))?;
        if count > l.short_sends_per_session {
            tracing::warn!(limit = "session-short", "rate limit reached");
            return Err(ApiError::too_many(
                Errno::TooManyForSession,
                window as u64,
                "Too many short codes sent for this session: register again later.",
            ));
        }
        Ok(())
    }

    /// Codes sent to one number (one per 30 s, five per 10 min) and to its number range.
    pub async fn sends_to(&self, msisdn: &Msisdn) -> Result<(), ApiError> {
        let l = self.state.limits();
        let number = self.state.ids.msisdn_macs(msisdn);
        let prefix = self.state.ids.prefix_macs(msisdn);
        tokio::try_join!(
            self.hit(Window {
                name: "number-interval",
                subjects: &number,
                max: 1,
                window_secs: l.send_interval_per_number_secs,
                errno: Errno::TooManyForNumber,
                message: "A code was just sent to this number: wait before asking again."
            }),
            self.hit(Window {
                name: "number-10min",
                subjects: &number,
                max: l.sends_per_number_per_10_min,
                window_secs: 600,
                errno: Errno::TooManyForNumber,
                message: "Too many codes sent to this number: retry later."
            }),
            self.hit(Window {
                name: "prefix-hour",
                subjects: &prefix,
                max: l.sends_per_prefix_per_hour,
                window_secs: 3600,
                errno: Errno::TooManyForNumber,
                message: "Too many codes sent to this number range: retry later."
            }),
        )
        .map(|_| ())
    }

    /// The per-country daily cap: past it, the stage sends nothing more to that country today.
    pub async fn country(&self, country: &Country) -> Result<(), ApiError> {
        let cap = self.state.settings.stage.daily_cap(country);
        let w = Window {
            name: "country-day",
            subjects: std::slice::from_ref(&country.name),
            max: cap,
            window_secs: 86_400,
            errno: Errno::TooManyForCountry,
            message: "Too many SMS to this country today: retry tomorrow.",
        };
        let result = self.hit(w).await;
        if let Err(e) = &result
            && e.errno == Errno::TooManyForCountry
        {
            tracing::error!(country = %country.name, cap, "circuit breaker: daily SMS cap reached for a country");
        }
        result
    }

    /// Refuses a code check once the number has had too many wrong codes today (across codes
    /// and sessions: a new code does not reset it).
    pub async fn wrong_tries_allowed(&self, number_macs: &[String]) -> Result<(), ApiError> {
        self.peek(self.wrong_tries_window(number_macs)).await
    }

    pub async fn count_wrong_try(&self, number_macs: &[String]) -> Result<(), ApiError> {
        // Counting is what matters here; the refusal comes with the next check.
        self.hit(self.wrong_tries_window(number_macs))
            .await
            .or_else(|e| {
                if e.status == http::StatusCode::TOO_MANY_REQUESTS {
                    Ok(())
                } else {
                    Err(e)
                }
            })
    }

    fn wrong_tries_window<'s>(&self, number_macs: &'s [String]) -> Window<'s> {
        Window {
            name: "number-wrong-day",
            subjects: number_macs,
            max: self.state.limits().wrong_tries_per_number_per_day,
            window_secs: 86_400,
            errno: Errno::TooManyForNumber,
            message: "Too many wrong codes for this number today: retry later.",
        }
    }
}
