//! CORS: which browser pages may call the API, from the stage's `cors_origins` (the local
//! server: its own origin and `http://localhost:<any port>`).
//!
//! An allowed origin is echoed back (never `*`, and never with credentials: Hawk carries no
//! cookie), the preflight allows the methods and headers a Hawk client sends, and the
//! response headers a client must read are exposed. A stage without origins gets no CORS
//! layer at all, so an `OPTIONS` there is the router's JSON 405 like any other wrong method.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::AllowedOrigin;

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// What a Hawk client sends besides the CORS-safelisted headers.
pub const ALLOW_HEADERS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
];

/// What a client reads: the Hawk response signature, the server clock (to fix its own), the
/// back-off, and the Hawk challenge (with the server time on a stale timestamp).
pub const EXPOSE_HEADERS: [&str; 4] = [
    "server-authorization",
    "timestamp",
    "retry-after",
    "www-authenticate",
];

/// The CORS layer for these origins, or `None` when no browser origin is allowed.
pub fn layer(origins: &[AllowedOrigin]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Arc<[AllowedOrigin]> = origins.into();
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin
            .to_str()
            .is_ok_and(|o| origins.iter().any(|allowed| allowed.allows(o)))
    });
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(ALLOW_HEADERS)
            .expose_headers(EXPOSE_HEADERS.map(HeaderName::from_static))
            .max_age(PREFLIGHT_MAX_AGE),
    )
}
