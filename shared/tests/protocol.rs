//! The verification protocol through the HTTP layer (issue "The whole verification protocol,
//! end to end"): every endpoint's success path, the error rows of the original we keep, and
//! each decision of DESIGN.md §6 — each test says what the original did and what we do.

use std::sync::Arc;

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, Request, StatusCode, header};
use mobileid::crypto::hawk_auth::{HawkHeader, SignedRequest, timestamp_mac};
use mobileid::crypto::verify_es256;
use mobileid::store::MemoryStore;
use mobileid::testkit::{Device, HOST, TestApp, TestResponse, json_request};
use serde_json::{Value, json};

const FR: &str = "+33623456789";
const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#;

fn assert_error(res: &TestResponse, status: u16, errno: u64) {
    assert_eq!(res.status.as_u16(), status, "status; body {}", res.json());
    let body = res.json();
    assert_eq!(body["code"], status, "code in {body}");
    assert_eq!(body["errno"], errno, "errno in {body}");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "shape of {body}"
    );
    assert_eq!(res.header("content-type"), Some("application/json"));
}

async fn post(app: &TestApp, path: &str, body: Value) -> TestResponse {
    app.send(Method::POST, path, Some(&body)).await
}

/// Registers, asks a short code for `number` and submits it: a verified device.
async fn verified_device(app: &TestApp, number: &str) -> Device {
    let device = app.register().await;
    assert_eq!(
        app.ask_code(&device, number, "208", true).await.status,
        StatusCode::NO_CONTENT
    );
    let code = app.last_code_to(number).expect("an SMS");
    let res = app.submit_code(&device, &code).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
    device
}

// ---- discover -----------------------------------------------------------------------------

#[tokio::test]
async fn discover_offers_the_methods_of_the_network() {
    let app = TestApp::new().await;
    let res = post(&app, "/v1/msisdn/discover", json!({"mcc": "208"})).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.json(),
        json!({"verificationMethods": ["sms/momt"], "verificationDetails": {
            "sms/momt": {"mtSender": "Mozilla@", "moVerifier": "+33757000001"}}})
    );
    let with_number = post(
        &app,
        "/v1/msisdn/discover",
        json!({"mcc": "208", "mnc": null, "msisdn": FR}),
    )
    .await;
    assert_eq!(
        with_number.json()["verificationMethods"],
        json!(["sms/mt", "sms/momt"])
    );
    assert_eq!(
        with_number.json()["verificationDetails"]["sms/mt"]["url"],
        "http://127.0.0.1:8080/v1/msisdn/sms/mt/verify"
    );
    let us = post(&app, "/discover", json!({"mcc": "310", "mnc": "260"})).await;
    assert_eq!(
        us.json()["verificationDetails"]["sms/momt"]["mtSender"],
        "+12025550180"
    );
    assert_eq!(
        us.json()["verificationDetails"]["sms/momt"]["moVerifier"],
        "+12025550181"
    );
}

#[tokio::test]
async fn discover_says_what_is_wrong_with_its_parameters() {
    let app = TestApp::new().await;
    for (body, status, errno) in [
        (json!({}), 400, 108),
        (json!({"mcc": null}), 400, 108),
        (json!({"mcc": ""}), 400, 108),
        (json!({"mcc": 208}), 400, 107),
        (json!({"mcc": "20"}), 400, 107),
        (json!({"mcc": "208", "mnc": "1"}), 400, 107),
        (json!({"mcc": "208", "msisdn": "0123456789"}), 400, 107),
        (json!({"mcc": "208", "msisdn": null}), 400, 107),
        // A network this stage does not serve (the original offered it anyway): dev serves
        // every country ("Others"), but not international networks (E.212 9xx).
        (json!({"mcc": "901"}), 400, 107),
    ] {
        let res = post(&app, "/v1/msisdn/discover", body.clone()).await;
        assert_error(&res, status, errno);
    }
    let missing = post(&app, "/v1/msisdn/discover", json!({})).await;
    assert_eq!(missing.json()["message"], "Missing mcc");
}

// ---- bodies and routes: JSON errors everywhere (the original answered HTML) --------------

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let app = TestApp::new().await;
    let bad_json = json_request(
        Method::POST,
        "/v1/msisdn/register",
        Some("{not json".into()),
        None,
    );
    assert_error(&app.call(bad_json).await, 400, 106);
    let array = json_request(
        Method::POST,
        "/v1/msisdn/discover",
        Some("[1,2]".into()),
        None,
    );
    assert_error(&app.call(array).await, 400, 106);

    let big = format!(r#"{{"mcc":"208","pad":"{}"}}"#, "x".repeat(20_000));
    let too_large = json_request(Method::POST, "/v1/msisdn/discover", Some(big), None);
    assert_error(&app.call(too_large).await, 413, 113);

    let chunked = Request::builder()
        .method(Method::POST)
        .uri("/v1/msisdn/discover")
        .header(header::HOST, HOST)
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(Body::from(r#"{"mcc":"208"}"#))
        .unwrap();
    assert_error(&app.call(chunked).await, 411, 112);

    let mut html_only = json_request(
        Method::POST,
        "/v1/msisdn/discover",
        Some(r#"{"mcc":"208"}"#.into()),
        None,
    );
    html_only
        .headers_mut()
        .insert(header::ACCEPT, "text/html".parse().unwrap());
    assert_error(&app.call(html_only).await, 406, 106);

    let form = Request::builder()
        .method(Method::POST)
        .uri("/discover")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, 7)
        .body(Body::from("mcc=208"))
        .unwrap();
    assert_eq!(
        app.call(form).await.status,
        StatusCode::OK,
        "forms are accepted like the original"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let app = TestApp::new().await;
    assert_error(&app.send(Method::GET, "/unexistant", None).await, 404, 999);
    assert_error(
        &app.send(Method::GET, "/v1/msisdn/register", None).await,
        405,
        999,
    );
    // The original's MO route needs its trailing slash.
    assert_error(&app.send(Method::GET, "/sms/momt", None).await, 404, 999);
    let res = app
        .send(Method::GET, "/sms/momt/?provider=beepsend", None)
        .await;
    assert_error(&res, 400, 107);
}

#[tokio::test]
async fn every_response_carries_the_server_time() {
    let app = TestApp::new().await;
    let now = app.clock.now_secs_for_tests();
    for res in [
        app.send(Method::GET, "/", None).await,
        app.send(Method::GET, "/nope", None).await,
        post(&app, "/v1/msisdn/discover", json!({})).await,
    ] {
        assert_eq!(res.header("timestamp"), Some(now.to_string().as_str()));
    }
}

// ---- register / unregister ----------------------------------------------------------------

#[tokio::test]
async fn register_returns_a_fresh_token_and_unregister_forgets_the_session() {
    let app = TestApp::new().await;
    let res = post(&app, "/v1/msisdn/register", json!({"msisdn": "ignored"})).await;
    let token = res.json()["msisdnSessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let other = post(&app, "/register", json!({})).await;
    assert_ne!(
        other.json()["msisdnSessionToken"],
        res.json()["msisdnSessionToken"]
    );

    let device = Device::from_token(&token);
    let bye = app
        .post_as(&device, "/v1/msisdn/unregister", &json!({}))
        .await;
    assert_eq!(bye.status, StatusCode::NO_CONTENT);
    assert!(bye.body.is_empty());
    let after = app.post_as(&device, "/unregister", &json!({})).await;
    assert_error(&after, 401, 110);
    assert_eq!(after.json()["message"], "Unknown credentials");
}

#[tokio::test]
async fn sessions_expire_after_a_day_unverified() {
    let app = TestApp::new().await;
    let device = app.register().await;
    app.clock.advance_secs(86_400);
    assert_error(&app.ask_code(&device, FR, "208", true).await, 401, 110);
}

// ---- Hawk -----------------------------------------------------------------------------------

#[tokio::test]
async fn hawk_failures_are_told_apart() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let body = json!({"code": "123456"});
    let path = "/v1/msisdn/sms/verify_code";

    let none = json_request(Method::POST, path, Some(body.to_string()), None);
    let res = app.call(none).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.header("www-authenticate"), Some("Hawk"));

    let garbage = json_request(
        Method::POST,
        path,
        Some(body.to_string()),
        Some("Hawk wrong-parameters".into()),
    );
    let res = app.call(garbage).await;
    assert_error(&res, 400, 110);
    assert_eq!(res.json()["message"], "Bad header format");

    let stranger = Device::from_token(&"ab".repeat(32));
    let res = app
        .call(stranger.request(&app.clock, Method::POST, path, Some(&body)))
        .await;
    assert_error(&res, 401, 110);
    assert_eq!(
        res.header("www-authenticate"),
        Some(r#"Hawk error="Unknown credentials""#)
    );

    // Signed for another path.
    let mut req = device.request(
        &app.clock,
        Method::POST,
        "/v1/msisdn/unregister",
        Some(&body),
    );
    *req.uri_mut() = path.parse().unwrap();
    let res = app.call(req).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.json()["message"], "Bad mac");
}

#[tokio::test]
async fn stale_timestamps_get_the_server_time_to_resync() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    let req = device.request_at(
        now - 61,
        "n1",
        Method::POST,
        "/v1/msisdn/sms/verify_code",
        Some(&json!({"code": "123456"})),
        true,
    );
    let res = app.call(req).await;
    assert_error(&res, 401, 110);
    let expected = format!(
        r#"Hawk ts="{now}", tsm="{}", error="Stale timestamp""#,
        timestamp_mac(&device.key, now)
    );
    assert_eq!(res.header("www-authenticate"), Some(expected.as_str()));
    // 60 s of skew either way is fine.
    let ok = device.request_at(
        now + 60,
        "n2",
        Method::POST,
        "/v1/msisdn/unregister",
        None,
        false,
    );
    assert_eq!(app.call(ok).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn replayed_headers_and_tampered_bodies_are_refused() {
    // The original accepted both (no nonce cache, payload hash not checked).
    let app = TestApp::new().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    let body = json!({"msisdn": FR, "mcc": "208"});
    let first = device.request_at(
        now,
        "same-nonce",
        Method::POST,
        "/v1/msisdn/sms/mt/verify",
        Some(&body),
        true,
    );
    let again = device.request_at(
        now,
        "same-nonce",
        Method::POST,
        "/v1/msisdn/sms/mt/verify",
        Some(&body),
        true,
    );
    assert_eq!(app.call(first).await.status, StatusCode::NO_CONTENT);
    let res = app.call(again).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.json()["message"], "Invalid nonce");

    let mut tampered = device.request_at(
        now,
        "n2",
        Method::POST,
        "/v1/msisdn/sms/mt/verify",
        Some(&body),
        true,
    );
    let other = json!({"msisdn": "+33612345678", "mcc": "208"}).to_string();
    tampered
        .headers_mut()
        .insert(header::CONTENT_LENGTH, other.len().into());
    *tampered.body_mut() = Body::from(other);
    let res = app.call(tampered).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.json()["message"], "Bad payload hash");
}

#[tokio::test]
async fn stages_can_require_payload_hashes() {
    let stage = include_str!("../../infra/stages/dev.toml").to_owned() + "\n";
    let stage = stage.replacen(
        "[[test_numbers]]",
        "[limits]\nrequire_payload_hash = true\n\n[[test_numbers]]",
        1,
    );
    let app = TestApp::builder().stage_toml(&stage).build().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    let unhashed = device.request_at(
        now,
        "n",
        Method::POST,
        "/v1/msisdn/unregister",
        Some(&json!({})),
        false,
    );
    let res = app.call(unhashed).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.json()["message"], "Missing payload hash");
    assert_eq!(
        app.post_as(&device, "/v1/msisdn/unregister", &json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn authenticated_answers_are_signed_for_the_client() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    let req = device.request_at(
        now,
        "sig",
        Method::POST,
        "/v1/msisdn/sms/verify_code",
        Some(&json!({"code": "000000"})),
        true,
    );
    let header = HawkHeader::parse(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
    .unwrap();
    let res = app.call(req).await;
    // Even an error answer of an authenticated request is signed.
    assert_error(&res, 410, 111);
    let signed = SignedRequest {
        method: "POST",
        host: "127.0.0.1",
        port: 8080,
        path: "/v1/msisdn/sms/verify_code",
    };
    let expected = header.server_authorization(&device.key, &signed);
    assert_eq!(res.header("server-authorization"), Some(expected.as_str()));
}

#[tokio::test]
async fn storage_failures_answer_503_not_401() {
    // The original answered 401 when its store failed during the Hawk lookup.
    let store = Arc::new(MemoryStore::new());
    let app = TestApp::builder().store(store.clone()).build().await;
    let device = app.register().await;
    store.set_unavailable(true);
    for res in [
        app.ask_code(&device, FR, "208", true).await,
        post(&app, "/v1/msisdn/register", json!({})).await,
    ] {
        assert_error(&res, 503, 201);
        assert_eq!(res.header("retry-after"), Some("30"));
        assert_eq!(res.json()["retryAfter"], 30);
    }
    let heartbeat = app.send(Method::GET, "/__heartbeat__", None).await;
    assert_eq!(heartbeat.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(heartbeat.json(), json!({"storage": false, "sms": true}));
    assert_eq!(heartbeat.header("retry-after"), Some("30"));
    store.set_unavailable(false);
    assert_eq!(
        app.ask_code(&device, FR, "208", true).await.status,
        StatusCode::NO_CONTENT,
        "nothing was lost"
    );
}

// ---- sms/mt/verify ------------------------------------------------------------------------

#[tokio::test]
async fn mt_verify_sends_short_or_long_codes() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let res = app
        .ask_code(&device, "+33 6 23 45 67 89", "208", true)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(res.body.is_empty());
    let sms = app.outbox.received("33623456789");
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].from, "Mozilla@");
    let text = &sms[0].text;
    let code = text
        .strip_suffix(" is your verification code.")
        .expect("the English text, code first");
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{text}"
    );

    let other = app.register().await;
    app.clock.advance_secs(30);
    let body = json!({"msisdn": FR, "mcc": "208", "mnc": null, "shortVerificationCode": "true"});
    assert_eq!(
        app.post_as(&other, "/sms/mt/verify", &body).await.status,
        StatusCode::NO_CONTENT
    );
    let long = app.last_code_to(FR).unwrap();
    assert_eq!(
        long.len(),
        32,
        "a string \"true\" is not a short-code request"
    );
    assert!(long.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn mt_verify_refuses_bad_numbers_with_errno_107() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let missing = app
        .post_as(&device, "/v1/msisdn/sms/mt/verify", &json!({}))
        .await;
    assert_error(&missing, 400, 108);
    assert_eq!(missing.json()["message"], "Missing msisdn,mcc");
    for (body, why) in [
        (
            json!({"msisdn": "0623456789", "mcc": "208"}),
            "national format",
        ),
        (
            json!({"msisdn": "+33140205050", "mcc": "208"}),
            "fixed line",
        ),
        (
            json!({"msisdn": "+33899123456", "mcc": "208"}),
            "premium rate",
        ),
        (
            json!({"msisdn": "+491701234567", "mcc": "208"}),
            "served country, but MCC mismatch is fine",
        ),
        (
            json!({"msisdn": "+883510012345", "mcc": "208"}),
            "no country (international network)",
        ),
        (json!({"msisdn": FR, "mcc": "901"}), "network not served"),
        (json!({"msisdn": FR, "mcc": "208", "mnc": 7}), "numeric mnc"),
        (json!({"msisdn": FR, "mcc": 208}), "numeric mcc"),
    ] {
        let res = app
            .post_as(&device, "/v1/msisdn/sms/mt/verify", &body)
            .await;
        if why.starts_with("served country") {
            assert_eq!(res.status, StatusCode::NO_CONTENT, "{why}");
            continue;
        }
        // The original answered this without an errno.
        assert_error(&res, 400, 107);
        assert!(res.json()["message"].as_str().unwrap().len() > 5, "{why}");
    }
    let premium = app
        .post_as(
            &device,
            "/v1/msisdn/sms/mt/verify",
            &json!({"msisdn": "+33899123456", "mcc": "208"}),
        )
        .await;
    assert!(
        premium.json()["info"]
            .as_str()
            .unwrap()
            .contains("premium-rate"),
        "the rule is named"
    );
}

#[tokio::test]
async fn one_number_per_session() {
    let app = TestApp::new().await;
    let device = verified_device(&app, FR).await;
    // After verification too (the original then accepted any new number).
    let res = app.ask_code(&device, "+33612345678", "208", true).await;
    assert_error(&res, 400, 107);
    assert_eq!(
        res.json()["message"],
        "You can validate only one MSISDN per session."
    );
}

// ---- sms/verify_code ------------------------------------------------------------------------

#[tokio::test]
async fn codes_are_single_use() {
    let app = TestApp::new().await;
    let device = app.register().await;
    app.ask_code(&device, FR, "208", true).await;
    let code = app.last_code_to(FR).unwrap();
    let ok = app.submit_code(&device, &code).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json(), json!({"msisdn": FR}));
    // Another code on the used one is refused; so is the code from another session.
    let other = if code == "000000" { "111111" } else { "000000" };
    let wrong = app.submit_code(&device, other).await;
    assert_error(&wrong, 410, 111);
    assert_eq!(wrong.json()["message"], "Code already used.");
    let stranger = app.register().await;
    assert_error(&app.submit_code(&stranger, &code).await, 410, 111);
}

#[tokio::test]
async fn a_repeat_of_the_submission_that_used_the_code_gets_its_answer_again() {
    // A client whose answer was lost (a timeout, a Lambda instance killed after the write)
    // sends the same code again from the same session: it must learn it succeeded, not that
    // "the code is used".
    let app = TestApp::new().await;
    let device = app.register().await;
    app.ask_code(&device, FR, "208", true).await;
    let code = app.last_code_to(FR).unwrap();
    assert_eq!(app.submit_code(&device, &code).await.status, StatusCode::OK);
    for _ in 0..2 {
        let again = app.submit_code(&device, &code).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.json());
        assert_eq!(again.json(), json!({"msisdn": FR}));
    }
    assert_eq!(
        app.metric_lines("CodesVerified").len(),
        1,
        "a repeat is not a second verification"
    );
    // Only within the code's lifetime: after it, the used code is just used.
    app.clock.advance_secs(600);
    let late = app.submit_code(&device, &code).await;
    assert_error(&late, 410, 111);
    assert_eq!(late.json()["message"], "Code already used.");
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    // The original kept codes for 24 hours.
    let app = TestApp::new().await;
    let device = app.register().await;
    app.ask_code(&device, FR, "208", false).await;
    let code = app.last_code_to(FR).unwrap();
    app.clock.advance_secs(600);
    let res = app.submit_code(&device, &code).await;
    assert_error(&res, 410, 111);
    assert_eq!(
        res.json()["message"],
        "Code has expired: ask for a new one."
    );
}

#[tokio::test]
async fn three_wrong_tries_lock_the_code_until_a_new_one() {
    let app = TestApp::new().await;
    let device = app.register().await;
    assert_error(&app.submit_code(&device, "123456").await, 410, 111);
    app.ask_code(&device, FR, "208", true).await;
    let code = app.last_code_to(FR).unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for left in [2, 1, 0] {
        let res = app.submit_code(&device, wrong).await;
        assert_error(&res, 400, 105);
        assert_eq!(
            res.json()["info"],
            format!("{left} tries left for this code")
        );
    }
    let locked = app.submit_code(&device, &code).await;
    assert_error(&locked, 410, 111);
    assert_eq!(
        locked.json()["message"],
        "Too many wrong codes: ask for a new one."
    );
    app.clock.advance_secs(30);
    app.ask_code(&device, FR, "208", true).await;
    let fresh = app.last_code_to(FR).unwrap();
    assert_eq!(
        app.submit_code(&device, &fresh).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn verify_code_says_what_is_wrong_with_its_parameter() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let res = app
        .post_as(&device, "/v1/msisdn/sms/verify_code", &json!({}))
        .await;
    assert_error(&res, 400, 108);
    assert_eq!(res.json()["message"], "Missing code");
    for bad in [
        json!("123456789"),
        json!(123456),
        json!("12345a"),
        json!(["123456"]),
    ] {
        let res = app
            .post_as(&device, "/sms/verify_code", &json!({"code": bad}))
            .await;
        assert_error(&res, 400, 107);
        assert_eq!(
            res.json()["message"],
            "Code should be short (6 characters) or long (32 characters)."
        );
    }
}

// ---- certificate/sign -------------------------------------------------------------------------

#[tokio::test]
async fn certificates_are_es256_with_the_configured_issuer() {
    let app = TestApp::builder()
        .var("MOBILEID_ISSUER", "mobileid.example.org")
        .build()
        .await;
    let device = verified_device(&app, FR).await;
    // A forged Host header must not become the issuer (the original used it).
    let mut req = device.request(
        &app.clock,
        Method::POST,
        "/v1/certificate/sign",
        Some(&json!({"publicKey": EC_KEY, "duration": 3600})),
    );
    req.headers_mut()
        .insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
    let res = app.call(req).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
    let cert = res.json()["cert"].as_str().unwrap().to_owned();

    let jwks = app
        .send(Method::GET, "/.well-known/jwks.json", None)
        .await
        .json();
    let (header, claims) = verify_es256(&cert, &jwks).expect("verifies against the served key");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);
    let now_ms = app.clock.now_secs_for_tests() * 1000;
    assert_eq!(claims["iss"], "mobileid.example.org");
    assert_eq!(claims["verifiedMSISDN"], FR);
    assert_eq!(
        claims["public-key"],
        serde_json::from_str::<Value>(EC_KEY).unwrap()
    );
    assert!(
        claims["lastVerifiedAt"].is_i64(),
        "a number, in ms (the original's DynamoDB gave a string)"
    );
    // RFC 7519 seconds (the original wrote milliseconds, which JOSE libraries misread).
    assert_eq!(claims["iat"], now_ms / 1000 - 10);
    assert_eq!(claims["exp"], now_ms / 1000 + 3600);
    assert_eq!(
        claims["lastAuthAt"].as_i64().unwrap() / 1000,
        now_ms / 1000,
        "the original's claim, in its milliseconds"
    );
    let email = claims["principal"]["email"].as_str().unwrap();
    assert!(email.ends_with("@mobileid.example.org"));
    assert!(
        !email.contains("de70af88"),
        "not the original's MD5 uuid of the number"
    );
    // Stable per number: a second session for the same number gets the same principal.
    app.clock.advance_secs(30);
    let again = verified_device(&app, FR).await;
    let res = app
        .post_as(
            &again,
            "/certificate/sign",
            &json!({"publicKey": serde_json::from_str::<Value>(EC_KEY).unwrap(), "duration": "60"}),
        )
        .await;
    let (_, claims2) = verify_es256(res.json()["cert"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(claims2["principal"], claims["principal"]);
}

#[tokio::test]
async fn certificate_durations_are_bounded() {
    let app = TestApp::new().await;
    let device = verified_device(&app, FR).await;
    let res = app
        .post_as(
            &device,
            "/v1/certificate/sign",
            &json!({"publicKey": EC_KEY, "duration": 30 * 86_400}),
        )
        .await;
    let cert = res.json()["cert"].as_str().unwrap().to_owned();
    let payload = cert.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["lastAuthAt"].as_i64().unwrap() / 1000,
        86_400,
        "capped at 24 h"
    );
}

#[tokio::test]
async fn certificate_sign_says_what_is_wrong() {
    let app = TestApp::new().await;
    let fresh = app.register().await;
    let res = app
        .post_as(&fresh, "/v1/certificate/sign", &json!({}))
        .await;
    assert_error(&res, 400, 108);
    assert_eq!(res.json()["message"], "Missing duration,publicKey");
    let unverified = app
        .post_as(
            &fresh,
            "/v1/certificate/sign",
            &json!({"publicKey": EC_KEY, "duration": 60}),
        )
        .await;
    assert_error(&unverified, 410, 111);

    let device = verified_device(&app, FR).await;
    for (body, status, errno) in [
        (json!({"publicKey": "{not json", "duration": 60}), 400, 106),
        (
            json!({"publicKey": {"algorithm": "XX"}, "duration": 60}),
            400,
            107,
        ),
        (
            json!({"publicKey": {"algorithm": "DS", "y": "1"}, "duration": 60}),
            400,
            107,
        ),
        (json!({"publicKey": 42, "duration": 60}), 400, 107),
        (json!({"publicKey": EC_KEY, "duration": "abc"}), 400, 107),
        (json!({"publicKey": EC_KEY, "duration": 0}), 400, 107),
        (json!({"publicKey": EC_KEY, "duration": -1}), 400, 107),
    ] {
        let res = app.post_as(&device, "/v1/certificate/sign", &body).await;
        assert_error(&res, status, errno);
    }
    // 10^617 + 1: odd, 2050 bits (the size and parity are what is checked of a modulus).
    let n = format!("1{}1", "0".repeat(616));
    let rsa = json!({"publicKey": {"algorithm": "RS", "n": n, "e": "65537"}, "duration": 60});
    assert_eq!(
        app.post_as(&device, "/v1/certificate/sign", &rsa)
            .await
            .status,
        StatusCode::OK
    );
}

// ---- SMS-MO+MT ---------------------------------------------------------------------------------

#[tokio::test]
async fn momt_flow_learns_the_number_from_the_sender() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let text = format!("/v1/msisdn/sms/momt/verify {}", device.id.to_hex());
    let query = serde_urlencoded::to_string([
        ("msisdn", "33623456789"),
        ("text", text.as_str()),
        ("network-code", "20801"),
        ("messageId", "m-1"),
    ])
    .unwrap();
    let res = app
        .send(
            Method::GET,
            &format!("/sms/momt/?provider=nexmo&{query}"),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), json!({}));
    let code = app.last_code_to(FR).unwrap();
    assert_eq!(code.len(), 32, "SMS-MO replies are long codes, sent bare");
    assert_eq!(app.sms_to(FR).last().unwrap(), &code);
    let verified = app.submit_code(&device, &code).await;
    assert_eq!(verified.json(), json!({"msisdn": FR}));
    let cert = app
        .post_as(
            &device,
            "/v1/certificate/sign",
            &json!({"publicKey": EC_KEY, "duration": 60}),
        )
        .await;
    let jwks = app
        .send(Method::GET, "/.well-known/jwks.json", None)
        .await
        .json();
    let (_, claims) = verify_es256(cert.json()["cert"].as_str().unwrap(), &jwks)
        .expect("ES256 against the served key");
    assert_eq!(claims["verifiedMSISDN"], FR);

    // A callback for a text that is not for us, or a ping, still gets 200 (no retries).
    let ping = app
        .send(Method::GET, "/v1/msisdn/sms/momt/nexmo", None)
        .await;
    assert_eq!(ping.status, StatusCode::OK);
    let noise = app
        .send(
            Method::GET,
            "/v1/msisdn/sms/momt/nexmo?msisdn=33612345678&text=hello",
            None,
        )
        .await;
    assert_eq!(noise.status, StatusCode::OK);
    assert!(app.sms_to("+33612345678").is_empty());
}

// ---- service routes -------------------------------------------------------------------------------

#[tokio::test]
async fn service_routes_answer() {
    let app = TestApp::new().await;
    let home = app.send(Method::GET, "/", None).await.json();
    assert_eq!(home["name"], "mobileid");
    assert_eq!(home["endpoint"], "http://127.0.0.1:8080");
    assert!(home["version"].is_string());
    assert_eq!(
        app.send(Method::GET, "/__heartbeat__", None).await.json(),
        json!({"storage": true, "sms": true})
    );
    assert_eq!(
        app.send(Method::GET, "/__lbheartbeat__", None).await.status,
        StatusCode::OK
    );
    assert!(app.send(Method::GET, "/__version__", None).await.json()["version"].is_string());
    let browserid = app
        .send(Method::GET, "/.well-known/browserid", None)
        .await
        .json();
    assert_eq!(
        browserid["authentication"],
        "/.well-known/browserid/warning.html"
    );
    assert_eq!(browserid["public-key"]["alg"], "ES256");
    let warning = app
        .send(Method::GET, "/.well-known/browserid/warning.html", None)
        .await;
    assert!(
        warning
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn sms_page_and_json_of_the_fake_gateway() {
    let app = TestApp::new().await;
    let device = app.register().await;
    app.ask_code(&device, FR, "208", true).await;
    let list = app
        .send(Method::GET, "/__sms__/receive?to=33623456789", None)
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["to"], "33623456789");
    assert_eq!(list[0]["from"], "Mozilla@");
    assert!(list[0]["timestamp"].is_i64());
    let page = app.send(Method::GET, "/__sms__/", None).await;
    assert!(String::from_utf8_lossy(&page.body).contains("fake SMS gateway"));
    assert_error(
        &app.send(Method::GET, "/__sms__/receive", None).await,
        400,
        108,
    );
}

#[tokio::test]
async fn handlers_that_panic_answer_json_500() {
    // No route panics on purpose; this checks the safety net on a route that receives a body
    // the JSON parser can't even start on (and that the process survives it).
    let app = TestApp::new().await;
    let res = app
        .call(json_request(
            Method::POST,
            "/v1/msisdn/discover",
            Some("\u{0}".into()),
            None,
        ))
        .await;
    assert_error(&res, 400, 106);
    assert_eq!(
        app.send(Method::GET, "/__lbheartbeat__", None).await.status,
        StatusCode::OK
    );
}
