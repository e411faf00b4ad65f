//! `inbound-sms`: the provider's callback for an SMS a device sent us (SMS-MO+MT).
//!
//! The device texts `"<anything> <hawkId>"`; we learn its number from the sender and text a
//! long code back. Every handled case answers 200 quickly (Nexmo retries anything else for
//! 24 hours); only a failure on our side answers 503 so that the provider retries.
//!
//! A callback must come from the provider: its parameter names are Nexmo's own
//! (`[A-Za-z0-9-]`, else 400/107: Nexmo's signed string does not escape names, so a name with
//! `=` or `&` could rebuild a signed string around other parameters), the [`InboundVerifier`]
//! checks its signature and freshness (401/109 otherwise), and a signed callback must name its
//! `messageId` (401/109). A message is delivered once: its `messageId` is claimed for the
//! delivery (a short in-flight lease, then "done" for the de-duplication period) and its
//! signature is remembered too. A retry that arrives while a delivery is in flight gets 503,
//! so the provider retries again; a failed delivery releases both, so that retry delivers.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::api::auth::find_session;
use crate::api::body::RawBody;
use crate::api::issue::{CodeRequest, IssueError, issue_and_send};
use crate::domain::{CodeKind, HawkId, Mcc, Mnc, Msisdn};
use crate::error::{ApiError, Errno};
use crate::metrics::Webhook;
use crate::sms::InboundRecord;
use crate::store::Delivery;

pub use crate::sms::signature::{AcceptUnsigned, InboundVerifier};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/v1/msisdn/sms/momt/nexmo", get(callback).post(callback))
        .route("/sms/momt/", get(legacy_callback).post(legacy_callback))
}

/// Inbound callbacks are kept at least this long to recognise Nexmo's retries (it retries
/// for 24 h).
const DEDUP_SECS: i64 = 2 * 86_400;

/// How long a delivery may take before a retry can take it over (SMS attempts are bounded by
/// a few seconds each; a crashed instance must not hold a message forever).
const IN_FLIGHT_SECS: i64 = 60;

/// How long a `messageId` is remembered: long enough that a replay whose timestamp is still
/// inside the window (up to twice the window after the first delivery) is still recognised.
fn dedup_secs(state: &AppState) -> i64 {
    DEDUP_SECS.max(2 * state.limits().inbound_timestamp_window_secs + 3600)
}

async fn legacy_callback(
    State(state): State<AppState>,
    Query(query): Query<BTreeMap<String, String>>,
    req: Request,
) -> Response {
    match query.get("provider").map(String::as_str) {
        Some("nexmo") => callback(State(state), req).await,
        _ => ApiError::invalid("Provider should be one of: nexmo").into_response(),
    }
}

async fn callback(State(state): State<AppState>, req: Request) -> Response {
    let params = match callback_params(&state, req).await {
        Ok(params) => params,
        Err(e) => return e.into_response(),
    };
    let outcome = handle(&state, &params).await;
    note_outcome(&state, &params, &outcome);
    match outcome {
        Ok(()) => Json(json!({})).into_response(),
        Err(Outcome::ProviderPing) => {
            // The provider checks the URL with a parameterless call: 200 `{}`. (The original
            // answered an empty body labelled application/json, which JSON clients can't parse.)
            Json(json!({})).into_response()
        }
        Err(Outcome::Ignored(why)) => {
            tracing::info!(reason = why, "inbound SMS ignored");
            Json(json!({})).into_response()
        }
        Err(Outcome::Refused(e)) | Err(Outcome::Failed(e)) => e.into_response(),
    }
}

enum Outcome {
    ProviderPing,
    /// Handled, nothing to do (not for us, unknown session, …): still 200.
    Ignored(&'static str),
    /// Not from the provider: nothing sent.
    Refused(ApiError),
    /// Our failure: the provider should retry.
    Failed(ApiError),
}

async fn handle(state: &AppState, params: &BTreeMap<String, String>) -> Result<(), Outcome> {
    let Some(sender) = params.get("msisdn") else {
        return Err(Outcome::ProviderPing);
    };
    let now = state.clock.now_secs();
    let refuse = |why: String| {
        // Neither the sender nor the text: the reason and the provider's message id only.
        tracing::warn!(reason = %why, message_id = params.get("messageId").map(String::as_str), "inbound SMS refused");
        state
            .metrics
            .webhook_refused(Webhook::InboundSms, "signature");
        Outcome::Refused(
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Errno::InvalidRequestSignature,
                "Invalid request signature.",
            )
            .with_info(why),
        )
    };
    state.inbound_verifier.verify(params, now).map_err(refuse)?;
    let message_id = params.get("messageId");
    if state.inbound_verifier.signs() && message_id.is_none() {
        return Err(refuse("a signed callback must name its messageId".into()));
    }
    let Some(message_id) = message_id else {
        // Unsigned callbacks (local server only) without an id: nothing to de-duplicate on.
        return act(state, sender, params).await;
    };
    let delivery = format!("delivery#{message_id}");
    let failed = |e| Outcome::Failed(state.store_error(e));
    match state
        .store
        .claim_delivery(&delivery, now + IN_FLIGHT_SECS, now)
        .await
        .map_err(failed)?
    {
        Delivery::Claimed => {}
        Delivery::Done => return Err(Outcome::Ignored("duplicate messageId (provider retry)")),
        Delivery::InFlight => {
            return Err(Outcome::Failed(ApiError::backend(
                state.limits().retry_after_secs,
                "Service Unavailable: this message is being delivered; retry later.",
            )));
        }
    }
    // The same signed callback under another arrangement of its parameters is the same message.
    let signature = params
        .get("sig")
        .map(|sig| format!("inbound-sig#{}", sig.to_ascii_lowercase()));
    let mut result = Ok(());
    if let Some(key) = &signature {
        match state
            .store
            .insert_once(key, now + dedup_secs(state), now)
            .await
        {
            Ok(true) => {}
            Ok(false) => result = Err(Outcome::Ignored("signature already seen (replay)")),
            Err(e) => result = Err(failed(e)),
        }
    }
    if result.is_ok() {
        result = act(state, sender, params).await;
    }
    // Best effort: a lost write only makes the provider's retry wait for the lease.
    if let Err(Outcome::Failed(_)) = &result {
        // Let the provider's next retry deliver it.
        let _ = state.store.settle_delivery(&delivery, None).await;
        if let Some(key) = &signature {
            let _ = state.store.forget(key).await;
        }
    } else {
        let _ = state
            .store
            .settle_delivery(&delivery, Some(now + dedup_secs(state)))
            .await;
    }
    result
}

async fn act(
    state: &AppState,
    sender: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), Outcome> {
    let text = params.get("text").map_or("", String::as_str);
    let hawk_id = text
        .split_whitespace()
        .nth(1)
        .and_then(HawkId::parse)
        .ok_or(Outcome::Ignored("text does not carry a Hawk id"))?;
    let now = state.clock.now_secs();
    let (session_key, session) = find_session(state, &hawk_id, now)
        .await
        .map_err(|e| Outcome::Failed(state.store_error(e)))?
        .ok_or(Outcome::Ignored("no such session"))?;
    let msisdn = Msisdn::parse(&format!("+{}", sender.trim_start_matches('+')))
        .map_err(|_| Outcome::Ignored("sender is not a valid mobile number"))?;
    let (mcc, mnc) =
        network(state, params, &msisdn).ok_or(Outcome::Ignored("network not served"))?;
    let request = CodeRequest {
        session_key: &session_key,
        session: &session,
        // The provider calls, not the device: no per-address limit.
        client_ip: None,
        hawk_id: &hawk_id,
        msisdn: &msisdn,
        kind: CodeKind::Long,
        mcc: &mcc,
        mnc: mnc.as_ref(),
        accept_language: None,
    };
    match issue_and_send(state, request).await {
        Ok(()) => Ok(()),
        Err(IssueError::OtherNumber) => {
            Err(Outcome::Ignored("session already verifies another number"))
        }
        Err(IssueError::NoSession) => Err(Outcome::Ignored("no such session")),
        Err(IssueError::Api(e)) if e.status.is_server_error() => Err(Outcome::Failed(e)),
        Err(IssueError::Api(_)) => Err(Outcome::Ignored(
            "number or network refused by the stage rules",
        )),
    }
}

/// Where SMS go to the fake gateway, it keeps what each callback came to: locally the webhook
/// is called by hand, and `{}` alone does not say why no SMS came back.
fn note_outcome(
    state: &AppState,
    params: &BTreeMap<String, String>,
    outcome: &Result<(), Outcome>,
) {
    let (Some(gateway), Some(sender)) = (&state.outbox, params.get("msisdn")) else {
        return;
    };
    let outcome = match outcome {
        Ok(()) => "code sent".to_owned(),
        Err(Outcome::ProviderPing) => return,
        Err(Outcome::Ignored(why)) => format!("ignored: {why}"),
        Err(Outcome::Refused(e)) => format!(
            "refused ({} errno {}): {}{}",
            e.status.as_u16(),
            e.errno as u16,
            e.message,
            e.info.as_ref().map_or(String::new(), |i| format!(" ({i})"))
        ),
        Err(Outcome::Failed(e)) => format!("failed, the provider would retry: {}", e.message),
    };
    gateway.record_inbound(InboundRecord {
        from: sender.clone(),
        text: params.get("text").cloned().unwrap_or_default(),
        message_id: params.get("messageId").cloned(),
        outcome,
        timestamp: 0,
    });
}

/// MCC/MNC from Nexmo's `network-code` when present, else the first MCC of the sender's country.
fn network(
    state: &AppState,
    params: &BTreeMap<String, String>,
    msisdn: &Msisdn,
) -> Option<(Mcc, Option<Mnc>)> {
    // Digits only: slicing a longer, non-ASCII value at byte 3 could split a character.
    if let Some(code) = params
        .get("network-code")
        .filter(|c| (5..=6).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()))
        && let (Some(mcc), Some(mnc)) = (Mcc::parse(&code[..3]), Mnc::parse(&code[3..]))
    {
        return Some((mcc, Some(mnc)));
    }
    state
        .settings
        .stage
        .default_mcc_for(msisdn)
        .map(|mcc| (mcc, None))
}

/// The callback's parameters: the query string for GET; the form or JSON body for POST.
pub(super) async fn callback_params(
    state: &AppState,
    req: Request,
) -> Result<BTreeMap<String, String>, ApiError> {
    let (parts, body) = req.into_parts();
    let mut params = BTreeMap::new();
    if parts.method == Method::GET {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| ApiError::invalid("The query string could not be decoded."))?;
        params.extend(pairs);
    } else {
        let raw = RawBody::read(&parts.headers, body, state.limits().max_body_bytes).await?;
        for (k, v) in raw.params()?.0 {
            let v = match v {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            params.insert(k, v);
        }
    }
    params.remove("provider");
    if let Some(name) = params.keys().find(|k| !is_nexmo_name(k)) {
        let shown: String = name.chars().take(40).collect();
        return Err(ApiError::invalid(
            "Parameter names must be Nexmo's own: letters, digits and '-'.",
        )
        .with_info(format!("refused parameter name {shown:?}")));
    }
    Ok(params)
}

/// Nexmo's parameter names (`msisdn`, `message-timestamp`, `api-key`…): letters, digits, `-`.
fn is_nexmo_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
