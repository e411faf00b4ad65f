//! `sign-certificate`: an ES256 certificate binding the client's public key to its verified
//! number, and the documents to verify it with.
//!
//! The claims (docs/relying-parties.md lists each with its unit): the standard ones in the
//! units every JOSE library reads — `iss`, `sub`, `iat`/`nbf`/`exp` in seconds (RFC 7519),
//! `phone_number` and `phone_number_verified` (OpenID Connect Core §5.1), `cnf.jwk` for an EC
//! key (RFC 7800) — beside the original's, kept for old clients with their names and units:
//! `verifiedMSISDN`, `lastVerifiedAt` and `lastAuthAt` (milliseconds), `public-key`,
//! `principal`.

use axum::Json;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::auth::Authenticated;
use crate::domain::{ClientPublicKey, PublicKeyError};
use crate::error::ApiError;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/certificate/sign", post(sign))
        .route("/certificate/sign", post(sign))
        .route("/.well-known/browserid", get(browserid))
        .route("/.well-known/browserid/warning.html", get(warning))
        .route("/.well-known/jwks.json", get(jwks))
}

const WARNING_PATH: &str = "/.well-known/browserid/warning.html";
/// Verifiers refuse an `iat` or `nbf` in their future: back-date both by 10 s of clock skew
/// (as the original did, and FxA's certificate signer).
const BACKDATE_SECS: i64 = 10;

async fn sign(State(state): State<AppState>, auth: Authenticated) -> Response {
    let result = sign_inner(&state, &auth)
        .await
        .map(IntoResponse::into_response);
    auth.respond(result)
}

async fn sign_inner(state: &AppState, auth: &Authenticated) -> Result<Json<Value>, ApiError> {
    let params = &auth.params;
    params.require(&["duration", "publicKey"])?;
    let public_key = ClientPublicKey::from_param(params.get("publicKey").unwrap_or(&Value::Null))
        .map_err(|e| match e {
        PublicKeyError::NotJson => ApiError::bad_json("publicKey is a string but not valid JSON."),
        PublicKeyError::Shape(why) => ApiError::invalid("Bad Public Key.").with_info(why),
    })?;
    let duration = duration_param(params.get("duration"))?;
    let max = state.limits().max_certificate_secs;
    // Longer requests are shortened to the stage's maximum, never refused: `exp` says it.
    let duration = duration.min(max);
    let verified_at_ms = auth.session.verified_at_ms.ok_or_else(|| {
        ApiError::expired("Validation has expired: this session has no verified number.")
    })?;
    let msisdn = auth.bound_msisdn(&state.sealer)?;
    let now_ms = state.clock.now_ms();
    let now = now_ms.div_euclid(1000);
    let issuer = &state.settings.issuer;
    let principal = state.ids.principal(&msisdn);
    let mut claims = json!({
        "iss": issuer,
        "sub": principal,
        "iat": now - BACKDATE_SECS,
        "nbf": now - BACKDATE_SECS,
        "exp": now + duration,
        "phone_number": msisdn.e164(),
        "phone_number_verified": true,
        "verifiedMSISDN": msisdn.e164(),
        "lastVerifiedAt": verified_at_ms,
        "lastAuthAt": now_ms,
        "public-key": public_key.to_claim(),
        "principal": {"email": format!("{principal}@{issuer}")},
    });
    if let Some(jwk) = public_key.to_jwk() {
        claims["cnf"] = json!({ "jwk": jwk });
    }
    let cert = state.signing_keys()?.sign(&claims);
    state.metrics.certificate_signed();
    Ok(Json(json!({"cert": cert})))
}

/// Seconds, as a positive integer (a JSON number or a numeric string, as old clients send).
fn duration_param(value: Option<&Value>) -> Result<i64, ApiError> {
    let invalid = || ApiError::invalid("Duration should be a number of seconds.");
    let n = match value {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid)?,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| invalid())?,
        _ => return Err(invalid()),
    };
    if n < 1 { Err(invalid()) } else { Ok(n) }
}

/// The BrowserID support document: `public-key` is the current key (BrowserID has room for
/// one); `keys` has every published one, as the JWKS.
async fn browserid(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = state.signing_keys()?;
    Ok(Json(json!({
        "public-key": keys.current().public_jwk(),
        "keys": keys.jwks()["keys"],
        "authentication": WARNING_PATH,
        "provisioning": WARNING_PATH,
    })))
}

/// Every key not yet retired: the current one, the next one before it signs, the previous ones
/// until the certificates they signed have expired.
async fn jwks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.signing_keys()?.jwks()))
}

async fn warning() -> Html<&'static str> {
    Html(
        "<!doctype html><title>Mobile-ID</title><p>This is the Mobile-ID server. It is not a \
         BrowserID identity provider you can log in to; its certificates are requested by \
         client applications.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_positive_integers() {
        assert_eq!(duration_param(Some(&json!(60))), Ok(60));
        assert_eq!(duration_param(Some(&json!("86400"))), Ok(86400));
        for bad in [
            json!(0),
            json!(-5),
            json!("abc"),
            json!(1.5),
            json!(true),
            json!([]),
        ] {
            assert!(duration_param(Some(&bad)).is_err(), "{bad}");
        }
    }
}
