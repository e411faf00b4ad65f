//! Session token → Hawk credentials, exactly as the original clients derive them.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;

use crate::domain::{HawkId, SessionToken};

const INFO: &[u8] = b"identity.mozilla.com/picl/v1/sessionToken";

/// The Hawk MAC key. Clients use its 64 lowercase hex characters *as ASCII bytes* for the HMAC
/// (that is what the original's Node stack did): see `hawk_auth`.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey([u8; 32]);

impl AuthKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        AuthKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(redacted)")
    }
}

/// HKDF-SHA256(IKM = token, no salt, info = `identity.mozilla.com/picl/v1/sessionToken`, 64 bytes)
/// → (Hawk id = bytes 0..32, auth key = bytes 32..64).
pub fn derive_credentials(token: &SessionToken) -> (HawkId, AuthKey) {
    let hk = Hkdf::<Sha256>::new(None, token.as_bytes());
    let mut okm = [0u8; 64];
    hk.expand(INFO, &mut okm)
        .expect("64 bytes is a valid HKDF-SHA256 length");
    let mut id = [0u8; 32];
    let mut key = [0u8; 32];
    id.copy_from_slice(&okm[..32]);
    key.copy_from_slice(&okm[32..]);
    (HawkId::from_bytes(id), AuthKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vector of the original service (msisdn-gateway-behaviour.md §3.7).
    #[test]
    fn reference_vector() {
        let token =
            SessionToken::parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
                .unwrap();
        let (id, key) = derive_credentials(&token);
        assert_eq!(
            id.to_hex(),
            "c0a29dcf46174973da1378696e4c82ae10f723cf4f4d9f75e39f4ae3851595ab"
        );
        assert_eq!(
            key.to_hex(),
            "9d8f22998ee7f5798b887042466b72d53e56ab0c094388bf65831f702d2febc0"
        );
    }
}
