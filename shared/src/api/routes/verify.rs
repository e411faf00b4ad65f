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
use crate::store::{Consume, WrongTry};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/msisdn/sms/verify_code", post(verify_code))
        .route("/sms/verify_code", post(verify_code))
}

async fn verify_code(State(state): State<AppState>, auth: Authenticated) -> Response {
    let result = check(&state, &auth).await.map(IntoResponse::into_response);
    auth.respond(result)
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
    // Wrong tries are also counted per number, across codes and sessions (test numbers
    // exempt), under every honoured msisdnSecret version (a rotation restarts no count).
    let msisdn = auth.bound_msisdn(&state.sealer)?;
    let number_macs = Some(state.ids.msisdn_macs(&msisdn))
        .filter(|_| state.settings.stage.test_code_for(&msisdn).is_none());
    let limiter = Limiter::new(state);
    if let Some(macs) = &number_macs {
        limiter.wrong_tries_allowed(macs).await?;
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
        if let Some(macs) = &number_macs {
            limiter.count_wrong_try(macs).await?;
        }
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
