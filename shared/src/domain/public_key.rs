//! The client's public key, as it goes into the certificate's `public-key` claim.
//!
//! Old clients send BrowserID keys (`{"algorithm":"RS","n","e"}` with decimal strings, or
//! `{"algorithm":"DS","y","p","q","g"}` with hex strings), as an object or as a JSON string;
//! new clients send an EC P-256 JWK. Each is checked for its shape; an EC point must lie on the
//! curve.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

/// Longest accepted integer field (a 8192-bit modulus is 2467 decimal digits).
const MAX_FIELD_LEN: usize = 2500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPublicKey {
    Rsa {
        n: String,
        e: String,
    },
    Dsa {
        y: String,
        p: String,
        q: String,
        g: String,
    },
    EcP256 {
        x: String,
        y: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    #[error("publicKey is a string but not valid JSON")]
    NotJson,
    #[error("Bad Public Key: {0}")]
    Shape(String),
}

impl ClientPublicKey {
    /// Parses the `publicKey` parameter: an object, or a string holding the object's JSON.
    pub fn from_param(value: &Value) -> Result<Self, PublicKeyError> {
        match value {
            Value::String(s) => {
                let inner: Value = serde_json::from_str(s).map_err(|_| PublicKeyError::NotJson)?;
                Self::from_object(&inner)
            }
            other => Self::from_object(other),
        }
    }

    fn from_object(value: &Value) -> Result<Self, PublicKeyError> {
        let obj = value
            .as_object()
            .ok_or_else(|| shape("the key must be a JSON object"))?;
        if let Some(kty) = obj.get("kty") {
            return Self::ec_jwk(obj, kty);
        }
        match obj.get("algorithm").and_then(Value::as_str) {
            Some("RS") => Ok(ClientPublicKey::Rsa {
                n: field(obj, "n", is_decimal)?,
                e: field(obj, "e", is_decimal)?,
            }),
            Some("DS") => Ok(ClientPublicKey::Dsa {
                y: field(obj, "y", is_hex)?,
                p: field(obj, "p", is_hex)?,
                q: field(obj, "q", is_hex)?,
                g: field(obj, "g", is_hex)?,
            }),
            Some(other) => Err(shape(&format!(
                "unknown algorithm {other:?} (RS, DS or an EC JWK)"
            ))),
            None => Err(shape("missing algorithm (RS or DS) or kty (EC)")),
        }
    }

    fn ec_jwk(obj: &Map<String, Value>, kty: &Value) -> Result<Self, PublicKeyError> {
        if kty != "EC" || obj.get("crv").and_then(Value::as_str) != Some("P-256") {
            return Err(shape("only EC keys on P-256 are accepted as JWK"));
        }
        let x = field(obj, "x", |_| true)?;
        let y = field(obj, "y", |_| true)?;
        let coord = |s: &str| -> Result<[u8; 32], PublicKeyError> {
            URL_SAFE_NO_PAD
                .decode(s)
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v).ok())
                .ok_or_else(|| shape("x and y must be 32-byte base64url values"))
        };
        let point = p256::EncodedPoint::from_affine_coordinates(
            &coord(&x)?.into(),
            &coord(&y)?.into(),
            false,
        );
        p256::PublicKey::from_sec1_bytes(point.as_bytes())
            .map_err(|_| shape("the point is not on the P-256 curve"))?;
        Ok(ClientPublicKey::EcP256 { x, y })
    }

    /// The claim value, in the shape the client sent (normalised: unknown fields dropped).
    pub fn to_claim(&self) -> Value {
        match self {
            ClientPublicKey::Rsa { n, e } => json!({"algorithm": "RS", "n": n, "e": e}),
            ClientPublicKey::Dsa { y, p, q, g } => {
                json!({"algorithm": "DS", "y": y, "p": p, "q": q, "g": g})
            }
            ClientPublicKey::EcP256 { x, y } => {
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})
            }
        }
    }
}

fn shape(msg: &str) -> PublicKeyError {
    PublicKeyError::Shape(msg.to_owned())
}

fn field(
    obj: &Map<String, Value>,
    name: &str,
    valid: fn(&str) -> bool,
) -> Result<String, PublicKeyError> {
    match obj.get(name).and_then(Value::as_str) {
        Some(s) if !s.is_empty() && s.len() <= MAX_FIELD_LEN && valid(s) => Ok(s.to_owned()),
        Some(_) => Err(shape(&format!("invalid {name} parameter"))),
        None => Err(shape(&format!("missing {name} parameter"))),
    }
}

fn is_decimal(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GX: &str = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
    const GY: &str = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";

    #[test]
    fn accepts_objects_and_json_strings() {
        let rs = json!({"algorithm": "RS", "n": "123", "e": "65537"});
        let from_obj = ClientPublicKey::from_param(&rs).unwrap();
        let from_str = ClientPublicKey::from_param(&Value::String(rs.to_string())).unwrap();
        assert_eq!(from_obj, from_str);
        assert_eq!(from_obj.to_claim(), rs);
    }

    #[test]
    fn dsa_needs_all_four_hex_fields() {
        let ok = json!({"algorithm": "DS", "y": "ab", "p": "cd", "q": "ef", "g": "01"});
        assert!(ClientPublicKey::from_param(&ok).is_ok());
        for missing in ["y", "p", "q", "g"] {
            let mut k = ok.clone();
            k.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                ClientPublicKey::from_param(&k),
                Err(PublicKeyError::Shape(format!(
                    "missing {missing} parameter"
                )))
            );
        }
        let not_hex = json!({"algorithm": "DS", "y": "zz", "p": "cd", "q": "ef", "g": "01"});
        assert!(ClientPublicKey::from_param(&not_hex).is_err());
    }

    #[test]
    fn ec_points_must_be_on_the_curve() {
        let g = json!({"kty": "EC", "crv": "P-256", "x": GX, "y": GY});
        assert!(ClientPublicKey::from_param(&g).is_ok());
        let off = json!({"kty": "EC", "crv": "P-256", "x": GX, "y": GX});
        assert!(ClientPublicKey::from_param(&off).is_err());
        let p384 = json!({"kty": "EC", "crv": "P-384", "x": GX, "y": GY});
        assert!(ClientPublicKey::from_param(&p384).is_err());
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for v in [
            json!(null),
            json!(42),
            json!([]),
            json!({}),
            json!({"algorithm": "XX"}),
        ] {
            assert!(ClientPublicKey::from_param(&v).is_err(), "{v}");
        }
        assert_eq!(
            ClientPublicKey::from_param(&json!("{not json")),
            Err(PublicKeyError::NotJson)
        );
    }
}
