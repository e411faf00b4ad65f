//! Hawk request authentication (server side) and header making (client side, for the local
//! tools and tests), with the original's conventions: the key is the auth key's 64 hex chars,
//! HMAC-SHA256, ±60 s skew, `ts`/`tsm` on a stale timestamp, `Server-Authorization` on success.
//!
//! The `hawk` crate computes and compares MACs; this module decides the order of the checks
//! and which failure the client is told about. The timestamp is checked against the injected
//! clock (the crate's own check reads the system clock, so it is given an unbounded window).

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::credentials::AuthKey;
use crate::domain::HawkId;

/// What a Hawk header signs, as the server received it.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub port: u16,
    /// Path and query exactly as received.
    pub path: &'a str,
}

/// A parsed `Authorization: Hawk …` header with its required attributes present.
#[derive(Debug, Clone)]
pub struct HawkHeader {
    pub id: String,
    pub ts: i64,
    pub nonce: String,
    pub hash: Option<Vec<u8>>,
    header: hawk::Header,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HawkFailure {
    /// No Authorization header, or another scheme.
    Missing,
    /// A Hawk header that can't be parsed or lacks id/ts/nonce/mac.
    Malformed,
    UnknownCredentials,
    BadMac,
    /// The body does not match the header's `hash`.
    BadPayloadHash,
    /// The stage requires a payload hash and the header has none.
    MissingPayloadHash,
    /// The timestamp is outside the allowed skew; carries the server time and its MAC.
    Stale {
        now: i64,
        tsm: String,
    },
    /// The (id, nonce) pair was already used.
    Replayed,
}

impl HawkHeader {
    /// Parses the header value (with its `Hawk ` scheme).
    pub fn parse(authorization: Option<&str>) -> Result<Self, HawkFailure> {
        let value = authorization.ok_or(HawkFailure::Missing)?;
        let (scheme, rest) = value.trim_start().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("hawk") {
            return Err(HawkFailure::Missing);
        }
        if ts_overflows(rest) {
            return Err(HawkFailure::Malformed);
        }
        let header = hawk::Header::from_str(rest).map_err(|_| HawkFailure::Malformed)?;
        let (Some(id), Some(ts), Some(nonce), Some(_)) = (
            header.id.clone(),
            header.ts,
            header.nonce.clone(),
            header.mac.as_ref(),
        ) else {
            return Err(HawkFailure::Malformed);
        };
        let ts = ts
            .duration_since(UNIX_EPOCH)
            .map_err(|_| HawkFailure::Malformed)?
            .as_secs();
        Ok(HawkHeader {
            id,
            ts: i64::try_from(ts).map_err(|_| HawkFailure::Malformed)?,
            nonce,
            hash: header.hash.clone(),
            header,
        })
    }

    pub fn hawk_id(&self) -> Option<HawkId> {
        HawkId::parse(&self.id)
    }

    /// Checks the MAC, then the payload hash against the body (when the header has one).
    pub fn verify(
        &self,
        key: &AuthKey,
        request: &SignedRequest<'_>,
        body: Option<(&str, &[u8])>,
        require_hash: bool,
    ) -> Result<(), HawkFailure> {
        let req =
            hawk::RequestBuilder::new(request.method, request.host, request.port, request.path)
                .request();
        if !req.validate_header(&self.header, &key.hawk_key(), Duration::MAX) {
            return Err(HawkFailure::BadMac);
        }
        match &self.hash {
            Some(claimed) => {
                let (content_type, bytes) = body.unwrap_or(("", b""));
                let actual = payload_hash(content_type, bytes);
                if !bool::from(actual.as_slice().ct_eq(claimed.as_slice())) {
                    return Err(HawkFailure::BadPayloadHash);
                }
            }
            None if require_hash => return Err(HawkFailure::MissingPayloadHash),
            None => {}
        }
        Ok(())
    }

    /// The timestamp must be within `skew_secs` of now; otherwise the client gets the server's
    /// time (and its MAC, `tsm`) to correct its clock.
    pub fn check_timestamp(
        &self,
        key: &AuthKey,
        now: i64,
        skew_secs: i64,
    ) -> Result<(), HawkFailure> {
        // abs_diff: no overflow whatever the header's ts (found by fuzzing).
        if self.ts.abs_diff(now) > skew_secs.unsigned_abs() {
            return Err(HawkFailure::Stale {
                now,
                tsm: timestamp_mac(key, now),
            });
        }
        Ok(())
    }

    /// The `Server-Authorization` value: a `hawk.1.response` MAC over the request's artifacts.
    pub fn server_authorization(
        &self,
        key: &AuthKey,
        request: &SignedRequest<'_>,
    ) -> Option<String> {
        let req =
            hawk::RequestBuilder::new(request.method, request.host, request.port, request.path)
                .request();
        let response = req.make_response_builder(&self.header).response();
        let header = response.make_header(&key.hawk_key()).ok()?;
        Some(format!("Hawk {header}"))
    }
}

/// Whether the header's `ts` is a number of seconds past what a `SystemTime` holds: the `hawk`
/// crate adds it to the epoch unchecked and panics (found by fuzzing: `ts="18446744073709551615"`
/// answered 500). Reads the attributes with the crate's own syntax: `name="value"` pairs
/// separated by commas and whitespace; anything else is left for the crate to refuse.
fn ts_overflows(attributes: &str) -> bool {
    let mut rest = attributes;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let Some(value) = rest[eq + 1..].trim_start().strip_prefix('"') else {
            return false;
        };
        let Some(end) = value.find('"') else {
            return false;
        };
        if rest[..eq].trim() == "ts"
            && value[..end]
                .parse::<u64>()
                .is_ok_and(|ts| ts > i64::MAX as u64)
        {
            return true;
        }
        rest = &value[end + 1..];
    }
}

/// Hawk's payload hash: SHA-256 over `hawk.1.payload\n{content-type}\n{body}\n`, where the
/// content type is lower-cased and stripped of its parameters.
pub fn payload_hash(content_type: &str, body: &[u8]) -> Vec<u8> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    hawk::PayloadHasher::hash(mime.as_bytes(), hawk::DigestAlgorithm::Sha256, body)
        .expect("SHA-256 hashing cannot fail")
}

/// `tsm`: base64(HMAC-SHA256(key, "hawk.1.ts\n{now}\n")).
pub fn timestamp_mac(key: &AuthKey, now: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.to_hex().as_bytes()).expect("any key length is fine");
    mac.update(format!("hawk.1.ts\n{now}\n").as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Client side: an `Authorization` header value, as a device would make it.
pub fn client_authorization(
    id: &HawkId,
    key: &AuthKey,
    request: &SignedRequest<'_>,
    ts: i64,
    nonce: &str,
    payload: Option<(&str, &[u8])>,
) -> String {
    let hash = payload.map(|(ct, body)| payload_hash(ct, body));
    let creds = hawk::Credentials {
        id: id.to_hex(),
        key: key.hawk_key(),
    };
    let req = hawk::RequestBuilder::new(request.method, request.host, request.port, request.path)
        .hash(hash.as_deref())
        .request();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(ts.max(0) as u64);
    let header = req
        .make_header_full(&creds, when, nonce)
        .expect("making a Hawk header with a valid key cannot fail");
    format!("Hawk {header}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::derive_credentials;
    use crate::domain::SessionToken;

    fn reference_credentials() -> (HawkId, AuthKey) {
        let token =
            SessionToken::parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
                .unwrap();
        derive_credentials(&token)
    }

    const REQUEST: SignedRequest<'static> = SignedRequest {
        method: "POST",
        host: "msisdn.example.com",
        port: 443,
        path: "/v1/msisdn/sms/verify_code",
    };

    fn mac_of(header: &str) -> &str {
        let start = header.find("mac=\"").unwrap() + 5;
        &header[start..start + header[start..].find('"').unwrap()]
    }

    /// Every Hawk vector of msisdn-gateway-behaviour.md §3.7.
    #[test]
    fn reference_vectors() {
        let (id, key) = reference_credentials();
        let plain = client_authorization(&id, &key, &REQUEST, 1_400_000_000, "abc123", None);
        assert_eq!(
            mac_of(&plain),
            "xa4sQbsGzrgg8niq0SpER8RMZ6m6+n0P9ZYJLv0Nkps="
        );

        let body = br#"{"code":"123456"}"#;
        assert_eq!(
            STANDARD.encode(payload_hash("application/json", body)),
            "Ep9IOeekIfor0O8wOtlEW2ta9aXArsz34Sju2Ketz/I="
        );
        let hashed = client_authorization(
            &id,
            &key,
            &REQUEST,
            1_400_000_000,
            "abc123",
            Some(("application/json; charset=utf-8", body)),
        );
        assert_eq!(
            mac_of(&hashed),
            "aV4xpuQBO4qZTSNooXvLEfAvEhP+ogcEacpaVr0li70="
        );

        let parsed = HawkHeader::parse(Some(&plain)).unwrap();
        let server = parsed.server_authorization(&key, &REQUEST).unwrap();
        assert_eq!(
            server,
            "Hawk mac=\"//FvHLMJArsxpEdR3VL3JYQEgSFGv7KgPSoxjnuxBNs=\""
        );
    }

    #[test]
    fn verify_checks_mac_then_hash() {
        let (id, key) = reference_credentials();
        let body: &[u8] = br#"{"code":"123456"}"#;
        let header = client_authorization(
            &id,
            &key,
            &REQUEST,
            1_400_000_000,
            "n1",
            Some(("application/json", body)),
        );
        let parsed = HawkHeader::parse(Some(&header)).unwrap();
        assert_eq!(parsed.hawk_id(), Some(id.clone()));
        assert_eq!(
            parsed.verify(&key, &REQUEST, Some(("application/json", body)), true),
            Ok(())
        );
        assert_eq!(
            parsed.verify(&key, &REQUEST, Some(("application/json", b"{}")), false),
            Err(HawkFailure::BadPayloadHash)
        );
        let other_path = SignedRequest {
            path: "/v1/msisdn/unregister",
            ..REQUEST
        };
        assert_eq!(
            parsed.verify(&key, &other_path, None, false),
            Err(HawkFailure::BadMac)
        );
        let wrong_key = AuthKey::from_bytes([7; 32]);
        assert_eq!(
            parsed.verify(&wrong_key, &REQUEST, None, false),
            Err(HawkFailure::BadMac)
        );

        let unhashed = client_authorization(&id, &key, &REQUEST, 1_400_000_000, "n2", None);
        let parsed = HawkHeader::parse(Some(&unhashed)).unwrap();
        assert_eq!(parsed.verify(&key, &REQUEST, None, false), Ok(()));
        assert_eq!(
            parsed.verify(&key, &REQUEST, None, true),
            Err(HawkFailure::MissingPayloadHash)
        );
    }

    #[test]
    fn stale_timestamps_get_the_server_time_and_its_mac() {
        let (id, key) = reference_credentials();
        let header = client_authorization(&id, &key, &REQUEST, 1_400_000_000, "n", None);
        let parsed = HawkHeader::parse(Some(&header)).unwrap();
        assert_eq!(parsed.check_timestamp(&key, 1_400_000_060, 60), Ok(()));
        assert_eq!(parsed.check_timestamp(&key, 1_399_999_940, 60), Ok(()));
        match parsed.check_timestamp(&key, 1_400_000_061, 60) {
            Err(HawkFailure::Stale { now, tsm }) => {
                assert_eq!(now, 1_400_000_061);
                assert_eq!(tsm, timestamp_mac(&key, 1_400_000_061));
            }
            other => panic!("expected stale, got {other:?}"),
        }
    }

    #[test]
    fn extreme_timestamps_are_stale_not_an_overflow() {
        let (id, key) = reference_credentials();
        let header = client_authorization(&id, &key, &REQUEST, 1_400_000_000, "n", None);
        let mut parsed = HawkHeader::parse(Some(&header)).unwrap();
        parsed.ts = i64::MAX;
        assert!(matches!(
            parsed.check_timestamp(&key, -5, 60),
            Err(HawkFailure::Stale { .. })
        ));
    }

    #[test]
    fn timestamps_past_the_clock_range_are_malformed_not_a_panic() {
        let header = |ts: &str| format!(r#"Hawk id="a", ts="{ts}", nonce="n", mac="AAAA""#);
        for ts in ["18446744073709551615", "9223372036854775808"] {
            assert_eq!(
                HawkHeader::parse(Some(&header(ts))).unwrap_err(),
                HawkFailure::Malformed,
                "{ts}"
            );
        }
        assert_eq!(
            HawkHeader::parse(Some(&header("9223372036854775807")))
                .unwrap()
                .ts,
            i64::MAX
        );
        // Only the ts attribute counts: a long numeric nonce is fine.
        let nonce = r#"Hawk id="a", ts="1", nonce="18446744073709551615", mac="AAAA""#;
        assert!(HawkHeader::parse(Some(nonce)).is_ok());
        assert!(ts_overflows(r#" ,app="", ts = "18446744073709551615""#));
    }

    #[test]
    fn malformed_headers_are_told_apart_from_missing_ones() {
        assert_eq!(HawkHeader::parse(None).unwrap_err(), HawkFailure::Missing);
        assert_eq!(
            HawkHeader::parse(Some("Bearer x")).unwrap_err(),
            HawkFailure::Missing
        );
        assert_eq!(
            HawkHeader::parse(Some("Hawk wrong-parameters")).unwrap_err(),
            HawkFailure::Malformed
        );
        assert_eq!(
            HawkHeader::parse(Some(r#"Hawk id="a", mac="AAAA""#)).unwrap_err(),
            HawkFailure::Malformed
        );
    }
}
