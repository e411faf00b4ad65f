//! Building the services from configuration, once per process, and running a router — shared
//! by the four Lambda mains and the local server so that none of them wires anything itself.

use std::sync::Arc;

use crate::api::{AppState, InboundVerifier, Services};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, ServiceSecrets, Settings, StoreKind};
use crate::random::{OsRandomness, Randomness};
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

/// Reads the stage secret: inline JSON, then Secrets Manager, then (locally only) a fresh one.
pub async fn load_secrets(settings: &Settings, host: Host) -> Result<ServiceSecrets, ConfigError> {
    if let Some(json) = &settings.secret_json {
        return ServiceSecrets::from_json(json);
    }
    if let Some(id) = &settings.secret_id {
        let config = aws_config().await;
        let client = aws_sdk_secretsmanager::Client::new(&config);
        let value = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                ConfigError::new(format!(
                    "reading secret {id}: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                ))
            })?;
        let text = value
            .secret_string()
            .ok_or_else(|| ConfigError::new(format!("secret {id} has no string value")))?;
        return ServiceSecrets::from_json(text);
    }
    match host {
        Host::Local => Ok(ServiceSecrets::generate(&OsRandomness)),
        Host::Lambda => Err(ConfigError::new(
            "no secret configured: set MOBILEID_SECRET_ID (or MOBILEID_SECRET_JSON)",
        )),
    }
}

/// The AWS SDK configuration, with the ring-only rustls HTTP client (no aws-lc build).
/// Endpoints, region and credentials come from the standard `AWS_*` environment.
pub async fn aws_config() -> aws_config::SdkConfig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// The parts a host may provide itself instead of building them from configuration.
pub struct Overrides {
    pub clock: Arc<dyn Clock>,
    pub rng: Arc<dyn Randomness>,
    pub store: Option<Arc<dyn Store>>,
    pub sms: Option<Arc<dyn SmsSender>>,
    pub inbound_verifier: Option<Arc<dyn InboundVerifier>>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            clock: Arc::new(SystemClock),
            rng: Arc::new(OsRandomness),
            store: None,
            sms: None,
            inbound_verifier: None,
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
    let store: Arc<dyn Store> = match (overrides.store, settings.store) {
        (Some(store), _) => store,
        (None, StoreKind::Memory) => Arc::new(MemoryStore::new()),
        // The tables are the stack's (SAM template); a missing one makes the heartbeat fail.
        (None, StoreKind::DynamoDb) => {
            Arc::new(crate::store::DynamoStore::from_settings(&settings).await)
        }
    };
    // The verifier first: a Lambda without a signature secret stops here, before any client.
    let inbound_verifier = match overrides.inbound_verifier {
        Some(verifier) => verifier,
        None => sms::build::inbound_verifier(
            secrets,
            host,
            settings.stage.limits.inbound_timestamp_window_secs,
        )?,
    };
    let (sms, outbox) = match overrides.sms {
        Some(sms) => (sms, None),
        None => {
            let setup =
                sms::build::sms_setup(&settings, secrets, host, &store, &overrides.clock).await?;
            (setup.sender, setup.fake_gateway)
        }
    };
    Ok(Arc::new(Services {
        ids: secrets.keyed_ids()?,
        sealer: secrets.sealer()?,
        signer: secrets.signing_keys()?,
        settings,
        store,
        sms,
        clock: overrides.clock,
        rng: overrides.rng,
        outbox,
        inbound_verifier,
    }))
}

/// A Lambda function's whole life: configuration and clients once (cold start), then every
/// event through the function's router.
pub async fn run_lambda(
    make_router: fn(AppState) -> axum::Router,
) -> Result<(), lambda_http::Error> {
    init_tracing(Host::Lambda);
    let settings = Settings::from_env()?;
    let secrets = load_secrets(&settings, Host::Lambda).await?;
    let state = build_services(settings, &secrets, Host::Lambda, Overrides::default()).await?;
    tracing::info!(stage = %state.settings.stage.stage, "cold start complete");
    lambda_http::run(make_router(state)).await
}
