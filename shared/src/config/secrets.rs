//! The stage's secret (one Secrets Manager secret per stage, read once per cold start): the
//! certificate-signing key and the HMAC secrets, plus the Nexmo credentials.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::crypto::{CertificateSigner, HmacSecret, KeyedIds};
use crate::random::{Randomness, random_array};

/// The secret document, as stored in Secrets Manager (JSON).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSecrets {
    /// The ES256 private scalar, base64url (32 bytes).
    pub signing_key: String,
    pub hawk_id_secret: String,
    pub msisdn_secret: String,
    pub code_secret: String,
    pub principal_secret: String,
    #[serde(default)]
    pub nexmo: NexmoSecrets,
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

impl ServiceSecrets {
    /// A fresh secret: new signing key and HMAC secrets, Nexmo values left for the operator.
    pub fn generate(rng: &dyn Randomness) -> Self {
        let hex32 = || hex::encode(random_array::<32>(rng));
        ServiceSecrets {
            signing_key: CertificateSigner::generate(rng).private_b64(),
            hawk_id_secret: hex32(),
            msisdn_secret: hex32(),
            code_secret: hex32(),
            principal_secret: hex32(),
            nexmo: NexmoSecrets::default(),
        }
    }

    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        serde_json::from_str(text).map_err(|e| ConfigError::new(format!("secret JSON: {e}")))
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("secrets serialise")
    }

    pub fn signer(&self) -> Result<CertificateSigner, ConfigError> {
        CertificateSigner::from_private_b64(&self.signing_key)
            .map_err(|e| ConfigError::new(format!("secret signingKey: {e}")))
    }

    pub fn keyed_ids(&self) -> Result<KeyedIds, ConfigError> {
        let secret = |name: &str, value: &str| {
            HmacSecret::from_hex(value).map_err(|e| ConfigError::new(format!("secret {name}: {e}")))
        };
        Ok(KeyedIds {
            hawk_id_secret: secret("hawkIdSecret", &self.hawk_id_secret)?,
            msisdn_secret: secret("msisdnSecret", &self.msisdn_secret)?,
            code_secret: secret("codeSecret", &self.code_secret)?,
            principal_secret: secret("principalSecret", &self.principal_secret)?,
        })
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
        assert!(!format!("{s:?}").contains(&s.code_secret));
    }

    #[test]
    fn bad_secrets_name_the_field() {
        let mut s = ServiceSecrets::generate(&OsRandomness);
        s.msisdn_secret = "short".into();
        assert!(s.keyed_ids().unwrap_err().0.contains("msisdnSecret"));
        assert!(ServiceSecrets::from_json("{}").is_err());
    }
}
