//! Test support: the whole service in-process (memory store, fake gateway, manual clock) and a
//! device that registers and signs its requests with Hawk as a real client does. Used by the
//! integration tests, the benchmarks and the fuzz targets; not used by the service itself.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::api::{AppState, InboundVerifier, local_router};
use crate::clock::{Clock, ManualClock};
use crate::config::{ServiceSecrets, Settings};
use crate::crypto::hawk_auth::{SignedRequest, client_authorization};
use crate::crypto::{AuthKey, derive_credentials};
use crate::domain::{HawkId, SessionToken};
use crate::metrics::{Capture, Metrics};
use crate::random::OsRandomness;
use crate::runtime::{Host, Overrides, build_services};
use crate::sms::{Outbox, SmsSender};
use crate::store::{MemoryStore, Store};

/// The Host header test requests carry (the default public URL's authority).
pub const HOST: &str = "127.0.0.1:8080";

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub clock: ManualClock,
    pub outbox: Arc<Outbox>,
    /// Every EMF line the service printed.
    pub metrics: Arc<Capture>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The errno of an error body.
    pub fn errno(&self) -> Option<u64> {
        self.json()["errno"].as_u64()
    }
}

/// A change to the settings, applied after they are read.
type Adjustment = Box<dyn FnOnce(&mut Settings)>;

pub struct TestAppBuilder {
    vars: Vec<(String, String)>,
    stage_toml: Option<String>,
    adjust: Vec<Adjustment>,
    secrets: Option<ServiceSecrets>,
    inbound_verifier: Option<Arc<dyn InboundVerifier>>,
    fake_gateway: bool,
    store: Option<Arc<dyn Store>>,
    sms: Option<Arc<dyn SmsSender>>,
}

impl TestAppBuilder {
    /// A `MOBILEID_*` setting.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// Replaces the stage table with this TOML (limits and countries made for one test).
    pub fn stage_toml(mut self, toml: &str) -> Self {
        self.stage_toml = Some(toml.to_owned());
        self
    }

    /// Changes the settings after they are read (limits, tokens, …).
    pub fn adjust(mut self, f: impl FnOnce(&mut Settings) + 'static) -> Self {
        self.adjust.push(Box::new(f));
        self
    }

    /// The stage secret (e.g. one with a Nexmo signature secret); a fresh one otherwise.
    pub fn secrets(mut self, secrets: ServiceSecrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    pub fn inbound_verifier(mut self, verifier: Arc<dyn InboundVerifier>) -> Self {
        self.inbound_verifier = Some(verifier);
        self
    }

    /// No fake gateway read routes (they answer 404, as in production).
    pub fn without_fake_gateway(mut self) -> Self {
        self.fake_gateway = false;
        self
    }

    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// An SMS sender other than the outbox (the outbox still records nothing then).
    pub fn sms(mut self, sms: Arc<dyn SmsSender>) -> Self {
        self.sms = Some(sms);
        self
    }

    pub async fn build(self) -> TestApp {
        let vars = self.vars;
        let mut settings = Settings::from_vars(|name| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .expect("test settings are valid");
        if let Some(toml) = &self.stage_toml {
            settings.stage =
                crate::config::StageTable::parse(toml).expect("test stage table is valid");
        }
        for adjust in self.adjust {
            adjust(&mut settings);
        }
        let clock = ManualClock::starting_now();
        let outbox = Arc::new(
            Outbox::new(Arc::new(clock.clone())).undeliverable(&settings.fake_sms_undeliverable),
        );
        let overrides = Overrides {
            clock: Arc::new(clock.clone()),
            rng: Arc::new(OsRandomness),
            store: Some(self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()))),
            sms: Some(self.sms.unwrap_or_else(|| outbox.clone())),
            sms_providers: crate::sms::build::Providers::none(),
            inbound_verifier: self.inbound_verifier,
        };
        let secrets = self
            .secrets
            .unwrap_or_else(|| ServiceSecrets::generate(&OsRandomness));
        let mut state = build_services(settings, &secrets, Host::Local, overrides)
            .await
            .expect("test services build");
        let metrics = Arc::new(Capture::default());
        {
            let services = Arc::get_mut(&mut state).expect("fresh state");
            services.outbox = self
                .fake_gateway
                .then(|| outbox.clone() as Arc<dyn crate::sms::FakeGateway>);
            services.metrics = Metrics::new(
                &services.settings.stage.stage,
                metrics.clone(),
                Arc::new(clock.clone()),
            );
        }
        TestApp {
            router: local_router(state.clone()),
            state,
            clock,
            outbox,
            metrics,
        }
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            vars: Vec::new(),
            stage_toml: None,
            adjust: Vec::new(),
            secrets: None,
            inbound_verifier: None,
            fake_gateway: true,
            store: None,
            sms: None,
        }
    }

    /// The local dev setup: stage dev, memory store, fake gateway, clock at the real now.
    pub async fn new() -> Self {
        Self::builder().build().await
    }

    pub async fn call(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .expect("bodies are in memory")
            .to_bytes()
            .to_vec();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// An unauthenticated JSON request.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        self.call(json_request(method, path, body.map(Value::to_string), None))
            .await
    }

    pub async fn register(&self) -> Device {
        let res = self.send(Method::POST, "/v1/msisdn/register", None).await;
        assert_eq!(res.status, StatusCode::OK, "register: {:?}", res.json());
        let token = res.json()["msisdnSessionToken"]
            .as_str()
            .expect("a token")
            .to_owned();
        Device::from_token(&token)
    }

    /// A Hawk-signed POST by `device` (payload hash included).
    pub async fn post_as(&self, device: &Device, path: &str, body: &Value) -> TestResponse {
        self.call(device.request(&self.clock, Method::POST, path, Some(body)))
            .await
    }

    /// `sms/mt/verify` for `e164` on a network of `mcc`.
    pub async fn ask_code(
        &self,
        device: &Device,
        e164: &str,
        mcc: &str,
        short: bool,
    ) -> TestResponse {
        let body = serde_json::json!({"msisdn": e164, "mcc": mcc, "shortVerificationCode": short});
        self.post_as(device, "/v1/msisdn/sms/mt/verify", &body)
            .await
    }

    /// `sms/verify_code` with `code`.
    pub async fn submit_code(&self, device: &Device, code: &str) -> TestResponse {
        self.post_as(
            device,
            "/v1/msisdn/sms/verify_code",
            &serde_json::json!({"code": code}),
        )
        .await
    }

    /// The messages the fake gateway holds for `e164`.
    pub fn sms_to(&self, e164: &str) -> Vec<String> {
        self.outbox
            .received(e164)
            .into_iter()
            .map(|m| m.text)
            .collect()
    }

    /// The EMF lines printed so far, parsed, whose metric is `name`.
    pub fn metric_lines(&self, name: &str) -> Vec<Value> {
        self.metrics
            .lines()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).expect("an EMF line is JSON"))
            .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == name)
            .collect()
    }

    /// The code in the last SMS to `e164` (the code comes first in every text).
    pub fn last_code_to(&self, e164: &str) -> Option<String> {
        self.sms_to(e164)
            .last()
            .and_then(|t| crate::sms::text::code_in(t).map(str::to_owned))
    }
}

/// A client device: a session token and the Hawk credentials derived from it.
#[derive(Clone, Debug)]
pub struct Device {
    pub token: SessionToken,
    pub id: HawkId,
    pub key: AuthKey,
}

impl Device {
    pub fn from_token(hex: &str) -> Self {
        let token = SessionToken::parse(hex).expect("64 hex chars");
        let (id, key) = derive_credentials(&token);
        Device { token, id, key }
    }

    /// A Hawk-signed JSON request (with a payload hash), timestamped by `clock`.
    pub fn request(
        &self,
        clock: &dyn Clock,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Request<Body> {
        self.request_at(clock.now_secs(), &random_nonce(), method, path, body, true)
    }

    pub fn request_at(
        &self,
        ts: i64,
        nonce: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        with_hash: bool,
    ) -> Request<Body> {
        let text = body.map(Value::to_string);
        let signed = SignedRequest {
            method: method.as_str(),
            host: "127.0.0.1",
            port: 8080,
            path,
        };
        let payload = text
            .as_deref()
            .filter(|_| with_hash)
            .map(|t| ("application/json", t.as_bytes()));
        let authorization = client_authorization(&self.id, &self.key, &signed, ts, nonce, payload);
        json_request(method, path, text, Some(authorization))
    }
}

fn random_nonce() -> String {
    hex::encode(crate::random::random_array::<8>(&OsRandomness))
}

/// A request with the test Host header, JSON body and optional Authorization.
pub fn json_request(
    method: Method,
    path: &str,
    body: Option<String>,
    authorization: Option<String>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, HOST);
    if let Some(auth) = authorization {
        builder = builder.header(header::AUTHORIZATION, auth);
    }
    match body {
        Some(text) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, text.len())
            .body(Body::from(text)),
        None => builder
            .header(header::CONTENT_LENGTH, 0)
            .body(Body::empty()),
    }
    .expect("a valid test request")
}
