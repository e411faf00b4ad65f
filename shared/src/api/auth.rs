//! The Hawk extractor: authenticates a request against its session before the route runs,
//! and signs every answer to an authenticated request with `Server-Authorization` — the
//! route's, and the errors found after authentication (a body that is not JSON, an Accept
//! header that refuses JSON).
//!
//! Order of checks (each failure has its own message): body within its limits → header present
//! → header well-formed and within its bounds → credentials known → MAC → payload hash →
//! timestamp skew → nonce never seen; then, signed: Accept, then the body's JSON.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::AppState;
use super::body::{Params, RawBody, check_accept};
use crate::crypto::hawk_auth::{HawkFailure, HawkHeader, SignedRequest};
use crate::crypto::{AuthKey, Sealed, Sealer, SessionKey};
use crate::domain::{HawkId, Msisdn};
use crate::error::{ApiError, Errno};
use crate::store::{SessionRecord, StoreError};

/// A request whose Hawk header checked out, with its session and parameters.
pub struct Authenticated {
    pub hawk_id: HawkId,
    /// Where the session is stored (under the hawkIdSecret version it was created with).
    pub session_key: SessionKey,
    pub session: SessionRecord,
    pub params: Params,
    pub headers: HeaderMap,
    /// Where the request came from, for the per-client limits.
    pub client_ip: Option<std::net::IpAddr>,
    server_authorization: Option<HeaderValue>,
}

impl Authenticated {
    /// The session's number, unsealed with the client's Hawk id (only this request can).
    pub fn bound_msisdn(&self, sealer: &Sealer) -> Result<Msisdn, ApiError> {
        self.session
            .msisdn
            .as_ref()
            .and_then(|m| sealer.open(&self.hawk_id, Sealed::Msisdn, &m.sealed).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| Msisdn::from_sealed_form(&text).ok())
            .ok_or_else(|| {
                ApiError::expired("Unable to read the session's number: register again.")
            })
    }

    /// The route's answer, with the `Server-Authorization` header the client can check.
    pub fn respond(&self, result: Result<Response, ApiError>) -> Response {
        let mut response = result.unwrap_or_else(IntoResponse::into_response);
        if let Some(value) = &self.server_authorization {
            response
                .headers_mut()
                .insert("server-authorization", value.clone());
        }
        response
    }
}

/// The session of a Hawk id, under whichever honoured hawkIdSecret version it was stored
/// (current first: during a rotation, sessions made before it are found under the old one).
pub async fn find_session(
    state: &AppState,
    hawk_id: &HawkId,
    now: i64,
) -> Result<Option<(SessionKey, SessionRecord)>, StoreError> {
    for key in state.ids.session_keys(hawk_id) {
        if let Some(record) = state.store.get_session(&key, now).await? {
            return Ok(Some((key, record)));
        }
    }
    Ok(None)
}

impl FromRequest<AppState> for Authenticated {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let limits = state.limits();
        let raw = RawBody::read(&parts.headers, body, limits.max_body_bytes)
            .await
            .map_err(IntoResponse::into_response)?;
        let (hawk_id, session_key, session, server_authorization) =
            authenticate(state, &parts, &raw)
                .await
                .map_err(IntoResponse::into_response)?;
        let mut auth = Authenticated {
            params: Params::default(),
            hawk_id,
            session_key,
            session,
            client_ip: super::client::client_ip(&parts.extensions),
            headers: HeaderMap::new(),
            server_authorization: HeaderValue::from_str(&server_authorization).ok(),
        };
        // From here on the client is authenticated: every refusal is signed.
        match check_accept(&parts.headers).and_then(|()| raw.params()) {
            Ok(params) => {
                auth.params = params;
                auth.headers = parts.headers;
                Ok(auth)
            }
            Err(e) => Err(auth.respond(Err(e))),
        }
    }
}

/// The Hawk checks, in order; the session and the `Server-Authorization` value on success.
async fn authenticate(
    state: &AppState,
    parts: &http::request::Parts,
    raw: &RawBody,
) -> Result<(HawkId, SessionKey, SessionRecord, String), ApiError> {
    let limits = state.limits();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let hawk = HawkHeader::parse_bytes(authorization).map_err(failure)?;
    let (host, port) = host_and_port(&parts.headers, state.settings.default_port)?;
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let request = SignedRequest {
        method: parts.method.as_str(),
        host: &host,
        port,
        path,
    };

    let hawk_id = hawk
        .hawk_id()
        .ok_or_else(|| failure(HawkFailure::UnknownCredentials))?;
    let now = state.clock.now_secs();
    let (session_key, session) = find_session(state, &hawk_id, now)
        .await
        .map_err(|e| state.store_error(e))?
        .ok_or_else(|| failure(HawkFailure::UnknownCredentials))?;
    let key = state
        .sealer
        .open(&hawk_id, Sealed::AuthKey, &session.sealed_auth_key)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(AuthKey::from_bytes)
        .ok_or_else(|| failure(HawkFailure::UnknownCredentials))?;

    hawk.verify(
        &key,
        &request,
        Some((&raw.content_type, &raw.bytes)),
        limits.require_payload_hash,
    )
    .map_err(failure)?;
    hawk.check_timestamp(&key, now, limits.hawk_skew_secs)
        .map_err(failure)?;
    // A nonce is remembered for the whole window in which its timestamp is acceptable.
    let nonce_key = format!("nonce#{}#{}", session_key.as_str(), hawk.nonce);
    let fresh = state
        .store
        .insert_once(&nonce_key, hawk.ts + limits.hawk_skew_secs + 1, now)
        .await
        .map_err(|e| state.store_error(e))?;
    if !fresh {
        return Err(failure(HawkFailure::Replayed));
    }
    let server_authorization = hawk.server_authorization(&key, &request);
    Ok((hawk_id, session_key, session, server_authorization))
}

/// Host and port as the client signed them: from the Host header; with HTTPS in front
/// (`default_port` 443) the port is always 443, as behind the original's TLS load balancer.
fn host_and_port(headers: &HeaderMap, default_port: u16) -> Result<(String, u16), ApiError> {
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Errno::InvalidAuthToken,
            "Invalid Host header",
        )
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .ok_or_else(invalid)?;
    let (name, port) = match host.rsplit_once(':') {
        // An IPv6 literal without port ("[::1]") has colons but ends with ']'.
        Some((name, port)) if !port.contains(']') => {
            (name, Some(port.parse::<u16>().map_err(|_| invalid())?))
        }
        _ => (host, None),
    };
    let port = if default_port == 443 {
        443
    } else {
        port.unwrap_or(default_port)
    };
    Ok((name.to_ascii_lowercase(), port))
}

fn failure(f: HawkFailure) -> ApiError {
    let (message, challenge) = match f {
        HawkFailure::Missing => ("Missing Hawk authentication.", "Hawk".to_owned()),
        HawkFailure::Malformed(why) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                Errno::InvalidAuthToken,
                "Bad header format",
            )
            .with_info(why);
        }
        HawkFailure::UnknownCredentials => {
            ("Unknown credentials", challenge("Unknown credentials"))
        }
        HawkFailure::BadMac => ("Bad mac", challenge("Bad mac")),
        HawkFailure::BadPayloadHash => ("Bad payload hash", challenge("Bad payload hash")),
        HawkFailure::MissingPayloadHash => {
            ("Missing payload hash", challenge("Missing payload hash"))
        }
        HawkFailure::Replayed => ("Invalid nonce", challenge("Invalid nonce")),
        HawkFailure::Stale { now, tsm } => (
            "Stale timestamp",
            format!(r#"Hawk ts="{now}", tsm="{tsm}", error="Stale timestamp""#),
        ),
    };
    tracing::info!(reason = message, "hawk authentication failed");
    ApiError::unauthorized(message, challenge)
}

fn challenge(error: &str) -> String {
    format!(r#"Hawk error="{error}""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        h
    }

    #[test]
    fn host_and_port_follow_the_original() {
        assert_eq!(
            host_and_port(&headers("Example.com:8080"), 80).unwrap(),
            ("example.com".into(), 8080)
        );
        assert_eq!(
            host_and_port(&headers("example.com"), 80).unwrap(),
            ("example.com".into(), 80)
        );
        assert_eq!(
            host_and_port(&headers("example.com:8080"), 443).unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(
            host_and_port(&headers("[::1]:9000"), 80).unwrap(),
            ("[::1]".into(), 9000)
        );
        assert!(host_and_port(&headers("example.com:http"), 80).is_err());
        assert!(host_and_port(&HeaderMap::new(), 80).is_err());
    }
}
