//! The fake SMS gateway: records every message instead of sending it, and gives them back by
//! destination (the original's load tests called this OMXEN). Used by the local server and by
//! the load-stage stack, where no SMS may reach a phone.

use std::collections::{HashMap, VecDeque};
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
    messages: Mutex<Messages>,
    inbound: Mutex<VecDeque<InboundRecord>>,
    clock: Arc<dyn Clock>,
    undeliverable: Vec<String>,
    sent: AtomicU64,
}

impl Outbox {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Outbox {
            messages: Mutex::new(Messages::default()),
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
        let messages = self.lock();
        let of = messages.by_destination.get(to).into_iter().flatten();
        of.map(|m| RecordedSms::clone(m)).collect()
    }

    /// Every message, oldest first (the web page).
    pub fn all(&self) -> Vec<RecordedSms> {
        let messages = self.lock();
        messages
            .oldest_first
            .iter()
            .map(|m| RecordedSms::clone(m))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Messages> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The messages kept, in order and by destination: a load test reads each number's messages
/// back while thousands are kept, and a scan of them all per read was most of the local
/// server's CPU under load.
#[derive(Default)]
struct Messages {
    oldest_first: VecDeque<Arc<RecordedSms>>,
    /// Destination → its messages, oldest first (each also in `oldest_first`).
    by_destination: HashMap<String, VecDeque<Arc<RecordedSms>>>,
}

impl Messages {
    fn push(&mut self, record: RecordedSms) {
        if self.oldest_first.len() == CAPACITY
            && let Some(oldest) = self.oldest_first.pop_front()
            && let Some(same) = self.by_destination.get_mut(&oldest.to)
        {
            // The oldest message overall is the oldest of its destination.
            same.pop_front();
            if same.is_empty() {
                self.by_destination.remove(&oldest.to);
            }
        }
        let record = Arc::new(record);
        self.by_destination
            .entry(record.to.clone())
            .or_default()
            .push_back(record.clone());
        self.oldest_first.push_back(record);
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
        self.lock().push(record);
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

    #[test]
    fn the_oldest_messages_go_first_from_both_views() {
        let mut messages = Messages::default();
        let sms = |to: &str, text: &str| RecordedSms {
            from: "Mozilla@".into(),
            to: to.into(),
            text: text.into(),
            timestamp: 0,
            id: String::new(),
            status: "delivered".into(),
        };
        messages.push(sms("1", "first"));
        for i in 0..CAPACITY {
            messages.push(sms("2", &i.to_string()));
        }
        assert!(
            !messages.by_destination.contains_key("1"),
            "dropped with the oldest"
        );
        assert_eq!(messages.oldest_first.len(), CAPACITY);
        assert_eq!(messages.by_destination["2"].len(), CAPACITY);
        messages.push(sms("1", "again"));
        assert_eq!(messages.by_destination["2"].front().unwrap().text, "1");
        assert_eq!(messages.by_destination["1"].len(), 1);
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
