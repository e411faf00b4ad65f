//! The sample Lambda events under `events/`, parsed by lambda_http exactly as in Lambda
//! (`lambda_http::request::from_str`) and the adapters' source-address layer, then handed to the router of the function they belong
//! to. A fixture that stops parsing, or a route that moves, fails here before it fails in AWS.

use axum::Router;
use http::StatusCode;
use http_body_util::BodyExt;
use mobileid::api::{
    AppState, inbound_sms_router, sign_certificate_router, start_verification_router,
    verify_code_router,
};
use mobileid::testkit::TestApp;
use serde_json::Value;
use tower::ServiceExt;

/// One fixture: the file, the function it is for, and what that function must answer.
struct Fixture {
    file: &'static str,
    json: &'static str,
    router: fn(AppState) -> Router,
    status: StatusCode,
    /// Checks the body (JSON when the response is JSON, `Null` otherwise).
    body: fn(&Value, &AppState),
}

macro_rules! event {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/", $file)),
        )
    };
}

fn fixtures() -> Vec<Fixture> {
    let fixture = |(file, json), router, status, body| Fixture {
        file,
        json,
        router,
        status,
        body,
    };
    vec![
        fixture(
            event!("start-verification-discover.json"),
            start_verification_router,
            StatusCode::OK,
            |b, _| {
                // MCC 310 is served by dev and has an MO number: the SMS-MO flow is offered.
                assert_eq!(
                    b["verificationMethods"],
                    serde_json::json!(["sms/momt"]),
                    "{b}"
                );
                assert!(
                    b["verificationDetails"]["sms/momt"]["moVerifier"].is_string(),
                    "{b}"
                );
            },
        ),
        fixture(
            event!("start-verification-register.json"),
            start_verification_router,
            StatusCode::OK,
            token,
        ),
        fixture(
            event!("start-verification-register-legacy-path.json"),
            start_verification_router,
            StatusCode::OK,
            token,
        ),
        fixture(
            event!("start-verification-lbheartbeat.json"),
            start_verification_router,
            StatusCode::OK,
            |b, _| {
                assert_eq!(*b, serde_json::json!({}));
            },
        ),
        fixture(
            event!("verify-code-unsigned.json"),
            verify_code_router,
            StatusCode::UNAUTHORIZED,
            |b, _| {
                assert_eq!(b["errno"], 110, "{b}");
            },
        ),
        fixture(
            event!("sign-certificate-jwks.json"),
            sign_certificate_router,
            StatusCode::OK,
            |b, state| {
                assert_eq!(
                    b["keys"][0]["kid"],
                    state.signing_keys().unwrap().kid(),
                    "{b}"
                );
                assert_eq!(b["keys"][0]["alg"], "ES256", "{b}");
            },
        ),
        fixture(
            event!("sign-certificate-browserid.json"),
            sign_certificate_router,
            StatusCode::OK,
            |b, state| {
                assert_eq!(
                    b["public-key"]["kid"],
                    state.signing_keys().unwrap().kid(),
                    "{b}"
                );
            },
        ),
        fixture(
            event!("sign-certificate-unsigned.json"),
            sign_certificate_router,
            StatusCode::UNAUTHORIZED,
            |b, _| {
                assert_eq!(b["errno"], 110, "{b}");
            },
        ),
        fixture(
            event!("inbound-sms-nexmo-ping.json"),
            inbound_sms_router,
            StatusCode::OK,
            |b, _| {
                // Nexmo only needs the 200; the body is an empty JSON object.
                assert_eq!(*b, serde_json::json!({}));
            },
        ),
    ]
}

fn token(body: &Value, _: &AppState) {
    let token = body["msisdnSessionToken"].as_str().unwrap_or_default();
    assert!(
        token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{body}"
    );
}

/// The fixture through lambda_http's parsing and `router`; (status, JSON body or Null).
async fn invoke(json: &str, router: Router) -> (StatusCode, Value) {
    let request = lambda_http::request::from_str(json).expect("lambda_http parses the event");
    // As `mobileid_aws::run` does: API Gateway's sourceIp becomes the client address.
    let request = mobileid_aws::lambda::copy_source_ip(request).map(axum::body::Body::new);
    let response = router
        .oneshot(request)
        .await
        .expect("routers are infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_fixture_gets_its_expected_answer() {
    for f in fixtures() {
        // A fresh service per fixture: no fixture depends on another's state.
        let app = TestApp::new().await;
        let (status, body) = invoke(f.json, (f.router)(app.state.clone())).await;
        assert_eq!(status, f.status, "{}: {body}", f.file);
        (f.body)(&body, &app.state);
    }
}

#[tokio::test]
async fn a_function_answers_only_its_own_routes() {
    let app = TestApp::new().await;
    let json = event!("start-verification-discover.json").1;
    for router in [
        inbound_sms_router,
        verify_code_router,
        sign_certificate_router,
    ] {
        let (status, body) = invoke(json, router(app.state.clone())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(body["errno"].is_number(), "JSON 404: {body}");
    }
}

#[test]
fn every_file_in_events_has_an_expectation() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let known: Vec<&str> = fixtures().iter().map(|f| f.file).collect();
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    for file in &files {
        assert!(
            known.contains(&file.as_str()),
            "events/{file} has no expectation in shared/aws/tests/events.rs"
        );
    }
    assert_eq!(files.len(), known.len());
}

/// The routes template.yaml gives API Gateway, as (function resource, method, path).
fn template_routes() -> Vec<(String, String, String)> {
    let template = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml"));
    let mut function = String::new();
    let mut routes = Vec::new();
    for line in template.lines() {
        // Resources are indented by two spaces; their events are one line each.
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            function = name.to_owned();
        }
        if !line.contains("Type: HttpApi,") {
            continue;
        }
        let field = |key: &str| {
            line.split(key).nth(1).map(|rest| {
                rest.split([',', '}'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
        };
        let (Some(method), Some(path)) = (field("Method: "), field("Path: ")) else {
            panic!("cannot read the route in template.yaml: {line}");
        };
        routes.push((function.clone(), method, path));
    }
    routes
}

#[tokio::test]
async fn every_route_in_the_template_reaches_its_function() {
    let app = TestApp::new().await;
    let routes = template_routes();
    assert!(
        routes.len() >= 20,
        "the template's routes were not found: {routes:?}"
    );
    for (function, method, path) in routes {
        let router: fn(AppState) -> Router = match function.as_str() {
            "StartVerificationFunction" => start_verification_router,
            "VerifyCodeFunction" => verify_code_router,
            "SignCertificateFunction" => sign_certificate_router,
            other => panic!("template.yaml routes to {other}, which this test does not know"),
        };
        if path == "$default" {
            continue; // API Gateway's catch-all: whatever the function says, by design.
        }
        let method = if method == "ANY" {
            "GET".to_owned()
        } else {
            method
        };
        let request = http::Request::builder()
            .method(method.as_str())
            .uri(path.as_str())
            .header("host", mobileid::testkit::HOST)
            .header("content-type", "application/json")
            .body(axum::body::Body::from("{}"))
            .unwrap();
        let response = router(app.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "template.yaml sends {method} {path} to {function}, which answers {status}"
        );
    }
}
