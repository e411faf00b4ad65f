//! The local server's HTTP/1.1 loop, with the limits `axum::serve` does not set: a client gets
//! `header_timeout` to send its headers (the same bound holds an idle keep-alive connection,
//! since hyper starts the clock whenever it waits for a request's head), headers over
//! `max_header_bytes` are answered with a JSON 431, and a body must arrive within the stage's
//! `body_timeout_secs` (the shared router reads it before the request counts as in flight, and
//! answers 408). Idle and stalled connections cost a task and a socket, never one of the
//! `max_in_flight` places, so they cannot turn other clients away with 503s.
//!
//! What hyper refuses before the service sees it gets hyper's own bare answer with an empty
//! body: a malformed request (400), more than 100 headers, or a head that outgrows its read
//! buffer (`HYPER_MAX_BUF`) before it is complete (431).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use mobileid::{ApiError, Errno};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// hyper's own read buffer: past this it answers a bare 431 (well above our JSON cap, so that a
/// client sees the JSON one unless its headers are absurd).
const HYPER_MAX_BUF: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct ServeOptions {
    /// Time to send a request's head, and the longest a kept-alive connection may stay idle.
    pub header_timeout: Duration,
    /// Request line and headers larger than this are answered 431 (errno 120).
    pub max_header_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes (connections being served are then
/// dropped with the process).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) {
    let cap = options.max_header_bytes;
    let app = app.layer(axum::middleware::from_fn(move |req: Request, next| {
        cap_headers(cap, req, next)
    }));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(HYPER_MAX_BUF)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, usually: wait for some to close instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let service = app
            .clone()
            .map_request(move |mut req: http::Request<Incoming>| {
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                req
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
}

async fn cap_headers(max: usize, req: Request, next: axum::middleware::Next) -> Response {
    let size = req.uri().to_string().len()
        + req
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > max {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Errno::HeadersTooLarge,
            format!("The request line and headers exceed {max} bytes."),
        )
        .into_response();
    }
    next.run(req).await
}
