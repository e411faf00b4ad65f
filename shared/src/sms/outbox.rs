//! The fake SMS gateway: records every message instead of sending it, and gives them back by
//! destination (the original's load tests called this OMXEN). Used by the local server and by
//! the load-stage stack, where no SMS may reach a phone.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{OutboundSms, Sent, SmsError, SmsSender};
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
    /// The id the fake provider gave the message.
    #[serde(default)]
    pub id: String,
    /// Its delivery state: `delivered`, or `failed` for an undeliverable test number.
    #[serde(default)]
    pub status: String,
}

impl RecordedSms {
    /// What the fake gateway does with a message: it "delivers" it at once, unless its
    /// destination (digits) is one of the `undeliverable` test numbers.
    pub fn fake(sms: &OutboundSms, id: String, now: i64, undeliverable: &[String]) -> Self {
        let to = sms.to.trim_start_matches('+').to_owned();
        let status = if undeliverable.contains(&to) {
            "failed"
        } else {
            "delivered"
        };
        RecordedSms {
            from: sms.from.clone(),
            to,
            text: sms.text.clone(),
            timestamp: now,
            id,
            status: status.into(),
        }
    }
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
    undeliverable: Vec<String>,
    sent: AtomicU64,
}

impl Outbox {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Outbox {
            messages: Mutex::new(VecDeque::new()),
            inbound: Mutex::new(VecDeque::new()),
            clock,
            undeliverable: Vec::new(),
            sent: AtomicU64::new(0),
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

    /// Destinations (digits, no `+`) whose messages "fail" to be delivered.
    pub fn undeliverable(mut self, numbers: &[String]) -> Self {
        self.undeliverable = numbers.to_vec();
        self
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
        self.send_tracked(sms, &[]).await.map(|_| ())
    }

    async fn send_tracked(&self, sms: &OutboundSms, _only: &[String]) -> Result<Sent, SmsError> {
        let id = format!("fake-{}", self.sent.fetch_add(1, Ordering::Relaxed) + 1);
        let record = RecordedSms::fake(sms, id.clone(), self.clock.now_secs(), &self.undeliverable);
        let mut messages = self.lock();
        if messages.len() == CAPACITY {
            messages.pop_front();
        }
        messages.push_back(record);
        Ok(Sent {
            provider: self.name().to_owned(),
            message_ids: vec![id],
            failed: Vec::new(),
        })
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
        assert_eq!(
            (got[0].id.as_str(), got[0].status.as_str()),
            ("fake-1", "delivered")
        );
        assert_eq!(outbox.received("+33622222222").len(), 1);
        assert_eq!(outbox.all().len(), 3);
    }

    #[tokio::test]
    async fn undeliverable_numbers_are_taken_but_not_delivered() {
        let outbox = Outbox::new(Arc::new(ManualClock::at_ms(5_000)))
            .undeliverable(&["12025550199".to_owned()]);
        for to in ["+12025550199", "+33611111111"] {
            let sms = OutboundSms {
                from: "Mozilla@".into(),
                to: to.into(),
                text: "123456".into(),
            };
            assert!(outbox.send_tracked(&sms, &[]).await.is_ok());
        }
        let states: Vec<_> = outbox.all().into_iter().map(|m| m.status).collect();
        assert_eq!(states, ["failed", "delivered"]);
    }
}
