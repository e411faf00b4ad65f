//! Configuration: the stage table (reviewed files under `infra/stages/`), the limits, the
//! secrets, and the `MOBILEID_*` environment.

pub mod rotation;
mod secrets;
mod settings;
mod stage;
mod web;

pub use secrets::{
    KeyState, LazySigningKeys, NexmoSecrets, SECRET_NAMES, SecretEntry, ServiceSecrets,
    SigningKeyEntry,
};
pub use settings::{BearerToken, Settings, StoreKind};
pub use stage::{Country, Destination, Limits, Others, Senders, StageTable, TestNumber};
pub use web::{AllowedOrigin, AppHash, OTP_DOMAIN_MAX_LEN, OtpDomain};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn new(msg: impl Into<String>) -> Self {
        ConfigError(msg.into())
    }
}
