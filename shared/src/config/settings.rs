//! Settings from the `MOBILEID_*` environment (the same names in Lambda, in the local server
//! and in tests). See the README's configuration table.

use super::{ConfigError, StageTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    DynamoDb,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub stage: StageTable,
    /// Base URL clients reach the API at (discover's `url`, `GET /`'s `endpoint`).
    pub public_url: String,
    /// The certificates' `iss` and the principal's domain (configured, never the Host header).
    pub issuer: String,
    /// Port the Hawk MAC is computed with when the Host header has none (443 behind HTTPS).
    pub default_port: u16,
    pub store: StoreKind,
    pub sessions_table: String,
    pub counters_table: String,
    /// Overrides the stage's SMS providers (the local server uses `outbox`).
    pub sms_providers: Vec<String>,
    /// Secrets Manager id of the stage secret (Lambda).
    pub secret_id: Option<String>,
    /// The secret JSON inline (local runs, tests); wins over `secret_id`.
    pub secret_json: Option<String>,
    /// Nexmo REST endpoint (tests point it at a local server).
    pub nexmo_url: String,
    /// Per-attempt timeout of an SMS provider call, in milliseconds.
    pub sms_timeout_ms: u64,
    /// Total SMS attempts across providers.
    pub sms_attempts: usize,
    /// Bearer token of the fake gateway's read endpoints (`GET /receive`); required in Lambda.
    pub fake_sms_token: Option<BearerToken>,
    /// Numbers (E.164) the fake gateway takes but "fails to deliver", to show and test what
    /// an undelivered SMS looks like (`MOBILEID_FAKE_SMS_UNDELIVERABLE`, comma-separated;
    /// a fictional NANP number by default).
    pub fake_sms_undeliverable: Vec<String>,
}

/// The fake gateway's undeliverable number when none is configured (NANP keeps 555-0100…0199
/// for fiction: no phone has it).
pub const FAKE_SMS_UNDELIVERABLE: &str = "+12025550199";

/// A shared token a caller presents as `Authorization: Bearer <token>`; never printed.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        BearerToken(token.into())
    }

    /// Whether an `Authorization` header value carries this token (constant-time compare).
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        let presented = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(redacted)")
    }
}

impl Settings {
    /// Reads the settings with `var` as the environment (so tests need not touch the real one).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let stage_name = get("MOBILEID_STAGE").unwrap_or_else(|| "dev".into());
        let mut stage = StageTable::load(&stage_name)?;
        // A real stage's sender numbers come from the operator (`$NAME` in the stage file).
        stage.resolve_senders(|name| get(name))?;
        let public_url = get("MOBILEID_PUBLIC_URL")
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_owned();
        let (scheme, authority) = public_url.split_once("://").ok_or_else(|| {
            ConfigError::new(format!(
                "MOBILEID_PUBLIC_URL {public_url:?} is not an http(s) URL"
            ))
        })?;
        let default_port = match scheme {
            "https" => 443,
            "http" => 80,
            _ => {
                return Err(ConfigError::new(
                    "MOBILEID_PUBLIC_URL must start with http:// or https://",
                ));
            }
        };
        let issuer = get("MOBILEID_ISSUER").unwrap_or_else(|| authority.to_owned());
        let store = match get("MOBILEID_STORE").as_deref() {
            None | Some("memory") => StoreKind::Memory,
            Some("dynamodb") => StoreKind::DynamoDb,
            Some(other) => {
                return Err(ConfigError::new(format!(
                    "MOBILEID_STORE={other:?}: use memory or dynamodb"
                )));
            }
        };
        let sms_providers = match get("MOBILEID_SMS_PROVIDERS") {
            Some(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
            None => stage.sms_providers.clone(),
        };
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            get(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| ConfigError::new(format!("{name}={v:?} is not a number")))
            })
        };
        Ok(Settings {
            sessions_table: get("MOBILEID_SESSIONS_TABLE")
                .unwrap_or_else(|| format!("mobileid-{stage_name}-sessions")),
            counters_table: get("MOBILEID_COUNTERS_TABLE")
                .unwrap_or_else(|| format!("mobileid-{stage_name}-counters")),
            stage,
            public_url,
            issuer,
            default_port,
            store,
            sms_providers,
            secret_id: get("MOBILEID_SECRET_ID"),
            secret_json: get("MOBILEID_SECRET_JSON"),
            nexmo_url: get("MOBILEID_NEXMO_URL")
                .unwrap_or_else(|| "https://rest.nexmo.com/sms/json".into()),
            sms_timeout_ms: number("MOBILEID_SMS_TIMEOUT_MS", 3000)?,
            sms_attempts: number("MOBILEID_SMS_ATTEMPTS", 3)? as usize,
            fake_sms_token: get("MOBILEID_FAKE_SMS_TOKEN").map(|t| BearerToken::new(t.trim())),
            fake_sms_undeliverable: get("MOBILEID_FAKE_SMS_UNDELIVERABLE")
                .unwrap_or_else(|| FAKE_SMS_UNDELIVERABLE.into())
                .split(',')
                .map(|n| n.trim().trim_start_matches('+').to_owned())
                .filter(|n| !n.is_empty())
                .collect(),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_local_dev_setup() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.stage.stage, "dev");
        assert_eq!(s.issuer, "127.0.0.1:8080");
        assert_eq!(s.default_port, 80);
        assert_eq!(s.store, StoreKind::Memory);
        assert_eq!(s.sessions_table, "mobileid-dev-sessions");
    }

    #[test]
    fn https_public_url_means_port_443_and_issuer_from_its_host() {
        let s = settings(&[
            ("MOBILEID_PUBLIC_URL", "https://mobileid.example.com/"),
            ("MOBILEID_STAGE", "production"),
            ("MOBILEID_SENDER_NANP_MT", "+12025550300"),
            ("MOBILEID_SENDER_NANP_MO", "+12025550301"),
        ])
        .unwrap();
        let us = crate::domain::Mcc::parse("310").unwrap();
        assert_eq!(
            s.stage.mt_sender(&us, None),
            "+12025550300",
            "the operator's sender"
        );
        assert_eq!(s.default_port, 443);
        assert_eq!(s.issuer, "mobileid.example.com");
        assert_eq!(s.public_url, "https://mobileid.example.com");
    }

    #[test]
    fn the_fake_gateway_token_admits_only_its_bearer() {
        let s = settings(&[("MOBILEID_FAKE_SMS_TOKEN", "tok-123")]).unwrap();
        let token = s.fake_sms_token.expect("set");
        assert!(token.admits(Some("Bearer tok-123")));
        for wrong in [
            None,
            Some(""),
            Some("Bearer "),
            Some("Bearer tok-12"),
            Some("tok-123"),
            Some("Basic tok-123"),
        ] {
            assert!(!token.admits(wrong), "{wrong:?}");
        }
        assert!(!format!("{token:?}").contains("tok-123"));
        assert!(settings(&[]).unwrap().fake_sms_token.is_none());
    }

    #[test]
    fn bad_values_say_which_variable() {
        assert!(
            settings(&[("MOBILEID_STORE", "redis")])
                .unwrap_err()
                .0
                .contains("MOBILEID_STORE")
        );
        assert!(
            settings(&[("MOBILEID_STAGE", "qa")])
                .unwrap_err()
                .0
                .contains("unknown stage")
        );
        assert!(settings(&[("MOBILEID_PUBLIC_URL", "ftp://x")]).is_err());
        assert!(
            settings(&[("MOBILEID_SMS_ATTEMPTS", "many")])
                .unwrap_err()
                .0
                .contains("MOBILEID_SMS_ATTEMPTS")
        );
    }
}
