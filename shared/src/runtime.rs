//! Building the services from configuration, once per process — shared by the Lambda
//! functions (through `mobileid-aws`, which adds the AWS clients) and the local server, so that
//! none of them wires anything itself.

use std::sync::Arc;

use crate::api::{AppState, InboundVerifier, Services};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, ServiceSecrets, Settings, StoreKind};
use crate::metrics::{Discard, Metrics, MetricsSink, Stdout};
use crate::random::{OsRandomness, Randomness};
use crate::sms::build::Providers;
use crate::sms::{self, SmsSender};
use crate::store::{MemoryStore, Store};

/// Where the process runs, which decides what may be defaulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// A Lambda function: every secret and table must be configured.
    Lambda,
    /// The local server: missing secrets are generated for the run, SMS go to the outbox.
    Local,
}

/// Logs as JSON lines in Lambda (CloudWatch), as text locally; `RUST_LOG` filters.
pub fn init_tracing(host: Host) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match host {
        Host::Lambda => builder.json().without_time().with_ansi(false).try_init(),
        Host::Local => builder.try_init(),
    };
}

/// Reads the stage secret when it is inline JSON, or (locally only) makes a fresh one. A
/// Secrets Manager secret (`MOBILEID_SECRET_ID`) is read by the AWS adapters
/// (`mobileid_aws::load_secrets`), which the Lambda functions link and this crate does not.
pub fn load_secrets(settings: &Settings, host: Host) -> Result<ServiceSecrets, ConfigError> {
    if let Some(json) = &settings.secret_json {
        return ServiceSecrets::from_json(json);
    }
    if settings.secret_id.is_some() {
        return Err(ConfigError::new(
            "MOBILEID_SECRET_ID names a Secrets Manager secret, which only the Lambda functions \
             read (mobileid-aws); give the secret inline with MOBILEID_SECRET_JSON",
        ));
    }
    match host {
        Host::Local => Ok(ServiceSecrets::generate(&OsRandomness)),
        Host::Lambda => Err(ConfigError::new(
            "no secret configured: set MOBILEID_SECRET_ID (or MOBILEID_SECRET_JSON)",
        )),
    }
}

/// The parts a host may provide itself instead of building them from configuration.
pub struct Overrides {
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Randomness>,
    pub store: Option<Arc<dyn Store>>,
    pub sms: Option<Arc<dyn SmsSender>>,
    pub inbound_verifier: Option<Arc<dyn InboundVerifier>>,
    /// The SMS providers this binary links, by the names stage tables use. Functions that send
    /// no SMS link none (and get a sender that refuses).
    pub sms_providers: Providers,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRandomness),
            store: None,
            sms: None,
            inbound_verifier: None,
            sms_providers: Providers::nexmo(),
        }
    }
}

/// Builds every service from the settings and the secret.
pub async fn build_services(
    settings: Settings,
    secrets: &ServiceSecrets,
    host: Host,
    overrides: Overrides,
) -> Result<AppState, ConfigError> {
    if host == Host::Lambda && overrides.store.is_none() && settings.store == StoreKind::Memory {
        return Err(ConfigError::new(
            "a Lambda needs MOBILEID_STORE=dynamodb: the memory store lives in one instance, so \
             limits, Hawk nonces and webhook de-duplication would not hold across instances",
        ));
    }
    let store: Arc<dyn Store> = match (overrides.store, settings.store) {
        (Some(store), _) => store,
        (None, StoreKind::Memory) => Arc::new(MemoryStore::new()),
        (None, StoreKind::DynamoDb) => {
            return Err(ConfigError::new(
                "MOBILEID_STORE=dynamodb: the DynamoDB store is in the AWS adapters (mobileid-aws), \
                 which this binary does not link",
            ));
        }
    };
    // The verifier first: a Lambda without a signature secret stops here, before any client.
    let inbound_verifier = match overrides.inbound_verifier {
        Some(verifier) => verifier,
        None => sms::build::inbound_verifier(secrets, host, &settings.stage)?,
    };
    let (sms, outbox) = match overrides.sms {
        Some(sms) => (sms, None),
        None => {
            let setup = sms::build::sms_setup(
                &settings,
                secrets,
                host,
                &store,
                &overrides.clock,
                &overrides.sms_providers,
            )
            .await?;
            (setup.sender, setup.fake_gateway)
        }
    };
    let sink: Arc<dyn MetricsSink> = match host {
        Host::Lambda => Arc::new(Stdout),
        Host::Local => Arc::new(Discard),
    };
    let metrics = Metrics::new(&settings.stage.stage, sink, overrides.clock.clone());
    let signer = secrets.lazy_signing_keys();
    if host == Host::Local {
        // One process serves every route: derive the keys now, so a bad one stops it here.
        signer.get()?;
    }
    Ok(Arc::new(Services {
        metrics,
        ids: secrets.keyed_ids()?,
        sealer: secrets.sealer()?,
        signer,
        settings,
        store,
        sms,
        clock: overrides.clock,
        rng: overrides.rng,
        outbox,
        inbound_verifier,
    }))
}
