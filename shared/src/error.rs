//! The one error type of the HTTP API.
//!
//! Every failure a client can see is an [`ApiError`]: an HTTP status, a stable `errno` from the
//! API's errno table, and a human message. It is rendered in exactly one place
//! ([`IntoResponse`]) as `{code, errno, error, message, info?, retryAfter?}` with the backoff
//! headers, so no route can answer an HTML page or an unstructured body.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// The errno table of the API (kept from the original service, completed with 114–117).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Errno {
    /// The submitted code is wrong.
    InvalidCode = 105,
    /// The body is not JSON (or a JSON value inside it is not).
    BadJson = 106,
    /// A parameter is present but invalid.
    InvalidParameters = 107,
    /// A required parameter is missing.
    MissingParameters = 108,
    /// A provider callback's signature is missing, wrong or stale.
    InvalidRequestSignature = 109,
    /// Hawk authentication failed.
    InvalidAuthToken = 110,
    /// The code, the session or the verification has expired (or is used or locked).
    Expired = 111,
    /// A request body came without a Content-Length.
    LengthMissing = 112,
    /// The request body is larger than allowed.
    RequestTooLarge = 113,
    /// Too many requests for this session.
    TooManyForSession = 114,
    /// Too many requests for this phone number (or its number range).
    TooManyForNumber = 115,
    /// Too many SMS to this country today (circuit breaker).
    TooManyForCountry = 116,
    /// Too many requests from this client address.
    TooManyForClient = 117,
    /// Reading the fake SMS gateway needs its bearer token (not Hawk: a 110 would send a
    /// developer looking at the wrong credentials).
    FakeGatewayToken = 118,
    /// The request body did not arrive in time (408).
    BodyTimeout = 119,
    /// The request's headers are larger than allowed (431).
    HeadersTooLarge = 120,
    /// A dependency (store, SMS provider) failed or is overloaded.
    Backend = 201,
    /// No such route, not with this method, or an internal error.
    Unknown = 999,
}

/// An error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub errno: Errno,
    pub message: Cow<'static, str>,
    pub info: Option<String>,
    pub retry_after: Option<u64>,
    pub www_authenticate: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, errno: Errno, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            errno,
            message: message.into(),
            info: None,
            retry_after: None,
            www_authenticate: None,
        }
    }

    /// 400/108, listing the missing parameters comma-joined in declaration order.
    pub fn missing(names: &[&str]) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Errno::MissingParameters,
            format!("Missing {}", names.join(",")),
        )
    }

    /// 400/107.
    pub fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Errno::InvalidParameters, message)
    }

    /// 400/106.
    pub fn bad_json(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Errno::BadJson, message)
    }

    /// 410/111.
    pub fn expired(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::GONE, Errno::Expired, message)
    }

    /// 401/110 with the `WWW-Authenticate` challenge the Hawk clients read.
    pub fn unauthorized(message: &'static str, challenge: String) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, Errno::InvalidAuthToken, message);
        e.www_authenticate = Some(challenge);
        e
    }

    /// 429 with one of the errno 114–117 and the backoff delay.
    pub fn too_many(errno: Errno, retry_after: u64, message: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, errno, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// 503/201: a dependency failed; the client may retry after `retry_after` seconds.
    pub fn backend(retry_after: u64, message: impl Into<Cow<'static, str>>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, Errno::Backend, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, Errno::Unknown, "No such route.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Errno::Unknown,
            "This route does not answer this method.",
        )
    }

    pub fn with_info(mut self, info: impl Into<String>) -> Self {
        self.info = Some(info.into());
        self
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    errno: u16,
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    info: Option<&'a str>,
    #[serde(rename = "retryAfter", skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.status.as_u16(),
            errno: self.errno as u16,
            error: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
            info: self.info.as_deref(),
            retry_after: self.retry_after,
        };
        let mut response = (self.status, Json(body)).into_response();
        // Read by the routers' refusal counter (metrics by errno), never sent.
        response.extensions_mut().insert(self.errno);
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(challenge) = self.www_authenticate
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} errno {}: {}",
            self.status.as_u16(),
            self.errno as u16,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}
