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

/// The unit per-address limits count: an IPv4 address (IPv4-mapped IPv6 ones normalised to
/// it), or an IPv6 address's /64 — one subscriber's network, whose 2^64 addresses would
/// otherwise be 2^64 budgets.
pub fn client_group(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_groups_by_64_and_mapped_ipv4_is_ipv4() {
        let group = |s: &str| client_group(s.parse().unwrap()).to_string();
        assert_eq!(group("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff::9"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(group("192.0.2.7"), "192.0.2.7");
    }
}
