//! The fake SMS gateway: records every message instead of sending it, and gives them back by
//! destination (the original's load tests called this OMXEN). Used by the local server and by
//! the load-stage stack, where no SMS may reach a phone.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{OutboundSms, SmsError, SmsSender};
use crate::clock::Clock;

/// Messages kept at most, oldest dropped first (a long-running local server stays bounded).
const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSms {
    pub from: String,
    /// Destination without the `+`, as gateways write it.
    pub to: String,
    pub text: String,
    /// Epoch seconds.
    pub timestamp: i64,
}

/// An inbound-SMS callback as the local server handled it, so that a developer playing the
/// provider's part sees why nothing came back (the webhook answers `{}` whatever happened).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRecord {
    /// The sender's number as the callback gave it.
    pub from: String,
    pub text: String,
    #[serde(rename = "messageId", skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// What came of it: "code sent", "ignored: no such session", "refused: …".
    pub outcome: String,
    /// Epoch seconds.
    pub timestamp: i64,
}

pub struct Outbox {
    messages: Mutex<VecDeque<RecordedSms>>,
    inbound: Mutex<VecDeque<InboundRecord>>,
    clock: Arc<dyn Clock>,
}

impl Outbox {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Outbox {
            messages: Mutex::new(VecDeque::new()),
            inbound: Mutex::new(VecDeque::new()),
            clock,
        }
    }

    /// Keeps an inbound callback's outcome (the oldest dropped past the capacity).
    pub fn record_inbound(&self, mut record: InboundRecord) {
        record.timestamp = self.clock.now_secs();
        let mut inbound = self.inbound.lock().unwrap_or_else(|p| p.into_inner());
        if inbound.len() == CAPACITY {
            inbound.pop_front();
        }
        inbound.push_back(record);
    }

    /// Every inbound callback kept, oldest first.
    pub fn inbound(&self) -> Vec<InboundRecord> {
        let inbound = self.inbound.lock().unwrap_or_else(|p| p.into_inner());
        inbound.iter().cloned().collect()
    }

    /// Messages sent to `to` (with or without `+`), oldest first.
    pub fn received(&self, to: &str) -> Vec<RecordedSms> {
        let to = to.trim_start_matches('+');
        self.lock().iter().filter(|m| m.to == to).cloned().collect()
    }

    /// Every message, oldest first (the web page).
    pub fn all(&self) -> Vec<RecordedSms> {
        self.lock().iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RecordedSms>> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl SmsSender for Outbox {
    fn name(&self) -> &str {
        "outbox"
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        let mut messages = self.lock();
        if messages.len() == CAPACITY {
            messages.pop_front();
        }
        messages.push_back(RecordedSms {
            from: sms.from.clone(),
            to: sms.to.trim_start_matches('+').to_owned(),
            text: sms.text.clone(),
            timestamp: self.clock.now_secs(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn records_and_returns_by_destination() {
        let outbox = Outbox::new(Arc::new(ManualClock::at_ms(5_000)));
        for (to, text) in [
            ("+33611111111", "one"),
            ("+33622222222", "two"),
            ("+33611111111", "three"),
        ] {
            let sms = OutboundSms {
                from: "Mozilla@".into(),
                to: to.into(),
                text: text.into(),
            };
            outbox.send(&sms).await.unwrap();
        }
        let got = outbox.received("33611111111");
        assert_eq!(
            got.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["one", "three"]
        );
        assert_eq!(got[0].to, "33611111111");
        assert_eq!(got[0].timestamp, 5);
        assert_eq!(outbox.received("+33622222222").len(), 1);
        assert_eq!(outbox.all().len(), 3);
    }
}
