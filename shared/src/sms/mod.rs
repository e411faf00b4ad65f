//! Sending SMS: one trait, implemented by the real providers (Nexmo here, SNS in the AWS
//! adapters), by the fake
//! gateway (in memory or in the store) and by the failover over an ordered list of them; and
//! the signature check of the provider's inbound callbacks.

pub mod build;
mod failover;
mod fake;
mod gsm;
mod mailbox;
mod nexmo;
mod outbox;
pub mod receipts;
pub mod signature;
pub mod text;

pub use failover::Failover;
pub use fake::FakeGateway;
pub use gsm::{Encoding, is_gsm, segments};
pub use mailbox::StoreMailbox;
pub use nexmo::NexmoSender;
pub use outbox::{InboundRecord, Outbox, RecordedSms};
pub use signature::{NexmoSignature, NexmoSigner, SignatureMethod};

use async_trait::async_trait;

/// One SMS to send.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundSms {
    /// Sender id or number (`mtSender` of the stage table).
    pub from: String,
    /// E.164 destination.
    pub to: String,
    pub text: String,
}

impl std::fmt::Debug for OutboundSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the number nor the code belongs in a log line.
        write!(
            f,
            "OutboundSms(from={}, {} chars)",
            self.from,
            self.text.chars().count()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    #[error("the provider refused the message: {0}")]
    Rejected(String),
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider did not answer in time")]
    Timeout,
}

/// What a provider said when it took a message: who took it and the ids its delivery
/// receipts will name (one per SMS part; none when the provider sends no receipts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub provider: String,
    pub message_ids: Vec<String>,
    /// Providers that failed before this one took the message (failover), in order.
    pub failed: Vec<String>,
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    /// A short name for logs (`nexmo`, `sns`, `outbox`).
    fn name(&self) -> &str;

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError>;

    /// Sends, through only the providers named in `only` when it is not empty (a stage's
    /// catch-all may use fewer than the stage), and says who took the message.
    /// A single provider ignores `only` (the stage table checks the names at load).
    async fn send_tracked(&self, sms: &OutboundSms, only: &[String]) -> Result<Sent, SmsError> {
        let _ = only;
        self.send(sms).await.map(|()| Sent {
            provider: self.name().to_owned(),
            message_ids: Vec::new(),
            failed: Vec::new(),
        })
    }

    /// Health check for `/__heartbeat__` (without sending anything).
    async fn check(&self) -> Result<(), SmsError> {
        Ok(())
    }
}
