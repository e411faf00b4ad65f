//! The in-memory store: the local server's default and the fast tests' store. Each operation
//! is one step under its key's shard lock (see [`expiring`]), which gives it the same atomicity
//! as DynamoDB's conditional writes; expired records are collected as operations go and by
//! [`MemoryStore::sweep`], so memory follows the live records.

mod expiring;

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use std::collections::VecDeque;

use self::expiring::{Expires, ExpiringMap, Full};
use super::SlidingLog;
use super::{
    BoundMsisdn, Charge, Consume, Delivery, IssueOutcome, Limit, PendingCode, SessionRecord, Store,
    StoreError, StoreResult, WrongTry,
};
use crate::crypto::SessionKey;

/// Records held at most, per table, unless the host says otherwise: about 1 GB at worst.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

impl Expires for SessionRecord {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// A counter, a Hawk nonce or a seen message id.
struct Counter {
    value: u64,
    expires_at: i64,
}

impl Expires for Counter {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// The fake gateway's messages for one destination, each with its own expiry.
#[derive(Default)]
struct Mailbox(Vec<(String, i64)>);

impl Expires for Mailbox {
    fn expires_at(&self) -> i64 {
        self.0.iter().map(|(_, exp)| *exp).max().unwrap_or(i64::MIN)
    }
}

pub struct MemoryStore {
    sessions: ExpiringMap<SessionRecord>,
    counters: ExpiringMap<Counter>,
    mailboxes: ExpiringMap<Mailbox>,
    /// When set, every call fails as an unreachable store would (heartbeat and 503 tests).
    broken: AtomicBool,
    /// Sliding limits: their newest event times, newest first.
    logs: ExpiringMap<EventLog>,
    /// Count limits (a window named by the key, or a budget for a record's life).
    counts: ExpiringMap<Counter>,
    /// Inbound deliveries: in flight (leased) or done.
    deliveries: ExpiringMap<DeliveryMark>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

/// A sliding limit's newest event times, newest first.
struct EventLog {
    newest_first: VecDeque<i64>,
    expires_at: i64,
}

impl Expires for EventLog {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

struct DeliveryMark {
    done: bool,
    expires_at: i64,
}

impl Expires for DeliveryMark {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that holds at most about `capacity` records per table; past that, a new record
    /// is refused as an unavailable store (503/201), not an out-of-memory kill.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            sessions: ExpiringMap::new(capacity),
            counters: ExpiringMap::new(capacity),
            mailboxes: ExpiringMap::new(capacity),
            broken: AtomicBool::new(false),
            logs: ExpiringMap::new(capacity),
            counts: ExpiringMap::new(capacity),
            deliveries: ExpiringMap::new(capacity),
        }
    }

    /// Makes every following call fail with `Unavailable` (or work again).
    pub fn set_unavailable(&self, broken: bool) {
        self.broken.store(broken, Ordering::SeqCst);
    }

    /// Collects every record expired at `now` (epoch seconds): the TTL sweeper's job in
    /// DynamoDB. Operations collect a few as they go; a host calls this now and then so that
    /// an idle process gives its memory back too.
    pub fn sweep(&self, now: i64) {
        let before = self.records_held();
        self.sessions.sweep(now);
        self.counters.sweep(now);
        self.mailboxes.sweep(now);
        self.logs.sweep(now);
        self.counts.sweep(now);
        self.deliveries.sweep(now);
        if before - self.records_held() >= RELEASE_AFTER {
            release_free_memory();
        }
    }

    /// Records held, expired ones not yet collected included (every table).
    pub fn records_held(&self) -> usize {
        [
            self.sessions.footprint(),
            self.counters.footprint(),
            self.mailboxes.footprint(),
            self.logs.footprint(),
            self.counts.footprint(),
            self.deliveries.footprint(),
        ]
        .iter()
        .map(|(entries, queued)| entries + queued)
        .sum()
    }

    fn check(&self) -> StoreResult<()> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store switched off".into()));
        }
        Ok(())
    }
}

/// Collected records past which a sweep hands freed memory back to the system.
const RELEASE_AFTER: usize = 10_000;

/// glibc keeps freed small allocations in its arenas for reuse: without this, a server whose
/// load has passed keeps its peak footprint even though its tables are empty again.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn full(_: Full) -> StoreError {
    StoreError::Unavailable("memory store is full (its configured capacity)".into())
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_session(&self, key: &SessionKey, record: &SessionRecord) -> StoreResult<()> {
        self.check()?;
        self.sessions
            .update(key.as_str(), None, |slot| *slot = Some(record.clone()))
            .map_err(full)
    }

    async fn get_session(&self, key: &SessionKey, now: i64) -> StoreResult<Option<SessionRecord>> {
        self.check()?;
        Ok(self.sessions.read(key.as_str(), now, |r| r.cloned()))
    }

    async fn issue_code(
        &self,
        key: &SessionKey,
        msisdn: &BoundMsisdn,
        code: &PendingCode,
        now: i64,
    ) -> StoreResult<IssueOutcome> {
        self.check()?;
        self.sessions
            .update(key.as_str(), Some(now), |slot| {
                let Some(session) = slot else {
                    return IssueOutcome::NoSession;
                };
                match &session.msisdn {
                    Some(bound) if bound.mac != msisdn.mac => {
                        return IssueOutcome::OtherNumberBound;
                    }
                    Some(_) => {}
                    None => session.msisdn = Some(msisdn.clone()),
                }
                session.code = Some(code.clone());
                IssueOutcome::Issued
            })
            .map_err(full)
    }

    async fn withdraw_code(&self, key: &SessionKey, code_mac: &str) -> StoreResult<()> {
        self.check()?;
        self.sessions
            .update(key.as_str(), None, |slot| {
                if let Some(session) = slot
                    && session.code.as_ref().is_some_and(|c| c.mac == code_mac)
                {
                    session.code = None;
                }
            })
            .map_err(full)
    }

    async fn count_wrong_try(
        &self,
        key: &SessionKey,
        code_mac: &str,
        max: u32,
    ) -> StoreResult<WrongTry> {
        self.check()?;
        self.sessions
            .update(key.as_str(), None, |slot| {
                let code = slot
                    .as_mut()
                    .and_then(|s| s.code.as_mut())
                    .filter(|c| c.mac == code_mac && !c.used);
                match code {
                    None => WrongTry::CodeChanged,
                    Some(c) if c.wrong_tries >= max => WrongTry::AlreadyLocked,
                    Some(c) => {
                        c.wrong_tries += 1;
                        WrongTry::Counted(c.wrong_tries)
                    }
                }
            })
            .map_err(full)
    }

    async fn consume_code(
        &self,
        key: &SessionKey,
        code_mac: &str,
        consume: &Consume,
    ) -> StoreResult<bool> {
        self.check()?;
        self.sessions
            .update(key.as_str(), Some(consume.now), |slot| {
                let Some(session) = slot else {
                    return false;
                };
                let Some(code) = session.code.as_mut() else {
                    return false;
                };
                if code.mac != code_mac
                    || code.used
                    || code.expires_at <= consume.now
                    || code.wrong_tries >= consume.max_wrong_tries
                {
                    return false;
                }
                code.used = true;
                session.verified_at_ms = Some(consume.verified_at_ms);
                session.expires_at = session.expires_at.max(consume.session_expires_at);
                true
            })
            .map_err(full)
    }

    async fn delete_session(&self, key: &SessionKey) -> StoreResult<()> {
        self.check()?;
        self.sessions.remove(key.as_str());
        Ok(())
    }

    async fn insert_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        self.check()?;
        self.counters
            .update(key, Some(now), |slot| {
                if slot.is_some() {
                    return false;
                }
                *slot = Some(Counter {
                    value: 1,
                    expires_at,
                });
                true
            })
            .map_err(full)
    }

    async fn forget(&self, key: &str) -> StoreResult<()> {
        self.check()?;
        self.counters.remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<u64> {
        self.check()?;
        self.counters
            .update(key, Some(now), |slot| {
                // An absent or expired counter starts again from zero with the new expiry.
                let counter = slot.get_or_insert(Counter {
                    value: 0,
                    expires_at,
                });
                counter.value += 1;
                counter.value
            })
            .map_err(full)
    }

    async fn counter(&self, key: &str, now: i64) -> StoreResult<u64> {
        self.check()?;
        Ok(self.counters.read(key, now, |c| c.map_or(0, |c| c.value)))
    }

    async fn charge(&self, key: &str, limit: &Limit, now: i64) -> StoreResult<Charge> {
        self.check()?;
        match limit {
            Limit::Sliding(windows) => self.logs.update(key, Some(now), |slot| {
                let log = slot.get_or_insert_with(|| EventLog {
                    newest_first: VecDeque::new(),
                    expires_at: now,
                });
                let stamps: Vec<i64> = log.newest_first.iter().copied().collect();
                if let Some(refused) = SlidingLog::judge(&stamps, windows, now) {
                    return refused;
                }
                log.newest_first.push_front(now);
                log.newest_first.truncate(Limit::log_len(windows));
                log.expires_at = limit.expires_at(now);
                Charge::Charged
            }),
            Limit::Count { max, expires_at } => self.counts.update(key, Some(now), |slot| {
                // An absent or expired count starts again from zero with the new expiry.
                let count = slot.get_or_insert(Counter {
                    value: 0,
                    expires_at: *expires_at,
                });
                if count.value >= *max {
                    return Charge::Refused {
                        window: 0,
                        retry_after: count.expires_at - now,
                    };
                }
                count.value += 1;
                Charge::Charged
            }),
        }
        .map_err(full)
    }

    async fn refund(&self, key: &str, limit: &Limit, charged_at: i64) -> StoreResult<()> {
        self.check()?;
        match limit {
            // Only while the charge is still the newest event (else the charge stays: strict).
            Limit::Sliding(_) => self.logs.update(key, None, |slot| {
                if let Some(log) = slot
                    && log.newest_first.front() == Some(&charged_at)
                {
                    log.newest_first.pop_front();
                }
            }),
            Limit::Count { .. } => self.counts.update(key, None, |slot| {
                if let Some(count) = slot
                    && count.expires_at > charged_at
                {
                    count.value = count.value.saturating_sub(1);
                }
            }),
        }
        .map_err(full)
    }

    async fn claim_delivery(&self, key: &str, lease_until: i64, now: i64) -> StoreResult<Delivery> {
        self.check()?;
        self.deliveries
            .update(key, Some(now), |slot| match slot {
                Some(mark) if mark.done => Delivery::Done,
                Some(_) => Delivery::InFlight,
                None => {
                    *slot = Some(DeliveryMark {
                        done: false,
                        expires_at: lease_until,
                    });
                    Delivery::Claimed
                }
            })
            .map_err(full)
    }

    async fn settle_delivery(&self, key: &str, done_until: Option<i64>) -> StoreResult<()> {
        self.check()?;
        match done_until {
            Some(expires_at) => self
                .deliveries
                .update(key, None, |slot| {
                    *slot = Some(DeliveryMark {
                        done: true,
                        expires_at,
                    });
                })
                .map_err(full),
            None => {
                self.deliveries.remove(key);
                Ok(())
            }
        }
    }

    async fn append_message(&self, to: &str, message: &str, expires_at: i64) -> StoreResult<()> {
        self.check()?;
        self.mailboxes
            .update(to, None, |slot| {
                slot.get_or_insert_with(Mailbox::default)
                    .0
                    .push((message.to_owned(), expires_at));
            })
            .map_err(full)
    }

    async fn messages(&self, to: &str, now: i64) -> StoreResult<Vec<String>> {
        self.check()?;
        Ok(self.mailboxes.read(to, now, |mailbox| {
            mailbox
                .map(|m| {
                    m.0.iter()
                        .filter(|(_, exp)| *exp > now)
                        .map(|(m, _)| m.clone())
                        .collect()
                })
                .unwrap_or_default()
        }))
    }

    async fn ping(&self) -> StoreResult<()> {
        self.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_meets_the_contract() {
        super::super::contract::run_all(std::sync::Arc::new(MemoryStore::new())).await;
    }

    #[tokio::test]
    async fn switched_off_store_is_unavailable() {
        let store = MemoryStore::new();
        store.set_unavailable(true);
        assert!(matches!(
            store.ping().await,
            Err(StoreError::Unavailable(_))
        ));
        store.set_unavailable(false);
        assert_eq!(store.ping().await, Ok(()));
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    fn session(expires_at: i64) -> SessionRecord {
        SessionRecord {
            sealed_auth_key: vec![1; 64],
            expires_at,
            msisdn: None,
            code: None,
            verified_at_ms: None,
        }
    }

    #[tokio::test]
    async fn sweeping_keeps_live_records_and_drops_expired_ones() {
        let store = MemoryStore::new();
        let now = 1_000_000;
        let live = SessionKey::from_stored("live".into());
        let dead = SessionKey::from_stored("dead".into());
        store.put_session(&live, &session(now + 100)).await.unwrap();
        store.put_session(&dead, &session(now - 1)).await.unwrap();
        for i in 0..1000 {
            store
                .increment(&format!("c{i}"), now + 60, now)
                .await
                .unwrap();
        }
        store.sweep(now);
        assert!(store.get_session(&live, now).await.unwrap().is_some());
        assert_eq!(store.counter("c999", now).await.unwrap(), 1);
        // live session + its queue item, 1000 counters + theirs; the dead session is gone.
        assert_eq!(store.records_held(), 2 + 2000);
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_records_as_unavailable() {
        let store = MemoryStore::with_capacity(64);
        let mut refused = 0;
        for i in 0..1000 {
            if let Err(StoreError::Unavailable(why)) =
                store.insert_once(&format!("n{i}"), 100, 0).await
            {
                assert!(why.contains("full"), "{why}");
                refused += 1;
            }
        }
        assert!(refused >= 1000 - 64, "{refused} refused");
    }
}
