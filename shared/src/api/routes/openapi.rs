//! The API's own description: `GET /openapi.json` (OpenAPI 3.1) and `GET /api-specs` (the
//! original's name for its API description), from `shared/openapi.json`.
//!
//! The document is compiled in (a Lambda has no file system to read it from) and parsed once;
//! only `servers` changes per deployment, so it is filled in from the configured public URL
//! (never from the Host header, which a client chooses).

use std::sync::LazyLock;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::api::AppState;

/// The description as written, with a placeholder server.
pub const SOURCE: &str = include_str!("../../../openapi.json");

static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(SOURCE).expect("shared/openapi.json is valid JSON (tested)")
});

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/openapi.json", get(openapi))
        .route("/api-specs", get(openapi))
}

async fn openapi(State(state): State<AppState>) -> Json<Value> {
    Json(document(
        &state.settings.public_url,
        &state.settings.stage.stage,
    ))
}

/// The description of this deployment: its public URL as the only server.
pub fn document(public_url: &str, stage: &str) -> Value {
    let mut doc = DOCUMENT.clone();
    doc["servers"] = json!([{"url": public_url, "description": format!("stage {stage}")}]);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_the_configured_url() {
        let doc = document("https://mobileid.example.com", "production");
        assert_eq!(doc["servers"][0]["url"], "https://mobileid.example.com");
        assert_eq!(doc["servers"].as_array().map(Vec::len), Some(1));
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
