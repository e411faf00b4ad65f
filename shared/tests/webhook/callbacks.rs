//! The webhook through the router, on a service whose secret signs callbacks.

use http::StatusCode;
use mobileid::clock::Clock;
use mobileid::sms::NexmoSigner;
use mobileid::testkit::{Device, TestApp, TestResponse};
use serde_json::json;

use crate::callback::{Encoding, PATH, params, request, signed, verify_text};
use crate::support::{app_with_secrets, get, signing_secrets};

const SECRET: &str = "webhook-signature-secret";

async fn signed_app(method: &str) -> (TestApp, NexmoSigner) {
    let app = app_with_secrets(&signing_secrets(SECRET, method), None).await;
    (app, NexmoSigner::new(SECRET, method).unwrap())
}

/// A distinct French mobile number per `i` (distinct ranges too, for the per-range limit).
fn number(i: usize) -> String {
    format!("+336{i:02}345678")
}

async fn post(
    app: &TestApp,
    encoding: Encoding,
    path: &str,
    params: &[(String, String)],
) -> TestResponse {
    app.call(request(encoding, path, params)).await
}

/// The callback of `device` texting from `e164`, signed.
fn genuine(
    app: &TestApp,
    signer: &NexmoSigner,
    device: &Device,
    e164: &str,
    message_id: &str,
) -> Vec<(String, String)> {
    let sender = e164.trim_start_matches('+');
    signed(
        params(
            sender,
            &verify_text(&device.id),
            message_id,
            app.clock.now_secs(),
        ),
        signer,
    )
}

fn assert_refused(res: &TestResponse, what: &str) {
    assert_eq!(
        (res.status, res.errno()),
        (StatusCode::UNAUTHORIZED, Some(109)),
        "{what}: {:?}",
        res.json()
    );
}

#[tokio::test]
async fn signed_callbacks_are_handled_in_every_encoding_and_on_both_paths() {
    let (app, signer) = signed_app("md5hash").await;
    let cases = [
        (Encoding::Query, PATH),
        (Encoding::Form, PATH),
        (Encoding::Json, PATH),
        (Encoding::Query, "/sms/momt/?provider=nexmo"),
        (Encoding::Form, "/sms/momt/?provider=nexmo"),
    ];
    for (i, (encoding, path)) in cases.into_iter().enumerate() {
        let device = app.register().await;
        let e164 = number(i);
        let res = post(
            &app,
            encoding,
            path,
            &genuine(&app, &signer, &device, &e164, &format!("id-{i}")),
        )
        .await;
        assert_eq!(
            (res.status, res.json()),
            (StatusCode::OK, json!({})),
            "{encoding:?} {path}"
        );
        let sms = app.sms_to(&e164);
        assert_eq!(sms.len(), 1, "{encoding:?} {path}");
        assert!(
            sms[0].len() == 32 && sms[0].bytes().all(|b| b.is_ascii_hexdigit()),
            "a bare long code: {sms:?}"
        );
    }
}

#[tokio::test]
async fn hmac_signatures_are_accepted_in_upper_and_lower_case() {
    for method in ["md5", "sha1", "sha256", "sha512"] {
        let (app, signer) = signed_app(method).await;
        for (i, upper) in [true, false].into_iter().enumerate() {
            let device = app.register().await;
            let e164 = number(i);
            let mut callback = genuine(&app, &signer, &device, &e164, &format!("{method}-{i}"));
            let sig = &mut callback.last_mut().unwrap().1;
            *sig = if upper {
                sig.to_uppercase()
            } else {
                sig.to_lowercase()
            };
            let res = post(&app, Encoding::Form, PATH, &callback).await;
            assert_eq!(
                res.status,
                StatusCode::OK,
                "{method} upper={upper}: {:?}",
                res.json()
            );
            assert_eq!(app.sms_to(&e164).len(), 1, "{method} upper={upper}");
        }
    }
}

#[tokio::test]
async fn forged_missing_stale_or_tampered_callbacks_are_refused_and_send_nothing() {
    let (app, signer) = signed_app("sha256").await;
    let device = app.register().await;
    let e164 = number(0);
    let sender = "33600345678";
    let now = app.clock.now_secs();
    let text = verify_text(&device.id);
    let other = NexmoSigner::new("not-the-secret", "sha256").unwrap();
    let window = app.state.limits().inbound_timestamp_window_secs;

    let mut tampered = genuine(&app, &signer, &device, &e164, "m-1");
    // Someone replays a real callback with their victim as the sender.
    tampered.iter_mut().find(|(k, _)| k == "msisdn").unwrap().1 = "33611111111".into();
    let mut no_timestamp = params(sender, &text, "m-1", now);
    no_timestamp.retain(|(k, _)| k != "timestamp");
    let cases = [
        ("forged", signed(params(sender, &text, "m-1", now), &other)),
        ("missing sig", params(sender, &text, "m-1", now)),
        ("empty sig", {
            let mut p = params(sender, &text, "m-1", now);
            p.push(("sig".into(), String::new()));
            p
        }),
        (
            "stale",
            signed(params(sender, &text, "m-1", now - window - 1), &signer),
        ),
        (
            "from the future",
            signed(params(sender, &text, "m-1", now + window + 1), &signer),
        ),
        ("no timestamp", signed(no_timestamp, &signer)),
        ("tampered sender", tampered),
    ];
    for (what, callback) in &cases {
        for encoding in [Encoding::Query, Encoding::Form, Encoding::Json] {
            assert_refused(&post(&app, encoding, PATH, callback).await, what);
        }
    }
    assert!(app.sms_to(&e164).is_empty() && app.sms_to("+33611111111").is_empty());
    // The refused callbacks did not use up the message id: the genuine one is still handled.
    let res = post(
        &app,
        Encoding::Form,
        PATH,
        &genuine(&app, &signer, &device, &e164, "m-1"),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.sms_to(&e164).len(), 1);
}

#[tokio::test]
async fn a_retried_message_sends_one_sms() {
    let (app, signer) = signed_app("md5hash").await;
    let device = app.register().await;
    let e164 = number(0);
    let callback = genuine(&app, &signer, &device, &e164, "0B00000012345678");
    assert_eq!(
        post(&app, Encoding::Form, PATH, &callback).await.status,
        StatusCode::OK
    );
    // Later than the per-number send interval: only the de-duplication can stop a second SMS.
    for (i, encoding) in [Encoding::Form, Encoding::Query, Encoding::Json]
        .into_iter()
        .enumerate()
    {
        app.clock.advance_secs(60);
        let res = post(&app, encoding, PATH, &callback).await;
        assert_eq!(
            (res.status, res.json()),
            (StatusCode::OK, json!({})),
            "retry {i}"
        );
    }
    assert_eq!(app.sms_to(&e164).len(), 1);
    // A new message from the same device is a new request.
    let res = post(
        &app,
        Encoding::Form,
        PATH,
        &genuine(&app, &signer, &device, &e164, "0B00000012345679"),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.sms_to(&e164).len(), 2);
}

#[tokio::test]
async fn pings_and_texts_not_for_us_answer_200_and_send_nothing() {
    let (app, signer) = signed_app("md5hash").await;
    // The provider's check of the URL: no parameters at all.
    for res in [
        app.call(get(PATH, &[])).await,
        post(&app, Encoding::Form, PATH, &[]).await,
    ] {
        assert_eq!(res.status, StatusCode::OK);
    }
    let device = app.register().await;
    let now = app.clock.now_secs();
    let unknown = Device::from_token(&"ab".repeat(32));
    let cases = [
        ("no Hawk id", params("33600345678", "hello", "n-1", now)),
        (
            "unknown session",
            params("33600345678", &verify_text(&unknown.id), "n-2", now),
        ),
        (
            // (dev serves every country, "Others": production would refuse +81 here too)
            "a number of no country (international network)",
            params("883510012345", &verify_text(&device.id), "n-3", now),
        ),
        (
            "not a mobile number",
            params("33140205050", &verify_text(&device.id), "n-4", now),
        ),
    ];
    for (what, callback) in cases {
        let res = post(&app, Encoding::Form, PATH, &signed(callback, &signer)).await;
        assert_eq!(
            (res.status, res.json()),
            (StatusCode::OK, json!({})),
            "{what}"
        );
    }
    assert!(app.outbox.all().is_empty());
}

#[tokio::test]
async fn the_local_server_without_a_signature_secret_accepts_unsigned_callbacks() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let callback = params(
        "33600345678",
        &verify_text(&device.id),
        "u-1",
        app.clock.now_secs(),
    );
    assert_eq!(
        post(&app, Encoding::Query, PATH, &callback).await.status,
        StatusCode::OK
    );
    assert_eq!(app.sms_to("+33600345678").len(), 1);
}
