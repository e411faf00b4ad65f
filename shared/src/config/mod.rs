//! Configuration: the stage table (reviewed files under `infra/stages/`), the limits, the
//! secrets, and the `MOBILEID_*` environment.

pub mod rotation;
mod secrets;
mod settings;
mod stage;

pub use secrets::{
    KeyState, NexmoSecrets, SECRET_NAMES, SecretEntry, ServiceSecrets, SigningKeyEntry,
};
pub use settings::{BearerToken, Settings, StoreKind};
pub use stage::{Country, Limits, Senders, StageTable, TestNumber};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl ConfigError {
    pub fn new(msg: impl Into<String>) -> Self {
        ConfigError(msg.into())
    }
}
