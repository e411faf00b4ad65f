//! The fake gateway's read side: where the load test and client developers read back the SMS
//! the service "sent". Two stores behind one trait: the in-memory [`Outbox`] of the local
//! server, and the store-backed [`StoreMailbox`](super::StoreMailbox) of the load-stage Lambda
//! stack, where instances share nothing but the store.

use async_trait::async_trait;

use super::{InboundRecord, Outbox, RecordedSms};
use crate::store::StoreError;

#[async_trait]
pub trait FakeGateway: Send + Sync {
    /// The messages sent to `to` (digits, without `+`), oldest first.
    async fn messages_to(&self, to: &str) -> Result<Vec<RecordedSms>, StoreError>;

    /// Every message, oldest first, when this gateway can list them (the in-memory one).
    fn all_messages(&self) -> Option<Vec<RecordedSms>> {
        None
    }

    /// Notes what an inbound callback came to (the in-memory gateway keeps it for its page).
    fn record_inbound(&self, _record: InboundRecord) {}

    /// The inbound callbacks noted, oldest first, when this gateway keeps them.
    fn inbound(&self) -> Option<Vec<InboundRecord>> {
        None
    }
}

#[async_trait]
impl FakeGateway for Outbox {
    async fn messages_to(&self, to: &str) -> Result<Vec<RecordedSms>, StoreError> {
        Ok(self.received(to))
    }

    fn all_messages(&self) -> Option<Vec<RecordedSms>> {
        Some(self.all())
    }

    fn record_inbound(&self, record: InboundRecord) {
        Outbox::record_inbound(self, record);
    }

    fn inbound(&self) -> Option<Vec<InboundRecord>> {
        Some(Outbox::inbound(self))
    }
}
