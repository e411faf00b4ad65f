//! `start-verification`: discover, register, unregister, sms/mt/verify.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::{StatusCode, header};
use serde_json::{Value, json};

use super::{mcc_param, mnc_param};
use crate::api::AppState;
use crate::api::auth::Authenticated;
use crate::api::body::Params;
use crate::api::client::ClientIp;
use crate::api::issue::{CodeRequest, IssueError, issue_and_send};
use crate::api::limits::Limiter;
use crate::crypto::{Sealed, derive_credentials};
use crate::domain::{CodeKind, Msisdn, MsisdnError, SessionToken};
use crate::error::ApiError;
use crate::random::random_array;
use crate::store::SessionRecord;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/msisdn/discover", post(discover))
        .route("/discover", post(discover))
        .route("/v1/msisdn/register", post(register))
        .route("/register", post(register))
        .route("/v1/msisdn/unregister", post(unregister))
        .route("/unregister", post(unregister))
        .route("/v1/msisdn/sms/mt/verify", post(mt_verify))
        .route("/sms/mt/verify", post(mt_verify))
}

/// Which verification methods this network can use, with the numbers involved.
async fn discover(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    params.require(&["mcc"])?;
    let mcc = mcc_param(&params)?;
    let mnc = mnc_param(&params)?;
    let stage = &state.settings.stage;
    if !stage.serves_mcc(&mcc) {
        return Err(ApiError::invalid(format!(
            "Networks of MCC {mcc} are not served by this service (country rule)."
        )));
    }
    if params.has_key("msisdn") {
        let msisdn = params.str("msisdn").map(Msisdn::parse);
        match msisdn {
            Some(Ok(m)) if stage.destination(&m).is_some() => {}
            Some(Ok(m)) => {
                return Err(ApiError::invalid(format!(
                    "Numbers of region {} are not served by this service (country rule).",
                    m.region()
                )));
            }
            Some(Err(e)) => return Err(invalid_msisdn(e)),
            None => return Err(ApiError::invalid("Invalid MSISDN number.")),
        }
    }
    let mt_sender = stage.mt_sender(&mcc, mnc.as_ref());
    let mo_verifier = stage.mo_verifier(&mcc, mnc.as_ref());
    let mut methods = Vec::new();
    let mut details = serde_json::Map::new();
    if params.has_key("msisdn") || mo_verifier.is_none() {
        methods.push("sms/mt");
        let url = format!("{}/v1/msisdn/sms/mt/verify", state.settings.public_url);
        details.insert("sms/mt".into(), json!({"mtSender": mt_sender, "url": url}));
    }
    if let Some(mo) = mo_verifier {
        methods.push("sms/momt");
        details.insert(
            "sms/momt".into(),
            json!({"mtSender": mt_sender, "moVerifier": mo}),
        );
    }
    Ok(Json(
        json!({"verificationMethods": methods, "verificationDetails": details}),
    ))
}

/// A new session: 32 random bytes the client derives its Hawk credentials from.
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _body: Params,
) -> Result<Json<Value>, ApiError> {
    Limiter::new(&state).client(ip).await?;
    let token = SessionToken::from_bytes(random_array(state.rng.as_ref()));
    let (hawk_id, auth_key) = derive_credentials(&token);
    let record = SessionRecord {
        sealed_auth_key: state.sealer.seal(
            &hawk_id,
            Sealed::AuthKey,
            auth_key.as_bytes(),
            state.rng.as_ref(),
        ),
        expires_at: state.clock.now_secs() + state.limits().session_ttl_secs,
        msisdn: None,
        code: None,
        verified_at_ms: None,
    };
    let key = state.ids.session_key(&hawk_id);
    state
        .store
        .put_session(&key, &record)
        .await
        .map_err(|e| state.store_error(e))?;
    Ok(Json(json!({"msisdnSessionToken": token.to_hex()})))
}

/// Deletes everything the session holds; its credentials stop working.
async fn unregister(State(state): State<AppState>, auth: Authenticated) -> Response {
    let result = state
        .store
        .delete_session(&auth.session_key)
        .await
        .map(|()| no_content())
        .map_err(|e| state.store_error(e));
    auth.respond(result)
}

/// Texts a code to the number the client names.
async fn mt_verify(State(state): State<AppState>, auth: Authenticated) -> Response {
    let result = mt_verify_inner(&state, &auth).await.map(|()| no_content());
    auth.respond(result)
}

async fn mt_verify_inner(state: &AppState, auth: &Authenticated) -> Result<(), ApiError> {
    let params = &auth.params;
    params.require(&["msisdn", "mcc"])?;
    let msisdn = params
        .str("msisdn")
        .ok_or_else(|| ApiError::invalid("Invalid MSISDN number."))
        .and_then(|s| Msisdn::parse(s).map_err(invalid_msisdn))?;
    let mnc = mnc_param(params)?;
    let mcc = mcc_param(params)?;
    // Strictly the JSON `true` (as the original): the string "true" asks for a long code.
    let kind = if params.get("shortVerificationCode") == Some(&Value::Bool(true)) {
        CodeKind::Short
    } else {
        CodeKind::Long
    };
    let request = CodeRequest {
        session_key: &auth.session_key,
        session: &auth.session,
        client_ip: auth.client_ip,
        hawk_id: &auth.hawk_id,
        msisdn: &msisdn,
        kind,
        mcc: &mcc,
        mnc: mnc.as_ref(),
        accept_language: auth
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    };
    match issue_and_send(state, request).await {
        Ok(()) => Ok(()),
        Err(IssueError::OtherNumber) => Err(ApiError::invalid(
            "You can validate only one MSISDN per session.",
        )),
        Err(IssueError::NoSession) => Err(ApiError::expired("The session has expired.")),
        Err(IssueError::Api(e)) => Err(e),
    }
}

fn invalid_msisdn(e: MsisdnError) -> ApiError {
    ApiError::invalid("Invalid MSISDN number.").with_info(e.to_string())
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
