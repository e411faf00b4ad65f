//! Nexmo's delivery-receipt callback (on the inbound-sms function URL): did an SMS we sent
//! reach the phone? "Sent" is not "delivered", and this is where the two are told apart.
//!
//! A receipt is trusted as an inbound SMS is, through the same parameter reading: names inside
//! Nexmo's charset (the signed string does not escape names, so others would make it
//! ambiguous: 400/107), a right signature and a fresh timestamp (401/109 otherwise, nothing
//! recorded). It is then acted on once:
//! - for a message this service did not send (or whose record expired), nothing is recorded
//!   (no one can grow the store with made-up ids) and the answer is 200, so Nexmo stops;
//! - a repeat of the same receipt (Nexmo retries, or a replay inside the timestamp window) is
//!   recognised and ignored;
//! - otherwise the receipt joins the message's record (country and provider, never the
//!   number, with the record's TTL) and, when final, counts in the delivered ÷ sent metric.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use serde_json::json;

use super::inbound::callback_params;
use crate::api::AppState;
use crate::error::{ApiError, Errno};
use crate::metrics::Webhook;
use crate::sms::receipts::{self, KEEP_SECS, MessageId, ReceiptRecord};

/// The provider whose receipts this route takes (its message ids are logged under this name).
const PROVIDER: &str = receipts::RECEIPT_PROVIDERS[0];

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/v1/msisdn/sms/nexmo/receipt", get(receipt).post(receipt))
}

/// Nexmo's final statuses, and whether each means delivered. `accepted` and `buffered` are
/// steps on the way: recorded, not counted.
fn finality(status: &str) -> Option<bool> {
    match status {
        "delivered" => Some(true),
        "failed" | "rejected" | "expired" | "unknown" => Some(false),
        _ => None,
    }
}

/// Statuses are short lowercase words (`delivered`, `expired`, …); error codes short digits.
fn is_word(value: &str, max: usize, ok: fn(u8) -> bool) -> bool {
    !value.is_empty() && value.len() <= max && value.bytes().all(ok)
}

async fn receipt(State(state): State<AppState>, req: Request) -> Response {
    match handle(&state, req).await {
        Ok(()) => Json(json!({})).into_response(),
        Err(Outcome::Ignored(reason)) => {
            tracing::info!(reason, "delivery receipt ignored");
            state
                .metrics
                .webhook_refused(Webhook::DeliveryReceipt, reason);
            Json(json!({})).into_response()
        }
        Err(Outcome::Refused(reason, e)) => {
            state
                .metrics
                .webhook_refused(Webhook::DeliveryReceipt, reason);
            e.into_response()
        }
        Err(Outcome::Failed(e)) => e.into_response(),
    }
}

enum Outcome {
    /// Handled, nothing to record (unknown message, repeat): 200 so that Nexmo stops.
    Ignored(&'static str),
    /// Not a receipt from the provider, or not a well-formed one: nothing recorded.
    Refused(&'static str, ApiError),
    /// Our failure (store down): 503, Nexmo retries.
    Failed(ApiError),
}

async fn handle(state: &AppState, req: Request) -> Result<(), Outcome> {
    let params = callback_params(state, req)
        .await
        .map_err(|e| Outcome::Refused("malformed", e))?;
    if params.is_empty() {
        // Nexmo's parameterless URL check.
        return Ok(());
    }
    let now = state.clock.now_secs();
    state.inbound_verifier.verify(&params, now).map_err(|why| {
        tracing::warn!(reason = %why, "delivery receipt refused");
        Outcome::Refused(
            "signature",
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Errno::InvalidRequestSignature,
                "Invalid request signature.",
            )
            .with_info(why),
        )
    })?;
    let receipt = parse(&params, now)?;
    let id = params
        .get("messageId")
        .and_then(|id| MessageId::parse(id))
        .expect("checked by parse");
    let store = state.store.as_ref();
    let message = receipts::lookup(store, PROVIDER, &id, now)
        .await
        .map_err(|e| Outcome::Failed(state.store_error(e)))?
        .ok_or(Outcome::Ignored("unknown-message"))?;
    // Once per (message, status, error): a retry or a replay finds it recorded.
    let seen = format!(
        "dlr-seen#{PROVIDER}#{}#{}#{}",
        id.as_str(),
        receipt.status,
        receipt.err
    );
    let first = store
        .insert_once(&seen, now + KEEP_SECS, now)
        .await
        .map_err(|e| Outcome::Failed(state.store_error(e)))?;
    if !first {
        return Err(Outcome::Ignored("duplicate"));
    }
    if let Err(e) = receipts::record_receipt(store, &message, &id, receipt.clone()).await {
        // Let the provider's retry be recorded.
        let _ = store.forget(&seen).await;
        return Err(Outcome::Failed(state.store_error(e)));
    }
    if let Some(delivered) = finality(&receipt.status).filter(|_| message.sent.part == 0) {
        state
            .metrics
            .sms_receipt(&message.sent.provider, &message.sent.country, delivered);
    }
    tracing::info!(status = %receipt.status, err = %receipt.err, country = %message.sent.country, "delivery receipt recorded");
    Ok(())
}

/// The receipt's `messageId`, `status` and `err-code`, each checked.
fn parse(params: &BTreeMap<String, String>, now: i64) -> Result<ReceiptRecord, Outcome> {
    let missing: Vec<&str> = ["messageId", "status"]
        .into_iter()
        .filter(|k| !params.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(Outcome::Refused("malformed", ApiError::missing(&missing)));
    }
    let invalid = |what: &str| {
        Outcome::Refused(
            "malformed",
            ApiError::invalid(format!("Invalid {what} in the delivery receipt.")),
        )
    };
    if MessageId::parse(&params["messageId"]).is_none() {
        return Err(invalid("messageId"));
    }
    let status = &params["status"];
    if !is_word(status, 16, |b| b.is_ascii_lowercase()) {
        return Err(invalid("status"));
    }
    let err = params.get("err-code").map_or("0", String::as_str);
    if !is_word(err, 8, |b| b.is_ascii_digit()) {
        return Err(invalid("err-code"));
    }
    Ok(ReceiptRecord {
        status: status.clone(),
        err: err.to_owned(),
        at: now,
    })
}
