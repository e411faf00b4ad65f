//! Every API route through the whole router, in-process (testkit's TestApp: in-memory store,
//! fake SMS gateway, load-stage limits). Only the call is timed: each input (a fresh session,
//! a pending code, a signed request with a fresh nonce) is prepared outside the measurement.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use divan::Bencher;
use http::{Method, Request, StatusCode, header};
use mobileid::clock::Clock;
use mobileid::domain::Msisdn;
use mobileid::testkit::{Device, HOST, TestApp, TestResponse, json_request};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::crypto::FIXTURE;

struct Bench {
    rt: Runtime,
    app: TestApp,
}

/// One service for all handler benches (its store grows a little as they run).
static BENCH: LazyLock<Bench> = LazyLock::new(|| {
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
    Bench { rt, app }
});

impl Bench {
    fn call(&self, request: Request<Body>) -> TestResponse {
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

fn expect(response: TestResponse, status: StatusCode) {
    assert_eq!(response.status, status, "{:?}", response.json());
}

#[divan::bench]
fn discover(bencher: Bencher) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| {
            json_request(
                Method::POST,
                "/v1/msisdn/discover",
                Some(json!({"mcc": "208"}).to_string()),
                None,
            )
        })
        .bench_local_values(|request| expect(b.call(request), StatusCode::OK));
}

#[divan::bench]
fn register(bencher: Bencher) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| json_request(Method::POST, "/v1/msisdn/register", None, None))
        .bench_local_values(|request| expect(b.call(request), StatusCode::OK));
}

#[divan::bench]
fn mt_verify(bencher: Bencher) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| {
            let device = b.register();
            let body = json!({"msisdn": fresh_number().e164(), "mcc": "208", "shortVerificationCode": true});
            b.signed(&device, "/v1/msisdn/sms/mt/verify", &body)
        })
        .bench_local_values(|request| expect(b.call(request), StatusCode::NO_CONTENT));
}

/// The provider's inbound-SMS callback (SMS-MO+MT), as a form POST.
#[divan::bench]
fn webhook(bencher: Bencher) {
    let b = &*BENCH;
    static MESSAGE_ID: AtomicU64 = AtomicU64::new(0);
    bencher
        .with_inputs(|| {
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
            Request::builder()
                .method(Method::POST)
                .uri("/v1/msisdn/sms/momt/nexmo")
                .header(header::HOST, HOST)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, form.len())
                .body(Body::from(form))
                .expect("a request")
        })
        .bench_local_values(|request| expect(b.call(request), StatusCode::OK));
}

#[divan::bench]
fn verify_code_right(bencher: Bencher) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| {
            let (device, _, code) = b.with_code();
            b.signed(
                &device,
                "/v1/msisdn/sms/verify_code",
                &json!({"code": code}),
            )
        })
        .bench_local_values(|request| expect(b.call(request), StatusCode::OK));
}

#[divan::bench]
fn verify_code_wrong(bencher: Bencher) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| {
            let (device, _, code) = b.with_code();
            let wrong = if code.ends_with('0') {
                format!("{}1", &code[..5])
            } else {
                format!("{}0", &code[..5])
            };
            b.signed(
                &device,
                "/v1/msisdn/sms/verify_code",
                &json!({"code": wrong}),
            )
        })
        .bench_local_values(|request| expect(b.call(request), StatusCode::BAD_REQUEST));
}

#[divan::bench]
fn certificate_sign(bencher: Bencher) {
    let b = &*BENCH;
    // One verified session signs many certificates; each request has its own nonce.
    let device = b.verified();
    let body = json!({"publicKey": FIXTURE.client_key, "duration": 10});
    bencher
        .with_inputs(|| b.signed(&device, "/v1/certificate/sign", &body))
        .bench_local_values(|request| expect(b.call(request), StatusCode::OK));
}

#[divan::bench]
fn unregister(bencher: Bencher) {
    let b = &*BENCH;
    bencher
        .with_inputs(|| {
            let device = b.register();
            b.signed(&device, "/v1/msisdn/unregister", &json!({}))
        })
        .bench_local_values(|request| expect(b.call(request), StatusCode::NO_CONTENT));
}
