//! The stage's secret (one Secrets Manager secret per stage, read once per cold start): the
//! certificate-signing keys, the HMAC secrets and the seal secret, each with its versions, plus
//! the Nexmo credentials.
//!
//! Every key and secret is a list of versions in one of three states: `next` (honoured for
//! reading and published, not yet used for new records), `current` (exactly one: signs, keys
//! and seals new records) and `previous` (still honoured until everything made with it has
//! expired; `demotedAt` says since when). `rotation.rs` moves versions between the states.

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize};

use super::ConfigError;
use crate::crypto::{
    CertificateSigner, HmacSecret, KeyedIds, SealSecret, Sealer, SigningKeys, Versions,
};
use crate::random::{Randomness, random_array};

/// Where a key or secret version is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Current,
    Previous,
}

/// One certificate-signing key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningKeyEntry {
    /// The RFC 7638 thumbprint of its public key (checked at load).
    pub kid: String,
    /// The ES256 private scalar, base64url (32 bytes).
    pub private_key: String,
    pub state: KeyState,
    /// Epoch seconds when it stopped being current (`previous` keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demoted_at: Option<i64>,
}

/// One version of an HMAC or seal secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretEntry {
    pub version: u32,
    /// Hex.
    pub secret: String,
    pub state: KeyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demoted_at: Option<i64>,
}

/// The secret document, as stored in Secrets Manager (JSON).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSecrets {
    #[serde(default)]
    pub signing_keys: Vec<SigningKeyEntry>,
    /// A secret made before keys had versions: one key, read as the current one.
    #[serde(default, skip_serializing)]
    signing_key: Option<String>,
    #[serde(deserialize_with = "versions")]
    pub hawk_id_secret: Vec<SecretEntry>,
    #[serde(deserialize_with = "versions")]
    pub msisdn_secret: Vec<SecretEntry>,
    #[serde(deserialize_with = "versions")]
    pub code_secret: Vec<SecretEntry>,
    #[serde(deserialize_with = "versions")]
    pub principal_secret: Vec<SecretEntry>,
    /// Bound into the key that seals each session's number and auth key (with the Hawk id).
    #[serde(default, deserialize_with = "versions")]
    pub seal_secret: Vec<SecretEntry>,
    #[serde(default)]
    pub nexmo: NexmoSecrets,
}

/// A secret is a list of versions, or (made before versions existed) a bare hex string: its
/// version 1, current.
fn versions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretEntry>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Bare(String),
        Versions(Vec<SecretEntry>),
    }
    Ok(match Form::deserialize(d)? {
        Form::Bare(secret) => vec![SecretEntry {
            version: 1,
            secret,
            state: KeyState::Current,
            demoted_at: None,
        }],
        Form::Versions(v) => v,
    })
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NexmoSecrets {
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub api_secret: String,
    /// The signature secret of inbound webhooks (Nexmo dashboard → settings).
    #[serde(default)]
    pub signature_secret: String,
    /// `md5hash` (Nexmo's default), `md5`, `sha1`, `sha256` or `sha512` (HMAC).
    #[serde(default)]
    pub signature_method: String,
}

impl fmt::Debug for ServiceSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceSecrets(redacted)")
    }
}

/// The secrets that carry versions, by their name in the JSON.
pub const SECRET_NAMES: [&str; 5] = [
    "hawkIdSecret",
    "msisdnSecret",
    "codeSecret",
    "principalSecret",
    "sealSecret",
];

impl ServiceSecrets {
    /// A fresh secret: new signing key and HMAC and seal secrets (each its version 1, current),
    /// Nexmo values left for the operator.
    pub fn generate(rng: &dyn Randomness) -> Self {
        let one = || {
            vec![SecretEntry {
                version: 1,
                secret: fresh_secret(rng),
                state: KeyState::Current,
                demoted_at: None,
            }]
        };
        ServiceSecrets {
            signing_keys: vec![SigningKeyEntry::fresh(rng, KeyState::Current)],
            signing_key: None,
            hawk_id_secret: one(),
            msisdn_secret: one(),
            code_secret: one(),
            principal_secret: one(),
            seal_secret: one(),
            nexmo: NexmoSecrets::default(),
        }
    }

    /// Reads and checks the document: every key and secret loads, and each has one current
    /// version.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let mut secrets: ServiceSecrets = serde_json::from_str(text)
            .map_err(|e| ConfigError::new(format!("secret JSON: {e}")))?;
        match (secrets.signing_key.take(), secrets.signing_keys.is_empty()) {
            (Some(d), true) => {
                let signer = CertificateSigner::from_private_b64(&d)
                    .map_err(|e| ConfigError::new(format!("secret signingKey: {e}")))?;
                secrets.signing_keys.push(SigningKeyEntry {
                    kid: signer.kid().to_owned(),
                    private_key: d,
                    state: KeyState::Current,
                    demoted_at: None,
                });
            }
            (Some(_), false) => {
                return Err(ConfigError::new(
                    "secret: signingKey and signingKeys both given (keep signingKeys)",
                ));
            }
            (None, _) => {}
        }
        secrets.check_signing_keys()?;
        secrets.keyed_ids()?;
        secrets.sealer()?;
        Ok(secrets)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("secrets serialise")
    }

    /// What can be checked of the signing keys without deriving them: each is a P-256 scalar,
    /// kids are unique and exactly one key is current. That each kid is its key's thumbprint is
    /// checked when the keys are derived ([`Self::signing_keys`]).
    fn check_signing_keys(&self) -> Result<(), ConfigError> {
        let err = |msg: String| ConfigError::new(format!("secret signingKeys: {msg}"));
        for (i, entry) in self.signing_keys.iter().enumerate() {
            CertificateSigner::check_private_b64(&entry.private_key)
                .map_err(|e| err(format!("{}: {e}", entry.kid)))?;
            if self.signing_keys[..i].iter().any(|e| e.kid == entry.kid) {
                return Err(err(format!("kid {} is listed twice", entry.kid)));
            }
        }
        match self
            .signing_keys
            .iter()
            .filter(|e| e.state == KeyState::Current)
            .count()
        {
            0 => Err(err("no current key".into())),
            1 => Ok(()),
            _ => Err(err("more than one current key".into())),
        }
    }

    /// The signing keys, derived when first used ([`LazySigningKeys`]).
    pub fn lazy_signing_keys(&self) -> LazySigningKeys {
        LazySigningKeys {
            entries: self.signing_keys.clone(),
            keys: OnceLock::new(),
        }
    }

    /// The signing keys: the current one signs, all of them are published.
    pub fn signing_keys(&self) -> Result<SigningKeys, ConfigError> {
        derive_signing_keys(&self.signing_keys)
    }

    /// The current signing key (what `secret generate` reports, what certificates carry).
    pub fn signer(&self) -> Result<CertificateSigner, ConfigError> {
        Ok(self.signing_keys()?.current().clone())
    }

    pub fn keyed_ids(&self) -> Result<KeyedIds, ConfigError> {
        let hmac =
            |name: &str, entries: &[SecretEntry]| versions_of(name, entries, HmacSecret::from_hex);
        let principal = hmac("principalSecret", &self.principal_secret)?;
        Ok(KeyedIds::new(
            hmac("hawkIdSecret", &self.hawk_id_secret)?,
            hmac("msisdnSecret", &self.msisdn_secret)?,
            hmac("codeSecret", &self.code_secret)?,
            principal.current().clone(),
        ))
    }

    pub fn sealer(&self) -> Result<Sealer, ConfigError> {
        if self.seal_secret.is_empty() {
            return Err(ConfigError::new(
                "secret sealSecret: missing (a secret made before it existed: add one with \
                 `mobileid secret add FILE sealSecret`, see docs/deployment.md)",
            ));
        }
        let versions = versions_of("sealSecret", &self.seal_secret, SealSecret::from_hex)?;
        Sealer::new(versions).map_err(|e| ConfigError::new(format!("secret sealSecret: {e}")))
    }

    /// The versions of the secret called `name` (one of [`SECRET_NAMES`]).
    pub fn entries_mut(&mut self, name: &str) -> Option<&mut Vec<SecretEntry>> {
        Some(match name {
            "hawkIdSecret" => &mut self.hawk_id_secret,
            "msisdnSecret" => &mut self.msisdn_secret,
            "codeSecret" => &mut self.code_secret,
            "principalSecret" => &mut self.principal_secret,
            "sealSecret" => &mut self.seal_secret,
            _ => return None,
        })
    }
}

impl SigningKeyEntry {
    pub fn fresh(rng: &dyn Randomness, state: KeyState) -> Self {
        let signer = CertificateSigner::generate(rng);
        SigningKeyEntry {
            kid: signer.kid().to_owned(),
            private_key: signer.private_b64(),
            state,
            demoted_at: None,
        }
    }
}

/// 32 random bytes, hex: a new HMAC or seal secret.
pub fn fresh_secret(rng: &dyn Randomness) -> String {
    hex::encode(random_array::<32>(rng))
}

/// Loads every version of one secret; exactly one is current, versions are unique.
fn versions_of<T>(
    name: &str,
    entries: &[SecretEntry],
    load: impl Fn(&str) -> Result<T, &'static str>,
) -> Result<Versions<T>, ConfigError> {
    let err = |msg: String| ConfigError::new(format!("secret {name}: {msg}"));
    let mut current = None;
    let mut others = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entries[..i].iter().any(|e| e.version == entry.version) {
            return Err(err(format!("version {} is listed twice", entry.version)));
        }
        let secret =
            load(&entry.secret).map_err(|e| err(format!("version {}: {e}", entry.version)))?;
        match (entry.state, &current) {
            (KeyState::Current, None) => current = Some((entry.version, secret)),
            (KeyState::Current, Some(_)) => {
                return Err(err("more than one current version".into()));
            }
            _ => others.push((entry.version, secret)),
        }
    }
    let current = current.ok_or_else(|| err("no current version".into()))?;
    Ok(Versions::new(current, others))
}

/// Each key's public half and kid (checked against the kid the secret gives), in a set.
fn derive_signing_keys(entries: &[SigningKeyEntry]) -> Result<SigningKeys, ConfigError> {
    let err = |msg: String| ConfigError::new(format!("secret signingKeys: {msg}"));
    let mut current = None;
    let mut others = Vec::new();
    for entry in entries {
        let signer = CertificateSigner::from_private_b64(&entry.private_key)
            .map_err(|e| err(format!("{}: {e}", entry.kid)))?;
        if signer.kid() != entry.kid {
            return Err(err(format!(
                "kid {} does not match its key (thumbprint {})",
                entry.kid,
                signer.kid()
            )));
        }
        if others
            .iter()
            .chain(current.iter())
            .any(|s: &CertificateSigner| s.kid() == entry.kid)
        {
            return Err(err(format!("kid {} is listed twice", entry.kid)));
        }
        match (entry.state, &current) {
            (KeyState::Current, None) => current = Some(signer),
            (KeyState::Current, Some(_)) => {
                return Err(err("more than one current key".into()));
            }
            _ => others.push(signer),
        }
    }
    let current = current.ok_or_else(|| err("no current key".into()))?;
    Ok(SigningKeys::new(current, others))
}

/// A secret's signing keys, derived on first use. Deriving a key (its public key, its kid)
/// is a scalar multiplication plus, the first time, p256's base-point table: about 4 million
/// instructions, a millisecond of every cold start, which only the function that signs
/// certificates needs. That function and the local server derive them at start
/// ([`LazySigningKeys::get`] in their start-up), so a bad key still stops them there.
pub struct LazySigningKeys {
    entries: Vec<SigningKeyEntry>,
    keys: OnceLock<Result<SigningKeys, String>>,
}

impl LazySigningKeys {
    /// The derived keys, or why they do not derive (a kid that is not its key's thumbprint:
    /// everything else was checked when the secret loaded).
    pub fn get(&self) -> Result<&SigningKeys, ConfigError> {
        self.keys
            .get_or_init(|| derive_signing_keys(&self.entries).map_err(|e| e.0))
            .as_ref()
            .map_err(|e| ConfigError::new(e.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandomness;

    #[test]
    fn generated_secrets_round_trip_and_load() {
        let s = ServiceSecrets::generate(&OsRandomness);
        let again = ServiceSecrets::from_json(&s.to_json_pretty()).unwrap();
        assert_eq!(again.signer().unwrap().kid(), s.signer().unwrap().kid());
        assert!(again.keyed_ids().is_ok());
        assert!(!format!("{s:?}").contains(&s.code_secret[0].secret));
    }

    #[test]
    fn signing_keys_are_checked_cheaply_at_load_and_fully_when_derived() {
        let s = ServiceSecrets::generate(&OsRandomness);
        let mut doc: serde_json::Value = serde_json::from_str(&s.to_json_pretty()).unwrap();
        // Not a scalar of P-256 (zero): refused at load.
        let mut zero = doc.clone();
        zero["signingKeys"][0]["privateKey"] = URL_SAFE_NO_PAD_ZERO.into();
        let e = ServiceSecrets::from_json(&zero.to_string()).unwrap_err();
        assert!(e.0.contains("signingKeys"), "{}", e.0);
        // A kid that is not the key's thumbprint: loads, then fails where the keys are derived.
        doc["signingKeys"][0]["kid"] = "not-its-thumbprint".into();
        let loaded = ServiceSecrets::from_json(&doc.to_string()).unwrap();
        let lazy = loaded.lazy_signing_keys();
        let e = lazy.get().expect_err("the kid does not match");
        assert!(e.0.contains("does not match its key"), "{}", e.0);
        // The good secret derives, once.
        let lazy = s.lazy_signing_keys();
        let first = lazy.get().unwrap() as *const SigningKeys;
        assert_eq!(first, lazy.get().unwrap() as *const SigningKeys);
        assert_eq!(lazy.get().unwrap().kid(), s.signer().unwrap().kid());
    }

    /// 32 zero bytes, base64url: the one 32-byte string that is no P-256 private key.
    const URL_SAFE_NO_PAD_ZERO: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn secrets_made_before_versions_still_load() {
        let signer = CertificateSigner::generate(&OsRandomness);
        let hex = || fresh_secret(&OsRandomness);
        let legacy = serde_json::json!({
            "signingKey": signer.private_b64(),
            "hawkIdSecret": hex(), "msisdnSecret": hex(), "codeSecret": hex(),
            "principalSecret": hex(), "sealSecret": hex(),
        });
        let s = ServiceSecrets::from_json(&legacy.to_string()).unwrap();
        assert_eq!(s.signer().unwrap().kid(), signer.kid());
        assert_eq!(s.msisdn_secret[0].version, 1);
        // Written back in the versioned form.
        let written: serde_json::Value = serde_json::from_str(&s.to_json_pretty()).unwrap();
        assert_eq!(written["signingKeys"][0]["kid"], signer.kid());
        assert!(written.get("signingKey").is_none());
        assert_eq!(written["codeSecret"][0]["state"], "current");
        // Without a seal secret the service refuses to start, and says what to do.
        let mut no_seal = legacy.clone();
        no_seal.as_object_mut().unwrap().remove("sealSecret");
        let e = ServiceSecrets::from_json(&no_seal.to_string()).unwrap_err();
        assert!(
            e.0.contains("sealSecret") && e.0.contains("secret add"),
            "{e}"
        );
    }

    #[test]
    fn bad_secrets_name_the_field() {
        let mut s = ServiceSecrets::generate(&OsRandomness);
        s.msisdn_secret[0].secret = "short".into();
        assert!(s.keyed_ids().unwrap_err().0.contains("msisdnSecret"));
        assert!(ServiceSecrets::from_json("{}").is_err());

        let mut two_current = ServiceSecrets::generate(&OsRandomness);
        two_current
            .signing_keys
            .push(SigningKeyEntry::fresh(&OsRandomness, KeyState::Current));
        assert!(
            two_current
                .signing_keys()
                .unwrap_err()
                .0
                .contains("more than one current")
        );
        let mut wrong_kid = ServiceSecrets::generate(&OsRandomness);
        wrong_kid.signing_keys[0].kid = "not-its-kid".into();
        assert!(
            wrong_kid
                .signing_keys()
                .unwrap_err()
                .0
                .contains("does not match")
        );
        let mut no_current = ServiceSecrets::generate(&OsRandomness);
        no_current.code_secret[0].state = KeyState::Previous;
        assert!(
            no_current
                .keyed_ids()
                .unwrap_err()
                .0
                .contains("codeSecret: no current")
        );
    }
}
