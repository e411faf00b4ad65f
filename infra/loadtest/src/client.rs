//! The HTTP side of a virtual user: one keep-alive connection pool for all users, Hawk signing
//! as a device does it (with the shared crate's HKDF and Hawk code), and timing of every call.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mobileid::crypto::hawk_auth::{SignedRequest, client_authorization};
use mobileid::crypto::{AuthKey, derive_credentials};
use mobileid::domain::{HawkId, SessionToken};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::stats::{Endpoint, Recorder};

/// A device's Hawk credentials, derived from its session token exactly as clients do.
pub struct Credentials {
    pub id: HawkId,
    key: AuthKey,
}

impl Credentials {
    pub fn from_token(hex: &str) -> Option<Self> {
        let token = SessionToken::parse(hex)?;
        let (id, key) = derive_credentials(&token);
        Some(Credentials { id, key })
    }

    /// The `Authorization` value for a JSON request to `url` (with a payload hash).
    fn authorization(&self, method: &Method, url: &Url, body: &[u8]) -> String {
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let request = SignedRequest {
            method: method.as_str(),
            host: url.host_str().unwrap_or(""),
            port: url.port_or_known_default().unwrap_or(80),
            path: &path,
        };
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let nonce = hex::encode(rand::random::<[u8; 8]>());
        client_authorization(
            &self.id,
            &self.key,
            &request,
            ts,
            &nonce,
            Some(("application/json", body)),
        )
    }
}

/// A response read whole (reading the body is what lets the connection be reused).
pub struct Answer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// How an unexpected answer is reported: the status, and the errno when there is one.
    pub fn outcome(&self) -> String {
        match self.json()["errno"].as_u64() {
            Some(errno) => format!("{} errno {errno}", self.status.as_u16()),
            None => self.status.as_u16().to_string(),
        }
    }
}

pub struct HttpClient {
    http: reqwest::Client,
    sms_token: Option<String>,
}

impl HttpClient {
    pub fn new(pool_size: usize, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(pool_size)
            .tcp_nodelay(true)
            .timeout(timeout)
            .user_agent(concat!("mobileid-loadtest/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(HttpClient {
            http,
            sms_token: None,
        })
    }

    pub fn with_sms_token(mut self, token: Option<String>) -> Self {
        self.sms_token = token;
        self
    }

    /// POSTs a JSON body, Hawk-signed when `creds` is given, and times it under `endpoint`.
    pub async fn post_json(
        &self,
        rec: &mut Recorder,
        endpoint: Endpoint,
        url: &Url,
        body: &Value,
        creds: Option<&Credentials>,
    ) -> Result<Answer, ()> {
        let bytes = serde_json::to_vec(body).expect("JSON values serialise");
        let mut request = self
            .http
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if let Some(creds) = creds {
            request = request.header(
                AUTHORIZATION,
                creds.authorization(&Method::POST, url, &bytes),
            );
        }
        self.send(rec, endpoint, request.body(bytes)).await
    }

    /// POSTs a form (the provider's webhook call).
    pub async fn post_form(
        &self,
        rec: &mut Recorder,
        endpoint: Endpoint,
        url: &Url,
        form: String,
    ) -> Result<Answer, ()> {
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        self.send(rec, endpoint, request).await
    }

    /// GETs the fake gateway's messages for `to` (digits, no `+`).
    pub async fn sms_receive(&self, rec: &mut Recorder, url: &Url, to: &str) -> Result<Answer, ()> {
        let mut url = url.clone();
        url.query_pairs_mut().append_pair("to", to);
        let mut request = self.http.get(url).header(ACCEPT, "application/json");
        if let Some(token) = &self.sms_token {
            request = request.bearer_auth(token);
        }
        self.send(rec, Endpoint::SmsReceive, request).await
    }

    /// A plain GET outside the scenario (store stats): not timed.
    pub async fn get_json(&self, url: &Url) -> Option<Value> {
        let response = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        response.json().await.ok()
    }

    /// Sends and reads the whole answer; a transport failure is recorded as unexpected.
    async fn send(
        &self,
        rec: &mut Recorder,
        endpoint: Endpoint,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, ()> {
        let started = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?.to_vec();
            Ok::<_, reqwest::Error>(Answer { status, body })
        }
        .await;
        match result {
            Ok(answer) => {
                rec.latency(endpoint, started.elapsed());
                Ok(answer)
            }
            // Kept out of the latencies: a refused connection is not a fast answer.
            Err(e) => {
                rec.unexpected(endpoint, transport_outcome(&e));
                Err(())
            }
        }
    }
}

fn transport_outcome(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection refused or reset".into()
    } else {
        "transport error".into()
    }
}
