//! `verify-code`: the device submits the code it received.
//!
//! The decision is made on the session read during authentication, and made safe by the
//! store's atomic writes: only one right submission can consume a code, and wrong tries are
//! counted by a conditional increment that stops at the limit.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::api::AppState;
use crate::api::auth::Authenticated;
use crate::api::limits::Limiter;
use crate::domain::VerificationCode;
use crate::error::{ApiError, Errno};
use crate::metrics::CodeOutcome;
use crate::store::{Consume, WrongTry};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/msisdn/sms/verify_code", post(verify_code))
        .route("/sms/verify_code", post(verify_code))
}

async fn verify_code(State(state): State<AppState>, auth: Authenticated) -> Response {
    let result = check(&state, &auth).await;
    if let Some(outcome) = outcome(&result) {
        let number = auth.bound_msisdn(&state.sealer).ok();
        let country = number.as_ref().map_or("unknown", |m| m.region());
        state.metrics.code_checked(outcome, country);
    }
    auth.respond(result.map(|verified| verified.body.into_response()))
}

/// A right code: the number, and whether this submission was the one that consumed the code
/// or a repeat of it.
struct Verified {
    body: Json<Value>,
    repeat: bool,
}

/// What a check says about the code, for the metrics (`None`: no code was judged). A repeat is
/// not counted again: the conversion metrics count numbers verified, not answers sent.
fn outcome(result: &Result<Verified, ApiError>) -> Option<CodeOutcome> {
    match result {
        Ok(v) if v.repeat => None,
        Ok(_) => Some(CodeOutcome::Verified),
        Err(e) if e.errno == Errno::InvalidCode => Some(CodeOutcome::Wrong),
        Err(e) if e.message == EXPIRED => Some(CodeOutcome::Expired),
        Err(e) if e.message == LOCKED => Some(CodeOutcome::Locked),
        Err(_) => None,
    }
}

const NO_CODE: &str = "No code is pending for this session: ask for a new one.";
const EXPIRED: &str = "Code has expired: ask for a new one.";
const LOCKED: &str = "Too many wrong codes: ask for a new one.";
const USED: &str = "Code already used.";

/// Whether `code` is the one behind `pending.mac` (under any honoured codeSecret version, so a
/// code sent before a rotation still matches). Constant time.
fn matches(state: &AppState, auth: &Authenticated, code: &VerificationCode, mac: &str) -> bool {
    state
        .ids
        .code_macs(&auth.session_key, code)
        .iter()
        .fold(false, |any, m| {
            any | bool::from(m.as_bytes().ct_eq(mac.as_bytes()))
        })
}

/// The answer to a repeat of the submission that consumed the code: the same as that one's.
fn repeat(state: &AppState, auth: &Authenticated) -> Result<Verified, ApiError> {
    let msisdn = auth.bound_msisdn(&state.sealer)?;
    Ok(Verified {
        body: Json(json!({"msisdn": msisdn.e164()})),
        repeat: true,
    })
}

async fn check(state: &AppState, auth: &Authenticated) -> Result<Verified, ApiError> {
    auth.params.require(&["code"])?;
    let code = auth
        .params
        .str("code")
        .and_then(VerificationCode::parse)
        .ok_or_else(|| {
            ApiError::invalid("Code should be short (6 characters) or long (32 characters).")
        })?;
    let limits = state.limits();
    let now = state.clock.now_secs();
    let pending = auth
        .session
        .code
        .as_ref()
        .ok_or_else(|| ApiError::expired(NO_CODE))?;
    if pending.used {
        // The session that consumed the code, sending it again while it is still within its
        // lifetime, is repeating a request whose answer it lost (a timeout, an instance that
        // died after the write): it gets that answer, idempotently. Nothing is charged, as
        // nothing is guessed: the session has verified this number already. Any other code
        // is refused as before, and another session never sees this code at all.
        if pending.expires_at > now && matches(state, auth, &code, &pending.mac) {
            return repeat(state, auth);
        }
        return Err(ApiError::expired(USED));
    }
    if pending.expires_at <= now {
        return Err(ApiError::expired(EXPIRED));
    }
    if pending.wrong_tries >= limits.wrong_tries_per_code {
        return Err(ApiError::expired(LOCKED));
    }
    // Every check of a code for a real number is charged to the number's budgets before the
    // code is compared — per (number, client address) and per number, under every honoured
    // msisdnSecret version (a rotation restarts no count). Charging first is what makes a
    // budget bind: a guess over budget is refused before anyone learns whether it was right.
    // A right code is charged too (it is one check; giving it back would cost two more writes
    // on every verification for nothing an owner needs). Test numbers are exempt.
    let msisdn = auth.bound_msisdn(&state.sealer)?;
    if state.settings.stage.test_code_for(&msisdn).is_none() {
        Limiter::new(state)
            .code_check(&msisdn, auth.client_ip)
            .await?;
    }
    if !matches(state, auth, &code, &pending.mac) {
        return match state
            .store
            .count_wrong_try(&auth.session_key, &pending.mac, limits.wrong_tries_per_code)
            .await
            .map_err(|e| state.store_error(e))?
        {
            WrongTry::Counted(n) => {
                let left = limits.wrong_tries_per_code.saturating_sub(n);
                Err(ApiError::new(
                    http::StatusCode::BAD_REQUEST,
                    Errno::InvalidCode,
                    "Code error.",
                )
                .with_info(format!("{left} tries left for this code")))
            }
            WrongTry::AlreadyLocked => Err(ApiError::expired(LOCKED)),
            WrongTry::CodeChanged => Err(ApiError::expired(NO_CODE)),
        };
    }
    let consume = Consume {
        now,
        max_wrong_tries: limits.wrong_tries_per_code,
        verified_at_ms: state.clock.now_ms(),
        session_expires_at: now + limits.verified_session_ttl_secs,
    };
    let won = state
        .store
        .consume_code(&auth.session_key, &pending.mac, &consume)
        .await
        .map_err(|e| state.store_error(e))?;
    if !won {
        // Another request used (or locked) this code between our read and our write. If it
        // was this session's own concurrent submission of this right code (a client retrying
        // before its first try answered), the code is now used under this very MAC, and this
        // request is a repeat of that one.
        let now_used = state
            .store
            .get_session(&auth.session_key, now)
            .await
            .map_err(|e| state.store_error(e))?
            .and_then(|session| session.code)
            .is_some_and(|c| c.used && c.mac == pending.mac);
        if now_used {
            return repeat(state, auth);
        }
        return Err(ApiError::expired(USED));
    }
    Ok(Verified {
        body: Json(json!({"msisdn": msisdn.e164()})),
        repeat: false,
    })
}
