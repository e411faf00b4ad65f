//! Sealing at rest under a key that needs both the client and the server.
//!
//! The session's phone number and Hawk key are encrypted (ChaCha20-Poly1305) under a key derived
//! from the client's Hawk id *and* the stage's seal secret: HKDF-SHA256 with the secret as salt
//! and the id as input key material. The id is never stored (the table is keyed by its HMAC), so
//! the server can read a stored number only while serving a request of the client that owns it —
//! the original's property. And the id alone is not enough either: it travels in clear in every
//! Authorization header and SMS-MO text, so a table export plus an id must open nothing without
//! the secret, which lives only in Secrets Manager.
//!
//! A sealed value starts with the version of the seal secret it was made with, so values sealed
//! before a rotation keep opening while that version is honoured.

use std::fmt;

use hkdf::Hkdf;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::Sha256;

use super::keyed::Versions;
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

/// A seal secret (at least 32 bytes, from the stage's secret).
#[derive(Clone)]
pub struct SealSecret(Vec<u8>);

impl SealSecret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, &'static str> {
        if bytes.len() < 32 {
            return Err("a seal secret needs at least 32 bytes");
        }
        Ok(SealSecret(bytes))
    }

    pub fn from_hex(s: &str) -> Result<Self, &'static str> {
        Self::new(hex::decode(s).map_err(|_| "a seal secret must be hex")?)
    }
}

impl fmt::Debug for SealSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealSecret(redacted)")
    }
}

/// Seals and opens with the stage's seal secrets (versions 1–255; the current one seals).
#[derive(Clone, Debug)]
pub struct Sealer {
    secrets: Versions<SealSecret>,
}

impl Sealer {
    pub fn new(secrets: Versions<SealSecret>) -> Result<Self, &'static str> {
        // The version travels as one byte in front of every sealed value.
        if !secrets.numbers().all(|v| (1..=255).contains(&v)) {
            return Err("seal secret versions are 1 to 255");
        }
        Ok(Sealer { secrets })
    }

    fn key(secret: &SealSecret, id: &HawkId, purpose: Sealed) -> LessSafeKey {
        let hk = Hkdf::<Sha256>::new(Some(&secret.0), id.as_bytes());
        let mut key = [0u8; 32];
        hk.expand(purpose.label(), &mut key)
            .expect("32 bytes is a valid HKDF length");
        LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32-byte key"))
    }

    /// The associated data: the purpose and the version byte (a value can't be relabelled).
    fn aad(purpose: Sealed, version: u8) -> Vec<u8> {
        let mut aad = purpose.label().to_vec();
        aad.push(version);
        aad
    }

    /// `version (1 byte) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`.
    pub fn seal(
        &self,
        id: &HawkId,
        purpose: Sealed,
        plaintext: &[u8],
        rng: &dyn Randomness,
    ) -> Vec<u8> {
        let version = u8::try_from(self.secrets.current_version()).expect("checked in new");
        let nonce_bytes: [u8; NONCE_LEN] = random_array(rng);
        let mut buf = plaintext.to_vec();
        Self::key(self.secrets.current(), id, purpose)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(Self::aad(purpose, version)),
                &mut buf,
            )
            .expect("sealing a short value cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(version);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        out
    }

    pub fn open(&self, id: &HawkId, purpose: Sealed, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError)?;
        if rest.len() < NONCE_LEN + 16 {
            return Err(SealError);
        }
        let secret = self.secrets.get(u32::from(version)).ok_or(SealError)?;
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
        let mut buf = body.to_vec();
        let plain = Self::key(secret, id, purpose)
            .open_in_place(nonce, Aad::from(Self::aad(purpose, version)), &mut buf)
            .map_err(|_| SealError)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandomness;

    fn id(b: u8) -> HawkId {
        HawkId::from_bytes([b; 32])
    }

    fn secret(b: u8) -> SealSecret {
        SealSecret::new(vec![b; 32]).unwrap()
    }

    fn sealer(b: u8) -> Sealer {
        Sealer::new(Versions::single(secret(b))).unwrap()
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce() {
        let s = sealer(1);
        let a = s.seal(&id(1), Sealed::Msisdn, b"+33623456789", &OsRandomness);
        let b = s.seal(&id(1), Sealed::Msisdn, b"+33623456789", &OsRandomness);
        assert_ne!(a, b);
        assert_eq!(a[0], 1, "the version comes first");
        assert_eq!(s.open(&id(1), Sealed::Msisdn, &a).unwrap(), b"+33623456789");
        assert!(!a.windows(12).any(|w| w == b"+33623456789"));
    }

    #[test]
    fn wrong_id_secret_purpose_version_or_bytes_are_refused() {
        let s = sealer(1);
        let sealed = s.seal(&id(1), Sealed::Msisdn, b"+33623456789", &OsRandomness);
        assert_eq!(s.open(&id(2), Sealed::Msisdn, &sealed), Err(SealError));
        assert_eq!(
            sealer(2).open(&id(1), Sealed::Msisdn, &sealed),
            Err(SealError)
        );
        assert_eq!(s.open(&id(1), Sealed::AuthKey, &sealed), Err(SealError));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(s.open(&id(1), Sealed::Msisdn, &flipped), Err(SealError));
        assert_eq!(
            s.open(&id(1), Sealed::Msisdn, &sealed[..10]),
            Err(SealError)
        );
        assert_eq!(s.open(&id(1), Sealed::Msisdn, &[]), Err(SealError));
        let mut relabelled = sealed.clone();
        relabelled[0] = 2;
        let both = Sealer::new(Versions::new((2, secret(1)), vec![(1, secret(1))])).unwrap();
        assert_eq!(
            both.open(&id(1), Sealed::Msisdn, &relabelled),
            Err(SealError),
            "the version is authenticated"
        );
    }

    #[test]
    fn values_sealed_before_a_rotation_still_open() {
        let before = sealer(1);
        let sealed = before.seal(&id(1), Sealed::AuthKey, b"key", &OsRandomness);
        let during = Sealer::new(Versions::new((2, secret(2)), vec![(1, secret(1))])).unwrap();
        assert_eq!(
            during.open(&id(1), Sealed::AuthKey, &sealed).unwrap(),
            b"key"
        );
        let new = during.seal(&id(1), Sealed::AuthKey, b"key", &OsRandomness);
        assert_eq!(new[0], 2);
        assert_eq!(before.open(&id(1), Sealed::AuthKey, &new), Err(SealError));
        let after = Sealer::new(Versions::new((2, secret(2)), vec![])).unwrap();
        assert_eq!(after.open(&id(1), Sealed::AuthKey, &sealed), Err(SealError));
    }
}
