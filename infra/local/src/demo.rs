//! `/demo/`: the browser demo client (`demo/` at the repository root), compiled in so that the
//! binary needs no files beside it. The same files work from any static host.

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderValue, header};

/// (name, content type, content).
const FILES: [(&str, &str, &str); 4] = [
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../../../demo/index.html"),
    ),
    (
        "mobileid.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../demo/mobileid.js"),
    ),
    (
        "demo.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../demo/demo.js"),
    ),
    (
        "demo.css",
        "text/css; charset=utf-8",
        include_str!("../../../demo/demo.css"),
    ),
];

pub fn routes() -> Router {
    let mut router = Router::new().route("/demo", get(|| async { Redirect::permanent("/demo/") }));
    for (name, content_type, body) in FILES {
        router = router.route(
            &format!("/demo/{name}"),
            get(move || async move { file(content_type, body) }),
        );
    }
    router
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A developer editing demo/ rebuilds and reloads: never a stale copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
