//! A Lambda function's whole life: configuration and clients once (the cold start), then every
//! event through the function's router.

use std::sync::Arc;

use aws_types::SdkConfig;
use lambda_http::request::RequestContext;
use mobileid::api::{AppState, SourceIp};
use mobileid::clock::SystemClock;
use mobileid::config::{ConfigError, Settings, StoreKind};
use mobileid::random::OsRandomness;
use mobileid::runtime::{Host, Overrides, build_services, init_tracing};
use mobileid::sms::build::Providers;
use mobileid::store::Store;
use tower::ServiceBuilder;

use crate::{DynamoStore, load_secrets, sdk_config};

/// What one function's `main` names: its router and the SMS providers it links.
pub struct Function {
    pub router: fn(AppState) -> axum::Router,
    /// The SMS providers this function can send through: [`no_sms`] for functions that send
    /// none, [`nexmo_and_sns`] (feature `sns`) for the others. A function pointer chosen in
    /// `main`, not a runtime switch, so that a function that names `no_sms` has no path to the
    /// SNS client and its binary does not carry it, even when a workspace build compiles this
    /// crate with `sns` for its neighbours.
    pub sms: fn(&SdkConfig) -> Providers,
    /// Whether it signs certificates: its signing keys are derived at the cold start (a bad
    /// key stops it there, and its first request does not pay for them); the other functions
    /// never derive them.
    pub signs_certificates: bool,
}

/// For functions that send no SMS (verify-code, sign-certificate).
pub fn no_sms(_: &SdkConfig) -> Providers {
    Providers::none()
}

/// Nexmo and SNS, in the order the stage table names them.
#[cfg(feature = "sns")]
pub fn nexmo_and_sns(sdk: &SdkConfig) -> Providers {
    Providers::nexmo().with(Arc::new(crate::sns::SnsFactory(sdk.clone())))
}

/// Runs the function: builds everything once, then serves events until the runtime stops it.
pub async fn run(function: Function) -> Result<(), lambda_http::Error> {
    init_tracing(Host::Lambda);
    let state = cold_start(&function).await?;
    tracing::info!(stage = %state.settings.stage.stage, "cold start complete");
    let router = (function.router)(state);
    let service = ServiceBuilder::new()
        .map_request(copy_source_ip)
        .service(router);
    lambda_http::run(service).await
}

/// The services of a function, from the environment. A Lambda must run on the DynamoDB store:
/// a memory store would give each instance its own nonces, limits and sessions.
pub async fn cold_start(function: &Function) -> Result<AppState, ConfigError> {
    let settings = Settings::from_env()?;
    if settings.store != StoreKind::DynamoDb {
        return Err(ConfigError::new(
            "MOBILEID_STORE is not dynamodb: a Lambda function must share its store with the \
             other instances (set MOBILEID_STORE=dynamodb and the table names)",
        ));
    }
    let sdk = sdk_config().await;
    let secrets = load_secrets(&settings, &sdk, Host::Lambda).await?;
    let store = Arc::new(DynamoStore::from_sdk(&sdk, &settings));
    // Opens the connection (TLS included) while the runtime waits for the first event, so the
    // first request does not pay for it; a failure here is the heartbeat's business, not ours.
    let warm = store.clone();
    tokio::spawn(async move {
        let _ = warm.ping().await;
    });
    // Every field named (no `..Overrides::default()`): the default links Nexmo, which a
    // function that sends no SMS must not carry.
    let overrides = Overrides {
        clock: Arc::new(SystemClock),
        rng: Arc::new(OsRandomness),
        store: Some(store),
        sms: None,
        inbound_verifier: None,
        sms_providers: (function.sms)(&sdk),
    };
    let state = build_services(settings, &secrets, Host::Lambda, overrides).await?;
    if function.signs_certificates {
        state.signer.get()?;
    }
    Ok(state)
}

/// API Gateway's `sourceIp` (HTTP API and REST API events), as the core crate reads it: the
/// address the rate limits key on.
pub fn copy_source_ip(mut request: lambda_http::Request) -> lambda_http::Request {
    let source = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(c)) => c.http.source_ip.as_deref(),
        Some(RequestContext::ApiGatewayV1(c)) => c.identity.source_ip.as_deref(),
        _ => None,
    };
    if let Some(ip) = source.and_then(|ip| ip.parse().ok()) {
        request.extensions_mut().insert(SourceIp(ip));
    }
    request
}
