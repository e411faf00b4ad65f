//! The HTTP API: one router per Lambda function, built over the same [`Services`], so every
//! route runs identically in Lambda, in the local server and in tests.

pub mod auth;
pub mod body;
mod client;
pub mod cors;
mod issue;
mod limits;
mod routes;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tower::util::option_layer;
use tower_http::catch_panic::CatchPanicLayer;

use crate::api::body::RawBody;
use crate::clock::Clock;
use crate::config::{LazySigningKeys, Limits, Settings};
use crate::crypto::{KeyedIds, Sealer, SigningKeys};
use crate::error::{ApiError, Errno};
use crate::metrics::Metrics;
use crate::random::Randomness;
use crate::sms::{FakeGateway, SmsSender};
use crate::store::{Store, StoreError};

pub use client::SourceIp;
pub use routes::inbound::{AcceptUnsigned, InboundVerifier};

/// Everything a handler may use; built once per process (per Lambda cold start).
pub struct Services {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub sms: Arc<dyn SmsSender>,
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Randomness>,
    pub ids: KeyedIds,
    /// Seals and opens the session's number and auth key (with the client's Hawk id).
    pub sealer: Sealer,
    /// The current key signs certificates; every published key is in the JWKS. Derived on
    /// first use (see [`LazySigningKeys`]); use [`Services::signing_keys`].
    pub signer: LazySigningKeys,
    /// The fake gateway's read side, when SMS go there (local server, load-stage): serves
    /// `/receive` and `/__sms__/`.
    pub outbox: Option<Arc<dyn FakeGateway>>,
    /// Checks that an inbound-SMS callback really comes from the provider.
    pub inbound_verifier: Arc<dyn InboundVerifier>,
    /// What the service counts (EMF lines on stdout in a Lambda).
    pub metrics: Metrics,
}

pub type AppState = Arc<Services>;

impl Services {
    pub fn limits(&self) -> &Limits {
        &self.settings.stage.limits
    }

    /// The signing keys. They fail to derive only if the secret names a key under a kid that
    /// is not its thumbprint, which the function that signs finds at its cold start: a
    /// request never meets it, and would get 503.
    pub fn signing_keys(&self) -> Result<&SigningKeys, ApiError> {
        self.signer.get().map_err(|e| {
            tracing::error!(error = %e.0, "signing keys do not load");
            ApiError::backend(
                self.limits().retry_after_secs,
                "Service Unavailable: the signing key does not load.",
            )
        })
    }

    /// A store failure as the client sees it: 503/201 with Retry-After (never 401 or 500).
    pub fn store_error(&self, e: StoreError) -> ApiError {
        tracing::error!(error = %e, "store failure");
        ApiError::backend(
            self.limits().retry_after_secs,
            "Service Unavailable: storage is not answering; retry later.",
        )
    }
}

/// `start-verification`: discover, register, unregister, sms/mt/verify and the service routes.
pub fn start_verification_router(state: AppState) -> Router {
    let routes = routes::start::routes()
        .merge(routes::service::routes())
        .merge(routes::openapi::routes());
    finish(routes, state)
}

/// `inbound-sms`: the provider's webhook; on stages with the fake gateway, also its read
/// endpoint (the function URL is the stack's one public URL outside the API).
pub fn inbound_sms_router(state: AppState) -> Router {
    let mut routes = routes::inbound::routes().merge(routes::receipts::routes());
    // Only where SMS go to a fake gateway that can be read back: elsewhere the routes do not
    // exist at all (not even a 401 that says one could be there).
    if state.outbox.is_some() {
        routes = routes.merge(routes::fake_sms::read_routes());
    }
    finish(routes, state)
}

/// `verify-code`: sms/verify_code.
pub fn verify_code_router(state: AppState) -> Router {
    finish(routes::verify::routes(), state)
}

/// `sign-certificate`: certificate/sign and the key documents.
pub fn sign_certificate_router(state: AppState) -> Router {
    finish(routes::certificate::routes(), state)
}

/// Every route of every function, plus the fake gateway's pages: the local server.
pub fn local_router(state: AppState) -> Router {
    let mut all = routes::start::routes()
        .merge(routes::service::routes())
        .merge(routes::inbound::routes())
        .merge(routes::receipts::routes())
        .merge(routes::verify::routes())
        .merge(routes::certificate::routes())
        .merge(routes::openapi::routes());
    if state.outbox.is_some() {
        all = all.merge(routes::fake_sms::routes());
    }
    finish(all, state)
}

/// What every router shares: JSON 404/405, a JSON 500 instead of a dropped connection on a
/// panic, the `Timestamp` header clients use to correct their clocks, bodies read whole (in
/// time) before a request counts as in flight, and CORS (outermost, so that a browser can read
/// every answer, errors included).
fn finish(routes: Router<AppState>, state: AppState) -> Router {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let cors = cors::layer(&state.settings.stage.cors_origins);
    routes
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), in_flight),
            shed_load,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_body_first,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            add_timestamp,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            count_refusal,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                Errno::Unknown,
                "Internal error.",
            )
            .into_response()
        }))
        .layer(option_layer(cors))
        .with_state(state)
}

/// Reads the body (within the size limit and `body_timeout_secs`) before the request counts
/// as in flight: a client that sends its headers and then stalls holds a connection, not one
/// of the `max_in_flight` places, and gets 408 when its time is up. Size errors answer here,
/// as the route would have (411/112, 413/113). In Lambda the body is already whole.
async fn read_body_first(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limits = state.limits();
    let secs = limits.body_timeout_secs;
    let (parts, body) = request.into_parts();
    let read = RawBody::read(&parts.headers, body, limits.max_body_bytes);
    let bytes = match tokio::time::timeout(Duration::from_secs(secs), read).await {
        Ok(Ok(raw)) => raw.bytes,
        Ok(Err(e)) => return e.into_response(),
        Err(_) => {
            tracing::info!(secs, "request body timed out");
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                Errno::BodyTimeout,
                format!("The request body did not arrive within {secs} s."),
            )
            .into_response();
            // The rest of the body may still come: this connection cannot serve another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    next.run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Past `max_in_flight` concurrent requests, answer 503 + Retry-After at once instead of
/// queueing until everything times out.
async fn shed_load(
    State((state, in_flight)): State<(AppState, Arc<AtomicUsize>)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let max = state.limits().max_in_flight;
    if in_flight.fetch_add(1, Ordering::SeqCst) >= max {
        in_flight.fetch_sub(1, Ordering::SeqCst);
        tracing::warn!(max, "shedding load");
        return ApiError::backend(
            state.limits().retry_after_secs,
            "Service Unavailable: overloaded; retry later.",
        )
        .into_response();
    }
    // Decrements even if the handler panics or the client goes away mid-request.
    struct Release(Arc<AtomicUsize>);
    impl Drop for Release {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _release = Release(in_flight);
    next.run(request).await
}

/// Every error answer, by errno (the error type marks its responses).
async fn count_refusal(State(state): State<AppState>, response: Response) -> Response {
    if let Some(errno) = response.extensions().get::<Errno>() {
        state.metrics.refused(*errno as u16);
    }
    response
}

async fn add_timestamp(State(state): State<AppState>, mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("timestamp", HeaderValue::from(state.clock.now_secs()));
    response
}
