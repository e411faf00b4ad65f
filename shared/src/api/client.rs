//! Where a request comes from: API Gateway's `sourceIp` in Lambda, the socket's peer address
//! in the local server. Never a client-supplied header (it would let a client pick its own
//! rate-limit bucket).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::Extensions;
use lambda_http::request::RequestContext;

pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(context) = extensions.get::<RequestContext>() {
        let source = match context {
            RequestContext::ApiGatewayV2(c) => c.http.source_ip.as_deref(),
            RequestContext::ApiGatewayV1(c) => c.identity.source_ip.as_deref(),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        return source.and_then(|ip| ip.parse().ok());
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
