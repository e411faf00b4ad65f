//! The Lambda Runtime API (2018-06-01) as a bootstrap sees it: it long-polls `next` for an
//! event and posts the result back. Only what a custom runtime uses is served; every call the
//! bootstrap makes becomes a [`Report`] for the driver in `main.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::sync::{Mutex, mpsc};

/// Lambda's limit on a synchronous response (and on an event).
const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// One event to hand to the bootstrap.
pub struct Invocation {
    pub request_id: String,
    pub deadline_ms: u128,
    pub trace_id: String,
    pub event: Bytes,
}

/// What the bootstrap did, with when it did it.
#[derive(Debug)]
pub enum Report {
    /// It took the invocation (its `next` call returned the event).
    Started { request_id: String, at: Instant },
    Response {
        request_id: String,
        body: Bytes,
        at: Instant,
    },
    Error {
        request_id: String,
        error_type: Option<String>,
        body: Bytes,
        at: Instant,
    },
    InitError {
        error_type: Option<String>,
        body: Bytes,
    },
}

struct ApiState {
    invocations: Mutex<mpsc::Receiver<Invocation>>,
    reports: mpsc::UnboundedSender<Report>,
    function_arn: String,
}

pub fn router(
    invocations: mpsc::Receiver<Invocation>,
    reports: mpsc::UnboundedSender<Report>,
    function_arn: String,
) -> Router {
    let state = Arc::new(ApiState {
        invocations: Mutex::new(invocations),
        reports,
        function_arn,
    });
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .layer(DefaultBodyLimit::max(PAYLOAD_LIMIT))
        .with_state(state)
}

/// Blocks until the driver queues an event, as the real API blocks between invocations.
async fn next(State(state): State<Arc<ApiState>>) -> Response {
    let Some(invocation) = state.invocations.lock().await.recv().await else {
        // The driver is done; the bootstrap is about to be stopped.
        return StatusCode::GONE.into_response();
    };
    let _ = state.reports.send(Report::Started {
        request_id: invocation.request_id.clone(),
        at: Instant::now(),
    });
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_ms.to_string(),
    );
    set("lambda-runtime-invoked-function-arn", &state.function_arn);
    set("lambda-runtime-trace-id", &invocation.trace_id);
    (StatusCode::OK, headers, invocation.event).into_response()
}

async fn response(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = state.reports.send(Report::Response {
        request_id: id,
        body,
        at: Instant::now(),
    });
    StatusCode::ACCEPTED
}

async fn error(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = state.reports.send(Report::Error {
        request_id: id,
        error_type: error_type(&headers),
        body,
        at: Instant::now(),
    });
    StatusCode::ACCEPTED
}

async fn init_error(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let _ = state.reports.send(Report::InitError {
        error_type: error_type(&headers),
        body,
    });
    StatusCode::ACCEPTED
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A new invocation of `event` with a fresh request id, a deadline `timeout_secs` away and an
/// X-Ray trace id, as Lambda hands them out.
pub fn new_invocation(event: Bytes, timeout_secs: u64) -> Invocation {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut id: [u8; 16] = rand::random();
    id[6] = (id[6] & 0x0f) | 0x40; // a version-4 UUID, as Lambda's request ids are
    id[8] = (id[8] & 0x3f) | 0x80;
    let h = hex(&id);
    let trace: [u8; 20] = rand::random();
    let t = hex(&trace);
    Invocation {
        request_id: format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ),
        deadline_ms: (now + Duration::from_secs(timeout_secs)).as_millis(),
        trace_id: format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            now.as_secs(),
            &t[..24],
            &t[24..]
        ),
        event,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
