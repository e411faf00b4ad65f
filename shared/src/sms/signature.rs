//! Authenticating the provider's inbound-SMS callbacks: Nexmo's (Vonage SMS API) `sig`
//! parameter, in the five methods its dashboard offers (peers-and-security.md §3.5).
//!
//! The signed string is every parameter except `sig`, sorted by name, each appended as
//! `&name=value` with `&` and `=` in the value replaced by `_`. `md5hash` (Nexmo's default)
//! is MD5(string ‖ secret); the other methods are HMACs keyed with the secret. SDKs print
//! HMACs in upper case and md5hash in lower case, so the comparison ignores case.

use std::collections::BTreeMap;
use std::fmt;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Decides whether a callback really comes from the SMS provider.
pub trait InboundVerifier: Send + Sync {
    /// `Err(reason)` refuses the callback (nothing is sent; the reason is logged).
    fn verify(&self, params: &BTreeMap<String, String>, now: i64) -> Result<(), String>;

    /// Whether callbacks are signed (then each must name its `messageId`).
    fn signs(&self) -> bool {
        true
    }
}

/// Accepts every callback: only for the local server without a configured signature secret
/// (a Lambda refuses to start with it).
pub struct AcceptUnsigned;

impl InboundVerifier for AcceptUnsigned {
    fn verify(&self, _: &BTreeMap<String, String>, _: i64) -> Result<(), String> {
        Ok(())
    }

    fn signs(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// MD5 over the string followed by the secret (Nexmo's default).
    Md5Hash,
    HmacMd5,
    HmacSha1,
    HmacSha256,
    HmacSha512,
}

impl SignatureMethod {
    /// The dashboard's names: `md5hash` (also the default when empty), `md5`, `sha1`,
    /// `sha256`, `sha512`.
    /// HMAC-SHA256 or HMAC-SHA512: the only methods real stages accept (MD5 and SHA-1 are not
    /// collision-resistant, and `md5hash` is a bare hash of the string and the secret).
    pub fn is_strong(self) -> bool {
        matches!(self, Self::HmacSha256 | Self::HmacSha512)
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "md5hash" => Ok(Self::Md5Hash),
            "md5" => Ok(Self::HmacMd5),
            "sha1" => Ok(Self::HmacSha1),
            "sha256" => Ok(Self::HmacSha256),
            "sha512" => Ok(Self::HmacSha512),
            other => Err(format!(
                "unknown signature method {other:?}: use md5hash, md5, sha1, sha256 or sha512"
            )),
        }
    }
}

/// Computes `sig` the way the provider does (also used by the load test and the tests to
/// sign the callbacks they make).
#[derive(Clone)]
pub struct NexmoSigner {
    method: SignatureMethod,
    secret: String,
}

impl fmt::Debug for NexmoSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NexmoSigner({:?}, secret redacted)", self.method)
    }
}

impl NexmoSigner {
    pub fn new(secret: &str, method: &str) -> Result<Self, String> {
        if secret.is_empty() {
            return Err("the signature secret is empty".into());
        }
        Ok(NexmoSigner {
            method: SignatureMethod::parse(method)?,
            secret: secret.to_owned(),
        })
    }

    pub fn method(&self) -> SignatureMethod {
        self.method
    }

    /// The lower-case hex `sig` of `params` (a `sig` among them is ignored; when signing a
    /// new callback, include a `timestamp`: the verifier requires one).
    pub fn sign<K: AsRef<str>, V: AsRef<str>>(&self, params: &[(K, V)]) -> String {
        self.sign_pairs(params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())))
    }

    fn sign_pairs<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
        let base = base_string(pairs);
        let key = self.secret.as_bytes();
        match self.method {
            SignatureMethod::Md5Hash => {
                let mut md5 = Md5::new();
                md5.update(base.as_bytes());
                md5.update(key);
                hex::encode(md5.finalize())
            }
            SignatureMethod::HmacMd5 => mac_hex(Hmac::<Md5>::new_from_slice(key), &base),
            SignatureMethod::HmacSha1 => mac_hex(Hmac::<Sha1>::new_from_slice(key), &base),
            SignatureMethod::HmacSha256 => mac_hex(Hmac::<Sha256>::new_from_slice(key), &base),
            SignatureMethod::HmacSha512 => mac_hex(Hmac::<Sha512>::new_from_slice(key), &base),
        }
    }
}

fn mac_hex<M: Mac>(mac: Result<M, hmac::digest::InvalidLength>, message: &str) -> String {
    let mut mac = mac.expect("HMAC accepts keys of any length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `&k1=v1&k2=v2…`, sorted by name, without `sig`, `&` and `=` in values turned into `_`.
fn base_string<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = pairs.filter(|(k, _)| *k != "sig").collect();
    let mut base = String::new();
    for (key, value) in sorted {
        base.push('&');
        base.push_str(key);
        base.push('=');
        base.extend(
            value
                .chars()
                .map(|c| if c == '&' || c == '=' { '_' } else { c }),
        );
    }
    base
}

/// The verifier of a stage whose provider signs its callbacks: a right `sig` and a fresh
/// `timestamp` (replays inside the window are stopped by the `messageId` de-duplication).
#[derive(Debug)]
pub struct NexmoSignature {
    signer: NexmoSigner,
    window_secs: i64,
}

impl NexmoSignature {
    pub fn new(signer: NexmoSigner, window_secs: i64) -> Self {
        NexmoSignature {
            signer,
            window_secs,
        }
    }
}

impl InboundVerifier for NexmoSignature {
    fn verify(&self, params: &BTreeMap<String, String>, now: i64) -> Result<(), String> {
        let sig = params.get("sig").ok_or("no sig parameter")?;
        let expected = self
            .signer
            .sign_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let given = sig.to_ascii_lowercase();
        // Only the length may leak (it is public: the method's digest size).
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err("the signature does not match".into());
        }
        let timestamp: i64 = params
            .get("timestamp")
            .ok_or("no timestamp parameter")?
            .trim()
            .parse()
            .map_err(|_| "the timestamp is not a number")?;
        // abs_diff: a timestamp near i64::MIN made `now - timestamp` overflow (found by fuzzing).
        let away = now.abs_diff(timestamp);
        if away > self.window_secs.unsigned_abs() {
            return Err(format!(
                "the timestamp is {away} s away from now (window {} s)",
                self.window_secs
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_string_sorts_skips_sig_and_escapes_values() {
        let pairs = [("b", "x&y=z"), ("sig", "ignored"), ("a", "1")];
        assert_eq!(base_string(pairs.into_iter()), "&a=1&b=x_y_z");
    }

    #[test]
    fn timestamps_at_the_ends_of_the_range_are_refused_not_a_panic() {
        let signer = NexmoSigner::new("s3cret", "sha256").unwrap();
        let verifier = NexmoSignature::new(signer.clone(), 300);
        for (ts, now) in [
            (i64::MIN.to_string(), 3_749_437),
            (i64::MAX.to_string(), -5),
        ] {
            let mut params = BTreeMap::from([
                ("msisdn".to_owned(), "1".to_owned()),
                ("timestamp".to_owned(), ts),
            ]);
            let pairs: Vec<(String, String)> = params.clone().into_iter().collect();
            params.insert("sig".into(), signer.sign(&pairs));
            assert!(
                verifier
                    .verify(&params, now)
                    .unwrap_err()
                    .contains("away from now")
            );
        }
    }

    #[test]
    fn method_names() {
        assert_eq!(SignatureMethod::parse(""), Ok(SignatureMethod::Md5Hash));
        assert_eq!(
            SignatureMethod::parse("SHA256"),
            Ok(SignatureMethod::HmacSha256)
        );
        assert!(SignatureMethod::parse("sha3").unwrap_err().contains("sha3"));
        assert!(NexmoSigner::new("", "md5hash").is_err());
        let signer = NexmoSigner::new("s3cret", "sha1").unwrap();
        assert!(!format!("{signer:?}").contains("s3cret"));
    }
}
