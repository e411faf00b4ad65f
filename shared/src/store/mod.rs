//! Persistence: one trait and an in-memory implementation (local default, unit tests); the
//! DynamoDB one (production) is in the `mobileid-aws` adapters crate. Both pass the same contract tests (`contract.rs`).
//!
//! Every state change that must not race is a single atomic operation of the trait (a
//! conditional write in DynamoDB, a section under one lock in memory): the handlers never
//! read-then-write to decide something that another request could change in between.
//! Every record carries `expires_at` (epoch seconds) and every read treats an expired record as
//! absent, because DynamoDB's TTL deletes lazily.

/// The contract every store meets; the DynamoDB adapter's tests run it too.
#[cfg(any(test, feature = "testkit"))]
pub mod contract;
mod limits;
mod memory;

pub use limits::{Charge, Delivery, Limit, MAX_LOG, SlidingLog, Window};
pub use memory::{DEFAULT_CAPACITY, MemoryStore};

use async_trait::async_trait;

use crate::crypto::SessionKey;

/// A session, as stored. Nothing in it is readable without the client's Hawk id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The Hawk auth key, sealed under the Hawk id.
    pub sealed_auth_key: Vec<u8>,
    /// Epoch seconds; the session is gone after it.
    pub expires_at: i64,
    /// The number this session verifies (set once, never changed).
    pub msisdn: Option<BoundMsisdn>,
    /// The code last sent, if any.
    pub code: Option<PendingCode>,
    /// When the number was verified (epoch milliseconds, the certificate's `lastVerifiedAt`).
    pub verified_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundMsisdn {
    /// HMAC of the E.164 number: compares numbers and keys per-number limits.
    pub mac: String,
    /// The E.164 number, sealed under the Hawk id.
    pub sealed: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    /// HMAC of (session, code): the code itself is never stored.
    pub mac: String,
    /// Epoch seconds.
    pub expires_at: i64,
    pub wrong_tries: u32,
    /// Set when the right code was submitted: a code is good once.
    pub used: bool,
}

/// Result of binding a number and storing a fresh code in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOutcome {
    Issued,
    /// The session already verifies another number (one number per session).
    OtherNumberBound,
    NoSession,
}

/// Result of counting one wrong try against the current code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongTry {
    /// Counted; the code has now seen this many wrong tries.
    Counted(u32),
    /// Not counted: the code had already reached the maximum.
    AlreadyLocked,
    /// Not counted: the code was replaced, used or removed meanwhile.
    CodeChanged,
}

/// What `consume_code` is asked to do when the code is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consume {
    pub now: i64,
    pub max_wrong_tries: u32,
    pub verified_at_ms: i64,
    /// The session's new expiry (verified sessions live longer, to sign certificates).
    pub session_expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store is unreachable, throttling or timing out: answer 503 and let the client retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered something this code can't read (a bug or a corrupted item).
    #[error("store returned an unreadable item: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync {
    /// Creates a session; an existing one under the same key is replaced.
    async fn put_session(&self, key: &SessionKey, record: &SessionRecord) -> StoreResult<()>;

    /// The session, or `None` if absent or expired at `now` (epoch seconds).
    async fn get_session(&self, key: &SessionKey, now: i64) -> StoreResult<Option<SessionRecord>>;

    /// Atomically: binds `msisdn` if the session has no number yet (keeps the first one if it
    /// is the same number) and replaces the pending code with `code`.
    async fn issue_code(
        &self,
        key: &SessionKey,
        msisdn: &BoundMsisdn,
        code: &PendingCode,
        now: i64,
    ) -> StoreResult<IssueOutcome>;

    /// Removes the pending code if it is still the one with `code_mac` (an SMS that could not
    /// be delivered must not leave a usable code behind).
    async fn withdraw_code(&self, key: &SessionKey, code_mac: &str) -> StoreResult<()>;

    /// Atomically counts a wrong try against the code with `code_mac`, unless it already has
    /// `max` wrong tries.
    async fn count_wrong_try(
        &self,
        key: &SessionKey,
        code_mac: &str,
        max: u32,
    ) -> StoreResult<WrongTry>;

    /// Atomically marks the code with `code_mac` used and the session verified, if the code is
    /// still unused, unexpired and under the wrong-try limit. `false` if another request won.
    async fn consume_code(
        &self,
        key: &SessionKey,
        code_mac: &str,
        consume: &Consume,
    ) -> StoreResult<bool>;

    async fn delete_session(&self, key: &SessionKey) -> StoreResult<()>;

    /// Records `key` if it is not already recorded (and unexpired). `true` the first time.
    /// Hawk nonces and inbound message ids go through here.
    async fn insert_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool>;

    /// Removes a record made by `insert_once` (a message whose handling failed may be retried).
    async fn forget(&self, key: &str) -> StoreResult<()>;

    /// Atomically adds one to a counter and returns the new value. A counter expired at `now`
    /// starts again from zero with `expires_at`.
    async fn increment(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<u64>;

    /// The counter's value (0 if absent or expired).
    async fn counter(&self, key: &str, now: i64) -> StoreResult<u64>;

    /// Atomically: charges one event to the limit `key` if it has room at `now`, or refuses
    /// and charges nothing (one conditional write; never a read then a write).
    async fn charge(&self, key: &str, limit: &Limit, now: i64) -> StoreResult<Charge>;

    /// Gives back one event charged at `charged_at` (a send that was not made after all). A
    /// sliding limit gives it back only while it is still the key's newest event (otherwise
    /// the charge stays: the error is on the strict side).
    async fn refund(&self, key: &str, limit: &Limit, charged_at: i64) -> StoreResult<()>;

    /// Atomically claims the delivery `key` until `lease_until`, unless another call holds it
    /// (unexpired) or it is done.
    async fn claim_delivery(&self, key: &str, lease_until: i64, now: i64) -> StoreResult<Delivery>;

    /// Ends a claim: `Some(until)` marks the delivery done (remembered until then); `None`
    /// releases it so that a retry can deliver it.
    async fn settle_delivery(&self, key: &str, done_until: Option<i64>) -> StoreResult<()>;

    /// The fake gateway's mailbox (load-stage, where Lambda instances share nothing but the
    /// store): appends one message (JSON) for the destination `to` (digits, no `+`).
    async fn append_message(&self, to: &str, message: &str, expires_at: i64) -> StoreResult<()>;

    /// The unexpired messages for `to`, oldest first.
    async fn messages(&self, to: &str, now: i64) -> StoreResult<Vec<String>>;

    /// Health check for `/__heartbeat__`.
    async fn ping(&self) -> StoreResult<()>;
}
