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

/// The release of this build (shared/build.rs): its tag (`git describe`), commit and build id.
pub const RELEASE: &str = env!("MOBILEID_BUILD_RELEASE");
pub const COMMIT: &str = env!("MOBILEID_BUILD_COMMIT");
pub const BUILD: &str = env!("MOBILEID_BUILD_ID");
/// The repository it was built from (`MOBILEID_SOURCE`, e.g. the GitHub URL, in CI).
pub const SOURCE: &str = env!("MOBILEID_BUILD_SOURCE");

async fn home(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "name": "mobileid",
        "description": "Mobile-ID: proves a device controls a phone number and signs a certificate that says so",
        "version": RELEASE,
        "commit": COMMIT,
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

/// Dockerflow's version object: where the source is, which release and commit, which build.
async fn version() -> Json<Value> {
    Json(json!({
        "source": SOURCE,
        "version": RELEASE,
        "commit": COMMIT,
        "build": BUILD,
    }))
}
