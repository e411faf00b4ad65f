//! `cert verify`: checks a certificate the way a relying party would — signature against the
//! stage's published keys, then expiry — and prints what it certifies.

use std::time::{SystemTime, UNIX_EPOCH};

use mobileid::crypto::verify_es256;
use serde_json::{Value, json};

use crate::input::{read_json, read_text};

pub fn verify(jwks_source: &str, cert_source: &str, ignore_expiry: bool) -> Result<(), String> {
    let keys = key_set(read_json(jwks_source, "JWKS")?)?;
    let token = certificate(&cert_text(cert_source)?)?;
    let (header, claims) =
        verify_es256(&token, &keys).map_err(|e| format!("certificate refused: {e}"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let expiry = check_times(&claims, now);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({"header": header, "claims": claims}))
            .expect("JSON values serialise")
    );
    match expiry {
        Ok(left) => {
            eprintln!(
                "certificate OK: signed with kid {}, expires in {left} s",
                header["kid"]
            );
            Ok(())
        }
        Err(e) if ignore_expiry => {
            eprintln!(
                "signature OK (kid {}), but {e} (ignored: --ignore-expiry)",
                header["kid"]
            );
            Ok(())
        }
        Err(e) => Err(format!("certificate refused: {e}")),
    }
}

/// `{"keys": [...]}` as is (a `/.well-known/browserid` document has it too); an older
/// browserid document with only `public-key` becomes a one-key set.
fn key_set(doc: Value) -> Result<Value, String> {
    if doc["keys"].is_array() {
        return Ok(doc);
    }
    if doc["public-key"].is_object() {
        return Ok(json!({"keys": [doc["public-key"]]}));
    }
    Err("the JWKS has neither \"keys\" (a JWKS) nor \"public-key\" (a browserid document)".into())
}

/// The certificate's text: standard input for `-`, a file when one has that name, else the
/// argument itself (a token or the sign answer pasted or passed as "$CERT").
fn cert_text(source: &str) -> Result<String, String> {
    if source == "-" || std::path::Path::new(source).is_file() {
        return read_text(source, "certificate");
    }
    let looks_like_one = source.trim_start().starts_with('{') || source.matches('.').count() == 2;
    if looks_like_one {
        return Ok(source.to_owned());
    }
    Err(format!(
        "the certificate {source:?} is neither a file, `-`, nor a certificate (a.b.c or {{\"cert\": …}})"
    ))
}

/// The compact JWS, from the bare token or from `/certificate/sign`'s `{"cert": ...}` answer
/// (as the README's `post` prints it, with the HTTP status after it).
fn certificate(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !text.starts_with('{') {
        return Ok(text.to_owned());
    }
    let status = text.rfind('}').map_or("", |end| &text[end + 1..]);
    let text = if status.trim().bytes().all(|b| b.is_ascii_digit()) {
        &text[..text.len() - status.len()]
    } else {
        text
    };
    let doc: Value =
        serde_json::from_str(text).map_err(|e| format!("the certificate is not JSON: {e}"))?;
    doc["cert"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "the certificate JSON has no \"cert\" string".into())
}

/// Seconds left before `exp`, after checking `nbf` (RFC 7519 NumericDates: epoch seconds).
/// No leeway: this is the issuer's own tool, run against the issuer's clock.
fn check_times(claims: &Value, now: i64) -> Result<i64, String> {
    let exp = claims["exp"]
        .as_i64()
        .ok_or("the certificate has no numeric exp claim")?;
    if let Some(nbf) = claims["nbf"].as_i64()
        && now < nbf
    {
        return Err(format!(
            "it is not valid before {nbf} ({} s from now)",
            nbf - now
        ));
    }
    if exp <= now {
        return Err(format!("it expired {} s ago", now - exp));
    }
    Ok(exp - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_browserid_document_as_keys() {
        let jwk = json!({"kty": "EC", "kid": "k"});
        assert_eq!(
            key_set(json!({"public-key": jwk})).unwrap(),
            json!({"keys": [jwk]})
        );
        assert!(key_set(json!({"nope": 1})).is_err());
    }

    #[test]
    fn reads_the_sign_answer_or_a_bare_token() {
        assert_eq!(certificate(" a.b.c\n").unwrap(), "a.b.c");
        assert_eq!(certificate(r#"{"cert": "a.b.c"}"#).unwrap(), "a.b.c");
        assert_eq!(certificate("{\"cert\":\"a.b.c\"} 200\n").unwrap(), "a.b.c");
        assert!(certificate("{\"cert\":\"a.b.c\"} x").is_err());
        assert_eq!(cert_text("a.b.c").unwrap(), "a.b.c");
        assert!(
            cert_text("cert.jwt")
                .unwrap_err()
                .contains("neither a file")
        );
        assert!(certificate(r#"{"other": 1}"#).is_err());
    }

    #[test]
    fn times_are_in_seconds() {
        assert_eq!(check_times(&json!({"exp": 1_060}), 1_000), Ok(60));
        assert!(
            check_times(&json!({"exp": 1_000}), 1_000)
                .unwrap_err()
                .contains("expired")
        );
        assert!(
            check_times(&json!({"exp": 2_000, "nbf": 1_500}), 1_000)
                .unwrap_err()
                .contains("not valid before")
        );
        assert!(check_times(&json!({}), 0).is_err());
    }
}
