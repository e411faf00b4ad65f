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

/// The honoured versions of one secret, current first. New records are keyed (or sealed, or
/// signed) with the current one; reads try every one, so that a rotation breaks nothing while
/// both versions are honoured.
#[derive(Clone, Debug)]
pub struct Versions<T> {
    /// `(version, secret)`, the current one first.
    all: Vec<(u32, T)>,
}

impl<T> Versions<T> {
    /// `current` and the other honoured versions (any order).
    pub fn new(current: (u32, T), others: Vec<(u32, T)>) -> Self {
        let mut all = vec![current];
        all.extend(others);
        Versions { all }
    }

    /// One version (1), the current one.
    pub fn single(secret: T) -> Self {
        Versions {
            all: vec![(1, secret)],
        }
    }

    pub fn current(&self) -> &T {
        &self.all[0].1
    }

    pub fn current_version(&self) -> u32 {
        self.all[0].0
    }

    pub fn get(&self, version: u32) -> Option<&T> {
        self.all.iter().find(|(v, _)| *v == version).map(|(_, s)| s)
    }

    /// The version numbers, the current one first.
    pub fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.all.iter().map(|(v, _)| *v)
    }

    /// Every honoured version, the current one first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.all.iter().map(|(_, s)| s)
    }
}

/// The service's HMAC secrets, one per purpose so that no two kinds of id can be confused.
/// Each carries its versions: the `…_keys`/`…_macs` methods give the value under every honoured
/// version (current first) for lookups and limits; the singular ones the current value for
/// new records.
#[derive(Clone, Debug)]
pub struct KeyedIds {
    hawk_id: Versions<HmacSecret>,
    msisdn: Versions<HmacSecret>,
    code: Versions<HmacSecret>,
    /// Only the current version is used: the principal is an identity, a new version is a new
    /// identity for every number.
    principal: HmacSecret,
}

impl KeyedIds {
    pub fn new(
        hawk_id: Versions<HmacSecret>,
        msisdn: Versions<HmacSecret>,
        code: Versions<HmacSecret>,
        principal: HmacSecret,
    ) -> Self {
        KeyedIds {
            hawk_id,
            msisdn,
            code,
            principal,
        }
    }

    /// Where a new session is stored.
    pub fn session_key(&self, id: &HawkId) -> SessionKey {
        Self::session_key_under(self.hawk_id.current(), id)
    }

    /// Where a session may be stored, current version first.
    pub fn session_keys(&self, id: &HawkId) -> Vec<SessionKey> {
        self.hawk_id
            .iter()
            .map(|secret| Self::session_key_under(secret, id))
            .collect()
    }

    fn session_key_under(secret: &HmacSecret, id: &HawkId) -> SessionKey {
        SessionKey(secret.mac_hex(&[id.to_hex().as_bytes()]))
    }

    /// Keys per-number records (rate limits, the session's bound number). Deterministic, so it
    /// can be looked up; keyed, so a table dump can't be reversed by enumerating numbers.
    pub fn msisdn_mac(&self, msisdn: &Msisdn) -> String {
        Self::msisdn_mac_under(self.msisdn.current(), msisdn)
    }

    /// The number's MAC under every honoured version, current first.
    pub fn msisdn_macs(&self, msisdn: &Msisdn) -> Vec<String> {
        self.msisdn
            .iter()
            .map(|s| Self::msisdn_mac_under(s, msisdn))
            .collect()
    }

    fn msisdn_mac_under(secret: &HmacSecret, msisdn: &Msisdn) -> String {
        secret.mac_hex(&[b"msisdn\0", msisdn.e164().as_bytes()])
    }

    /// Keys per-prefix records (the number without its last four digits), every version.
    pub fn prefix_macs(&self, msisdn: &Msisdn) -> Vec<String> {
        self.msisdn
            .iter()
            .map(|s| s.mac_hex(&[b"prefix\0", msisdn.prefix().as_bytes()]))
            .collect()
    }

    /// A code is stored only as this MAC, bound to its session: a leaked table gives nothing to
    /// try offline, and a code of one session is worthless in another.
    pub fn code_mac(&self, session: &SessionKey, code: &VerificationCode) -> String {
        Self::code_mac_under(self.code.current(), session, code)
    }

    /// The code's MAC under every honoured version (a code sent before a rotation still works).
    pub fn code_macs(&self, session: &SessionKey, code: &VerificationCode) -> Vec<String> {
        self.code
            .iter()
            .map(|s| Self::code_mac_under(s, session, code))
            .collect()
    }

    fn code_mac_under(
        secret: &HmacSecret,
        session: &SessionKey,
        code: &VerificationCode,
    ) -> String {
        secret.mac_hex(&[session.as_str().as_bytes(), b"\0", code.as_str().as_bytes()])
    }

    /// The certificate's pseudonymous principal: stable per number and issuer, not reversible
    /// without the secret (the original used an MD5 of the number).
    pub fn principal(&self, msisdn: &Msisdn) -> String {
        let mac = self.principal.mac(&[msisdn.e164().as_bytes()]);
        hex::encode(&mac[..16])
    }

    /// Keys per-address rate limits, every version: client addresses are personal data too,
    /// so the store holds only their HMAC.
    pub fn client_macs(&self, ip: &std::net::IpAddr) -> Vec<String> {
        self.msisdn
            .iter()
            .map(|s| s.mac_hex(&[b"client\0", ip.to_string().as_bytes()]))
            .collect()
    }

    /// A short tag to correlate log lines about one number without logging it.
    pub fn log_tag(&self, msisdn: &Msisdn) -> String {
        self.msisdn_mac(msisdn)[..10].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(hex: &str) -> HmacSecret {
        HmacSecret::from_hex(hex).unwrap()
    }

    fn ids() -> KeyedIds {
        KeyedIds::new(
            Versions::single(secret("98a5a5a44efb0f01a1dee6e5b962c3c8")),
            Versions::single(secret("859a5a4ae4fb0b0f1d1eae65e692c3c8")),
            Versions::single(HmacSecret::new(vec![1; 32]).unwrap()),
            HmacSecret::new(vec![2; 32]).unwrap(),
        )
    }

    #[test]
    fn every_honoured_version_is_offered_current_first() {
        let old = ids();
        let rotated = KeyedIds::new(
            Versions::new(
                (2, HmacSecret::new(vec![9; 32]).unwrap()),
                vec![(1, secret("98a5a5a44efb0f01a1dee6e5b962c3c8"))],
            ),
            Versions::new(
                (2, HmacSecret::new(vec![8; 32]).unwrap()),
                vec![(1, secret("859a5a4ae4fb0b0f1d1eae65e692c3c8"))],
            ),
            Versions::single(HmacSecret::new(vec![1; 32]).unwrap()),
            HmacSecret::new(vec![2; 32]).unwrap(),
        );
        let id = HawkId::from_bytes([3; 32]);
        let keys = rotated.session_keys(&id);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], rotated.session_key(&id));
        assert_eq!(keys[1], old.session_key(&id));
        let number = Msisdn::parse("+33623456789").unwrap();
        let macs = rotated.msisdn_macs(&number);
        assert_eq!(macs[0], rotated.msisdn_mac(&number));
        assert_eq!(macs[1], old.msisdn_mac(&number));
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
