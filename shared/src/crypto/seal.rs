//! Sealing at rest under a key only the client can supply.
//!
//! The session's phone number and Hawk key are encrypted (ChaCha20-Poly1305) under a key derived
//! from the client's Hawk id. The id is never stored (the table is keyed by its HMAC), so the
//! server can read a stored number only while serving a request of the client that owns it —
//! the property the original had with its secretbox-under-hawkId design.

use hkdf::Hkdf;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::Sha256;

use crate::domain::HawkId;
use crate::random::{Randomness, random_array};

/// What a sealed value is for; bound into the key derivation and the AEAD's associated data,
/// so a sealed number can't be swapped in as a sealed key.
#[derive(Debug, Clone, Copy)]
pub enum Sealed {
    Msisdn,
    AuthKey,
}

impl Sealed {
    fn label(self) -> &'static [u8] {
        match self {
            Sealed::Msisdn => b"mobileid/v1/seal/msisdn",
            Sealed::AuthKey => b"mobileid/v1/seal/auth-key",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value could not be opened (wrong key or corrupted)")]
pub struct SealError;

fn key_for(id: &HawkId, purpose: Sealed) -> LessSafeKey {
    let hk = Hkdf::<Sha256>::new(Some(b"mobileid-seal"), id.as_bytes());
    let mut key = [0u8; 32];
    hk.expand(purpose.label(), &mut key)
        .expect("32 bytes is a valid HKDF length");
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32-byte key"))
}

/// `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
pub fn seal(id: &HawkId, purpose: Sealed, plaintext: &[u8], rng: &dyn Randomness) -> Vec<u8> {
    let nonce_bytes: [u8; NONCE_LEN] = random_array(rng);
    let mut buf = plaintext.to_vec();
    key_for(id, purpose)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(purpose.label()),
            &mut buf,
        )
        .expect("sealing a short value cannot fail");
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    out
}

pub fn open(id: &HawkId, purpose: Sealed, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(SealError);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
    let mut buf = body.to_vec();
    let plain = key_for(id, purpose)
        .open_in_place(nonce, Aad::from(purpose.label()), &mut buf)
        .map_err(|_| SealError)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandomness;

    fn id(b: u8) -> HawkId {
        HawkId::from_bytes([b; 32])
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce() {
        let a = seal(&id(1), Sealed::Msisdn, b"+33623456789", &OsRandomness);
        let b = seal(&id(1), Sealed::Msisdn, b"+33623456789", &OsRandomness);
        assert_ne!(a, b);
        assert_eq!(open(&id(1), Sealed::Msisdn, &a).unwrap(), b"+33623456789");
        assert!(!a.windows(12).any(|w| w == b"+33623456789"));
    }

    #[test]
    fn wrong_id_purpose_or_bytes_are_refused() {
        let s = seal(&id(1), Sealed::Msisdn, b"+33623456789", &OsRandomness);
        assert_eq!(open(&id(2), Sealed::Msisdn, &s), Err(SealError));
        assert_eq!(open(&id(1), Sealed::AuthKey, &s), Err(SealError));
        let mut flipped = s.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(open(&id(1), Sealed::Msisdn, &flipped), Err(SealError));
        assert_eq!(open(&id(1), Sealed::Msisdn, &s[..10]), Err(SealError));
    }
}
