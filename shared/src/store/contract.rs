//! The store contract: what every [`Store`] implementation must do, as executable checks.
//! Run against the in-memory store in unit tests and against DynamoDB Local in the
//! integration tests, so the local default and production cannot drift apart.
//!
//! Keys are random per run, so the checks can share tables with other tests.

use std::sync::Arc;

use super::{
    BoundMsisdn, Charge, Consume, Delivery, IssueOutcome, Limit, PendingCode, SessionRecord, Store,
    Window, WrongTry,
};
use crate::crypto::SessionKey;
use crate::random::{OsRandomness, random_array};

const NOW: i64 = 1_800_000_000;

fn fresh_key() -> SessionKey {
    SessionKey::from_stored(hex::encode(random_array::<32>(&OsRandomness)))
}

fn fresh_name(kind: &str) -> String {
    format!("{kind}#{}", hex::encode(random_array::<16>(&OsRandomness)))
}

fn session(expires_at: i64) -> SessionRecord {
    SessionRecord {
        sealed_auth_key: vec![1, 2, 3, 4],
        expires_at,
        msisdn: None,
        code: None,
        verified_at_ms: None,
    }
}

fn number(mac: &str) -> BoundMsisdn {
    BoundMsisdn {
        mac: mac.into(),
        sealed: mac.as_bytes().to_vec(),
    }
}

fn code(mac: &str) -> PendingCode {
    PendingCode {
        mac: mac.into(),
        expires_at: NOW + 600,
        wrong_tries: 0,
        used: false,
    }
}

fn consume() -> Consume {
    Consume {
        now: NOW,
        max_wrong_tries: 3,
        verified_at_ms: NOW * 1000,
        session_expires_at: NOW + 86_400 * 30,
    }
}

/// Runs every check; panics with the name of the first one that fails.
pub async fn run_all(store: Arc<dyn Store>) {
    sessions_round_trip_and_expire(store.as_ref()).await;
    issue_code_binds_one_number(store.as_ref()).await;
    wrong_tries_count_up_to_the_limit(store.as_ref()).await;
    a_code_is_consumed_once(store.as_ref()).await;
    withdraw_and_delete(store.as_ref()).await;
    insert_once_and_counters(store.as_ref()).await;
    mailboxes_keep_order_and_expire(store.as_ref()).await;
    concurrent_right_codes_verify_once(store.clone()).await;
    concurrent_wrong_codes_count_exactly_the_limit(store.clone()).await;
    concurrent_numbers_one_wins(store.clone()).await;
    sliding_limits_have_no_window_edges(store.as_ref()).await;
    sliding_refunds_give_back_only_the_newest_event(store.as_ref()).await;
    counts_refuse_past_their_max_until_they_expire(store.as_ref()).await;
    deliveries_are_claimed_once_and_remembered(store.as_ref()).await;
    concurrent_charges_succeed_exactly_max_times(store.clone()).await;
    concurrent_claims_one_wins(store.clone()).await;
    assert_eq!(store.ping().await, Ok(()), "ping");
}

async fn sessions_round_trip_and_expire(store: &dyn Store) {
    let key = fresh_key();
    assert_eq!(
        store.get_session(&key, NOW).await.unwrap(),
        None,
        "absent session"
    );
    let record = session(NOW + 100);
    store.put_session(&key, &record).await.unwrap();
    assert_eq!(
        store.get_session(&key, NOW).await.unwrap(),
        Some(record),
        "round trip"
    );
    assert_eq!(
        store.get_session(&key, NOW + 100).await.unwrap(),
        None,
        "a session is gone at its expires_at even if the item is still there"
    );
}

async fn issue_code_binds_one_number(store: &dyn Store) {
    let key = fresh_key();
    assert_eq!(
        store
            .issue_code(&key, &number("a"), &code("c1"), NOW)
            .await
            .unwrap(),
        IssueOutcome::NoSession
    );
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    assert_eq!(
        store
            .issue_code(&key, &number("a"), &code("c1"), NOW)
            .await
            .unwrap(),
        IssueOutcome::Issued
    );
    store.count_wrong_try(&key, "c1", 3).await.unwrap();
    // Same number again: a new code replaces the old one, with a fresh per-code count.
    let mut again = number("a");
    again.sealed = b"another ciphertext".to_vec();
    assert_eq!(
        store
            .issue_code(&key, &again, &code("c2"), NOW)
            .await
            .unwrap(),
        IssueOutcome::Issued
    );
    assert_eq!(
        store
            .issue_code(&key, &number("b"), &code("c3"), NOW)
            .await
            .unwrap(),
        IssueOutcome::OtherNumberBound,
        "a second number is refused"
    );
    let s = store.get_session(&key, NOW).await.unwrap().unwrap();
    assert_eq!(
        s.msisdn,
        Some(number("a")),
        "the first sealed number is kept"
    );
    assert_eq!(
        s.code,
        Some(code("c2")),
        "the refused call left the code alone"
    );
    let expired = fresh_key();
    store
        .put_session(&expired, &session(NOW - 1))
        .await
        .unwrap();
    assert_eq!(
        store
            .issue_code(&expired, &number("a"), &code("c"), NOW)
            .await
            .unwrap(),
        IssueOutcome::NoSession,
        "an expired session can't get a code"
    );
}

async fn wrong_tries_count_up_to_the_limit(store: &dyn Store) {
    let key = fresh_key();
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    store
        .issue_code(&key, &number("a"), &code("c1"), NOW)
        .await
        .unwrap();
    for n in 1..=3 {
        assert_eq!(
            store.count_wrong_try(&key, "c1", 3).await.unwrap(),
            WrongTry::Counted(n)
        );
    }
    assert_eq!(
        store.count_wrong_try(&key, "c1", 3).await.unwrap(),
        WrongTry::AlreadyLocked
    );
    assert_eq!(
        store.count_wrong_try(&key, "old", 3).await.unwrap(),
        WrongTry::CodeChanged
    );
    assert!(
        !store.consume_code(&key, "c1", &consume()).await.unwrap(),
        "a locked code can't be used"
    );
}

async fn a_code_is_consumed_once(store: &dyn Store) {
    let key = fresh_key();
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    store
        .issue_code(&key, &number("a"), &code("c1"), NOW)
        .await
        .unwrap();
    assert!(
        !store.consume_code(&key, "other", &consume()).await.unwrap(),
        "wrong mac"
    );
    let late = Consume {
        now: NOW + 600,
        ..consume()
    };
    assert!(
        !store.consume_code(&key, "c1", &late).await.unwrap(),
        "expired code"
    );
    assert!(
        store.consume_code(&key, "c1", &consume()).await.unwrap(),
        "first use"
    );
    assert!(
        !store.consume_code(&key, "c1", &consume()).await.unwrap(),
        "second use"
    );
    let s = store.get_session(&key, NOW).await.unwrap().unwrap();
    assert_eq!(s.verified_at_ms, Some(NOW * 1000));
    assert_eq!(
        s.expires_at,
        NOW + 86_400 * 30,
        "verified sessions live longer"
    );
    assert!(s.code.unwrap().used);
    assert_eq!(
        store.count_wrong_try(&key, "c1", 3).await.unwrap(),
        WrongTry::CodeChanged
    );
}

async fn withdraw_and_delete(store: &dyn Store) {
    let key = fresh_key();
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    store
        .issue_code(&key, &number("a"), &code("c1"), NOW)
        .await
        .unwrap();
    store.withdraw_code(&key, "not-this-one").await.unwrap();
    assert!(
        store
            .get_session(&key, NOW)
            .await
            .unwrap()
            .unwrap()
            .code
            .is_some()
    );
    store.withdraw_code(&key, "c1").await.unwrap();
    let s = store.get_session(&key, NOW).await.unwrap().unwrap();
    assert_eq!(s.code, None, "withdrawn");
    assert_eq!(s.msisdn, Some(number("a")), "the number stays bound");
    store.delete_session(&key).await.unwrap();
    assert_eq!(store.get_session(&key, NOW).await.unwrap(), None, "deleted");
    store.delete_session(&key).await.unwrap();
}

async fn insert_once_and_counters(store: &dyn Store) {
    let nonce = fresh_name("nonce");
    assert!(store.insert_once(&nonce, NOW + 120, NOW).await.unwrap());
    assert!(
        !store.insert_once(&nonce, NOW + 120, NOW).await.unwrap(),
        "replay"
    );
    assert!(
        store
            .insert_once(&nonce, NOW + 500, NOW + 120)
            .await
            .unwrap(),
        "expired entry"
    );
    store.forget(&nonce).await.unwrap();
    assert!(
        store.insert_once(&nonce, NOW + 500, NOW).await.unwrap(),
        "forgotten entry"
    );

    let counter = fresh_name("rl");
    assert_eq!(store.counter(&counter, NOW).await.unwrap(), 0);
    assert_eq!(store.increment(&counter, NOW + 60, NOW).await.unwrap(), 1);
    assert_eq!(store.increment(&counter, NOW + 60, NOW).await.unwrap(), 2);
    assert_eq!(store.counter(&counter, NOW + 59).await.unwrap(), 2);
    assert_eq!(
        store.counter(&counter, NOW + 60).await.unwrap(),
        0,
        "window over"
    );
    assert_eq!(
        store
            .increment(&counter, NOW + 120, NOW + 60)
            .await
            .unwrap(),
        1,
        "a new window starts from zero"
    );
}

async fn mailboxes_keep_order_and_expire(store: &dyn Store) {
    let to = fresh_name("33600000000");
    assert!(store.messages(&to, NOW).await.unwrap().is_empty());
    store
        .append_message(&to, r#"{"text":"one"}"#, NOW + 10)
        .await
        .unwrap();
    store
        .append_message(&to, r#"{"text":"two"}"#, NOW + 20)
        .await
        .unwrap();
    store
        .append_message(&fresh_name("other"), "x", NOW + 20)
        .await
        .unwrap();
    assert_eq!(
        store.messages(&to, NOW).await.unwrap(),
        [r#"{"text":"one"}"#, r#"{"text":"two"}"#]
    );
    assert_eq!(
        store.messages(&to, NOW + 10).await.unwrap(),
        [r#"{"text":"two"}"#],
        "expired"
    );
}

async fn concurrent_right_codes_verify_once(store: Arc<dyn Store>) {
    let key = fresh_key();
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    store
        .issue_code(&key, &number("a"), &code("c1"), NOW)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.consume_code(&key, "c1", &consume()).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1, "20 simultaneous right codes verify exactly once");
}

async fn concurrent_wrong_codes_count_exactly_the_limit(store: Arc<dyn Store>) {
    let key = fresh_key();
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    store
        .issue_code(&key, &number("a"), &code("c1"), NOW)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.count_wrong_try(&key, "c1", 3).await.unwrap() })
        })
        .collect();
    let mut counted = 0;
    for t in tasks {
        match t.await.unwrap() {
            WrongTry::Counted(_) => counted += 1,
            WrongTry::AlreadyLocked => {}
            WrongTry::CodeChanged => panic!("the code did not change"),
        }
    }
    assert_eq!(counted, 3, "50 simultaneous wrong codes count exactly 3");
    let s = store.get_session(&key, NOW).await.unwrap().unwrap();
    assert_eq!(s.code.unwrap().wrong_tries, 3);
}

async fn concurrent_numbers_one_wins(store: Arc<dyn Store>) {
    let key = fresh_key();
    store.put_session(&key, &session(NOW + 1000)).await.unwrap();
    let a = {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move {
            store
                .issue_code(&key, &number("a"), &code("ca"), NOW)
                .await
                .unwrap()
        })
    };
    let b = {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move {
            store
                .issue_code(&key, &number("b"), &code("cb"), NOW)
                .await
                .unwrap()
        })
    };
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let mut outcomes = [a, b];
    outcomes.sort_by_key(|o| *o as u8);
    assert_eq!(
        outcomes,
        [IssueOutcome::Issued, IssueOutcome::OtherNumberBound]
    );
    let s = store.get_session(&key, NOW).await.unwrap().unwrap();
    let winner = if a == IssueOutcome::Issued { "a" } else { "b" };
    assert_eq!(s.msisdn, Some(number(winner)), "the winner's number stays");
    assert_eq!(s.code.unwrap().mac, format!("c{winner}"), "and its code");
}

fn per_number() -> Limit {
    Limit::Sliding(vec![
        Window { max: 1, secs: 30 },
        Window { max: 3, secs: 600 },
    ])
}

fn refused(retry_after: i64, window: usize) -> Charge {
    Charge::Refused {
        window,
        retry_after,
    }
}

async fn sliding_limits_have_no_window_edges(store: &dyn Store) {
    let key = fresh_name("rl");
    let limit = per_number();
    // Whatever the start, the second event waits exactly 30 s.
    let start = NOW + 17;
    assert_eq!(
        store.charge(&key, &limit, start).await.unwrap(),
        Charge::Charged
    );
    assert_eq!(
        store.charge(&key, &limit, start + 1).await.unwrap(),
        refused(29, 0),
        "a refusal says when"
    );
    assert_eq!(
        store.charge(&key, &limit, start + 29).await.unwrap(),
        refused(1, 0)
    );
    assert_eq!(
        store.charge(&key, &limit, start + 30).await.unwrap(),
        Charge::Charged
    );
    assert_eq!(
        store.charge(&key, &limit, start + 60).await.unwrap(),
        Charge::Charged
    );
    // Three in 600 s: the fourth waits for the first to be 600 s old (the longer wait wins).
    assert_eq!(
        store.charge(&key, &limit, start + 90).await.unwrap(),
        refused(510, 1)
    );
    assert_eq!(
        store.charge(&key, &limit, start + 600).await.unwrap(),
        Charge::Charged
    );
    let other = fresh_name("rl");
    assert_eq!(
        store.charge(&other, &limit, start + 601).await.unwrap(),
        Charge::Charged,
        "keys are independent"
    );
}

async fn sliding_refunds_give_back_only_the_newest_event(store: &dyn Store) {
    let key = fresh_name("rl");
    let limit = per_number();
    assert_eq!(
        store.charge(&key, &limit, NOW).await.unwrap(),
        Charge::Charged
    );
    store.refund(&key, &limit, NOW).await.unwrap();
    assert_eq!(
        store.charge(&key, &limit, NOW + 1).await.unwrap(),
        Charge::Charged,
        "given back: as if never charged"
    );
    assert_eq!(
        store.charge(&key, &limit, NOW + 31).await.unwrap(),
        Charge::Charged
    );
    // Not the newest: the charge at NOW + 1 stays.
    store.refund(&key, &limit, NOW + 1).await.unwrap();
    assert_eq!(
        store.charge(&key, &limit, NOW + 62).await.unwrap(),
        Charge::Charged
    );
    assert_eq!(
        store.charge(&key, &limit, NOW + 93).await.unwrap(),
        refused(508, 1),
        "three in 600 s: NOW+1, +31, +62"
    );
    // A refund of the newest lets the window's count down again.
    store.refund(&key, &limit, NOW + 62).await.unwrap();
    assert_eq!(
        store.charge(&key, &limit, NOW + 93).await.unwrap(),
        Charge::Charged
    );
    store.refund(&fresh_name("rl"), &limit, NOW).await.unwrap();
}

async fn counts_refuse_past_their_max_until_they_expire(store: &dyn Store) {
    let key = fresh_name("rl");
    let limit = Limit::Count {
        max: 3,
        expires_at: NOW + 60,
    };
    for _ in 0..3 {
        assert_eq!(
            store.charge(&key, &limit, NOW).await.unwrap(),
            Charge::Charged
        );
    }
    assert_eq!(
        store.charge(&key, &limit, NOW + 10).await.unwrap(),
        refused(50, 0)
    );
    store.refund(&key, &limit, NOW).await.unwrap();
    assert_eq!(
        store.charge(&key, &limit, NOW + 10).await.unwrap(),
        Charge::Charged
    );
    assert_eq!(
        store.charge(&key, &limit, NOW + 10).await.unwrap(),
        refused(50, 0)
    );
    let later = Limit::Count {
        max: 3,
        expires_at: NOW + 120,
    };
    assert_eq!(
        store.charge(&key, &later, NOW + 60).await.unwrap(),
        Charge::Charged,
        "an expired count starts again"
    );
    assert_eq!(
        store.charge(&key, &later, NOW + 61).await.unwrap(),
        Charge::Charged
    );
    assert_eq!(
        store.charge(&key, &later, NOW + 61).await.unwrap(),
        Charge::Charged
    );
    assert_eq!(
        store.charge(&key, &later, NOW + 61).await.unwrap(),
        refused(59, 0)
    );
    store.refund(&fresh_name("rl"), &limit, NOW).await.unwrap();
}

async fn deliveries_are_claimed_once_and_remembered(store: &dyn Store) {
    let key = fresh_name("delivery");
    assert_eq!(
        store.claim_delivery(&key, NOW + 60, NOW).await.unwrap(),
        Delivery::Claimed
    );
    assert_eq!(
        store
            .claim_delivery(&key, NOW + 70, NOW + 10)
            .await
            .unwrap(),
        Delivery::InFlight
    );
    assert_eq!(
        store
            .claim_delivery(&key, NOW + 120, NOW + 60)
            .await
            .unwrap(),
        Delivery::Claimed,
        "a lease that ran out (a crashed delivery) is taken over"
    );
    store.settle_delivery(&key, None).await.unwrap();
    assert_eq!(
        store
            .claim_delivery(&key, NOW + 130, NOW + 70)
            .await
            .unwrap(),
        Delivery::Claimed,
        "released after a failure: the retry delivers"
    );
    store
        .settle_delivery(&key, Some(NOW + 86_400))
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_delivery(&key, NOW + 200, NOW + 140)
            .await
            .unwrap(),
        Delivery::Done
    );
    assert_eq!(
        store
            .claim_delivery(&key, NOW + 86_460, NOW + 86_400)
            .await
            .unwrap(),
        Delivery::Claimed,
        "forgotten after its period"
    );
}

async fn concurrent_charges_succeed_exactly_max_times(store: Arc<dyn Store>) {
    let limits = [
        Limit::Sliding(vec![Window { max: 7, secs: 600 }]),
        Limit::Count {
            max: 7,
            expires_at: NOW + 600,
        },
    ];
    for limit in limits {
        let key = fresh_name("rl");
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (store, key, limit) = (store.clone(), key.clone(), limit.clone());
                tokio::spawn(async move { store.charge(&key, &limit, NOW).await.unwrap() })
            })
            .collect();
        let mut charged = 0;
        for t in tasks {
            match t.await.unwrap() {
                Charge::Charged => charged += 1,
                Charge::Refused { retry_after, .. } => assert_eq!(retry_after, 600),
            }
        }
        assert_eq!(charged, 7, "40 concurrent charges against {limit:?}");
    }
}

async fn concurrent_claims_one_wins(store: Arc<dyn Store>) {
    let key = fresh_name("delivery");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.claim_delivery(&key, NOW + 60, NOW).await.unwrap() })
        })
        .collect();
    let mut claimed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Delivery::Claimed => claimed += 1,
            Delivery::InFlight => {}
            Delivery::Done => panic!("nothing was delivered"),
        }
    }
    assert_eq!(claimed, 1, "20 concurrent claims of one delivery");
}
