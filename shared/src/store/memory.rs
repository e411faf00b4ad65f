//! The in-memory store: the local server's default and the fast tests' store. Each operation
//! runs under one lock, which gives it the same atomicity as DynamoDB's conditional writes.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::limits::MemoryLimits;
use super::{
    BoundMsisdn, Charge, Consume, Delivery, IssueOutcome, Limit, PendingCode, SessionRecord, Store,
    StoreError, StoreResult, WrongTry,
};
use crate::crypto::SessionKey;

#[derive(Default)]
struct Tables {
    sessions: HashMap<SessionKey, SessionRecord>,
    /// key → (value, expires_at): counters, nonces and seen message ids.
    counters: HashMap<String, (u64, i64)>,
    /// destination → [(message, expires_at)].
    mailboxes: HashMap<String, Vec<(String, i64)>>,
}

#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// When set, every call fails as an unreachable store would (heartbeat and 503 tests).
    broken: std::sync::atomic::AtomicBool,
    /// Limits and delivery markers (self-contained: `store/limits.rs`).
    limits: MemoryLimits,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following call fail with `Unavailable` (or work again).
    pub fn set_unavailable(&self, broken: bool) {
        self.broken
            .store(broken, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, Tables>> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory store switched off".into()));
        }
        // A panic while holding the lock can't leave a half-written record (each operation
        // writes at most once, at its end), so a poisoned lock is safe to reuse.
        Ok(self.tables.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Drops expired sessions and counters (the TTL sweeper's job in DynamoDB), so a long-running
    /// local server does not grow without bound.
    fn sweep(tables: &mut Tables, now: i64) {
        if tables.sessions.len() + tables.counters.len() < 100_000 {
            return;
        }
        tables.sessions.retain(|_, s| s.expires_at > now);
        tables.counters.retain(|_, (_, exp)| *exp > now);
    }
}

fn live(record: Option<&mut SessionRecord>, now: i64) -> Option<&mut SessionRecord> {
    record.filter(|r| r.expires_at > now)
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_session(&self, key: &SessionKey, record: &SessionRecord) -> StoreResult<()> {
        let mut t = self.lock()?;
        t.sessions.insert(key.clone(), record.clone());
        Ok(())
    }

    async fn get_session(&self, key: &SessionKey, now: i64) -> StoreResult<Option<SessionRecord>> {
        let mut t = self.lock()?;
        Ok(live(t.sessions.get_mut(key), now).map(|r| r.clone()))
    }

    async fn issue_code(
        &self,
        key: &SessionKey,
        msisdn: &BoundMsisdn,
        code: &PendingCode,
        now: i64,
    ) -> StoreResult<IssueOutcome> {
        let mut t = self.lock()?;
        let Some(session) = live(t.sessions.get_mut(key), now) else {
            return Ok(IssueOutcome::NoSession);
        };
        match &session.msisdn {
            Some(bound) if bound.mac != msisdn.mac => return Ok(IssueOutcome::OtherNumberBound),
            Some(_) => {}
            None => session.msisdn = Some(msisdn.clone()),
        }
        session.code = Some(code.clone());
        Ok(IssueOutcome::Issued)
    }

    async fn withdraw_code(&self, key: &SessionKey, code_mac: &str) -> StoreResult<()> {
        let mut t = self.lock()?;
        if let Some(session) = t.sessions.get_mut(key)
            && session.code.as_ref().is_some_and(|c| c.mac == code_mac)
        {
            session.code = None;
        }
        Ok(())
    }

    async fn count_wrong_try(
        &self,
        key: &SessionKey,
        code_mac: &str,
        max: u32,
    ) -> StoreResult<WrongTry> {
        let mut t = self.lock()?;
        let code = t
            .sessions
            .get_mut(key)
            .and_then(|s| s.code.as_mut())
            .filter(|c| c.mac == code_mac && !c.used);
        Ok(match code {
            None => WrongTry::CodeChanged,
            Some(c) if c.wrong_tries >= max => WrongTry::AlreadyLocked,
            Some(c) => {
                c.wrong_tries += 1;
                WrongTry::Counted(c.wrong_tries)
            }
        })
    }

    async fn consume_code(
        &self,
        key: &SessionKey,
        code_mac: &str,
        consume: &Consume,
    ) -> StoreResult<bool> {
        let mut t = self.lock()?;
        let Some(session) = live(t.sessions.get_mut(key), consume.now) else {
            return Ok(false);
        };
        let Some(code) = session.code.as_mut() else {
            return Ok(false);
        };
        if code.mac != code_mac
            || code.used
            || code.expires_at <= consume.now
            || code.wrong_tries >= consume.max_wrong_tries
        {
            return Ok(false);
        }
        code.used = true;
        session.verified_at_ms = Some(consume.verified_at_ms);
        session.expires_at = session.expires_at.max(consume.session_expires_at);
        Ok(true)
    }

    async fn delete_session(&self, key: &SessionKey) -> StoreResult<()> {
        self.lock()?.sessions.remove(key);
        Ok(())
    }

    async fn insert_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        let mut t = self.lock()?;
        // Every authenticated request comes through here with the real `now`: sweep here.
        Self::sweep(&mut t, now);
        match t.counters.get(key) {
            Some((_, exp)) if *exp > now => Ok(false),
            _ => {
                t.counters.insert(key.to_owned(), (1, expires_at));
                Ok(true)
            }
        }
    }

    async fn forget(&self, key: &str) -> StoreResult<()> {
        self.lock()?.counters.remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<u64> {
        let mut t = self.lock()?;
        let entry = t.counters.entry(key.to_owned()).or_insert((0, expires_at));
        if entry.1 <= now {
            *entry = (0, expires_at);
        }
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn counter(&self, key: &str, now: i64) -> StoreResult<u64> {
        let t = self.lock()?;
        Ok(t.counters
            .get(key)
            .filter(|(_, exp)| *exp > now)
            .map_or(0, |(v, _)| *v))
    }

    async fn charge(&self, key: &str, limit: &Limit, now: i64) -> StoreResult<Charge> {
        self.lock().map(drop)?;
        Ok(self.limits.charge(key, limit, now))
    }

    async fn refund(&self, key: &str, limit: &Limit, charged_at: i64) -> StoreResult<()> {
        self.lock().map(drop)?;
        self.limits.refund(key, limit, charged_at);
        Ok(())
    }

    async fn claim_delivery(&self, key: &str, lease_until: i64, now: i64) -> StoreResult<Delivery> {
        self.lock().map(drop)?;
        Ok(self.limits.claim(key, lease_until, now))
    }

    async fn settle_delivery(&self, key: &str, done_until: Option<i64>) -> StoreResult<()> {
        self.lock().map(drop)?;
        self.limits.settle(key, done_until);
        Ok(())
    }

    async fn append_message(&self, to: &str, message: &str, expires_at: i64) -> StoreResult<()> {
        let mut t = self.lock()?;
        t.mailboxes
            .entry(to.to_owned())
            .or_default()
            .push((message.to_owned(), expires_at));
        Ok(())
    }

    async fn messages(&self, to: &str, now: i64) -> StoreResult<Vec<String>> {
        let t = self.lock()?;
        Ok(t.mailboxes
            .get(to)
            .map(|m| {
                m.iter()
                    .filter(|(_, exp)| *exp > now)
                    .map(|(m, _)| m.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.lock().map(|_| ())
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
    use crate::crypto::SessionKey;

    #[tokio::test]
    async fn sweeping_keeps_live_records() {
        let store = MemoryStore::new();
        let now = 1_000_000;
        let record = |expires_at| SessionRecord {
            sealed_auth_key: vec![1],
            expires_at,
            msisdn: None,
            code: None,
            verified_at_ms: None,
        };
        store
            .put_session(&SessionKey::from_stored("live".into()), &record(now + 100))
            .await
            .unwrap();
        store
            .put_session(&SessionKey::from_stored("dead".into()), &record(now - 1))
            .await
            .unwrap();
        for i in 0..100_000 {
            store
                .increment(&format!("c{i}"), now + 60, now)
                .await
                .unwrap();
        }
        assert!(store.insert_once("nonce", now + 60, now).await.unwrap());
        let t = store.lock().unwrap();
        assert!(
            t.sessions
                .contains_key(&SessionKey::from_stored("live".into())),
            "live session kept"
        );
        assert!(
            !t.sessions
                .contains_key(&SessionKey::from_stored("dead".into())),
            "expired one swept"
        );
        assert_eq!(t.counters.len(), 100_001, "live counters kept");
    }
}
