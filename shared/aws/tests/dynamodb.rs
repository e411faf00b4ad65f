//! The DynamoDB store on DynamoDB Local (issue 3), through the real SDK client configured only
//! by `AWS_ENDPOINT_URL_DYNAMODB`: the store contract and the DynamoDB-specific paths, the
//! concurrency properties end to end through the HTTP layer, privacy at rest, behaviour during
//! an outage, and how many DynamoDB requests each endpoint costs.
//!
//! Every test makes its own tables. Without the variable the tests skip (with a line on
//! stderr), unless `MOBILEID_REQUIRE_SERVERS=1`, which makes them fail.

#[path = "dynamodb/proxy.rs"]
mod proxy;
#[path = "dynamodb/server.rs"]
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Method, Request, StatusCode};
use mobileid::clock::Clock;
use mobileid::crypto::SessionKey;
use mobileid::random::{OsRandomness, random_array};
use mobileid::store::{Consume, PendingCode, SessionRecord, Store, StoreError};
use mobileid::testkit::{Device, TestApp, TestResponse, json_request};
use mobileid_aws::DynamoStore;
use mobileid_aws::dynamodb::RequestCounts;
use serde_json::json;

use proxy::{Mode, Proxy};
use server::{Item, Tables};

const VERIFY_CODE: &str = "/v1/msisdn/sms/verify_code";
const MT_VERIFY: &str = "/v1/msisdn/sms/mt/verify";
const SIGN: &str = "/v1/certificate/sign";
const FRANCE: &str = "208";
const NOW: i64 = 1_800_000_000;

/// Fresh tables, or return from the test (skipped) when there is no DynamoDB.
macro_rules! tables {
    () => {
        match Tables::create().await {
            Some(tables) => tables,
            None => return,
        }
    };
}

async fn app_on(tables: &Tables) -> TestApp {
    TestApp::builder().store(tables.store.clone()).build().await
}

/// The dev stage with the per-number check budgets out of the way, so that a test sees the
/// per-code limit alone.
async fn app_without_number_limit(tables: &Tables) -> TestApp {
    let dev = include_str!("../../../infra/stages/dev.toml");
    let line = "wrong_tries_per_number_per_client = 63\nwrong_tries_per_number = 64\n";
    let stage = match dev.find("[limits]\n") {
        Some(at) => format!("{}{line}{}", &dev[..at + 9], &dev[at + 9..]),
        None => format!("{dev}\n[limits]\n{line}"),
    };
    TestApp::builder()
        .store(tables.store.clone())
        .stage_toml(&stage)
        .build()
        .await
}

/// Runs the futures at the same time, each in its own task; their outputs in order.
async fn spawn_all<T: Send + 'static>(
    futures: impl IntoIterator<Item: Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.expect("task"));
    }
    outputs
}

/// Sends all requests at once; the responses in the same order.
async fn all_at_once(app: &Arc<TestApp>, requests: Vec<Request<Body>>) -> Vec<TestResponse> {
    spawn_all(requests.into_iter().map(|request| {
        let app = app.clone();
        async move { app.call(request).await }
    }))
    .await
}

fn status_errno(res: &TestResponse) -> (u16, Option<u64>) {
    (res.status.as_u16(), res.errno())
}

fn signed(app: &TestApp, device: &Device, path: &str, body: serde_json::Value) -> Request<Body> {
    device.request(&app.clock, Method::POST, path, Some(&body))
}

/// A short code for `number`, read from the fake gateway.
async fn short_code(app: &TestApp, device: &Device, number: &str) -> String {
    let res = app.ask_code(device, number, FRANCE, true).await;
    assert_eq!(
        res.status,
        StatusCode::NO_CONTENT,
        "mt/verify: {}",
        res.json()
    );
    app.last_code_to(number).expect("an SMS with the code")
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("a short code");
    format!("{:06}", (n + 1) % 1_000_000)
}

/// n = 10^617 + 1: odd and of 2050 bits, what the service checks of an RSA modulus.
const RSA_KEY: &str = concat!(
    r#"{"algorithm":"RS","n":"1"#,
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    r#"1","e":"65537"}"#
);

fn sign_body() -> serde_json::Value {
    json!({"publicKey": RSA_KEY, "duration": 3600})
}

// ---- the store itself ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_store_meets_the_contract() {
    let tables = tables!();
    mobileid::store::contract::run_all(tables.store.clone()).await;
    tables.drop_tables().await;
}

fn key(name: &str) -> String {
    format!("{name}#{}", hex::encode(random_array::<8>(&OsRandomness)))
}

/// `n` copies of an operation, at the same time.
async fn concurrently<T: Send + 'static, F: Future<Output = T> + Send + 'static>(
    n: usize,
    make: impl Fn() -> F,
) -> Vec<T> {
    spawn_all((0..n).map(|_| make())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_counters_and_markers_restart_exactly_once_under_concurrency() {
    let tables = tables!();
    let store: Arc<dyn Store> = tables.store.clone();

    let counter = key("rl");
    store.increment(&counter, NOW + 60, NOW).await.unwrap();
    store.increment(&counter, NOW + 60, NOW).await.unwrap();
    // 20 requests in the next window: one restarts the counter, all count in the new window.
    let mut values = concurrently(20, || {
        let (store, counter) = (store.clone(), counter.clone());
        async move {
            store
                .increment(&counter, NOW + 120, NOW + 60)
                .await
                .unwrap()
        }
    })
    .await;
    values.sort_unstable();
    assert_eq!(
        values,
        (1..=20).collect::<Vec<u64>>(),
        "each increment counted once, from 1"
    );
    assert_eq!(store.counter(&counter, NOW + 119).await.unwrap(), 20);
    assert_eq!(
        store.counter(&counter, NOW + 120).await.unwrap(),
        0,
        "expired, still in the table"
    );

    for expired_first in [false, true] {
        let marker = key("nonce");
        if expired_first {
            assert!(store.insert_once(&marker, NOW + 10, NOW).await.unwrap());
        }
        let firsts = concurrently(20, || {
            let (store, marker) = (store.clone(), marker.clone());
            async move {
                store
                    .insert_once(&marker, NOW + 100, NOW + 10)
                    .await
                    .unwrap()
            }
        })
        .await;
        let wins = firsts.iter().filter(|first| **first).count();
        assert_eq!(
            wins, 1,
            "exactly one first insert (an expired marker before: {expired_first})"
        );
    }
    tables.drop_tables().await;
}

#[tokio::test]
async fn a_session_that_already_lives_longer_keeps_its_expiry_when_verified() {
    let tables = tables!();
    let store = tables.store.as_ref();
    let session = SessionKey::from_stored(key("s"));
    let far = NOW + 90 * 86_400;
    let record = SessionRecord {
        sealed_auth_key: vec![1],
        expires_at: far,
        msisdn: None,
        code: None,
        verified_at_ms: None,
    };
    store.put_session(&session, &record).await.unwrap();
    let bound = mobileid::store::BoundMsisdn {
        mac: "m".into(),
        sealed: vec![2],
    };
    let code = PendingCode {
        mac: "c".into(),
        expires_at: NOW + 600,
        wrong_tries: 0,
        used: false,
    };
    store
        .issue_code(&session, &bound, &code, NOW)
        .await
        .unwrap();
    let consume = Consume {
        now: NOW,
        max_wrong_tries: 3,
        verified_at_ms: NOW * 1000,
        session_expires_at: NOW + 86_400,
    };
    assert!(store.consume_code(&session, "c", &consume).await.unwrap());
    let after = store.get_session(&session, NOW).await.unwrap().unwrap();
    assert_eq!(after.expires_at, far, "never shortened");
    assert_eq!(after.verified_at_ms, Some(NOW * 1000));
    assert!(
        !store.consume_code(&session, "c", &consume).await.unwrap(),
        "and still once"
    );
    tables.drop_tables().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mailboxes_keep_every_concurrent_message_and_the_latest_hundred() {
    let tables = tables!();
    let store: Arc<dyn Store> = tables.store.clone();
    let to = key("33600000000");
    concurrently(20, || {
        let (store, to) = (store.clone(), to.clone());
        async move { store.append_message(&to, "x", NOW + 100).await.unwrap() }
    })
    .await;
    assert_eq!(
        store.messages(&to, NOW).await.unwrap().len(),
        20,
        "no append lost"
    );
    for i in 0..90 {
        store
            .append_message(&to, &format!("m{i}"), NOW + 200)
            .await
            .unwrap();
    }
    let kept = store.messages(&to, NOW).await.unwrap();
    assert_eq!(kept.len(), 100, "capped");
    assert_eq!(kept.last().unwrap(), "m89", "newest last");
    assert_eq!(kept[10], "m0", "the oldest ten dropped");
    assert_eq!(
        store.messages(&to, NOW + 100).await.unwrap().len(),
        90,
        "expired messages hidden"
    );
    tables.drop_tables().await;
}

#[tokio::test]
async fn unreadable_items_and_missing_tables_are_errors_not_answers() {
    let tables = tables!();
    let session = key("s");
    let mut item = Item::new();
    item.insert("pk".into(), AttributeValue::S(session.clone()));
    item.insert("expires_at".into(), AttributeValue::S("soon".into()));
    tables
        .raw
        .put_item()
        .table_name(tables.store.sessions_table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let read = tables
        .store
        .get_session(&SessionKey::from_stored(session), NOW)
        .await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");

    let missing = DynamoStore::new(
        server::client_config(None).await,
        "mobileid-test-none-s",
        "mobileid-test-none-c",
    );
    let ping = missing.ping().await;
    assert!(
        matches!(&ping, Err(StoreError::Unavailable(m)) if m.contains("ResourceNotFound")),
        "{ping:?}"
    );
    tables.drop_tables().await;
}

// ---- concurrency through the HTTP layer -----------------------------------------------------

/// A client that retries before its first try answered sends the same code twice at once:
/// every one of the submissions answers with the number (a repeat of the one that consumed
/// the code is idempotent), and the code is consumed, and counted as verified, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_simultaneous_right_codes_verify_once() {
    let tables = tables!();
    // Every check is charged to the number's budgets: lift them past 20 so that the code's own
    // single use is what the answers show.
    let app = Arc::new(app_without_number_limit(&tables).await);
    let device = app.register().await;
    let number = "+33612340001";
    let code = short_code(&app, &device, number).await;
    let requests = (0..20)
        .map(|_| signed(&app, &device, VERIFY_CODE, json!({"code": code})))
        .collect();
    let responses = all_at_once(&app, requests).await;
    for res in &responses {
        assert_eq!(res.status, StatusCode::OK, "{}", res.json());
        assert_eq!(res.json(), json!({"msisdn": number}));
    }
    assert_eq!(
        app.metric_lines("CodesVerified").len(),
        1,
        "one verification, however many answers"
    );
    // The code is used: another code on the session is refused as before.
    let other = if code == "000000" { "000001" } else { "000000" };
    let late = app
        .call(signed(&app, &device, VERIFY_CODE, json!({"code": other})))
        .await;
    assert_eq!(status_errno(&late), (410, Some(111)), "{}", late.json());
    tables.drop_tables().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_wrong_codes_count_three() {
    let tables = tables!();
    let app = Arc::new(app_without_number_limit(&tables).await);
    let device = app.register().await;
    let number = "+33612340002";
    let code = short_code(&app, &device, number).await;
    let requests = (0..50)
        .map(|_| signed(&app, &device, VERIFY_CODE, json!({"code": wrong(&code)})))
        .collect();
    let responses = all_at_once(&app, requests).await;
    let counted = responses
        .iter()
        .filter(|r| status_errno(r) == (400, Some(105)))
        .count();
    let locked = responses
        .iter()
        .filter(|r| status_errno(r) == (410, Some(111)))
        .count();
    assert_eq!(
        (counted, locked),
        (3, 47),
        "3 wrong tries counted, the rest refused as locked"
    );
    let session = app.state.ids.session_key(&device.id);
    let stored = tables
        .store
        .get_session(&session, app.clock.now_secs())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.code.unwrap().wrong_tries, 3);
    let right = app.submit_code(&device, &code).await;
    assert_eq!(
        status_errno(&right),
        (410, Some(111)),
        "the locked code is dead, even right"
    );
    tables.drop_tables().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_simultaneous_numbers_on_one_session_one_wins_and_stays() {
    let tables = tables!();
    let app = Arc::new(app_on(&tables).await);
    let device = app.register().await;
    let numbers = ["+33612340003", "+33612340004"];
    let requests = numbers
        .iter()
        .map(|n| {
            signed(
                &app,
                &device,
                MT_VERIFY,
                json!({"msisdn": n, "mcc": FRANCE, "shortVerificationCode": true}),
            )
        })
        .collect();
    let responses = all_at_once(&app, requests).await;
    let outcomes: Vec<_> = responses.iter().map(status_errno).collect();
    let winner = match outcomes.as_slice() {
        [(204, None), (400, Some(107))] => 0,
        [(400, Some(107)), (204, None)] => 1,
        other => panic!("expected one 204 and one 400/107, got {other:?}"),
    };
    let (won, lost) = (numbers[winner], numbers[1 - winner]);
    assert!(
        app.sms_to(lost).is_empty(),
        "nothing sent to the refused number"
    );
    let code = app.last_code_to(won).expect("the winner's code");
    let verified = app.submit_code(&device, &code).await;
    assert_eq!(
        verified.json(),
        json!({"msisdn": won}),
        "the winner's number is the one verified"
    );
    tables.drop_tables().await;
}

// ---- privacy at rest --------------------------------------------------------------------------

/// Everything that must never be stored in clear, for one verified device.
struct Secrets {
    text: Vec<String>,
    bytes: Vec<Vec<u8>>,
    codes: Vec<String>,
}

impl Secrets {
    fn new() -> Self {
        Secrets {
            text: Vec::new(),
            bytes: Vec::new(),
            codes: Vec::new(),
        }
    }

    /// A French mobile number in the formats people and systems write it.
    fn number(&mut self, e164: &str) {
        let national = e164.strip_prefix("+33").expect("a French number");
        let spaced: Vec<String> = format!("0{national}")
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into())
            .collect();
        self.text.extend([
            e164.to_owned(),
            e164[1..].to_owned(),
            format!("0{national}"),
            national.to_owned(),
            spaced.join(" "),
            format!("+33 {} {}", &national[..1], spaced[1..].join(" ")),
        ]);
    }

    fn device(&mut self, device: &Device) {
        for (hex, raw) in [
            (device.token.to_hex(), device.token.as_bytes().to_vec()),
            (device.id.to_hex(), device.id.as_bytes().to_vec()),
            (device.key.to_hex(), device.key.as_bytes().to_vec()),
        ] {
            self.text.push(hex.to_uppercase());
            self.text.push(hex);
            self.bytes.push(raw);
        }
    }

    /// What of these secrets `value` (an attribute, at any depth) holds; empty if none.
    fn found_in(&self, value: &AttributeValue) -> Vec<String> {
        let contains =
            |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
        let text_in = |haystack: &[u8]| {
            self.text
                .iter()
                .chain(&self.codes)
                .filter(|t| contains(haystack, t.as_bytes()))
                .cloned()
                .collect::<Vec<_>>()
        };
        match value {
            AttributeValue::S(s) => text_in(s.as_bytes()),
            // A code stored as a number would be the whole number; the digits of timestamps
            // may contain a 6-digit code by chance, which is not a leak.
            AttributeValue::N(n) => {
                let mut found: Vec<String> = self
                    .codes
                    .iter()
                    .filter(|c| c.trim_start_matches('0') == n.as_str())
                    .cloned()
                    .collect();
                found.extend(
                    self.text
                        .iter()
                        .filter(|t| t.len() > 9 && n.contains(t.as_str()))
                        .cloned(),
                );
                found
            }
            AttributeValue::B(b) => {
                let b = b.as_ref();
                let mut found = text_in(b);
                found.extend(
                    self.bytes
                        .iter()
                        .filter(|raw| contains(b, raw))
                        .map(hex::encode),
                );
                found
            }
            AttributeValue::L(list) => list.iter().flat_map(|v| self.found_in(v)).collect(),
            AttributeValue::M(map) => map
                .iter()
                .flat_map(|(k, v)| {
                    let mut found = self.found_in(v);
                    found.extend(text_in(k.as_bytes()));
                    found
                })
                .collect(),
            AttributeValue::Ss(list) => list.iter().flat_map(|s| text_in(s.as_bytes())).collect(),
            _ => Vec::new(),
        }
    }

    fn leaks(&self, items: &[(String, Item)]) -> Vec<String> {
        items
            .iter()
            .flat_map(|(table, item)| {
                item.iter().flat_map(move |(name, value)| {
                    let mut found = self.found_in(value);
                    found.extend(self.found_in(&AttributeValue::S(name.clone())));
                    found
                        .into_iter()
                        .map(move |secret| format!("{table}: attribute {name} holds {secret}"))
                })
            })
            .collect()
    }
}

#[tokio::test]
async fn nothing_identifying_is_stored_in_clear() {
    let tables = tables!();
    let app = app_on(&tables).await;
    let mut secrets = Secrets::new();

    // SMS-MT to the end: code, verification, certificate.
    let mt_number = "+33612340005";
    let mt = app.register().await;
    let code = short_code(&app, &mt, mt_number).await;
    assert_eq!(
        app.submit_code(&mt, &code).await.json(),
        json!({"msisdn": mt_number})
    );
    assert_eq!(
        app.post_as(&mt, SIGN, &sign_body()).await.status,
        StatusCode::OK
    );
    secrets.number(mt_number);
    secrets.device(&mt);
    secrets.codes.push(code);

    // SMS-MO+MT: the device texts its Hawk id; the webhook learns the number from the sender.
    let mo_number = "+33612340006";
    let mo = app.register().await;
    let text = format!("/v1/msisdn/sms/momt/verify {}", mo.id.to_hex());
    let query = serde_urlencoded::to_string([
        ("msisdn", &mo_number[1..]),
        ("text", text.as_str()),
        ("messageId", "0B00000012345678"),
    ])
    .unwrap();
    let inbound = app
        .send(
            Method::GET,
            &format!("/v1/msisdn/sms/momt/nexmo?{query}"),
            None,
        )
        .await;
    assert_eq!(inbound.status, StatusCode::OK, "{}", inbound.json());
    let long_code = app.last_code_to(mo_number).expect("the long code");
    assert_eq!(
        app.submit_code(&mo, &long_code).await.json(),
        json!({"msisdn": mo_number})
    );
    assert_eq!(
        app.post_as(&mo, SIGN, &sign_body()).await.status,
        StatusCode::OK
    );
    secrets.number(mo_number);
    secrets.device(&mo);
    secrets.codes.push(long_code);

    let items = tables.scan_all().await;
    let sessions = items
        .iter()
        .filter(|(t, _)| t == tables.store.sessions_table())
        .count();
    assert_eq!(sessions, 2, "the scan sees both sessions");
    assert!(
        items.len() > sessions,
        "and the counters table's items (nonces, limits, inbound id)"
    );
    let leaks = secrets.leaks(&items);
    assert!(leaks.is_empty(), "stored in clear:\n{}", leaks.join("\n"));

    // The check itself finds a leak when there is one.
    let mut planted = items[0].clone();
    planted.1.insert(
        "note".into(),
        AttributeValue::S(format!("sent to 06 12 34 00 05 ({})", mt.id.to_hex())),
    );
    assert_eq!(secrets.leaks(&[planted]).len(), 2);
    tables.drop_tables().await;
}

// ---- outage -------------------------------------------------------------------------------------

fn assert_unavailable(res: &TestResponse, what: &str) {
    assert_eq!(
        status_errno(res),
        (503, Some(201)),
        "{what}: {}",
        res.json()
    );
    let retry_after: u64 = res
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header");
    assert!(retry_after > 0, "{what}: Retry-After {retry_after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_answers_503_quickly_and_loses_nothing() {
    let Some(endpoint) = server::endpoint() else {
        return;
    };
    let proxy = Proxy::start(&endpoint).await;
    let tables = Tables::create_via(Some(&proxy.url)).await;
    let app = app_on(&tables).await;
    let device = app.register().await;
    let number = "+33612340007";
    let code = short_code(&app, &device, number).await;

    for mode in [Mode::Blackhole, Mode::Refuse] {
        proxy.set(mode);
        let started = Instant::now();
        let (verify, register, heartbeat) = tokio::join!(
            app.submit_code(&device, &code),
            app.send(Method::POST, "/v1/msisdn/register", None),
            app.send(Method::GET, "/__heartbeat__", None),
        );
        let took = started.elapsed();
        assert_unavailable(&verify, "verify_code");
        assert_unavailable(&register, "register");
        assert_eq!(
            heartbeat.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{mode:?}"
        );
        assert_eq!(heartbeat.json()["storage"], false);
        assert!(heartbeat.header("retry-after").is_some());
        assert!(
            took < Duration::from_secs(5),
            "{mode:?}: answered after {took:?}"
        );
        println!("{mode:?}: 503 after {took:?}");
    }

    proxy.set(Mode::Up);
    let heartbeat = app.send(Method::GET, "/__heartbeat__", None).await;
    assert_eq!(heartbeat.json()["storage"], true, "the store is back");
    let verified = app.submit_code(&device, &code).await;
    assert_eq!(
        verified.json(),
        json!({"msisdn": number}),
        "the session and code survived"
    );
    assert_eq!(
        app.post_as(&device, SIGN, &sign_body()).await.status,
        StatusCode::OK
    );
    tables.drop_tables().await;
}

// ---- requests per endpoint --------------------------------------------------------------------

/// A client address, as API Gateway gives one: the per-address limits count too.
fn from_client(mut request: Request<Body>) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 7], 40_000))));
    request
}

struct Meter<'a> {
    app: &'a TestApp,
    store: &'a DynamoStore,
    rows: Vec<(&'static str, RequestCounts)>,
}

impl Meter<'_> {
    /// Sends `request` and records the DynamoDB requests it cost, under `label`, checking the
    /// status and the bounds (reads, writes).
    async fn call(
        &mut self,
        label: &'static str,
        request: Request<Body>,
        status: u16,
        max: (u64, u64),
    ) -> TestResponse {
        let before = self.store.request_counts();
        let res = self.app.call(from_client(request)).await;
        let cost = self.store.request_counts().since(&before);
        assert_eq!(res.status.as_u16(), status, "{label}: {}", res.json());
        assert!(
            cost.reads() <= max.0 && cost.writes() <= max.1,
            "{label} costs {cost}, more than {} reads, {} writes",
            max.0,
            max.1
        );
        self.rows.push((label, cost));
        res
    }
}

/// Upper bounds (reads, writes) on each call's cost, as measured when this was written: a
/// change that makes an endpoint dearer must say so here. Hawk authentication is 1 read (the
/// session) + 1 write (the nonce); each rate-limit window is 1 write (or 1 read to look).
const REGISTER: (u64, u64) = (0, 3); // 2 per-address windows + the session
const MT_VERIFY_COST: (u64, u64) = (1, 8); // Hawk + 2 address + session + number (one item, 3 windows) + range + country shard + the code
const RIGHT_CODE: (u64, u64) = (1, 4); // Hawk + the (number, address) and number check budgets + consume the code
const WRONG_CODE: (u64, u64) = (1, 4); // Hawk + the two check budgets + count on the code
const HAWK_ONLY: (u64, u64) = (1, 1); // certificate/sign
const UNREGISTER: (u64, u64) = (1, 2); // Hawk + delete the session
const INBOUND: (u64, u64) = (1, 7); // claim the messageId + the session + number + range + country shard + the code + settle the claim
const HEARTBEAT: (u64, u64) = (2, 0); // one read per table

#[tokio::test]
async fn dynamodb_requests_per_endpoint() {
    let tables = tables!();
    let app = app_on(&tables).await;
    let store = tables.store.as_ref();
    let mut meter = Meter {
        app: &app,
        store,
        rows: Vec::new(),
    };
    let register = || json_request(Method::POST, "/v1/msisdn/register", None, None);
    let token =
        |res: &TestResponse| Device::from_token(res.json()["msisdnSessionToken"].as_str().unwrap());

    // One whole SMS-MT flow.
    let flow_start = store.request_counts();
    let device = token(
        &meter
            .call("POST /v1/msisdn/register", register(), 200, REGISTER)
            .await,
    );
    let number = "+33612340008";
    let ask = json!({"msisdn": number, "mcc": FRANCE, "shortVerificationCode": true});
    let ask = signed(&app, &device, MT_VERIFY, ask);
    meter
        .call("POST /v1/msisdn/sms/mt/verify", ask, 204, MT_VERIFY_COST)
        .await;
    let code = json!({"code": app.last_code_to(number).unwrap()});
    let submit = signed(&app, &device, VERIFY_CODE, code);
    meter
        .call("POST /v1/msisdn/sms/verify_code", submit, 200, RIGHT_CODE)
        .await;
    let sign = signed(&app, &device, SIGN, sign_body());
    meter
        .call("POST /v1/certificate/sign", sign, 200, HAWK_ONLY)
        .await;
    let unregister = signed(&app, &device, "/v1/msisdn/unregister", json!({}));
    meter
        .call("POST /v1/msisdn/unregister", unregister, 204, UNREGISTER)
        .await;
    let flow = store.request_counts().since(&flow_start);

    // The other calls: discover, the SMS-MO webhook, a wrong code, the heartbeat.
    let discover = json!({"mcc": FRANCE}).to_string();
    let discover = json_request(Method::POST, "/v1/msisdn/discover", Some(discover), None);
    meter
        .call("POST /v1/msisdn/discover", discover, 200, (0, 0))
        .await;
    let mo = token(
        &meter
            .call("POST /v1/msisdn/register", register(), 200, REGISTER)
            .await,
    );
    let text = format!("/v1/msisdn/sms/momt/verify {}", mo.id.to_hex());
    let query = [
        ("msisdn", "33612340009"),
        ("text", &text),
        ("messageId", "0B0000001"),
    ];
    let path = format!(
        "/v1/msisdn/sms/momt/nexmo?{}",
        serde_urlencoded::to_string(query).unwrap()
    );
    let inbound = json_request(Method::GET, &path, None, None);
    meter
        .call(
            "GET /v1/msisdn/sms/momt/nexmo (SMS-MO)",
            inbound,
            200,
            INBOUND,
        )
        .await;
    let wrong_code = signed(&app, &mo, VERIFY_CODE, json!({"code": "0".repeat(32)}));
    meter
        .call(
            "POST /v1/msisdn/sms/verify_code (wrong code)",
            wrong_code,
            400,
            WRONG_CODE,
        )
        .await;
    let heartbeat = json_request(Method::GET, "/__heartbeat__", None, None);
    meter
        .call("GET /__heartbeat__", heartbeat, 200, HEARTBEAT)
        .await;

    println!("\nDynamoDB requests per call (success paths unless noted):");
    println!("| call | reads | writes |\n|---|---|---|");
    for (label, cost) in &meter.rows {
        println!("| {label} | {} | {} |", cost.reads(), cost.writes());
    }
    let whole = "whole SMS-MT flow (register → mt/verify → verify_code → sign → unregister)";
    println!("| {whole} | {} | {} |", flow.reads(), flow.writes());
    let steps = [REGISTER, MT_VERIFY_COST, RIGHT_CODE, HAWK_ONLY, UNREGISTER];
    let max = steps
        .iter()
        .fold((0, 0), |(r, w), step| (r + step.0, w + step.1));
    assert!(
        flow.reads() <= max.0 && flow.writes() <= max.1,
        "whole flow: {flow}, bound {max:?}"
    );
    tables.drop_tables().await;
}
