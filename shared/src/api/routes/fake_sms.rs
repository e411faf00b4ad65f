//! The fake SMS gateway's read side (local server, load-stage): `GET /__sms__/receive?to=`
//! returns the messages sent to a number as JSON; `GET /__sms__/` shows them to a person.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::error::ApiError;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/__sms__/receive", get(receive))
        .route("/__sms__/all", get(all))
        .route("/__sms__/", get(page))
}

async fn receive(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(outbox) = &state.outbox else {
        return ApiError::not_found().into_response();
    };
    match q.get("to").filter(|t| !t.is_empty()) {
        Some(to) => Json(outbox.received(to)).into_response(),
        None => ApiError::missing(&["to"]).into_response(),
    }
}

async fn all(State(state): State<AppState>) -> Response {
    match &state.outbox {
        Some(outbox) => Json(outbox.all()).into_response(),
        None => ApiError::not_found().into_response(),
    }
}

async fn page(State(state): State<AppState>) -> Response {
    if state.outbox.is_none() {
        return ApiError::not_found().into_response();
    }
    Html(include_str!("fake_sms.html")).into_response()
}
