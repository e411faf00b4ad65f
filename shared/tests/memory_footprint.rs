//! The in-memory store gives its memory back: a binary of its own with one test, so that no
//! other test allocates in the same process while it reads the resident set size.

use mobileid::crypto::SessionKey;
use mobileid::store::{MemoryStore, SessionRecord, Store};

fn session(expires_at: i64) -> SessionRecord {
    SessionRecord {
        sealed_auth_key: vec![1; 64],
        expires_at,
        msisdn: None,
        code: None,
        verified_at_ms: None,
    }
}

/// The process's resident memory (Linux), in KiB.
fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A local server at load holds ~100k nonces, counters and sessions; once their TTLs have
/// passed (the injected clock moves), the memory they took comes back.
#[test]
fn memory_returns_to_its_baseline_after_the_longest_ttl() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = MemoryStore::new();
        let now = 1_000_000;
        let baseline = rss_kib();
        for i in 0..200_000 {
            let key = SessionKey::from_stored(format!("{i:064x}"));
            store.put_session(&key, &session(now + 600)).await.unwrap();
            store
                .insert_once(&format!("nonce#{i:064x}#abcdef"), now + 61, now)
                .await
                .unwrap();
        }
        let peak = rss_kib();
        assert!(
            peak > baseline + 50_000,
            "{baseline} → {peak} KiB: the records took memory"
        );
        store.sweep(now + 601);
        assert_eq!(store.records_held(), 0);
        let after = rss_kib();
        let grown = peak - baseline;
        assert!(
            after < baseline + grown / 10,
            "RSS {baseline} KiB before, {peak} at the peak, {after} after the TTLs"
        );
    });
}
