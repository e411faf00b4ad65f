//! The fake gateway's read side: `GET /receive?to=` and `/__sms__/receive?to=` on the local
//! server (in-memory outbox) and on a load-stage Lambda (store mailbox, bearer token).

use http::StatusCode;
use mobileid::api::{inbound_sms_router, start_verification_router};
use mobileid::clock::ManualClock;
use mobileid::testkit::TestApp;
use serde_json::Value;

use crate::support::{ask_code, function_app, get, lambda_services, signing_secrets};

const NUMBER: &str = "+33612345678";

#[tokio::test]
async fn the_local_server_lists_a_numbers_messages_newest_last() {
    let app = TestApp::new().await;
    let device = app.register().await;
    assert_eq!(
        ask_code(&app, &device, NUMBER, "208", true, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.clock.advance_secs(31);
    assert_eq!(
        ask_code(&app, &device, NUMBER, "208", false, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    for path in [
        "/receive?to=33612345678",
        "/__sms__/receive?to=%2B33612345678",
        "/__sms__/receive?to=+33612345678",
    ] {
        let res = app.call(get(path, &[])).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        let messages = res.json();
        let messages = messages
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {messages}"));
        assert_eq!(messages.len(), 2, "{path}");
        let keys: Vec<&str> = messages[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["from", "id", "status", "text", "timestamp", "to"]);
        assert_eq!(messages[0]["to"], "33612345678");
        assert_eq!(messages[0]["from"], "Mozilla@");
        assert!(
            messages[0]["text"]
                .as_str()
                .unwrap()
                .ends_with(" is your verification code.")
        );
        // The newest (the long code, 31 s later) is last.
        assert_eq!(messages[1]["text"].as_str().unwrap().len(), 32);
        assert_eq!(
            messages[1]["timestamp"].as_i64().unwrap() - messages[0]["timestamp"].as_i64().unwrap(),
            31
        );
    }
    assert_eq!(
        app.call(get("/receive?to=33600000000", &[])).await.json(),
        Value::Array(vec![])
    );
}

#[tokio::test]
async fn a_missing_or_malformed_number_is_refused() {
    let app = TestApp::new().await;
    let res = app.call(get("/receive", &[])).await;
    assert_eq!(
        (res.status, res.errno()),
        (StatusCode::BAD_REQUEST, Some(108))
    );
    for bad in ["abc", "3361234567890123", "33-61"] {
        let res = app.call(get(&format!("/receive?to={bad}"), &[])).await;
        assert_eq!(
            (res.status, res.errno()),
            (StatusCode::BAD_REQUEST, Some(107)),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn with_a_token_only_its_bearer_may_read() {
    let app = TestApp::builder()
        .var("MOBILEID_FAKE_SMS_TOKEN", "load-test-token")
        .build()
        .await;
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![("authorization", "load-test-token")],
    ] {
        for path in ["/receive?to=33612345678", "/__sms__/all"] {
            let res = app.call(get(path, &headers)).await;
            assert_eq!(
                (res.status, res.errno()),
                (StatusCode::UNAUTHORIZED, Some(118)),
                "{path} {headers:?}"
            );
            assert_eq!(
                res.header("www-authenticate"),
                Some("Bearer realm=\"fake-sms\"")
            );
        }
    }
    let res = app
        .call(get(
            "/receive?to=33612345678",
            &[("authorization", "Bearer load-test-token")],
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

/// The load-stage stack: start-verification "sends" into the store, inbound-sms reads it back.
#[tokio::test]
async fn a_load_stage_lambda_reads_back_what_another_function_sent() {
    let clock = ManualClock::starting_now();
    let secrets = signing_secrets("webhook-secret", "sha256");
    let vars = [
        ("MOBILEID_STAGE", "load-stage"),
        ("MOBILEID_FAKE_SMS_TOKEN", "t0k"),
    ];
    let state = lambda_services(&vars, &secrets, &clock)
        .await
        .expect("load-stage builds");
    assert_eq!(state.sms.name(), "outbox");
    let start = function_app(&state, start_verification_router, &clock);
    let inbound = function_app(&state, inbound_sms_router, &clock);

    let device = start.register().await;
    assert_eq!(
        ask_code(&start, &device, NUMBER, "208", true, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let bearer = [("authorization", "Bearer t0k")];
    let res = inbound.call(get("/receive?to=33612345678", &bearer)).await;
    assert_eq!(res.status, StatusCode::OK);
    let messages = res.json();
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .ends_with(" is your verification code.")
    );
    assert_eq!(
        inbound
            .call(get("/__sms__/receive?to=33612345678", &bearer))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        inbound
            .call(get("/receive?to=33612345678", &[]))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Only the read endpoint: the page and the full list stay on the local server.
    assert_eq!(
        inbound.call(get("/__sms__/all", &bearer)).await.status,
        StatusCode::NOT_FOUND
    );
    // The API functions do not serve it at all.
    assert_eq!(
        start
            .call(get("/receive?to=33612345678", &bearer))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_lambda_without_a_token_or_with_real_sms_serves_no_read_endpoint() {
    let clock = ManualClock::starting_now();
    let secrets = signing_secrets("webhook-secret", "md5hash");
    let state = lambda_services(&[("MOBILEID_STAGE", "load-stage")], &secrets, &clock)
        .await
        .unwrap();
    let inbound = function_app(&state, inbound_sms_router, &clock);
    assert_eq!(
        inbound
            .call(get("/receive?to=33612345678", &[]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let mut secrets = secrets;
    (secrets.nexmo.api_key, secrets.nexmo.api_secret) = ("k".into(), "s".into());
    let vars = [
        ("MOBILEID_SMS_PROVIDERS", "nexmo"),
        ("MOBILEID_FAKE_SMS_TOKEN", "t0k"),
    ];
    let state = lambda_services(&vars, &secrets, &clock).await.unwrap();
    let inbound = function_app(&state, inbound_sms_router, &clock);
    let res = inbound
        .call(get(
            "/receive?to=33612345678",
            &[("authorization", "Bearer t0k")],
        ))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Not even a 401 that tells a caller a fake gateway could be here: the routes do not exist.
    for path in ["/receive?to=33612345678", "/__sms__/receive?to=33612345678"] {
        let res = inbound.call(get(path, &[])).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.json());
    }
}
