//! The fake gateway of the load-stage Lambda stack: each SMS becomes a message in the store's
//! mailbox of its destination, so that whichever instance serves `GET /receive` sees what any
//! other instance "sent". Nothing leaves AWS.

use std::sync::Arc;

use async_trait::async_trait;

use super::{FakeGateway, OutboundSms, RecordedSms, Sent, SmsError, SmsSender};
use crate::clock::Clock;
use crate::random::{OsRandomness, random_array};
use crate::store::{Store, StoreError};

/// How long a message stays readable (a load test reads it within seconds; a person debugging
/// a run may look an hour later). The store's TTL removes it afterwards.
const KEEP_SECS: i64 = 3600;

pub struct StoreMailbox {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    undeliverable: Vec<String>,
}

impl StoreMailbox {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        StoreMailbox {
            store,
            clock,
            undeliverable: Vec::new(),
        }
    }

    /// Destinations (digits, no `+`) whose messages "fail" to be delivered.
    pub fn undeliverable(mut self, numbers: &[String]) -> Self {
        self.undeliverable = numbers.to_vec();
        self
    }
}

#[async_trait]
impl SmsSender for StoreMailbox {
    fn name(&self) -> &str {
        "outbox"
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        self.send_tracked(sms, &[]).await.map(|_| ())
    }

    async fn send_tracked(&self, sms: &OutboundSms, _only: &[String]) -> Result<Sent, SmsError> {
        let now = self.clock.now_secs();
        // Instances share nothing but the store: a random id, not a counter.
        let id = format!("fake-{}", hex::encode(random_array::<8>(&OsRandomness)));
        let record = RecordedSms::fake(sms, id.clone(), now, &self.undeliverable);
        let json = serde_json::to_string(&record).expect("a recorded SMS serialises");
        self.store
            .append_message(&record.to, &json, now + KEEP_SECS)
            .await
            .map_err(|e| SmsError::Unreachable(format!("mailbox: {e}")))?;
        Ok(Sent {
            provider: self.name().to_owned(),
            message_ids: vec![id],
            failed: Vec::new(),
        })
    }

    async fn check(&self) -> Result<(), SmsError> {
        self.store
            .ping()
            .await
            .map_err(|e| SmsError::Unreachable(format!("mailbox: {e}")))
    }
}

#[async_trait]
impl FakeGateway for StoreMailbox {
    async fn messages_to(&self, to: &str) -> Result<Vec<RecordedSms>, StoreError> {
        let to = to.trim_start_matches('+');
        let stored = self.store.messages(to, self.clock.now_secs()).await?;
        // A message this code cannot read is skipped, not fatal: the others are still useful.
        Ok(stored
            .iter()
            .filter_map(|m| serde_json::from_str(m).ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    #[tokio::test]
    async fn messages_are_shared_through_the_store_and_expire() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let clock = ManualClock::at_ms(1_000_000);
        // Two "instances" over one store.
        let a = StoreMailbox::new(store.clone(), Arc::new(clock.clone()));
        let b = StoreMailbox::new(store, Arc::new(clock.clone()));
        for text in ["one", "two"] {
            let sms = OutboundSms {
                from: "Mozilla@".into(),
                to: "+33612345678".into(),
                text: text.into(),
            };
            a.send(&sms).await.unwrap();
        }
        let got = b.messages_to("+33612345678").await.unwrap();
        assert_eq!(
            got.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["one", "two"]
        );
        assert_eq!(
            (got[0].to.as_str(), got[0].from.as_str(), got[0].timestamp),
            ("33612345678", "Mozilla@", 1000)
        );
        assert!(b.messages_to("33600000000").await.unwrap().is_empty());
        clock.advance_secs(KEEP_SECS + 1);
        assert!(b.messages_to("33612345678").await.unwrap().is_empty());
    }
}
