//! Where a request comes from: API Gateway's `sourceIp` in Lambda (the AWS adapters copy it
//! into [`SourceIp`]), the socket's peer address in the local server. Never a client-supplied
//! header (it would let a client pick its own rate-limit bucket).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::Extensions;

/// The client's address as the host saw it, put in the request's extensions by a host that
/// has no socket (Lambda: API Gateway's `requestContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIp(pub IpAddr);

pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(SourceIp(ip)) = extensions.get::<SourceIp>() {
        return Some(*ip);
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Extractor for routes without Hawk that still need the client's address.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}
