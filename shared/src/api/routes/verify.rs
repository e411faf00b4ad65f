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
    auth.respond(result.map(IntoResponse::into_response))
}

/// What a check says about the code, for the metrics (`None`: no code was judged).
fn outcome(result: &Result<Json<Value>, ApiError>) -> Option<CodeOutcome> {
    match result {
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

async fn check(state: &AppState, auth: &Authenticated) -> Result<Json<Value>, ApiError> {
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
    // A code sent before a codeSecret rotation still matches under its version.
    let right = state
        .ids
        .code_macs(&auth.session_key, &code)
        .iter()
        .fold(false, |any, mac| {
            any | bool::from(mac.as_bytes().ct_eq(pending.mac.as_bytes()))
        });
    if !right {
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
        // Another request used (or locked) this code between our read and our write.
        return Err(ApiError::expired(USED));
    }
    Ok(Json(json!({"msisdn": msisdn.e164()})))
}
