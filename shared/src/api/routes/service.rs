//! Service routes (Dockerflow): `/`, `/__heartbeat__`, `/__lbheartbeat__`, `/__version__`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::api::AppState;

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(home))
        .route("/__heartbeat__", get(heartbeat))
        .route("/__lbheartbeat__", get(lb_heartbeat))
        .route("/__version__", get(version))
}

async fn home(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "name": "mobileid",
        "description": "Mobile-ID: proves a device controls a phone number and signs a certificate that says so",
        "version": env!("CARGO_PKG_VERSION"),
        "stage": state.settings.stage.stage,
        "endpoint": state.settings.public_url,
    }))
}

/// Checks every dependency; 503 (with Retry-After) when one is down, saying which.
async fn heartbeat(State(state): State<AppState>) -> Response {
    let (store, sms) = tokio::join!(state.store.ping(), state.sms.check());
    if let Err(e) = &store {
        tracing::error!(error = %e, "heartbeat: store down");
    }
    if let Err(e) = &sms {
        tracing::error!(error = %e, "heartbeat: SMS provider down");
    }
    let body = json!({"storage": store.is_ok(), "sms": sms.is_ok()});
    if store.is_ok() && sms.is_ok() {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(state.limits().retry_after_secs),
        );
        response
    }
}

/// For load balancers: the process answers; no dependency is checked.
async fn lb_heartbeat() -> Json<Value> {
    Json(json!({}))
}

async fn version() -> Json<Value> {
    Json(json!({
        "source": "mobileid",
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("MOBILEID_GIT_COMMIT").unwrap_or("unknown"),
        "build": option_env!("MOBILEID_BUILD").unwrap_or("local"),
    }))
}
