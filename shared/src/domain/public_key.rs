//! The client's public key, as it goes into the certificate's `public-key` claim.
//!
//! Old clients send BrowserID keys (`{"algorithm":"RS","n","e"}` with decimal strings, or
//! `{"algorithm":"DS","y","p","q","g"}` with hex strings), as an object or as a JSON string;
//! new clients send an EC P-256 JWK. Each is checked for its shape, then for being a key worth
//! certifying (a relying party believes whatever signs with it): an EC point must lie on the
//! curve; an RSA modulus must be odd and of at least 2048 bits with an odd exponent of at least
//! 3 below it; DSA domain parameters must have FIPS 186-4 sizes (p of 2048 or 3072 bits), q
//! must be prime and divide p−1, and g and y must lie in the subgroup of order q (1 < v < p,
//! v^q = 1 mod p). The error names the rule a key broke.
//!
//! Not checked: whether p itself is prime (a composite p weakens only the submitter's own key,
//! and a primality test of a 2048-bit p would cost more than the signature), or an RSA
//! modulus's factors.

use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use crypto_bigint::{Integer, NonZero, U256, U2048, U3072, Uint};
use sha2::{Digest, Sha256};

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
            Some("RS") => {
                let n = field(obj, "n", is_decimal)?;
                let e = field(obj, "e", is_decimal)?;
                check_rsa(&decimal_bytes(&n), &decimal_bytes(&e)).map_err(shape_owned)?;
                Ok(ClientPublicKey::Rsa { n, e })
            }
            Some("DS") => {
                let y = field(obj, "y", is_hex)?;
                let p = field(obj, "p", is_hex)?;
                let q = field(obj, "q", is_hex)?;
                let g = field(obj, "g", is_hex)?;
                check_dsa(
                    &hex_bytes(&p),
                    &hex_bytes(&q),
                    &hex_bytes(&g),
                    &hex_bytes(&y),
                )
                .map_err(shape_owned)?;
                Ok(ClientPublicKey::Dsa { y, p, q, g })
            }
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
        // SEC1 uncompressed: 0x04 ‖ x ‖ y; decoding it checks that the point is on the curve.
        let point = [&[0x04][..], &coord(&x)?, &coord(&y)?].concat();
        p256::PublicKey::from_sec1_bytes(&point)
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

    /// The key as a JWK, for the certificate's `cnf` claim (RFC 7800); BrowserID RS and DS
    /// keys have no JWK form.
    pub fn to_jwk(&self) -> Option<Value> {
        match self {
            ClientPublicKey::EcP256 { .. } => Some(self.to_claim()),
            _ => None,
        }
    }
}

fn shape(msg: &str) -> PublicKeyError {
    PublicKeyError::Shape(msg.to_owned())
}

fn shape_owned(msg: String) -> PublicKeyError {
    PublicKeyError::Shape(msg)
}

/// A non-negative integer as big-endian bytes without leading zeros.
type Magnitude = Vec<u8>;

fn decimal_bytes(digits: &str) -> Magnitude {
    let mut out: Vec<u8> = Vec::new();
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if carry > 0 {
            out.insert(0, carry as u8);
        }
    }
    trim(out)
}

fn hex_bytes(digits: &str) -> Magnitude {
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_owned()
    };
    trim(hex::decode(padded).expect("checked as hex"))
}

fn trim(mut bytes: Vec<u8>) -> Magnitude {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn bits(m: &[u8]) -> usize {
    m.first().map_or(0, |top| {
        (m.len() - 1) * 8 + (8 - top.leading_zeros() as usize)
    })
}

fn is_odd(m: &[u8]) -> bool {
    m.last().is_some_and(|b| b & 1 == 1)
}

/// `a < b` for magnitudes.
fn less(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) < (b.len(), b)
}

const RSA_MIN_BITS: usize = 2048;

fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), String> {
    if bits(n) < RSA_MIN_BITS {
        return Err(format!(
            "RS: n must have at least {RSA_MIN_BITS} bits (it has {})",
            bits(n)
        ));
    }
    if !is_odd(n) {
        return Err("RS: n must be odd".into());
    }
    if !is_odd(e) || bits(e) < 2 {
        return Err("RS: e must be odd and at least 3".into());
    }
    if !less(e, n) {
        return Err("RS: e must be smaller than n".into());
    }
    Ok(())
}

/// (bits of p, bits of q) as FIPS 186-4 §4.2 allows them, less its 1024-bit size.
const DSA_SIZES: [(usize, usize); 3] = [(2048, 224), (2048, 256), (3072, 256)];

fn check_dsa(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<(), String> {
    let (l, n) = (bits(p), bits(q));
    if !DSA_SIZES.iter().any(|(sl, _)| *sl == l) {
        return Err(format!("DS: p must have 2048 or 3072 bits (it has {l})"));
    }
    if !DSA_SIZES.contains(&(l, n)) {
        return Err(format!(
            "DS: q must have 224 or 256 bits with a 2048-bit p, 256 with a 3072-bit p (it has {n})"
        ));
    }
    if !is_odd(p) {
        return Err("DS: p must be odd".into());
    }
    if !probably_prime(&to_uint::<{ U256::LIMBS }>(q).expect("at most 256 bits"), q) {
        return Err("DS: q must be prime".into());
    }
    match l {
        2048 => check_dsa_group::<{ U2048::LIMBS }>(p, q, g, y),
        _ => check_dsa_group::<{ U3072::LIMBS }>(p, q, g, y),
    }
}

/// `q | p−1`, and g and y of order q in (Z/p)*: 1 < v < p and v^q = 1 (q being prime).
fn check_dsa_group<const L: usize>(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Result<(), String> {
    let p_uint = to_uint::<L>(p).expect("p's size is checked");
    let q_uint = to_uint::<L>(q).expect("q is smaller than p");
    let p_minus_1 = p_uint.wrapping_sub(&Uint::ONE);
    let q_nonzero = Option::<NonZero<Uint<L>>>::from(NonZero::new(q_uint)).expect("q is prime");
    if p_minus_1.rem(&q_nonzero) != Uint::ZERO {
        return Err("DS: q must divide p-1".into());
    }
    let params = DynResidueParams::new(&p_uint);
    for (name, value, what) in [
        ("g", g, "generate the subgroup of order q"),
        ("y", y, "be in the subgroup of order q"),
    ] {
        let in_group = to_uint::<L>(value)
            .filter(|v| *v > Uint::ONE && *v < p_uint)
            .is_some_and(|v| {
                DynResidue::new(&v, params)
                    .pow_bounded_exp(&q_uint, bits(q))
                    .retrieve()
                    == Uint::ONE
            });
        if !in_group {
            return Err(format!(
                "DS: {name} must {what} (1 < {name} < p, {name}^q = 1 mod p)"
            ));
        }
    }
    Ok(())
}

fn to_uint<const L: usize>(m: &[u8]) -> Option<Uint<L>> {
    let width = Uint::<L>::BYTES;
    if m.len() > width {
        return None;
    }
    let mut buf = vec![0u8; width];
    buf[width - m.len()..].copy_from_slice(m);
    Some(Uint::from_be_slice(&buf))
}

/// Miller–Rabin with 32 bases drawn from SHA-256 of the candidate: deterministic, yet not a
/// fixed set of bases that a composite could be built to pass (a chosen composite passes a
/// round with probability at most 1/4, so grinding the bases costs about 2^64 tries).
fn probably_prime<const L: usize>(n: &Uint<L>, seed: &[u8]) -> bool {
    const ROUNDS: u32 = 32;
    let three = Uint::<L>::from_u8(3);
    if *n <= three {
        return *n > Uint::ONE;
    }
    if !bool::from(n.is_odd()) {
        return false;
    }
    let n_minus_1 = n.wrapping_sub(&Uint::ONE);
    let s = n_minus_1.trailing_zeros();
    let d = n_minus_1.shr_vartime(s);
    let span =
        Option::<NonZero<Uint<L>>>::from(NonZero::new(n.wrapping_sub(&three))).expect("n > 3");
    let params = DynResidueParams::new(n);
    'rounds: for round in 0..ROUNDS {
        let digest = Sha256::new()
            .chain_update(seed)
            .chain_update(round.to_be_bytes())
            .finalize();
        let bytes = &digest[..digest.len().min(Uint::<L>::BYTES)];
        let base = to_uint::<L>(bytes)
            .expect("fits")
            .rem(&span)
            .wrapping_add(&Uint::from_u8(2));
        let mut x = DynResidue::new(&base, params)
            .pow_bounded_exp(&d, d.bits())
            .retrieve();
        if x == Uint::ONE || x == n_minus_1 {
            continue;
        }
        for _ in 1..s {
            x = DynResidue::new(&x, params).square().retrieve();
            if x == n_minus_1 {
                continue 'rounds;
            }
        }
        return false;
    }
    true
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

    /// 10^617 + 1: 2050 bits, odd (only its size and parity matter here).
    fn big_odd() -> String {
        format!("1{}1", "0".repeat(616))
    }

    #[test]
    fn accepts_objects_and_json_strings() {
        let rs = json!({"algorithm": "RS", "n": big_odd(), "e": "65537"});
        let from_obj = ClientPublicKey::from_param(&rs).unwrap();
        let from_str = ClientPublicKey::from_param(&Value::String(rs.to_string())).unwrap();
        assert_eq!(from_obj, from_str);
        assert_eq!(from_obj.to_claim(), rs);
    }

    #[test]
    fn dsa_needs_all_four_hex_fields() {
        let ok = json!({"algorithm": "DS", "y": "ab", "p": "cd", "q": "ef", "g": "01"});
        assert_eq!(
            ClientPublicKey::from_param(&ok),
            Err(PublicKeyError::Shape(
                "DS: p must have 2048 or 3072 bits (it has 8)".into()
            )),
            "well-formed, but the sizes are checked next"
        );
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
    fn rsa_sizes_parity_and_exponent() {
        let rs = |n: &str, e: &str| {
            ClientPublicKey::from_param(&json!({"algorithm": "RS", "n": n, "e": e}))
        };
        assert!(rs(&big_odd(), "3").is_ok());
        let rule = |r: Result<ClientPublicKey, PublicKeyError>| match r {
            Err(PublicKeyError::Shape(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(rule(rs("1", "65537")).contains("at least 2048 bits"));
        assert!(rule(rs(&format!("1{}", "0".repeat(617)), "65537")).contains("n must be odd"));
        for e in ["1", "0", "4", "65536"] {
            assert!(rule(rs(&big_odd(), e)).contains("e must be odd"), "{e}");
        }
        assert!(rule(rs(&big_odd(), &format!("3{}", "0".repeat(616)))).contains("e must be odd"));
        assert!(rule(rs(&big_odd(), &format!("1{}3", "0".repeat(616)))).contains("smaller than n"));
        assert_eq!(decimal_bytes("65537"), vec![1, 0, 1]);
        assert_eq!(bits(&decimal_bytes("65537")), 17);
        assert_eq!(hex_bytes("00abc"), vec![0x0a, 0xbc]);
    }

    #[test]
    fn miller_rabin_tells_primes_from_composites() {
        let u = |n: u64| U256::from_u64(n);
        for prime in [2, 3, 5, 7, 13, 65537, 2_147_483_647, 1_000_000_007] {
            assert!(probably_prime(&u(prime), b"t"), "{prime}");
        }
        // Carmichael numbers and strong pseudoprimes to small bases are composites.
        for composite in [
            1,
            0,
            4,
            9,
            561,
            1105,
            2047,
            3_215_031_751,
            1_000_000_007 * 3,
        ] {
            assert!(!probably_prime(&u(composite), b"t"), "{composite}");
        }
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
