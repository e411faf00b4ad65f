//! Choosing a process's SMS senders and inbound-callback verifier from its stage, settings and
//! secret, once per cold start. Every refusal here stops the process with a message that says
//! what to set: a misconfigured stage must not start and fail later, one SMS at a time.

use std::sync::Arc;
use std::time::Duration;

use super::signature::{AcceptUnsigned, InboundVerifier, NexmoSignature, NexmoSigner};
use async_trait::async_trait;

use super::{
    Failover, FakeGateway, NexmoSender, OutboundSms, Outbox, SmsError, SmsSender, StoreMailbox,
};
use crate::clock::Clock;
use crate::config::{ConfigError, ServiceSecrets, Settings, StageTable};
use crate::runtime::Host;
use crate::store::Store;

/// Longest per-attempt timeout: a send may make several attempts inside one API call.
const MAX_TIMEOUT_MS: u64 = 10_000;

/// Makes one provider's sender, once per process. Each binary passes the providers it links
/// (see [`Providers`]): the SNS one lives in the AWS adapters, and a function that sends no
/// SMS links none, so its binary carries no SMS client at all.
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// The name stage tables use (`nexmo`, `sns`).
    fn name(&self) -> &'static str;

    /// `timeout` bounds one attempt (connect, send, answer).
    async fn build(
        &self,
        settings: &Settings,
        secrets: &ServiceSecrets,
        timeout: Duration,
    ) -> Result<Arc<dyn SmsSender>, ConfigError>;
}

/// The SMS providers a binary links.
#[derive(Clone, Default)]
pub struct Providers(Vec<Arc<dyn ProviderFactory>>);

impl Providers {
    /// None: the function sends no SMS (verify-code, sign-certificate).
    pub fn none() -> Self {
        Providers(Vec::new())
    }

    /// Nexmo, which needs nothing beyond this crate's HTTP client.
    pub fn nexmo() -> Self {
        Providers::none().with(Arc::new(NexmoFactory))
    }

    pub fn with(mut self, factory: Arc<dyn ProviderFactory>) -> Self {
        self.0.push(factory);
        self
    }

    fn find(&self, name: &str) -> Option<&Arc<dyn ProviderFactory>> {
        self.0.iter().find(|f| f.name() == name)
    }

    fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|f| f.name()).collect()
    }
}

pub struct NexmoFactory;

#[async_trait]
impl ProviderFactory for NexmoFactory {
    fn name(&self) -> &'static str {
        "nexmo"
    }

    async fn build(
        &self,
        settings: &Settings,
        secrets: &ServiceSecrets,
        timeout: Duration,
    ) -> Result<Arc<dyn SmsSender>, ConfigError> {
        let n = &secrets.nexmo;
        let sender = NexmoSender::new(&settings.nexmo_url, &n.api_key, &n.api_secret, timeout)
            .map_err(|e| ConfigError::new(format!("SMS provider nexmo: {e}")))?;
        Ok(Arc::new(sender))
    }
}

/// The sender of a function that sends no SMS: a send is a bug, answered as an outage.
struct NoSms;

#[async_trait]
impl SmsSender for NoSms {
    fn name(&self) -> &str {
        "none"
    }

    async fn send(&self, _: &OutboundSms) -> Result<(), SmsError> {
        Err(SmsError::Unreachable(
            "this function links no SMS provider".into(),
        ))
    }
}

pub struct SmsSetup {
    pub sender: Arc<dyn SmsSender>,
    /// The fake gateway's read side, when SMS go to the fake gateway and may be read back.
    pub fake_gateway: Option<Arc<dyn FakeGateway>>,
}

/// The local server always uses the in-memory outbox. A Lambda uses the providers of
/// `settings.sms_providers` in order, or the store mailbox when they are `outbox`; a function
/// that links no provider sends nothing.
pub async fn sms_setup(
    settings: &Settings,
    secrets: &ServiceSecrets,
    host: Host,
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    linked: &Providers,
) -> Result<SmsSetup, ConfigError> {
    if host == Host::Local {
        let outbox =
            Arc::new(Outbox::new(clock.clone()).undeliverable(&settings.fake_sms_undeliverable));
        tracing::info!("SMS go to the fake gateway (in memory)");
        return Ok(SmsSetup {
            sender: outbox.clone(),
            fake_gateway: Some(outbox),
        });
    }
    if linked.0.is_empty() {
        return Ok(SmsSetup {
            sender: Arc::new(NoSms),
            fake_gateway: None,
        });
    }
    let providers = &settings.sms_providers;
    let stage = settings.stage.stage.as_str();
    if providers.iter().any(|p| p == "outbox") {
        if providers.iter().any(|p| p != "outbox") {
            return Err(ConfigError::new(format!(
                "SMS providers {providers:?}: outbox (the fake gateway) cannot be mixed with real providers"
            )));
        }
        if settings.stage.is_real() {
            return Err(ConfigError::new(format!(
                "stage {stage} sends real SMS: the fake gateway (outbox) is not allowed there"
            )));
        }
        let mailbox = Arc::new(
            StoreMailbox::new(store.clone(), clock.clone())
                .undeliverable(&settings.fake_sms_undeliverable),
        );
        let fake_gateway: Option<Arc<dyn FakeGateway>> = if settings.fake_sms_token.is_some() {
            tracing::info!("SMS go to the fake gateway (store mailbox), readable with the token");
            Some(mailbox.clone())
        } else {
            tracing::warn!(
                "SMS go to the fake gateway (store mailbox); reading them back is off: set MOBILEID_FAKE_SMS_TOKEN"
            );
            None
        };
        return Ok(SmsSetup {
            sender: mailbox,
            fake_gateway,
        });
    }
    let timeout_ms = settings.sms_timeout_ms;
    if !(1..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(ConfigError::new(format!(
            "MOBILEID_SMS_TIMEOUT_MS={timeout_ms}: use 1..={MAX_TIMEOUT_MS} (a few seconds at most)"
        )));
    }
    if settings.sms_attempts == 0 {
        return Err(ConfigError::new("MOBILEID_SMS_ATTEMPTS must be at least 1"));
    }
    let timeout = Duration::from_millis(timeout_ms);
    let mut senders: Vec<Arc<dyn SmsSender>> = Vec::new();
    for provider in providers {
        let factory = linked.find(provider).ok_or_else(|| {
            ConfigError::new(format!(
                "unknown SMS provider {provider:?} in MOBILEID_SMS_PROVIDERS: this function links {} (or outbox)",
                linked.names().join(", ")
            ))
        })?;
        let sender = factory.build(settings, secrets, timeout).await?;
        senders.push(sender);
    }
    if senders.is_empty() {
        return Err(ConfigError::new(
            "no SMS provider: set sms_providers in the stage file",
        ));
    }
    let failover = Failover::new(
        senders,
        settings.sms_attempts,
        timeout,
        secrets.keyed_ids()?,
    );
    tracing::info!(
        providers = failover.name(),
        attempts = settings.sms_attempts,
        timeout_ms,
        "SMS providers ready"
    );
    Ok(SmsSetup {
        sender: Arc::new(failover),
        fake_gateway: None,
    })
}

/// Nexmo's signature when the secret has a signature secret. Without one, a Lambda refuses to
/// start (its webhook would take anyone's word); the local server accepts unsigned callbacks
/// and says so.
pub fn inbound_verifier(
    secrets: &ServiceSecrets,
    host: Host,
    stage: &StageTable,
) -> Result<Arc<dyn InboundVerifier>, ConfigError> {
    let window_secs = stage.limits.inbound_timestamp_window_secs;
    let nexmo = &secrets.nexmo;
    if nexmo.signature_secret.is_empty() {
        return match host {
            Host::Lambda => Err(ConfigError::new(
                "the stage secret has no nexmo.signatureSecret: the inbound-SMS webhook would accept \
                 forged callbacks. Set nexmo.signatureSecret (and nexmo.signatureMethod) in the secret",
            )),
            Host::Local => {
                tracing::info!(
                    "inbound SMS callbacks are NOT signature-checked (no nexmo.signatureSecret in the secret)"
                );
                Ok(Arc::new(AcceptUnsigned))
            }
        };
    }
    let signer = NexmoSigner::new(&nexmo.signature_secret, &nexmo.signature_method)
        .map_err(|e| ConfigError::new(format!("secret nexmo.signatureMethod: {e}")))?;
    if stage.is_real() && !signer.method().is_strong() {
        return Err(ConfigError::new(format!(
            "stage {}: nexmo.signatureMethod {:?} is refused on a real stage; only sha256 or sha512 \
             (HMAC) signatures are accepted there. Choose one in the Nexmo dashboard and set it in the secret",
            stage.stage,
            if nexmo.signature_method.is_empty() {
                "md5hash"
            } else {
                nexmo.signature_method.as_str()
            }
        )));
    }
    tracing::info!(method = ?signer.method(), window_secs, "inbound SMS callbacks are signature-checked");
    Ok(Arc::new(NexmoSignature::new(signer, window_secs)))
}
