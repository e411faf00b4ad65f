//! ES256 (ECDSA P-256 / SHA-256) JWS compact signing of identity certificates, and the JWKS
//! that lets anyone verify them.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::random::{Randomness, random_array};

/// The service's certificate-signing key with its key id (the RFC 7638 JWK thumbprint).
#[derive(Clone)]
pub struct CertificateSigner {
    key: SigningKey,
    kid: String,
}

impl fmt::Debug for CertificateSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateSigner(kid={})", self.kid)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the signing key is not a valid P-256 private scalar")]
    BadPrivateKey,
    #[error("not a JWS compact token")]
    Malformed,
    #[error("the token's algorithm is not ES256")]
    WrongAlgorithm,
    #[error("no key in the JWKS has the token's kid")]
    UnknownKid,
    #[error("the signature does not verify")]
    BadSignature,
}

impl CertificateSigner {
    /// From the 32-byte private scalar (base64url, as kept in the stage's secret).
    pub fn from_private_b64(d: &str) -> Result<Self, JwsError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(d.trim())
            .map_err(|_| JwsError::BadPrivateKey)?;
        let key = SigningKey::from_slice(&bytes).map_err(|_| JwsError::BadPrivateKey)?;
        Ok(Self::from_key(key))
    }

    /// Checks that `d` is a private key without deriving its public key: a range check of the
    /// scalar, against the scalar multiplication (and, the first time, the base-point table)
    /// that [`Self::from_private_b64`] costs.
    pub fn check_private_b64(d: &str) -> Result<(), JwsError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(d.trim())
            .map_err(|_| JwsError::BadPrivateKey)?;
        p256::SecretKey::from_slice(&bytes)
            .map(drop)
            .map_err(|_| JwsError::BadPrivateKey)
    }

    /// A fresh key (the local server's per-run key; the ops tool's `secret generate`).
    pub fn generate(rng: &dyn Randomness) -> Self {
        loop {
            // A random 32-byte string is a valid scalar except with negligible probability.
            if let Ok(key) = SigningKey::from_slice(&random_array::<32>(rng)) {
                return Self::from_key(key);
            }
        }
    }

    fn from_key(key: SigningKey) -> Self {
        let kid = thumbprint(key.verifying_key());
        CertificateSigner { key, kid }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn private_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.to_bytes())
    }

    /// The public key as a JWK with `kid`, `alg` and `use`.
    pub fn public_jwk(&self) -> Value {
        let (x, y) = coordinates(self.key.verifying_key());
        json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "ES256", "use": "sig", "kid": self.kid})
    }

    /// `base64url(header).base64url(claims).base64url(r‖s)`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// The stage's signing keys: the current one signs, every one not yet retired is published
/// (the next key before it signs, the previous ones until the certificates they signed have
/// expired), so that a rotation breaks no certificate in flight.
#[derive(Clone, Debug)]
pub struct SigningKeys {
    current: CertificateSigner,
    /// Published but not signing: the next key and the previous ones.
    others: Vec<CertificateSigner>,
}

impl SigningKeys {
    pub fn new(current: CertificateSigner, others: Vec<CertificateSigner>) -> Self {
        SigningKeys { current, others }
    }

    pub fn single(current: CertificateSigner) -> Self {
        Self::new(current, Vec::new())
    }

    pub fn current(&self) -> &CertificateSigner {
        &self.current
    }

    /// The current key's id (the one new certificates carry).
    pub fn kid(&self) -> &str {
        self.current.kid()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.current.sign(claims)
    }

    /// `{"keys": [...]}`: every published key, the current one first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = std::iter::once(&self.current)
            .chain(&self.others)
            .map(CertificateSigner::public_jwk)
            .collect();
        json!({ "keys": keys })
    }
}

fn coordinates(key: &VerifyingKey) -> (String, String) {
    // SEC1 uncompressed: 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
    let point = key.to_sec1_point(false);
    let bytes = point.as_bytes();
    let x = URL_SAFE_NO_PAD.encode(&bytes[1..33]);
    let y = URL_SAFE_NO_PAD.encode(&bytes[33..65]);
    (x, y)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
fn thumbprint(key: &VerifyingKey) -> String {
    let (x, y) = coordinates(key);
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Verifies an ES256 JWS against a JWKS (`{"keys":[…]}`), returning (header, claims).
pub fn verify_es256(token: &str, jwks: &Value) -> Result<(Value, Value), JwsError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let decode_json = |part: &str| -> Result<Value, JwsError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwsError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| JwsError::Malformed)
    };
    let header = decode_json(h)?;
    let claims = decode_json(p)?;
    if header["alg"] != "ES256" {
        return Err(JwsError::WrongAlgorithm);
    }
    let kid = header["kid"].as_str().ok_or(JwsError::UnknownKid)?;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .ok_or(JwsError::UnknownKid)?;
    let coord = |name: &str| -> Result<[u8; 32], JwsError> {
        jwk[name]
            .as_str()
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or(JwsError::UnknownKid)
    };
    let point = [&[0x04][..], &coord("x")?, &coord("y")?].concat();
    let verifying = VerifyingKey::from_sec1_bytes(&point).map_err(|_| JwsError::UnknownKid)?;
    let sig_bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwsError::Malformed)?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|_| JwsError::BadSignature)?;
    verifying
        .verify(format!("{h}.{p}").as_bytes(), &signature)
        .map_err(|_| JwsError::BadSignature)?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandomness;

    #[test]
    fn signs_and_verifies_against_its_jwks() {
        let signer = CertificateSigner::generate(&OsRandomness);
        let jwks = json!({"keys": [signer.public_jwk()]});
        let token = signer.sign(&json!({"iss": "example", "n": 1}));
        let (header, claims) = verify_es256(&token, &jwks).unwrap();
        assert_eq!(header["kid"], signer.kid());
        assert_eq!(claims["iss"], "example");
        // The signature is the fixed 64-byte r‖s form.
        let sig = token.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap().len(), 64);
    }

    #[test]
    fn any_altered_part_fails() {
        let signer = CertificateSigner::generate(&OsRandomness);
        let jwks = json!({"keys": [signer.public_jwk()]});
        let token = signer.sign(&json!({"verifiedMSISDN": "+33623456789"}));
        let forged_claims =
            URL_SAFE_NO_PAD.encode(json!({"verifiedMSISDN": "+33600000000"}).to_string());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert_eq!(verify_es256(&forged, &jwks), Err(JwsError::BadSignature));
        let other = CertificateSigner::generate(&OsRandomness);
        let other_jwks = json!({"keys": [other.public_jwk()]});
        assert_eq!(verify_es256(&token, &other_jwks), Err(JwsError::UnknownKid));
        assert_eq!(verify_es256("a.b", &jwks), Err(JwsError::Malformed));
    }

    #[test]
    fn private_key_round_trips_with_the_same_kid() {
        let signer = CertificateSigner::generate(&OsRandomness);
        let again = CertificateSigner::from_private_b64(&signer.private_b64()).unwrap();
        assert_eq!(again.kid(), signer.kid());
        assert!(CertificateSigner::from_private_b64("AAAA").is_err());
    }
}
