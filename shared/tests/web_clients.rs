//! What a browser or app client meets: CORS from the stage table (and template.yaml saying the
//! same), SMS that fill themselves in, bodies that stall, and the fake gateway's page.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use mobileid::config::{AllowedOrigin, AppHash, OtpDomain, StageTable};
use mobileid::testkit::{HOST, TestApp, TestResponse};
use serde_json::json;
use tower::ServiceExt;

const FR: &str = "+33623456789";

fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(Body::empty())
        .unwrap()
}

async fn app_with_origins(origins: Vec<AllowedOrigin>) -> TestApp {
    TestApp::builder()
        .adjust(move |s| s.stage.cors_origins = origins)
        .build()
        .await
}

fn list(res: &TestResponse, name: &str) -> Vec<String> {
    res.header(name)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[tokio::test]
async fn an_allowed_origin_gets_a_preflight_with_what_hawk_needs() {
    let origin = "https://app.example.com";
    let app = app_with_origins(vec![AllowedOrigin::try_from(origin.to_owned()).unwrap()]).await;
    let res = app
        .call(preflight("/v1/msisdn/sms/verify_code", origin))
        .await;
    assert!(res.status.is_success(), "{:?}", res.status);
    assert_eq!(res.header("access-control-allow-origin"), Some(origin));
    assert_eq!(res.header("access-control-allow-credentials"), None);
    let methods = list(&res, "access-control-allow-methods");
    assert!(
        methods.contains(&"post".into()) && methods.contains(&"get".into()),
        "{methods:?}"
    );
    let headers = list(&res, "access-control-allow-headers");
    for needed in ["authorization", "content-type"] {
        assert!(headers.contains(&needed.into()), "{headers:?}");
    }
    assert!(res.header("access-control-max-age").is_some());

    // The real request: the origin echoed, and the headers a client reads exposed, errors too.
    let mut req = mobileid::testkit::json_request(Method::POST, "/v1/msisdn/register", None, None);
    req.headers_mut()
        .insert(header::ORIGIN, origin.parse().unwrap());
    let res = app.call(req).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("access-control-allow-origin"), Some(origin));
    let exposed = list(&res, "access-control-expose-headers");
    for name in [
        "server-authorization",
        "timestamp",
        "retry-after",
        "www-authenticate",
    ] {
        assert!(exposed.contains(&name.into()), "{name} not in {exposed:?}");
    }
    let mut bad = mobileid::testkit::json_request(
        Method::POST,
        "/v1/msisdn/sms/verify_code",
        Some("{}".into()),
        None,
    );
    bad.headers_mut()
        .insert(header::ORIGIN, origin.parse().unwrap());
    let res = app.call(bad).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.header("access-control-allow-origin"), Some(origin));
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let app = app_with_origins(vec![
        AllowedOrigin::try_from("https://app.example.com".to_owned()).unwrap(),
    ])
    .await;
    for origin in [
        "https://evil.example.com",
        "https://app.example.com.evil.test",
        "http://app.example.com",
        "null",
    ] {
        let res = app.call(preflight("/v1/msisdn/register", origin)).await;
        assert_eq!(res.header("access-control-allow-origin"), None, "{origin}");
    }
}

#[tokio::test]
async fn a_stage_without_origins_answers_no_cors_and_options_is_a_json_405() {
    let app = app_with_origins(Vec::new()).await;
    let res = app
        .call(preflight("/v1/msisdn/register", "https://app.example.com"))
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.errno(), Some(999));
    assert_eq!(res.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn the_local_servers_policy_is_its_own_origin_and_localhost() {
    let app = app_with_origins(vec![
        AllowedOrigin::of_url("http://127.0.0.1:8080").unwrap(),
        AllowedOrigin::LocalhostAnyPort,
    ])
    .await;
    for (origin, allowed) in [
        ("http://127.0.0.1:8080", true),
        ("http://localhost:5173", true),
        ("http://localhost:3000", true),
        ("http://127.0.0.1:5173", false),
        ("https://localhost:5173", false),
        ("http://localhost.evil.test:5173", false),
    ] {
        let res = app.call(preflight("/v1/certificate/sign", origin)).await;
        assert_eq!(
            res.header("access-control-allow-origin").is_some(),
            allowed,
            "{origin}"
        );
    }
}

/// template.yaml's HttpApi CORS is the stage table's list: `StageSettings.<stage>.CorsOrigins`.
#[test]
fn the_template_mirrors_every_stage_tables_origins() {
    let template = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"));
    let mappings = &template[template.find("  StageSettings:").expect("StageSettings")..];
    let mappings = &mappings[..mappings.find("\nConditions:").expect("Conditions")];
    let mut in_template = BTreeMap::new();
    let mut stage = None;
    for line in mappings.lines() {
        if let Some(name) = line.strip_prefix("    ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            stage = Some(name.to_owned());
        }
        if let Some(value) = line.trim().strip_prefix("CorsOrigins:") {
            let value = value.trim().trim_matches('"').to_owned();
            in_template.insert(stage.clone().expect("a stage before its settings"), value);
        }
    }
    let mut in_tables = BTreeMap::new();
    for name in StageTable::known_stages() {
        let table = StageTable::load(name).unwrap();
        let joined: Vec<String> = table.cors_origins.iter().map(|o| o.to_string()).collect();
        in_tables.insert(name.to_owned(), joined.join(","));
    }
    assert_eq!(in_template, in_tables);
    assert!(template.contains(
        "AllowOrigins: !Split [\",\", !FindInMap [StageSettings, !Ref Stage, CorsOrigins]]"
    ));
    // The same headers as the functions' own CORS.
    let line = |key: &str| {
        template
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("{key} in template.yaml"))
            .to_owned()
    };
    let (exposed, allowed) = (line("ExposeHeaders:"), line("AllowHeaders:"));
    for name in mobileid::api::cors::EXPOSE_HEADERS {
        assert!(exposed.contains(name), "{name} not in {exposed}");
    }
    for name in mobileid::api::cors::ALLOW_HEADERS {
        assert!(allowed.contains(name.as_str()), "{name} not in {allowed}");
    }
}

#[tokio::test]
async fn sms_carry_the_origin_bound_line_when_the_stage_names_its_app() {
    let app = TestApp::builder()
        .adjust(|s| {
            s.stage.otp_domain = Some(OtpDomain::parse("app.example.com").unwrap());
            s.stage.android_app_hash = Some(AppHash::parse("FA+9qCX9VSu").unwrap());
        })
        .build()
        .await;
    let device = app.register().await;
    let res = app.ask_code(&device, FR, "208", true).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let text = app.sms_to(FR).pop().unwrap();
    let code = app.last_code_to(FR).unwrap();
    assert_eq!(
        text,
        format!("{code} is your verification code.\nFA+9qCX9VSu\n\n@app.example.com #{code}")
    );
    let res = app.submit_code(&device, &code).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());
}

/// A body that never finishes: its headers promised 100 bytes, one came.
fn stalled_request() -> Request<Body> {
    let stream = futures_stream();
    Request::builder()
        .method(Method::POST)
        .uri("/v1/msisdn/register")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, 100)
        .body(Body::from_stream(stream))
        .unwrap()
}

fn futures_stream()
-> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    struct Stall(bool);
    impl futures_core::Stream for Stall {
        type Item = Result<bytes::Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.0 {
                std::task::Poll::Pending
            } else {
                self.0 = true;
                std::task::Poll::Ready(Some(Ok(bytes::Bytes::from_static(b"{"))))
            }
        }
    }
    Stall(false)
}

#[tokio::test(start_paused = true)]
async fn a_stalled_body_is_answered_408_in_json_and_never_counts_as_in_flight() {
    let app = TestApp::builder()
        .adjust(|s| s.stage.limits.max_in_flight = 4)
        .build()
        .await;
    // Five times the in-flight limit of stalled bodies...
    let stalled: Vec<_> = (0..20)
        .map(|_| tokio::spawn(app.router.clone().oneshot(stalled_request())))
        .collect();
    tokio::task::yield_now().await;
    // ...and a normal request still gets through.
    let res = app.send(Method::POST, "/v1/msisdn/register", None).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());
    let started = tokio::time::Instant::now();
    for handle in stalled {
        let response = handle.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers().get(header::CONNECTION).unwrap(), "close");
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errno"], 119, "{body}");
        assert_eq!(body["code"], 408);
    }
    let waited = started.elapsed();
    assert!(waited <= Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn the_inbox_page_paints_its_messages_and_inbound_callbacks_at_once() {
    let app = TestApp::new().await;
    let device = app.register().await;
    app.ask_code(&device, FR, "208", true).await;
    // A callback for no session, and one repeated (the provider's retry).
    let query = "msisdn=33623456780&messageId=m-1&text=/v1/msisdn/sms/momt/verify%20".to_owned()
        + &"ab".repeat(32);
    for _ in 0..2 {
        let res = app
            .send(
                Method::GET,
                &format!("/v1/msisdn/sms/momt/nexmo?{query}"),
                None,
            )
            .await;
        assert_eq!(res.json(), json!({}));
    }
    let page = app.send(Method::GET, "/__sms__/", None).await;
    let html = String::from_utf8(page.body).unwrap();
    let code = app.last_code_to(FR).unwrap();
    assert!(
        html.contains(&format!("{code} is your verification code.")),
        "{html}"
    );
    assert!(html.contains("+33623456789"));
    assert!(html.contains(" UTC</td>"), "rows carry a date and zone");
    assert!(!html.contains("class=\"empty\">No SMS yet."));
    assert!(html.contains("ignored: no such session"));
    assert!(html.contains("ignored: duplicate messageId (provider retry)"));
    let inbound = app.send(Method::GET, "/__sms__/inbound", None).await.json();
    assert_eq!(inbound.as_array().unwrap().len(), 2, "{inbound}");
    assert_eq!(inbound[0]["messageId"], "m-1");
    assert_eq!(inbound[0]["from"], "33623456780");

    let empty = TestApp::new().await;
    let html = String::from_utf8(empty.send(Method::GET, "/__sms__/", None).await.body).unwrap();
    assert!(html.contains("class=\"empty\">No SMS yet."));
    assert!(html.contains("class=\"empty\">No inbound callback yet."));
}

#[tokio::test]
async fn with_a_token_the_page_asks_for_it_and_reads_answer_errno_118() {
    let app = TestApp::builder()
        .var("MOBILEID_FAKE_SMS_TOKEN", "tok-1")
        .build()
        .await;
    let device = app.register().await;
    app.ask_code(&device, FR, "208", true).await;
    let html = String::from_utf8(app.send(Method::GET, "/__sms__/", None).await.body).unwrap();
    assert!(html.contains("const LOCKED = true;"));
    assert!(html.contains("Enter the token"));
    assert!(
        !html.contains("is your verification code"),
        "no SMS without the token"
    );
    for path in [
        "/__sms__/all",
        "/__sms__/inbound",
        "/__sms__/receive?to=33623456789",
    ] {
        let res = app.send(Method::GET, path, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(res.errno(), Some(118), "{path}");
        assert_eq!(
            res.header("www-authenticate"),
            Some("Bearer realm=\"fake-sms\"")
        );
        let mut req = mobileid::testkit::json_request(Method::GET, path, None, None);
        req.headers_mut()
            .insert(header::AUTHORIZATION, "Bearer tok-1".parse().unwrap());
        assert_eq!(app.call(req).await.status, StatusCode::OK, "{path}");
    }
}
