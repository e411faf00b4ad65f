//! Issue 12: a strict webhook. Parameter names are Nexmo's own, a signed callback names its
//! message, a replay with a key renamed around the signature sends nothing, and a retry that
//! arrives while the first delivery is still being handled is answered 503 so that the
//! provider's next retry delivers a message whose first delivery failed.

use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use http::StatusCode;
use mobileid::clock::Clock;
use mobileid::sms::{NexmoSigner, OutboundSms, SmsError, SmsSender};
use mobileid::testkit::TestApp;
use tokio::sync::Notify;

use crate::callback::{Encoding, PATH, params, request, signed, verify_text};
use crate::support::{app_with_secrets, signing_secrets};

const SECRET: &str = "strict-webhook-secret";

async fn signed_app(sms: Option<Arc<dyn SmsSender>>) -> (TestApp, NexmoSigner) {
    let app = app_with_secrets(&signing_secrets(SECRET, "sha256"), sms).await;
    (app, NexmoSigner::new(SECRET, "sha256").unwrap())
}

#[tokio::test]
async fn a_replay_with_message_id_folded_into_another_key_sends_no_second_sms() {
    let (app, signer) = signed_app(None).await;
    let device = app.register().await;
    let sender = "33612345678";
    let genuine = signed(
        params(
            sender,
            &verify_text(&device.id),
            "0B000000AAAA",
            app.clock.now_secs(),
        ),
        &signer,
    );
    let res = app.call(request(Encoding::Form, PATH, &genuine)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.sms_to("+33612345678").len(), 1);

    // `message-timestamp` sorts just before `messageId`: a key named
    // `message-timestamp=<its value>&messageId` with the message id as its value gives the same
    // signed string, and leaves no `messageId` key.
    let timestamp = genuine
        .iter()
        .find(|(k, _)| k == "message-timestamp")
        .unwrap()
        .1
        .clone();
    let id = genuine
        .iter()
        .find(|(k, _)| k == "messageId")
        .unwrap()
        .1
        .clone();
    let mut replay: Vec<(String, String)> = genuine
        .iter()
        .filter(|(k, _)| k != "message-timestamp" && k != "messageId")
        .cloned()
        .collect();
    replay.push((format!("message-timestamp={timestamp}&messageId"), id));
    assert_eq!(
        signer.sign(&replay),
        genuine.iter().find(|(k, _)| k == "sig").unwrap().1,
        "the renamed set signs the same (the attack's premise)"
    );
    for encoding in [Encoding::Form, Encoding::Query, Encoding::Json] {
        app.clock.advance_secs(31);
        let res = app.call(request(encoding, PATH, &replay)).await;
        assert_eq!(
            (res.status, res.errno()),
            (StatusCode::BAD_REQUEST, Some(107)),
            "{encoding:?}: {}",
            res.json()
        );
    }
    assert_eq!(app.sms_to("+33612345678").len(), 1, "no second SMS");
}

#[tokio::test]
async fn a_signed_callback_without_a_message_id_is_refused() {
    let (app, signer) = signed_app(None).await;
    let device = app.register().await;
    let mut callback = params(
        "33612345678",
        &verify_text(&device.id),
        "x",
        app.clock.now_secs(),
    );
    callback.retain(|(k, _)| k != "messageId");
    let callback = signed(callback, &signer);
    let res = app.call(request(Encoding::Form, PATH, &callback)).await;
    assert_eq!(
        (res.status, res.errno()),
        (StatusCode::UNAUTHORIZED, Some(109)),
        "{}",
        res.json()
    );
    assert!(app.sms_to("+33612345678").is_empty());
}

#[tokio::test]
async fn a_stale_timestamp_past_five_minutes_is_refused() {
    let (app, signer) = signed_app(None).await;
    let device = app.register().await;
    let callback = signed(
        params(
            "33612345678",
            &verify_text(&device.id),
            "0B01",
            app.clock.now_secs() - 301,
        ),
        &signer,
    );
    let res = app.call(request(Encoding::Form, PATH, &callback)).await;
    assert_eq!(
        (res.status, res.errno()),
        (StatusCode::UNAUTHORIZED, Some(109)),
        "{}",
        res.json()
    );
}

/// An SMS provider whose first send waits until released, then fails; later sends succeed.
#[derive(Default)]
struct StallThenFail {
    entered: Notify,
    release: Notify,
    calls: Mutex<u32>,
    delivered: Mutex<Vec<String>>,
}

#[async_trait]
impl SmsSender for StallThenFail {
    fn name(&self) -> &str {
        "stall-then-fail"
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        let first = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls == 1
        };
        if first {
            self.entered.notify_one();
            self.release.notified().await;
            return Err(SmsError::Unreachable("provider down".into()));
        }
        self.delivered.lock().unwrap().push(sms.to.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_retry_during_delivery_gets_503_and_the_next_retry_delivers() {
    let provider = Arc::new(StallThenFail::default());
    let (app, signer) = signed_app(Some(provider.clone())).await;
    let app = Arc::new(app);
    let device = app.register().await;
    let callback = signed(
        params(
            "33612345678",
            &verify_text(&device.id),
            "0B000000BBBB",
            app.clock.now_secs(),
        ),
        &signer,
    );
    let first = {
        let (app, callback) = (app.clone(), callback.clone());
        tokio::spawn(async move { app.call(request(Encoding::Form, PATH, &callback)).await })
    };
    provider.entered.notified().await;
    // The provider retries while the first delivery is still at the SMS provider.
    let during = app.call(request(Encoding::Form, PATH, &callback)).await;
    assert_eq!(
        (during.status, during.errno()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(201)),
        "a retry during the delivery: {}",
        during.json()
    );
    assert!(during.header("retry-after").is_some());
    provider.release.notify_one();
    let first = first.await.unwrap();
    assert_eq!(
        first.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the failed delivery asks for a retry"
    );
    // The provider's next retry (past the per-number interval) is delivered.
    app.clock.advance_secs(31);
    let retry = app.call(request(Encoding::Form, PATH, &callback)).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.json());
    assert_eq!(*provider.delivered.lock().unwrap(), ["+33612345678"]);
    // And a retry after that one is a duplicate: nothing more is sent.
    app.clock.advance_secs(31);
    let again = app.call(request(Encoding::Form, PATH, &callback)).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(provider.delivered.lock().unwrap().len(), 1);
}
