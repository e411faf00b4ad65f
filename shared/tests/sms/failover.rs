//! Failover through the router: a dead or hanging first provider is passed over; when every
//! attempt fails, the client gets 503/201 with Retry-After and the undelivered code is dead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use mobileid::sms::{Failover, NexmoSender, SmsSender};
use mobileid::testkit::TestApp;

use crate::support::{FormServer, Reply, ask_code, dead_url, some_ids, submit_code};

const NUMBER: &str = "+33612345678";

fn nexmo(url: &str, timeout: Duration) -> Arc<dyn SmsSender> {
    Arc::new(NexmoSender::new(url, "k", "s", timeout).unwrap())
}

/// The code in the text of each SMS the server was asked to send.
fn codes(server: &FormServer) -> Vec<String> {
    server
        .received()
        .iter()
        .filter_map(|form| form.iter().find(|(k, _)| k == "text"))
        .filter_map(|(_, text)| mobileid::sms::text::code_in(text).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_dead_first_provider_is_passed_over_and_the_second_delivers() {
    let second = FormServer::start(Reply::nexmo_ok()).await;
    let providers = vec![
        nexmo(&dead_url().await, Duration::from_secs(2)),
        nexmo(&second.url, Duration::from_secs(2)),
    ];
    let failover = Failover::new(providers, 3, Duration::from_secs(2), some_ids());
    let app = TestApp::builder().sms(Arc::new(failover)).build().await;
    let device = app.register().await;
    assert_eq!(
        ask_code(&app, &device, NUMBER, "208", true, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let codes = codes(&second);
    assert_eq!(codes.len(), 1);
    let res = submit_code(&app, &device, &codes[0]).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());
    assert_eq!(res.json()["msisdn"], NUMBER);
}

#[tokio::test]
async fn a_hanging_first_provider_costs_one_timeout() {
    let hanging = FormServer::start(Reply::nexmo_ok().after(Duration::from_secs(30))).await;
    let second = FormServer::start(Reply::nexmo_ok()).await;
    let providers = vec![
        nexmo(&hanging.url, Duration::from_secs(10)),
        nexmo(&second.url, Duration::from_secs(10)),
    ];
    let failover = Failover::new(providers, 3, Duration::from_millis(300), some_ids());
    let app = TestApp::builder().sms(Arc::new(failover)).build().await;
    let device = app.register().await;
    let started = Instant::now();
    assert_eq!(
        ask_code(&app, &device, NUMBER, "208", false, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!((hanging.received().len(), second.received().len()), (1, 1));
}

#[tokio::test]
async fn when_every_attempt_fails_the_client_gets_503_and_the_code_is_withdrawn() {
    let refusing = FormServer::start(Reply::nexmo("4", "Bad Credentials")).await;
    let providers = vec![
        nexmo(&dead_url().await, Duration::from_secs(2)),
        nexmo(&refusing.url, Duration::from_secs(2)),
    ];
    let failover = Failover::new(providers, 3, Duration::from_secs(2), some_ids());
    let app = TestApp::builder().sms(Arc::new(failover)).build().await;
    let device = app.register().await;
    let res = ask_code(&app, &device, NUMBER, "208", true, None).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.errno(), Some(201));
    let retry_after = app.state.limits().retry_after_secs;
    assert_eq!(
        res.header("retry-after"),
        Some(retry_after.to_string().as_str())
    );
    assert_eq!(res.json()["retryAfter"], retry_after);
    // Attempts: dead, refusing, dead — the refusing server saw the code once.
    let codes = codes(&refusing);
    assert_eq!(codes.len(), 1);
    let res = submit_code(&app, &device, &codes[0]).await;
    assert_eq!(
        (res.status, res.errno()),
        (StatusCode::GONE, Some(111)),
        "{:?}",
        res.json()
    );
}
