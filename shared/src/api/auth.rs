//! The Hawk extractor: authenticates a request against its session before the route runs,
//! and signs the route's answer with `Server-Authorization`.
//!
//! Order of checks (each failure has its own message): header present → header well-formed →
//! credentials known → MAC → payload hash → timestamp skew → nonce never seen.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::AppState;
use super::body::{Params, RawBody, check_accept};
use crate::crypto::hawk_auth::{HawkFailure, HawkHeader, SignedRequest};
use crate::crypto::{AuthKey, Sealed, SessionKey, open};
use crate::domain::{HawkId, Msisdn};
use crate::error::{ApiError, Errno};
use crate::store::SessionRecord;

/// A request whose Hawk header checked out, with its session and parameters.
pub struct Authenticated {
    pub hawk_id: HawkId,
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
    pub fn bound_msisdn(&self) -> Result<Msisdn, ApiError> {
        self.session
            .msisdn
            .as_ref()
            .and_then(|m| open(&self.hawk_id, Sealed::Msisdn, &m.sealed).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|e164| Msisdn::parse(&e164).ok())
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

impl FromRequest<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        check_accept(&parts.headers)?;
        let limits = state.limits();
        let raw = RawBody::read(&parts.headers, body, limits.max_body_bytes).await?;

        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let hawk = HawkHeader::parse(authorization).map_err(failure)?;
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
        let session_key = state.ids.session_key(&hawk_id);
        let now = state.clock.now_secs();
        let session = state
            .store
            .get_session(&session_key, now)
            .await
            .map_err(|e| state.store_error(e))?
            .ok_or_else(|| failure(HawkFailure::UnknownCredentials))?;
        let key = open(&hawk_id, Sealed::AuthKey, &session.sealed_auth_key)
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

        let server_authorization = hawk
            .server_authorization(&key, &request)
            .and_then(|v| HeaderValue::from_str(&v).ok());
        Ok(Authenticated {
            params: raw.params()?,
            hawk_id,
            session_key,
            session,
            client_ip: super::client::client_ip(&parts.extensions),
            headers: parts.headers,
            server_authorization,
        })
    }
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
        HawkFailure::Malformed => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                Errno::InvalidAuthToken,
                "Bad header format",
            );
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
