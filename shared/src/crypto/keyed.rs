//! Keyed identifiers: what the store uses instead of raw ids, numbers and codes.
//!
//! A stolen table holds no Hawk id, no phone number and no code: only HMACs under secrets that
//! live in Secrets Manager.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::{HawkId, Msisdn, VerificationCode};

type HmacSha256 = Hmac<Sha256>;

/// A secret HMAC key (from the stage's secret; at least 16 bytes).
#[derive(Clone)]
pub struct HmacSecret(Vec<u8>);

impl HmacSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.len() < 16 {
            return Err("an HMAC secret needs at least 16 bytes");
        }
        Ok(HmacSecret(bytes))
    }

    pub fn from_hex(s: &str) -> Result<Self, &'static str> {
        Self::new(hex::decode(s).map_err(|_| "an HMAC secret must be hex")?)
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn mac_hex(&self, parts: &[&[u8]]) -> String {
        hex::encode(self.mac(parts))
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret(redacted)")
    }
}

/// The storage key of a session: `HMAC-SHA256(hawkIdSecret, <hawk id as 64 hex chars>)`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(String);

impl SessionKey {
    pub fn from_stored(s: String) -> Self {
        SessionKey(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to correlate log lines.
        write!(f, "SessionKey({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// The service's HMAC secrets, one per purpose so that no two kinds of id can be confused.
#[derive(Clone, Debug)]
pub struct KeyedIds {
    pub hawk_id_secret: HmacSecret,
    pub msisdn_secret: HmacSecret,
    pub code_secret: HmacSecret,
    pub principal_secret: HmacSecret,
}

impl KeyedIds {
    pub fn session_key(&self, id: &HawkId) -> SessionKey {
        SessionKey(self.hawk_id_secret.mac_hex(&[id.to_hex().as_bytes()]))
    }

    /// Keys per-number records (rate limits, the session's bound number). Deterministic, so it
    /// can be looked up; keyed, so a table dump can't be reversed by enumerating numbers.
    pub fn msisdn_mac(&self, msisdn: &Msisdn) -> String {
        self.msisdn_mac_of_e164(msisdn.e164())
    }

    /// The same, for a number already known to be E.164 (the stage's parsed test numbers).
    pub fn msisdn_mac_of_e164(&self, e164: &str) -> String {
        self.msisdn_secret.mac_hex(&[b"msisdn\0", e164.as_bytes()])
    }

    /// Keys per-prefix records (the number without its last four digits).
    pub fn prefix_mac(&self, msisdn: &Msisdn) -> String {
        self.msisdn_secret
            .mac_hex(&[b"prefix\0", msisdn.prefix().as_bytes()])
    }

    /// A code is stored only as this MAC, bound to its session: a leaked table gives nothing to
    /// try offline, and a code of one session is worthless in another.
    pub fn code_mac(&self, session: &SessionKey, code: &VerificationCode) -> String {
        self.code_secret
            .mac_hex(&[session.as_str().as_bytes(), b"\0", code.as_str().as_bytes()])
    }

    /// The certificate's pseudonymous principal: stable per number and issuer, not reversible
    /// without the secret (the original used an MD5 of the number).
    pub fn principal(&self, msisdn: &Msisdn) -> String {
        let mac = self.principal_secret.mac(&[msisdn.e164().as_bytes()]);
        hex::encode(&mac[..16])
    }

    /// Keys per-address rate limits: client addresses are personal data too, so the store
    /// holds only their HMAC.
    pub fn client_mac(&self, ip: &std::net::IpAddr) -> String {
        self.msisdn_secret
            .mac_hex(&[b"client\0", ip.to_string().as_bytes()])
    }

    /// A short tag to correlate log lines about one number without logging it.
    pub fn log_tag(&self, msisdn: &Msisdn) -> String {
        self.msisdn_mac(msisdn)[..10].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> KeyedIds {
        KeyedIds {
            hawk_id_secret: HmacSecret::from_hex("98a5a5a44efb0f01a1dee6e5b962c3c8").unwrap(),
            msisdn_secret: HmacSecret::from_hex("859a5a4ae4fb0b0f1d1eae65e692c3c8").unwrap(),
            code_secret: HmacSecret::new(vec![1; 32]).unwrap(),
            principal_secret: HmacSecret::new(vec![2; 32]).unwrap(),
        }
    }

    /// hawkHmacId of the reference (msisdn-gateway-behaviour.md §3.7).
    #[test]
    fn session_key_matches_the_reference_hawk_hmac_id() {
        let id = HawkId::parse("c0a29dcf46174973da1378696e4c82ae10f723cf4f4d9f75e39f4ae3851595ab")
            .unwrap();
        assert_eq!(
            ids().session_key(&id).as_str(),
            "47f489a491282ff29e1ce1ce246c2a08a36ec444d95c35999f4f9595848a94f3"
        );
    }

    #[test]
    fn code_macs_depend_on_the_session() {
        let ids = ids();
        let code = VerificationCode::parse("123456").unwrap();
        let a = SessionKey("a".into());
        let b = SessionKey("b".into());
        assert_ne!(ids.code_mac(&a, &code), ids.code_mac(&b, &code));
        assert_eq!(ids.code_mac(&a, &code), ids.code_mac(&a, &code));
    }

    #[test]
    fn secrets_must_be_long_enough() {
        assert!(HmacSecret::from_hex("abcd").is_err());
        assert!(HmacSecret::from_hex("not hex at all, not hex at all!!").is_err());
    }
}
