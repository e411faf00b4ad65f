//! The fake SMS gateway's read side (local server, load-stage): `GET /receive?to=<digits>`
//! (the original's load-test gateway, OMXEN, answered there) and `GET /__sms__/receive?to=`
//! return the messages sent to a number as `[{from, to, text, timestamp}]`, newest last;
//! `GET /__sms__/` shows every message to a person (local server only).
//!
//! They exist only where SMS go to the fake gateway, never where SMS are real. When
//! `MOBILEID_FAKE_SMS_TOKEN` is set they want `Authorization: Bearer <token>`; a Lambda does
//! not serve them at all without one.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, header};

use crate::api::AppState;
use crate::error::ApiError;

/// What the inbound-sms function serves in a Lambda stack.
pub fn read_routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/receive", get(receive))
        .route("/__sms__/receive", get(receive))
}

/// Everything, for the local server.
pub fn routes() -> axum::Router<AppState> {
    read_routes()
        .route("/__sms__/all", get(all))
        .route("/__sms__/", get(page))
}

/// Longest E.164 number (ITU-T E.164: 15 digits).
const MAX_DIGITS: usize = 15;

async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    // The token first: without it, a caller learns nothing, not even whether SMS are fake here.
    if let Err(e) = authorize(&state, &headers) {
        return e.into_response();
    }
    let Some(gateway) = &state.outbox else {
        return ApiError::not_found().into_response();
    };
    // `?to=+33…` arrives as a space when the `+` was not percent-encoded.
    let Some(to) = q
        .get("to")
        .map(|t| t.trim().trim_start_matches('+'))
        .filter(|t| !t.is_empty())
    else {
        return ApiError::missing(&["to"]).into_response();
    };
    if to.len() > MAX_DIGITS || !to.bytes().all(|b| b.is_ascii_digit()) {
        return ApiError::invalid("to must be a phone number in digits (E.164 without +).")
            .into_response();
    }
    match gateway.messages_to(to).await {
        Ok(messages) => Json(messages).into_response(),
        Err(e) => state.store_error(e).into_response(),
    }
}

async fn all(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&state, &headers) {
        return e.into_response();
    }
    match state.outbox.as_ref().and_then(|g| g.all_messages()) {
        Some(messages) => Json(messages).into_response(),
        None => ApiError::not_found().into_response(),
    }
}

async fn page(State(state): State<AppState>) -> Response {
    if state.outbox.is_none() {
        return ApiError::not_found().into_response();
    }
    Html(include_str!("fake_sms.html")).into_response()
}

/// With a configured token, only its bearer may read (load-stage's URL is public).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.settings.fake_sms_token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if token.admits(presented) {
        return Ok(());
    }
    tracing::warn!("fake gateway read refused: no or wrong bearer token");
    Err(ApiError::unauthorized(
        "Reading the fake SMS gateway needs Authorization: Bearer <MOBILEID_FAKE_SMS_TOKEN>.",
        "Bearer realm=\"fake-sms\"".to_owned(),
    ))
}
