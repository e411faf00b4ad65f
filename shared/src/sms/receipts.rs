//! The delivery log: for each SMS a provider took, a small record under the provider's message
//! id — its country and provider, never the number — and the delivery receipts that came for
//! it. "Sent" is not "delivered": the receipts are what tells the two apart.
//!
//! Records live in the store's per-key append-only lists (the same primitive as the fake
//! gateway's mailboxes, under keys of their own) and expire with a TTL longer than the
//! latest receipt providers send (up to 72 hours after the message).

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// The providers whose delivery receipts reach this service (`api::routes::receipts`): only
/// their messages are logged (the fake gateway "delivers" at once; SNS logs delivery status
/// to CloudWatch itself).
pub const RECEIPT_PROVIDERS: [&str; 1] = ["nexmo"];

/// Receipts can come up to 72 h after the message; an hour more for clocks and retries.
pub const KEEP_SECS: i64 = 72 * 3600 + 3600;

/// Longest message id accepted (Nexmo's are 16–20 hex characters; Vonage's newer ids are UUIDs).
const MAX_ID_LEN: usize = 64;

/// A provider's message id: ASCII letters, digits and `-`, at most 64 characters. Anything else
/// is refused before it becomes part of a store key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageId(String);

impl MessageId {
    pub fn parse(id: &str) -> Option<Self> {
        let ok = !id.is_empty()
            && id.len() <= MAX_ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| MessageId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is kept about one SMS part when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    pub provider: String,
    /// ISO 3166-1 alpha-2 region of the destination.
    pub country: String,
    /// Which part of the message this id names (0 for the first): only the first part's
    /// receipt counts in the delivered ÷ sent ratio, so that a two-part SMS counts once.
    pub part: usize,
    /// Epoch seconds.
    pub sent_at: i64,
}

/// One receipt, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRecord {
    pub status: String,
    /// The provider's error code (`0` when delivered).
    pub err: String,
    /// Epoch seconds.
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Entry {
    Sent(SentRecord),
    Receipt(ReceiptRecord),
}

/// A message as the log knows it: where it went and the receipts so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedMessage {
    pub sent: SentRecord,
    pub receipts: Vec<ReceiptRecord>,
}

fn key(provider: &str, id: &MessageId) -> String {
    format!("dlr#{provider}#{}", id.as_str())
}

/// Records that `provider` took the part `part` of a message to `country` under `id`.
pub async fn record_sent(
    store: &dyn Store,
    id: &MessageId,
    sent: SentRecord,
) -> Result<(), StoreError> {
    let line = serde_json::to_string(&Entry::Sent(sent.clone())).expect("records serialise");
    store
        .append_message(&key(&sent.provider, id), &line, sent.sent_at + KEEP_SECS)
        .await
}

/// The message `provider` knows as `id`, if this service sent it (and it has not expired).
pub async fn lookup(
    store: &dyn Store,
    provider: &str,
    id: &MessageId,
    now: i64,
) -> Result<Option<LoggedMessage>, StoreError> {
    let lines = store.messages(&key(provider, id), now).await?;
    let mut sent = None;
    let mut receipts = Vec::new();
    // A line this code cannot read is skipped: the others still say what happened.
    for entry in lines.iter().filter_map(|l| serde_json::from_str(l).ok()) {
        match entry {
            Entry::Sent(s) => sent = sent.or(Some(s)),
            Entry::Receipt(r) => receipts.push(r),
        }
    }
    Ok(sent.map(|sent| LoggedMessage { sent, receipts }))
}

/// Adds a receipt to a logged message.
pub async fn record_receipt(
    store: &dyn Store,
    message: &LoggedMessage,
    id: &MessageId,
    receipt: ReceiptRecord,
) -> Result<(), StoreError> {
    let line = serde_json::to_string(&Entry::Receipt(receipt)).expect("records serialise");
    store
        .append_message(
            &key(&message.sent.provider, id),
            &line,
            message.sent.sent_at + KEEP_SECS,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn message_ids_are_a_closed_charset() {
        assert!(MessageId::parse("0A0000000123ABCD1").is_some());
        assert!(MessageId::parse("aaaaaaaa-bbbb-cccc-dddd-0123456789ab").is_some());
        for bad in ["", "a#b", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(MessageId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_message_is_found_with_its_receipts_until_it_expires() {
        let store = MemoryStore::new();
        let id = MessageId::parse("0A01").unwrap();
        let sent = SentRecord {
            provider: "nexmo".into(),
            country: "IT".into(),
            part: 0,
            sent_at: 1000,
        };
        assert_eq!(lookup(&store, "nexmo", &id, 1000).await.unwrap(), None);
        record_sent(&store, &id, sent.clone()).await.unwrap();
        let logged = lookup(&store, "nexmo", &id, 1001).await.unwrap().unwrap();
        assert_eq!((&logged.sent, logged.receipts.len()), (&sent, 0));
        let receipt = ReceiptRecord {
            status: "delivered".into(),
            err: "0".into(),
            at: 1002,
        };
        record_receipt(&store, &logged, &id, receipt.clone())
            .await
            .unwrap();
        let logged = lookup(&store, "nexmo", &id, 1003).await.unwrap().unwrap();
        assert_eq!(logged.receipts, [receipt]);
        assert_eq!(lookup(&store, "sns", &id, 1003).await.unwrap(), None);
        assert_eq!(
            lookup(&store, "nexmo", &id, 1000 + KEEP_SECS)
                .await
                .unwrap(),
            None
        );
    }
}
