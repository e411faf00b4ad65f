//! The whole service in-process for the router-level targets (built once per fuzzing process),
//! and the invariants every answer must keep: never a 5xx, and every error a JSON body
//! `{code = status, errno, error, message, …}`.
// Each target includes this file and uses only part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use http::{Method, Request, header};
use mobileid::crypto::hawk_auth::{SignedRequest, client_authorization};
use mobileid::testkit::{Device, HOST, TestApp, TestResponse};
use tokio::runtime::Runtime;

pub struct Harness {
    rt: Runtime,
    pub app: TestApp,
    /// The device signed requests come from (replaced when a fuzzed request unregisters it).
    device: Mutex<Device>,
    nonce: AtomicU64,
}

pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (app, device) = rt.block_on(async {
            let app = TestApp::new().await;
            let device = app.register().await;
            (app, device)
        });
        Harness {
            rt,
            app,
            device: Mutex::new(device),
            nonce: AtomicU64::new(0),
        }
    })
}

/// How a request is authenticated.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// Hawk-signed by the registered device (with or without the payload hash).
    Signed {
        with_hash: bool,
    },
    /// This exact Authorization value.
    Raw(&'a str),
}

impl Harness {
    pub fn call(&self, request: Request<Body>) -> TestResponse {
        self.rt.block_on(self.app.call(request))
    }

    /// A new session for the signed requests, so that one unregister does not leave every
    /// later signed request at 401.
    pub fn renew_device(&self) {
        let device = self.rt.block_on(self.app.register());
        *self.device.lock().unwrap() = device;
    }

    /// A request with the test Host, the given headers and body, authenticated as asked.
    /// `None` when the fuzzer's bytes can't make a valid HTTP request (a bad header value).
    pub fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        extra_headers: &[(&str, &str)],
        body: Vec<u8>,
        auth: Auth<'_>,
    ) -> Option<Request<Body>> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, HOST);
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        for (name, value) in extra_headers {
            builder = builder.header(*name, *value);
        }
        let authorization = match auth {
            Auth::None => None,
            Auth::Raw(value) => Some(value.to_owned()),
            Auth::Signed { with_hash } => {
                let signed = SignedRequest {
                    method: method.as_str(),
                    host: "127.0.0.1",
                    port: 8080,
                    path,
                };
                let nonce = format!("f{}", self.nonce.fetch_add(1, Ordering::Relaxed));
                let payload = with_hash.then(|| (content_type.unwrap_or(""), body.as_slice()));
                let ts = self.app.clock.now_secs_for_tests();
                let device = self.device.lock().unwrap();
                Some(client_authorization(
                    &device.id,
                    &device.key,
                    &signed,
                    ts,
                    &nonce,
                    payload,
                ))
            }
        };
        if let Some(a) = authorization {
            builder = builder.header(header::AUTHORIZATION, a);
        }
        builder = builder.header(header::CONTENT_LENGTH, body.len());
        builder.body(Body::from(body)).ok()
    }
}

/// The invariants of every answer.
pub fn check(what: &str, res: &TestResponse) {
    let status = res.status.as_u16();
    assert!(
        status < 500,
        "{what}: {status} {}",
        String::from_utf8_lossy(&res.body)
    );
    assert!(
        res.header("timestamp").is_some(),
        "{what}: no Timestamp header"
    );
    if status >= 400 {
        assert_eq!(
            res.header("content-type"),
            Some("application/json"),
            "{what}: {status} is not JSON"
        );
        let body = res.json();
        assert_eq!(body["code"], status, "{what}: code in {body}");
        assert!(body["errno"].is_u64(), "{what}: errno in {body}");
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
        if status == 429 {
            assert!(
                res.header("retry-after").is_some() && body["retryAfter"].is_u64(),
                "{what}: {body}"
            );
        }
    }
}
