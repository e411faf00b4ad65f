//! What the SMS and webhook tests share: a small HTTP server that speaks a provider's wire
//! format and records what it received, clients for it and for moto, and a test app whose
//! stage secret signs inbound callbacks.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use mobileid::api::AppState;
use mobileid::clock::ManualClock;
use mobileid::config::{ConfigError, ServiceSecrets, Settings};
use mobileid::crypto::KeyedIds;
use mobileid::random::OsRandomness;
use mobileid::runtime::{Host, Overrides, build_services};
use mobileid::sms::build::Providers;
use mobileid::sms::{Outbox, SmsSender};
use mobileid::store::MemoryStore;
use mobileid::testkit::{Device, HOST, TestApp, TestResponse};

/// One request's form fields, in the order they came.
pub type Form = Vec<(String, String)>;

/// What the server answers.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Waits this long before answering (a provider that hangs).
    pub delay: Duration,
}

impl Reply {
    pub fn json(body: serde_json::Value) -> Self {
        Reply {
            status: 200,
            content_type: "application/json",
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// Nexmo's answer for one accepted (status "0") or refused message.
    pub fn nexmo(status: &str, error_text: &str) -> Self {
        let mut message = serde_json::json!({"to": "33612345678", "status": status});
        if status == "0" {
            message["message-id"] = "0A0000000123ABCD1".into();
            message["remaining-balance"] = "3.14159265".into();
            message["message-price"] = "0.03330000".into();
            message["network"] = "20810".into();
        } else {
            message["error-text"] = error_text.into();
        }
        Self::json(serde_json::json!({"message-count": "1", "messages": [message]}))
    }

    pub fn nexmo_ok() -> Self {
        Self::nexmo("0", "")
    }

    /// SNS's (awsQuery) answer to Publish.
    pub fn sns_published() -> Self {
        let body = "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
            <PublishResult><MessageId>94f20ce6-13c5-43a0-9a9e-ca52d816e90b</MessageId></PublishResult>\
            <ResponseMetadata><RequestId>f187a3c1-376f-11df-8963-01868b7c937a</RequestId></ResponseMetadata>\
            </PublishResponse>";
        Reply {
            status: 200,
            content_type: "text/xml",
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Reply {
            status,
            content_type: "text/html",
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Clone)]
struct ServerState {
    reply: Reply,
    received: Arc<Mutex<Vec<Form>>>,
}

/// An HTTP server on 127.0.0.1 that records every form it is posted and answers `reply`.
pub struct FormServer {
    pub url: String,
    received: Arc<Mutex<Vec<Form>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FormServer {
    pub async fn start(reply: Reply) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = ServerState {
            reply,
            received: received.clone(),
        };
        let app = axum::Router::new().fallback(record).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("bound");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FormServer {
            url: format!("http://{addr}/sms/json"),
            received,
            task,
        }
    }

    /// The forms received so far, oldest first.
    pub fn received(&self) -> Vec<Form> {
        self.received.lock().unwrap().clone()
    }

    /// The only form received (fails otherwise).
    pub fn only(&self) -> BTreeMap<String, String> {
        let all = self.received();
        assert_eq!(all.len(), 1, "exactly one request expected, got {all:?}");
        all[0].iter().cloned().collect()
    }

    /// The root URL (for SDK endpoints).
    pub fn root(&self) -> String {
        self.url.trim_end_matches("/sms/json").to_owned()
    }
}

impl Drop for FormServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(state): State<ServerState>, body: Bytes) -> Response {
    let form: Form = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    state.received.lock().unwrap().push(form);
    let reply = state.reply;
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).expect("a valid status");
    (
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response()
}

/// A URL nothing listens on (connection refused).
pub async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr: SocketAddr = listener.local_addr().expect("bound");
    drop(listener);
    format!("http://{addr}/sms/json")
}

/// The `MessageAttributes.entry.N.{Name,Value.StringValue}` of an SNS Publish form.
pub fn sns_attributes(form: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    form.iter()
        .filter_map(|(k, name)| {
            let n = k
                .strip_prefix("MessageAttributes.entry.")?
                .strip_suffix(".Name")?;
            let value = form.get(&format!("MessageAttributes.entry.{n}.Value.StringValue"))?;
            Some((name.clone(), value.clone()))
        })
        .collect()
}

/// moto's URL: `None` (the test is skipped, and says so) when it is not running, unless
/// `MOBILEID_REQUIRE_SERVERS=1`, where a missing server fails the test.
pub fn moto_url() -> Option<String> {
    match std::env::var("MOTO_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => Some(url.trim_end_matches('/').to_owned()),
        None if std::env::var("MOBILEID_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!(
                "MOTO_URL is not set but MOBILEID_REQUIRE_SERVERS=1: start moto (infra/test.sh does)"
            )
        }
        None => {
            eprintln!(
                "skipped: MOTO_URL is not set (run infra/test.sh, or start moto_server and export MOTO_URL)"
            );
            None
        }
    }
}

/// HMAC secrets for log tags, for failovers built before the app.
pub fn some_ids() -> KeyedIds {
    ServiceSecrets::generate(&OsRandomness)
        .keyed_ids()
        .expect("generated secrets are valid")
}

/// A stage secret whose inbound callbacks are signed with `signature_secret` and `method`.
pub fn signing_secrets(signature_secret: &str, method: &str) -> ServiceSecrets {
    let mut secrets = ServiceSecrets::generate(&OsRandomness);
    secrets.nexmo.signature_secret = signature_secret.into();
    secrets.nexmo.signature_method = method.into();
    secrets
}

/// The local service (every route, outbox, manual clock) built from `secrets`, so that the
/// inbound verifier is the one the secret selects. (The testkit's builder generates its own
/// secret, without a signature secret.)
pub async fn app_with_secrets(
    secrets: &ServiceSecrets,
    sms: Option<Arc<dyn SmsSender>>,
) -> TestApp {
    let builder = TestApp::builder().secrets(secrets.clone());
    match sms {
        Some(sms) => builder.sms(sms).build().await,
        None => builder.build().await,
    }
}

/// `sms/mt/verify` by `device` for `e164` on a network of `mcc`, with an `Accept-Language`.
pub async fn ask_code(
    app: &TestApp,
    device: &Device,
    e164: &str,
    mcc: &str,
    short: bool,
    accept_language: Option<&str>,
) -> TestResponse {
    let body = serde_json::json!({"msisdn": e164, "mcc": mcc, "shortVerificationCode": short});
    let mut request = device.request(
        &app.clock,
        Method::POST,
        "/v1/msisdn/sms/mt/verify",
        Some(&body),
    );
    if let Some(value) = accept_language {
        let value = http::HeaderValue::from_str(value).expect("a header value");
        request.headers_mut().insert(header::ACCEPT_LANGUAGE, value);
    }
    app.call(request).await
}

/// `sms/verify_code` by `device`.
pub async fn submit_code(app: &TestApp, device: &Device, code: &str) -> TestResponse {
    let body = serde_json::json!({"code": code});
    app.call(device.request(
        &app.clock,
        Method::POST,
        "/v1/msisdn/sms/verify_code",
        Some(&body),
    ))
    .await
}

/// A GET with optional headers.
pub fn get(path: &str, headers: &[(&str, &str)]) -> http::Request<axum::body::Body> {
    let mut builder = http::Request::builder()
        .method(Method::GET)
        .uri(path)
        .header(header::HOST, HOST);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(axum::body::Body::empty())
        .expect("a valid request")
}

/// The settings `vars` make (everything else at its default).
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    Settings::from_vars(|name| {
        vars.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .expect("test settings are valid")
}

/// The services as a Lambda of a stage builds them (the store in memory), on `clock`.
pub async fn lambda_services(
    vars: &[(&str, &str)],
    secrets: &ServiceSecrets,
    clock: &ManualClock,
) -> Result<AppState, ConfigError> {
    lambda_services_linking(vars, secrets, clock, Providers::nexmo()).await
}

/// [`lambda_services`] for a function that links `providers`.
pub async fn lambda_services_linking(
    vars: &[(&str, &str)],
    secrets: &ServiceSecrets,
    clock: &ManualClock,
    providers: Providers,
) -> Result<AppState, ConfigError> {
    let overrides = Overrides {
        clock: Arc::new(clock.clone()),
        store: Some(Arc::new(MemoryStore::new())),
        sms_providers: providers,
        ..Overrides::default()
    };
    build_services(settings(vars), secrets, Host::Lambda, overrides).await
}

/// A test app over one Lambda function's router (its `outbox` field is unused).
pub fn function_app(
    state: &AppState,
    router: fn(AppState) -> axum::Router,
    clock: &ManualClock,
) -> TestApp {
    TestApp {
        router: router(state.clone()),
        state: state.clone(),
        clock: clock.clone(),
        outbox: Arc::new(Outbox::new(Arc::new(clock.clone()))),
        // Unused too: a Lambda's services print their metrics to stdout.
        metrics: Default::default(),
    }
}
