//! Every API route through the whole router, in-process (testkit's TestApp: in-memory store,
//! fake SMS gateway, load-stage limits). Only the call is timed: each input (a fresh session,
//! a pending code, a signed request with a fresh nonce) is prepared outside the measurement.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock};

use axum::body::Body;
use divan::Bencher;
use http::{Method, Request, StatusCode, header};
use mobileid::clock::Clock;
use mobileid::domain::Msisdn;
use mobileid::testkit::{Device, HOST, TestApp, TestResponse, json_request};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::crypto::FIXTURE;

pub struct Bench {
    rt: Runtime,
    app: TestApp,
    /// The session certificate/sign benches sign for (one verified session, many requests).
    verified: OnceLock<Device>,
}

/// One service for all handler benches (its store grows a little as they run).
pub static BENCH: LazyLock<Bench> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // load-stage: per-address and per-country limits are lifted, as in a load test.
    let app = rt.block_on(
        TestApp::builder()
            .var("MOBILEID_STAGE", "load-stage")
            .build(),
    );
    Bench {
        rt,
        app,
        verified: OnceLock::new(),
    }
});

impl Bench {
    pub fn call(&self, request: Request<Body>) -> TestResponse {
        self.rt.block_on(self.app.call(request))
    }

    fn signed(&self, device: &Device, path: &str, body: &Value) -> Request<Body> {
        device.request(&self.app.clock, Method::POST, path, Some(body))
    }

    fn register(&self) -> Device {
        self.rt.block_on(self.app.register())
    }

    /// A registered device with a code pending for a fresh number; returns the code too.
    fn with_code(&self) -> (Device, Msisdn, String) {
        let device = self.register();
        let msisdn = fresh_number();
        let sent = self
            .rt
            .block_on(self.app.ask_code(&device, msisdn.e164(), "208", true));
        assert_eq!(
            sent.status,
            StatusCode::NO_CONTENT,
            "mt/verify: {:?}",
            sent.json()
        );
        let code = self.app.last_code_to(msisdn.e164()).expect("an SMS");
        (device, msisdn, code)
    }

    fn verified(&self) -> Device {
        let (device, _, code) = self.with_code();
        let ok = self.rt.block_on(self.app.submit_code(&device, &code));
        assert_eq!(ok.status, StatusCode::OK, "verify_code: {:?}", ok.json());
        device
    }
}

/// A French mobile never used before in this process (per-number limits stay on in load-stage).
fn fresh_number() -> Msisdn {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        // 61 803 399 is coprime with 10^8: a walk over every 8-digit suffix without repeats.
        let n = NEXT
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(61_803_399)
            % 100_000_000;
        if let Ok(msisdn) = Msisdn::parse(&format!("+336{n:08}")) {
            return msisdn;
        }
    }
}

/// A request ready to send, and the status the handler must answer it with.
pub type Case = (Request<Body>, StatusCode);

/// Prepares one endpoint's case.
pub type Input = fn(&Bench) -> Case;

/// Every endpoint's input, prepared outside any measurement (divan's and callgrind's alike).
pub const ENDPOINTS: &[(&str, Input)] = &[
    ("discover", discover_input),
    ("register", register_input),
    ("mt_verify", mt_verify_input),
    ("webhook", webhook_input),
    ("verify_code_right", verify_code_right_input),
    ("verify_code_wrong", verify_code_wrong_input),
    ("certificate_sign", certificate_sign_input),
    ("unregister", unregister_input),
];

/// Sends a prepared case and checks its status: a bench of a failing request measures nothing.
pub fn send(b: &Bench, (request, status): Case) {
    let response = b.call(request);
    assert_eq!(response.status, status, "{:?}", response.json());
}

fn discover_input(_: &Bench) -> Case {
    let body = json!({"mcc": "208"}).to_string();
    let request = json_request(Method::POST, "/v1/msisdn/discover", Some(body), None);
    (request, StatusCode::OK)
}

fn register_input(_: &Bench) -> Case {
    let request = json_request(Method::POST, "/v1/msisdn/register", None, None);
    (request, StatusCode::OK)
}

fn mt_verify_input(b: &Bench) -> Case {
    let device = b.register();
    let body =
        json!({"msisdn": fresh_number().e164(), "mcc": "208", "shortVerificationCode": true});
    let request = b.signed(&device, "/v1/msisdn/sms/mt/verify", &body);
    (request, StatusCode::NO_CONTENT)
}

/// The provider's inbound-SMS callback (SMS-MO+MT), as a form POST.
fn webhook_input(b: &Bench) -> Case {
    static MESSAGE_ID: AtomicU64 = AtomicU64::new(0);
    let device = b.register();
    let params = [
        ("msisdn", fresh_number().digits().to_owned()),
        ("to", "33757000001".to_owned()),
        (
            "messageId",
            format!("{:016X}", MESSAGE_ID.fetch_add(1, Ordering::Relaxed)),
        ),
        (
            "text",
            format!("/v1/msisdn/sms/momt/verify {}", device.id.to_hex()),
        ),
        ("type", "text".to_owned()),
        ("timestamp", b.app.clock.now_secs().to_string()),
    ];
    let form = serde_urlencoded::to_string(params).expect("a form");
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/msisdn/sms/momt/nexmo")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, form.len())
        .body(Body::from(form))
        .expect("a request");
    (request, StatusCode::OK)
}

fn verify_code_right_input(b: &Bench) -> Case {
    let (device, _, code) = b.with_code();
    let request = b.signed(
        &device,
        "/v1/msisdn/sms/verify_code",
        &json!({"code": code}),
    );
    (request, StatusCode::OK)
}

fn verify_code_wrong_input(b: &Bench) -> Case {
    let (device, _, code) = b.with_code();
    let wrong = if code.ends_with('0') {
        format!("{}1", &code[..5])
    } else {
        format!("{}0", &code[..5])
    };
    let request = b.signed(
        &device,
        "/v1/msisdn/sms/verify_code",
        &json!({"code": wrong}),
    );
    (request, StatusCode::BAD_REQUEST)
}

fn certificate_sign_input(b: &Bench) -> Case {
    let device = b.verified.get_or_init(|| b.verified());
    let body = json!({"publicKey": FIXTURE.client_key, "duration": 10});
    let request = b.signed(device, "/v1/certificate/sign", &body);
    (request, StatusCode::OK)
}

fn unregister_input(b: &Bench) -> Case {
    let device = b.register();
    let request = b.signed(&device, "/v1/msisdn/unregister", &json!({}));
    (request, StatusCode::NO_CONTENT)
}

fn bench_endpoint(bencher: Bencher, input: Input) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| input(b))
        .bench_local_values(|case| send(b, case));
}

#[divan::bench]
fn discover(bencher: Bencher) {
    bench_endpoint(bencher, discover_input);
}

#[divan::bench]
fn register(bencher: Bencher) {
    bench_endpoint(bencher, register_input);
}

#[divan::bench]
fn mt_verify(bencher: Bencher) {
    bench_endpoint(bencher, mt_verify_input);
}

#[divan::bench]
fn webhook(bencher: Bencher) {
    bench_endpoint(bencher, webhook_input);
}

#[divan::bench]
fn verify_code_right(bencher: Bencher) {
    bench_endpoint(bencher, verify_code_right_input);
}

#[divan::bench]
fn verify_code_wrong(bencher: Bencher) {
    bench_endpoint(bencher, verify_code_wrong_input);
}

#[divan::bench]
fn certificate_sign(bencher: Bencher) {
    bench_endpoint(bencher, certificate_sign_input);
}

#[divan::bench]
fn unregister(bencher: Bencher) {
    bench_endpoint(bencher, unregister_input);
}
