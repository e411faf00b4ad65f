//! Hawk request authentication (server side) and header making (client side, for the local
//! tools and tests): one parser, one MAC, one verifier.
//!
//! It follows the Hawk specification as the reference implementation (hueniverse/hawk, which the
//! original ran) has it: the header grammar `Hawk name="value", …` with the attributes `id`, `ts`,
//! `nonce`, `hash`, `ext`, `mac`, `app`, `dlg`, each at most once; `app` and `dlg` covered by the
//! MAC; HMAC-SHA256 keyed with the auth key's 64 hex characters (the original's convention);
//! `ts`/`tsm` on a stale timestamp; `Server-Authorization` as a `hawk.1.response` MAC.
//!
//! Stricter than the reference where an attacker could use the slack: every attribute and the
//! whole header are bounded ([`MAX_HEADER_BYTES`], [`max_value_bytes`]), so nothing unbounded
//! reaches the nonce store; `dlg` without `app` is refused (the MAC would not cover it); and any
//! byte outside the grammar, non-ASCII included, is "Bad header format".

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::credentials::AuthKey;
use crate::domain::HawkId;

/// The longest `Authorization` header read (the reference's own limit).
pub const MAX_HEADER_BYTES: usize = 4096;

/// The longest value of each attribute, in bytes. `ts` is a number of seconds (at most 19
/// digits, an `i64`); `mac` and `hash` are base64 SHA-256 (44); ids are 64 hex characters here.
pub fn max_value_bytes(name: &str) -> usize {
    match name {
        "ts" => 19,
        "ext" => 1024,
        _ => 128,
    }
}

const ATTRIBUTES: [&str; 8] = ["id", "ts", "nonce", "hash", "ext", "mac", "app", "dlg"];

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HawkHeader {
    pub id: String,
    pub ts: i64,
    pub nonce: String,
    /// The payload hash, base64, as sent.
    pub hash: Option<String>,
    pub ext: Option<String>,
    pub app: Option<String>,
    pub dlg: Option<String>,
    mac: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HawkFailure {
    /// No Authorization header, or another scheme.
    Missing,
    /// A Hawk header outside the grammar or the bounds, or without id/ts/nonce/mac; says why.
    Malformed(String),
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

fn malformed(why: impl Into<String>) -> HawkFailure {
    HawkFailure::Malformed(why.into())
}

/// A value byte the grammar allows: printable ASCII but `"` and `\` (the reference's set).
fn value_byte(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| is_space(**b)).count();
    &s[n..]
}

impl HawkHeader {
    /// Parses the header value (with its `Hawk ` scheme).
    pub fn parse(authorization: Option<&str>) -> Result<Self, HawkFailure> {
        Self::parse_bytes(authorization.map(str::as_bytes))
    }

    /// Parses the header's raw bytes (a header value need not be UTF-8, or even ASCII).
    pub fn parse_bytes(authorization: Option<&[u8]>) -> Result<Self, HawkFailure> {
        let value = authorization.ok_or(HawkFailure::Missing)?;
        let scheme_end = value.iter().take_while(|b| is_word(**b)).count();
        if !value[..scheme_end].eq_ignore_ascii_case(b"hawk") {
            return Err(HawkFailure::Missing);
        }
        if value.get(scheme_end).is_some_and(|b| !is_space(*b)) {
            return Err(malformed("the scheme must be followed by a space"));
        }
        if value.len() > MAX_HEADER_BYTES {
            return Err(malformed(format!(
                "the header is longer than {MAX_HEADER_BYTES} bytes"
            )));
        }
        let mut found: [Option<&str>; ATTRIBUTES.len()] = [None; ATTRIBUTES.len()];
        let mut rest = skip_spaces(&value[scheme_end..]);
        while !rest.is_empty() {
            let name_len = rest.iter().take_while(|b| is_word(**b)).count();
            let (name, after) = rest.split_at(name_len);
            let after = after
                .strip_prefix(b"=\"")
                .filter(|_| name_len > 0)
                .ok_or_else(|| malformed("expected name=\"value\""))?;
            let value_len = after.iter().take_while(|b| value_byte(**b)).count();
            let (raw, after) = after.split_at(value_len);
            let after = after.strip_prefix(b"\"").ok_or_else(|| {
                malformed(
                    "an attribute value has a byte outside printable ASCII, a quote or a backslash",
                )
            })?;
            // Only ASCII word characters and value bytes past this point: both are str.
            let name = std::str::from_utf8(name).expect("ASCII");
            let raw = std::str::from_utf8(raw).expect("ASCII");
            let slot = ATTRIBUTES
                .iter()
                .position(|a| *a == name)
                .ok_or_else(|| malformed(format!("unknown attribute {:.32}", name)))?;
            if found[slot].is_some() {
                return Err(malformed(format!("duplicate attribute {name}")));
            }
            if raw.is_empty() {
                return Err(malformed(format!("empty attribute {name}")));
            }
            if raw.len() > max_value_bytes(name) {
                return Err(malformed(format!(
                    "{name} is longer than {} bytes",
                    max_value_bytes(name)
                )));
            }
            found[slot] = Some(raw);
            rest = skip_spaces(after);
            if !rest.is_empty() {
                rest = rest
                    .strip_prefix(b",")
                    .map(skip_spaces)
                    .ok_or_else(|| malformed("attributes must be separated by commas"))?;
            }
        }
        let [id, ts, nonce, hash, ext, mac, app, dlg] = found;
        let (Some(id), Some(ts), Some(nonce), Some(mac)) = (id, ts, nonce, mac) else {
            return Err(malformed("id, ts, nonce and mac are required"));
        };
        if dlg.is_some() && app.is_none() {
            return Err(malformed(
                "dlg without app (the MAC covers dlg only with app)",
            ));
        }
        let ts = Some(ts)
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| malformed("ts must be a number of seconds"))?;
        let owned = |v: Option<&str>| v.map(str::to_owned);
        Ok(HawkHeader {
            id: id.to_owned(),
            ts,
            nonce: nonce.to_owned(),
            hash: owned(hash),
            ext: owned(ext),
            app: owned(app),
            dlg: owned(dlg),
            mac: mac.to_owned(),
        })
    }

    pub fn hawk_id(&self) -> Option<HawkId> {
        HawkId::parse(&self.id)
    }

    fn artifacts(&self) -> Artifacts<'_> {
        Artifacts {
            ts: self.ts,
            nonce: &self.nonce,
            hash: self.hash.as_deref(),
            ext: self.ext.as_deref(),
            app: self.app.as_deref(),
            dlg: self.dlg.as_deref(),
        }
    }

    /// Checks the MAC, then the payload hash against the body (when the header has one).
    pub fn verify(
        &self,
        key: &AuthKey,
        request: &SignedRequest<'_>,
        body: Option<(&str, &[u8])>,
        require_hash: bool,
    ) -> Result<(), HawkFailure> {
        let expected = mac(key, "header", request, &self.artifacts());
        if !bool::from(expected.as_bytes().ct_eq(self.mac.as_bytes())) {
            return Err(HawkFailure::BadMac);
        }
        match &self.hash {
            Some(claimed) => {
                let (content_type, bytes) = body.unwrap_or(("", b""));
                let actual = STANDARD.encode(payload_hash(content_type, bytes));
                if !bool::from(actual.as_bytes().ct_eq(claimed.as_bytes())) {
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

    /// The `Server-Authorization` value: a `hawk.1.response` MAC over the request's artifacts
    /// (its `app` and `dlg` included), without a payload hash of the answer (as the original).
    pub fn server_authorization(&self, key: &AuthKey, request: &SignedRequest<'_>) -> String {
        let artifacts = Artifacts {
            hash: None,
            ext: None,
            ..self.artifacts()
        };
        format!(
            r#"Hawk mac="{}""#,
            mac(key, "response", request, &artifacts)
        )
    }
}

/// What a MAC covers besides the request.
#[derive(Debug, Clone, Copy)]
struct Artifacts<'a> {
    ts: i64,
    nonce: &'a str,
    hash: Option<&'a str>,
    ext: Option<&'a str>,
    app: Option<&'a str>,
    dlg: Option<&'a str>,
}

/// base64(HMAC-SHA256(key, normalized string)), the normalized string being
/// `hawk.1.{kind}\n{ts}\n{nonce}\n{METHOD}\n{path}\n{host}\n{port}\n{hash}\n{ext}\n` followed
/// by `{app}\n{dlg}\n` when the header has `app`.
fn mac(key: &AuthKey, kind: &str, request: &SignedRequest<'_>, a: &Artifacts<'_>) -> String {
    let mut normalized = format!(
        "hawk.1.{kind}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        a.ts,
        a.nonce,
        request.method.to_ascii_uppercase(),
        request.path,
        request.host.to_ascii_lowercase(),
        request.port,
        a.hash.unwrap_or(""),
        a.ext.unwrap_or(""),
    );
    if let Some(app) = a.app {
        normalized.push_str(app);
        normalized.push('\n');
        normalized.push_str(a.dlg.unwrap_or(""));
        normalized.push('\n');
    }
    STANDARD.encode(hmac_sha256(key, normalized.as_bytes()))
}

fn hmac_sha256(key: &AuthKey, data: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.to_hex().as_bytes()).expect("any key length is fine");
    mac.update(data);
    mac.finalize().into_bytes().into()
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
    let mut hasher = Sha256::new();
    hasher.update(b"hawk.1.payload\n");
    hasher.update(mime.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hasher.update(b"\n");
    hasher.finalize().to_vec()
}

/// `tsm`: base64(HMAC-SHA256(key, "hawk.1.ts\n{now}\n")).
pub fn timestamp_mac(key: &AuthKey, now: i64) -> String {
    STANDARD.encode(hmac_sha256(key, format!("hawk.1.ts\n{now}\n").as_bytes()))
}

/// The optional attributes a client may add to its header.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientOptions<'a> {
    pub ext: Option<&'a str>,
    pub app: Option<&'a str>,
    pub dlg: Option<&'a str>,
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
    client_authorization_with(
        id,
        key,
        request,
        ts,
        nonce,
        payload,
        ClientOptions::default(),
    )
}

/// The same with `ext`, `app` and `dlg`, in the reference client's attribute order.
pub fn client_authorization_with(
    id: &HawkId,
    key: &AuthKey,
    request: &SignedRequest<'_>,
    ts: i64,
    nonce: &str,
    payload: Option<(&str, &[u8])>,
    options: ClientOptions<'_>,
) -> String {
    let hash = payload.map(|(ct, body)| STANDARD.encode(payload_hash(ct, body)));
    let artifacts = Artifacts {
        ts,
        nonce,
        hash: hash.as_deref(),
        ext: options.ext,
        app: options.app,
        dlg: options.app.and(options.dlg),
    };
    let mac = mac(key, "header", request, &artifacts);
    let mut header = format!(r#"Hawk id="{}", ts="{ts}", nonce="{nonce}""#, id.to_hex());
    let mut push = |name: &str, value: Option<&str>| {
        if let Some(v) = value {
            header.push_str(&format!(r#", {name}="{v}""#));
        }
    };
    push("hash", artifacts.hash);
    push("ext", artifacts.ext);
    push("mac", Some(&mac));
    push("app", artifacts.app);
    push("dlg", artifacts.dlg);
    header
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

    fn parse(header: &str) -> Result<HawkHeader, HawkFailure> {
        HawkHeader::parse(Some(header))
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

        let parsed = parse(&plain).unwrap();
        assert_eq!(
            parsed.server_authorization(&key, &REQUEST),
            "Hawk mac=\"//FvHLMJArsxpEdR3VL3JYQEgSFGv7KgPSoxjnuxBNs=\""
        );
        assert_eq!(parsed.verify(&key, &REQUEST, None, false), Ok(()));
        assert_eq!(
            parse(&hashed)
                .unwrap()
                .verify(&key, &REQUEST, Some(("application/json", body)), true),
            Ok(())
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
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.hawk_id(), Some(id.clone()));
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
        let parsed = parse(&unhashed).unwrap();
        assert_eq!(
            parsed.verify(&key, &REQUEST, None, true),
            Err(HawkFailure::MissingPayloadHash)
        );
    }

    #[test]
    fn app_dlg_and_ext_are_signed() {
        let (id, key) = reference_credentials();
        let options = ClientOptions {
            ext: Some("some-app-data"),
            app: Some("demo-app"),
            dlg: Some("d1"),
        };
        let header =
            client_authorization_with(&id, &key, &REQUEST, 1_400_000_000, "n", None, options);
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.app.as_deref(), Some("demo-app"));
        assert_eq!(parsed.verify(&key, &REQUEST, None, false), Ok(()));
        for (from, to) in [
            (r#"app="demo-app""#, r#"app="demo-apq""#),
            (r#"dlg="d1""#, r#"dlg="d2""#),
            (r#"ext="some-app-data""#, r#"ext="other""#),
        ] {
            let altered = parse(&header.replace(from, to)).unwrap();
            assert_eq!(
                altered.verify(&key, &REQUEST, None, false),
                Err(HawkFailure::BadMac),
                "{to}"
            );
        }
        // Dropping app and dlg, or adding them, changes the MAC.
        let without = header.replace(r#", app="demo-app", dlg="d1""#, "");
        assert_eq!(
            parse(&without).unwrap().verify(&key, &REQUEST, None, false),
            Err(HawkFailure::BadMac)
        );
        // The server's answer covers them too.
        assert_ne!(
            parsed.server_authorization(&key, &REQUEST),
            parse(&without)
                .unwrap()
                .server_authorization(&key, &REQUEST)
        );
    }

    #[test]
    fn stale_timestamps_get_the_server_time_and_its_mac() {
        let (id, key) = reference_credentials();
        let header = client_authorization(&id, &key, &REQUEST, 1_400_000_000, "n", None);
        let parsed = parse(&header).unwrap();
        assert_eq!(parsed.check_timestamp(&key, 1_400_000_060, 60), Ok(()));
        assert_eq!(parsed.check_timestamp(&key, 1_399_999_940, 60), Ok(()));
        match parsed.check_timestamp(&key, 1_400_000_061, 60) {
            Err(HawkFailure::Stale { now, tsm }) => {
                assert_eq!(now, 1_400_000_061);
                assert_eq!(tsm, timestamp_mac(&key, 1_400_000_061));
            }
            other => panic!("expected stale, got {other:?}"),
        }
        let mut extreme = parsed.clone();
        extreme.ts = i64::MAX;
        assert!(matches!(
            extreme.check_timestamp(&key, -5, 60),
            Err(HawkFailure::Stale { .. })
        ));
    }

    #[test]
    fn the_grammar_is_the_reference_one() {
        let ok = r#"Hawk id="a", ts="1", nonce="n", mac="AAAA""#;
        assert!(parse(ok).is_ok());
        // Whitespace around commas, a trailing comma, the scheme in any case: fine.
        assert!(parse(r#"hawk id="a" ,ts="1",nonce="n",   mac="AAAA","#).is_ok());
        assert!(parse("Hawk\tid=\"a\", ts=\"1\", nonce=\"n\", mac=\"A A\"").is_ok());
        for bad in [
            "Hawk wrong-parameters",
            "Hawk",
            r#"Hawk id="a", mac="AAAA""#,
            r#"Hawk id="a" ts="1", nonce="n", mac="AAAA""#,
            r#"Hawk id="a", ts="1", nonce="n", mac="AAAA", id="b""#,
            r#"Hawk id="a", ts="1", nonce="n", mac="AAAA", bewit="x""#,
            r#"Hawk id="a", ts="1", nonce="", mac="AAAA""#,
            r#"Hawk id="a", ts="1", nonce="n\"", mac="AAAA""#,
            r#"Hawk id="a", ts="-1", nonce="n", mac="AAAA""#,
            r#"Hawk id="a", ts="1.5", nonce="n", mac="AAAA""#,
            r#"Hawk id ="a", ts="1", nonce="n", mac="AAAA""#,
            r#"Hawk id="a",, ts="1", nonce="n", mac="AAAA""#,
            r#"Hawk id="a", ts="1", nonce="n", mac="AAAA", dlg="d""#,
            r#"Hawk id="a", ts="1", nonce="n", mac="AAAA"x"#,
            r#"Hawk,id="a", ts="1", nonce="n", mac="AAAA""#,
        ] {
            assert!(
                matches!(parse(bad), Err(HawkFailure::Malformed(_))),
                "{bad}"
            );
        }
        let non_ascii = b"Hawk id=\"a\xc3\xa9\", ts=\"1\", nonce=\"n\", mac=\"AAAA\"";
        assert!(matches!(
            HawkHeader::parse_bytes(Some(non_ascii)),
            Err(HawkFailure::Malformed(_))
        ));
        assert_eq!(parse("Bearer x"), Err(HawkFailure::Missing));
        assert_eq!(parse("Hawkish x"), Err(HawkFailure::Missing));
        assert_eq!(HawkHeader::parse(None), Err(HawkFailure::Missing));
    }

    #[test]
    fn attributes_and_the_header_are_bounded() {
        let with_nonce = |n: usize| {
            format!(
                r#"Hawk id="a", ts="1", nonce="{}", mac="AAAA""#,
                "n".repeat(n)
            )
        };
        assert!(parse(&with_nonce(128)).is_ok());
        assert_eq!(
            parse(&with_nonce(129)),
            Err(malformed("nonce is longer than 128 bytes"))
        );
        let long_ts = r#"Hawk id="a", ts="12345678901234567890", nonce="n", mac="AAAA""#;
        assert!(matches!(parse(long_ts), Err(HawkFailure::Malformed(_))));
        // ts past i64 (the hawk crate panicked on it, found by fuzzing).
        let big_ts = r#"Hawk id="a", ts="9223372036854775808", nonce="n", mac="AAAA""#;
        assert!(matches!(parse(big_ts), Err(HawkFailure::Malformed(_))));
        let max_ts = r#"Hawk id="a", ts="9223372036854775807", nonce="n", mac="AAAA""#;
        assert_eq!(parse(max_ts).unwrap().ts, i64::MAX);
        let huge = format!("{} ext=\"{}\"", with_nonce(1), "e".repeat(MAX_HEADER_BYTES));
        assert_eq!(
            parse(&huge),
            Err(malformed("the header is longer than 4096 bytes"))
        );
    }
}
