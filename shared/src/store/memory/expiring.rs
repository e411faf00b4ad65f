//! A map whose entries expire: the in-memory store's tables.
//!
//! Split into shards, each under its own lock, so concurrent requests for different keys do
//! not wait for each other. Each shard keeps a time-ordered queue of expiries next to its
//! entries; every operation with a clock reading collects at most [`SWEEP_PER_OP`] entries
//! that have come due, so expiry costs O(log n) per operation, never a scan of the table under
//! the lock, and memory goes back down once the longest TTL has passed. A bounded capacity
//! turns "more records than this process should hold" into a clear refusal instead of an
//! out-of-memory kill.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What an entry says about its own lifetime (epoch seconds; gone from then on).
pub trait Expires {
    fn expires_at(&self) -> i64;
}

/// How many due entries one operation collects, at most: enough to outpace the rate at which
/// operations create entries (a request creates a handful), small enough to bound the work.
const SWEEP_PER_OP: usize = 8;

/// Shards per map. A power of two well above the core count keeps lock collisions rare.
const SHARDS: usize = 32;

/// The map is full: a new entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

pub struct ExpiringMap<V> {
    shards: Box<[Mutex<Shard<V>>]>,
    hasher: RandomState,
    capacity_per_shard: usize,
    /// The latest clock reading an operation brought: operations that carry none (deletes,
    /// updates) sweep with it.
    last_now: AtomicI64,
}

struct Shard<V> {
    entries: HashMap<String, V>,
    /// Every expiry an entry was given, soonest first. Entries removed, replaced or extended
    /// since leave a stale item behind, skipped when it comes due.
    due: BinaryHeap<Reverse<(i64, String)>>,
}

impl<V: Expires> ExpiringMap<V> {
    /// A map that holds at most about `capacity` entries (split evenly over the shards).
    pub fn new(capacity: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    entries: HashMap::new(),
                    due: BinaryHeap::new(),
                })
            })
            .collect();
        ExpiringMap {
            shards,
            hasher: RandomState::new(),
            capacity_per_shard: capacity.div_ceil(SHARDS).max(1),
            last_now: AtomicI64::new(i64::MIN),
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard<V>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        // Each closure below changes the entry in place and cannot leave it half-written, so a
        // lock poisoned by a panicking caller is safe to reuse.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clock(&self, now: Option<i64>) -> i64 {
        match now {
            Some(now) => {
                self.last_now.fetch_max(now, Ordering::Relaxed);
                now
            }
            None => self.last_now.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` on the entry for `key` (`None` when absent or expired at `now`), under the
    /// key's shard lock: one atomic step, as a conditional write is in DynamoDB. `f` may
    /// create, change or remove the entry. A new entry in a full shard is refused with
    /// [`Full`] before `f` runs, after the shard's due entries are collected.
    pub fn update<R>(
        &self,
        key: &str,
        now: Option<i64>,
        f: impl FnOnce(&mut Option<V>) -> R,
    ) -> Result<R, Full> {
        let now = self.clock(now);
        let mut shard = self.shard(key);
        shard.collect_due(now, SWEEP_PER_OP);
        let mut slot = shard.entries.remove(key).filter(|v| v.expires_at() > now);
        let before = slot.as_ref().map(Expires::expires_at);
        if before.is_none() && shard.entries.len() >= self.capacity_per_shard {
            shard.collect_due(now, usize::MAX);
            if shard.entries.len() >= self.capacity_per_shard {
                return Err(Full);
            }
        }
        let result = f(&mut slot);
        if let Some(value) = slot {
            let after = value.expires_at();
            if before != Some(after) {
                shard.due.push(Reverse((after, key.to_owned())));
            }
            shard.entries.insert(key.to_owned(), value);
        }
        shard.shrink_when_sparse();
        Ok(result)
    }

    /// Reads the entry for `key`, unexpired at `now`.
    pub fn read<R>(&self, key: &str, now: i64, f: impl FnOnce(Option<&V>) -> R) -> R {
        let now = self.clock(Some(now));
        let mut shard = self.shard(key);
        shard.collect_due(now, SWEEP_PER_OP);
        f(shard.entries.get(key).filter(|v| v.expires_at() > now))
    }

    pub fn remove(&self, key: &str) {
        let now = self.clock(None);
        let mut shard = self.shard(key);
        shard.entries.remove(key);
        shard.collect_due(now, SWEEP_PER_OP);
        shard.shrink_when_sparse();
    }

    /// Collects every entry due at `now`, one shard at a time (a periodic task's job, so that
    /// an idle process gives its memory back too).
    pub fn sweep(&self, now: i64) {
        let now = self.clock(Some(now));
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            shard.collect_due(now, usize::MAX);
            shard.shrink_when_sparse();
        }
    }

    /// (entries held, expiry-queue items held), expired ones not yet collected included.
    pub fn footprint(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(e, d), shard| {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            (e + shard.entries.len(), d + shard.due.len())
        })
    }
}

impl<V: Expires> Shard<V> {
    fn collect_due(&mut self, now: i64, at_most: usize) {
        for _ in 0..at_most {
            match self.due.peek() {
                Some(Reverse((at, _))) if *at <= now => {}
                _ => return,
            }
            let Some(Reverse((_, key))) = self.due.pop() else {
                return;
            };
            // The entry may have been extended since this item was queued: then a later item
            // stands for it, and it stays.
            if self
                .entries
                .get(&key)
                .is_some_and(|v| v.expires_at() <= now)
            {
                self.entries.remove(&key);
            }
        }
    }

    /// Gives memory back once most of a table has expired (a hash table never shrinks itself).
    fn shrink_when_sparse(&mut self) {
        const MIN: usize = 64;
        if self.entries.capacity() > MIN && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(MIN.max(self.entries.len() * 2));
        }
        if self.due.capacity() > MIN && self.due.len() < self.due.capacity() / 4 {
            self.due.shrink_to(MIN.max(self.due.len() * 2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Until(i64);

    impl Expires for Until {
        fn expires_at(&self) -> i64 {
            self.0
        }
    }

    fn put(map: &ExpiringMap<Until>, key: &str, until: i64, now: i64) -> Result<(), Full> {
        map.update(key, Some(now), |slot| *slot = Some(Until(until)))
    }

    #[test]
    fn an_expired_entry_reads_as_absent_and_is_collected() {
        let map = ExpiringMap::new(1000);
        put(&map, "a", 100, 0).unwrap();
        assert_eq!(map.read("a", 99, |v| v.cloned()), Some(Until(100)));
        assert_eq!(map.read("a", 100, |v| v.cloned()), None);
        map.sweep(100);
        assert_eq!(map.footprint(), (0, 0));
    }

    #[test]
    fn an_extended_entry_outlives_its_first_expiry() {
        let map = ExpiringMap::new(1000);
        put(&map, "a", 100, 0).unwrap();
        put(&map, "a", 200, 50).unwrap();
        map.sweep(150);
        assert_eq!(map.read("a", 150, |v| v.cloned()), Some(Until(200)));
        assert_eq!(map.footprint(), (1, 1), "the stale item was dropped");
    }

    #[test]
    fn operations_collect_due_entries_without_a_sweep() {
        let map = ExpiringMap::new(1_000_000);
        for i in 0..10_000 {
            put(&map, &format!("old{i}"), 10, 0).unwrap();
        }
        // Each later operation collects a few: 10,000 entries are gone within 10,000 ops.
        for i in 0..10_000 {
            put(&map, &format!("new{i}"), 1_000, 20).unwrap();
        }
        assert_eq!(map.footprint(), (10_000, 10_000));
    }

    #[test]
    fn a_full_map_refuses_new_keys_but_not_updates_or_expired_room() {
        let map = ExpiringMap::new(SHARDS); // one entry per shard
        let mut stored = Vec::new();
        let mut refused = None;
        for i in 0..SHARDS * 4 {
            let key = format!("k{i}");
            match put(&map, &key, 100, 0) {
                Ok(()) => stored.push(key),
                Err(Full) => refused = Some(key),
            }
        }
        let refused = refused.expect("some key landed in a full shard");
        assert!(stored.len() <= SHARDS);
        assert_eq!(put(&map, &stored[0], 200, 0), Ok(()), "updates still work");
        // Once the entries have expired, their room is reused.
        assert_eq!(put(&map, &refused, 300, 250), Ok(()));
    }
}
