//! The session token a client receives and the Hawk id derived from it.

use std::fmt;

/// The 32 random bytes returned by `/register` as `msisdnSessionToken` (64 hex chars).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken([u8; 32]);

impl SessionToken {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SessionToken(bytes)
    }

    pub fn parse(hex_str: &str) -> Option<Self> {
        parse_hex32(hex_str).map(SessionToken)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(redacted)")
    }
}

/// A Hawk id: 32 bytes, written as 64 lowercase hex characters in the `Authorization` header
/// and in SMS-MO texts. It is also the key under which the session's secrets are sealed, so it
/// is never stored and never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct HawkId([u8; 32]);

impl HawkId {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        HawkId(bytes)
    }

    /// Accepts exactly 64 hex characters (either case; clients send lowercase).
    pub fn parse(hex_str: &str) -> Option<Self> {
        parse_hex32(hex_str).map(HawkId)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The id as the original clients write it: 64 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for HawkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HawkId(redacted)")
    }
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hawk_id_needs_64_hex_chars() {
        let id = "c0a29dcf46174973da1378696e4c82ae10f723cf4f4d9f75e39f4ae3851595ab";
        assert_eq!(HawkId::parse(id).unwrap().to_hex(), id);
        assert_eq!(HawkId::parse(&id.to_uppercase()).unwrap().to_hex(), id);
        assert!(HawkId::parse(&id[..63]).is_none());
        assert!(HawkId::parse(&format!("{}g", &id[..63])).is_none());
        assert!(HawkId::parse("").is_none());
    }
}
