//! Stand-ins for the two SMS providers, on one local port the functions are pointed at
//! (`MOBILEID_NEXMO_URL`, `AWS_ENDPOINT_URL_SNS`), which a scenario can take down or slow.
//! Nexmo's SMS API (a form POST to `/sms/json`, a JSON answer) and SNS's Publish (awsQuery: a
//! form POST to `/`, an XML answer), as `shared/tests/sms_support` describes them. Every
//! message is recorded with whether it was accepted, so a test can tell a code that reached a
//! phone from one that never did.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};

/// How a provider behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// Answers 503 at once (an outage the provider reports).
    Down,
    /// Answers after this long (slower than the functions' per-attempt timeout, say).
    Slow(Duration),
}

#[derive(Default)]
struct Inner {
    nexmo: Option<Mode>,
    sns: Option<Mode>,
    sent: Vec<Value>,
}

#[derive(Clone, Default)]
pub struct SmsFake(Arc<Mutex<Inner>>);

impl SmsFake {
    /// Serves the fake providers on 127.0.0.1:<free port>.
    pub async fn start() -> std::io::Result<(SmsFake, SocketAddr)> {
        let fake = SmsFake::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let router = Router::new()
            .route("/sms/json", post(nexmo))
            .route("/", post(sns))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok((fake, addr))
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets `provider`'s mode (`nexmo` or `sns`); `false` for another name.
    pub fn set(&self, provider: &str, mode: Mode) -> bool {
        let mut inner = self.inner();
        match provider {
            "nexmo" => inner.nexmo = Some(mode),
            "sns" => inner.sns = Some(mode),
            _ => return false,
        }
        true
    }

    /// What was sent to `to` (digits, no `+`): provider, text and whether it was accepted.
    pub fn sent_to(&self, to: &str) -> Value {
        let inner = self.inner();
        Value::Array(
            inner
                .sent
                .iter()
                .filter(|m| m["to"].as_str() == Some(to))
                .cloned()
                .collect(),
        )
    }

    /// Records the message and says how to answer it.
    fn take(&self, provider: &str, to: &str, text: &str) -> Mode {
        let mut inner = self.inner();
        let mode = match provider {
            "nexmo" => inner.nexmo,
            _ => inner.sns,
        }
        .unwrap_or(Mode::Up);
        inner.sent.push(json!({
            "provider": provider,
            "to": to.trim_start_matches('+'),
            "text": text,
            // A slow answer still delivers: the provider took it, only late.
            "accepted": mode != Mode::Down,
        }));
        mode
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn answer(mode: Mode, ok: Response) -> Response {
    match mode {
        Mode::Up => ok,
        Mode::Down => (StatusCode::SERVICE_UNAVAILABLE, "provider down").into_response(),
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            ok
        }
    }
}

async fn nexmo(State(fake): State<SmsFake>, body: Bytes) -> Response {
    let form = form(&body);
    let to = field(&form, "to");
    let mode = fake.take("nexmo", to, field(&form, "text"));
    let id = format!("{:016X}", rand::random::<u64>());
    let ok = axum::Json(json!({"message-count": "1", "messages": [
        {"to": to, "message-id": id, "status": "0", "remaining-balance": "10.0",
         "message-price": "0.03", "network": "20810"}]}))
    .into_response();
    answer(mode, ok).await
}

async fn sns(State(fake): State<SmsFake>, body: Bytes) -> Response {
    let form = form(&body);
    let ok = |inner: String| {
        (
            [("content-type", "text/xml")],
            format!(
                "<{0}Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">{inner}\
                 <ResponseMetadata><RequestId>{1:016x}</RequestId></ResponseMetadata>\
                 </{0}Response>",
                field(&form, "Action"),
                rand::random::<u64>()
            ),
        )
            .into_response()
    };
    match field(&form, "Action") {
        "Publish" => {
            let mode = fake.take("sns", field(&form, "PhoneNumber"), field(&form, "Message"));
            let id = format!("{:032x}", rand::random::<u128>());
            answer(
                mode,
                ok(format!(
                    "<PublishResult><MessageId>{id}</MessageId></PublishResult>"
                )),
            )
            .await
        }
        // The heartbeat's read-only check.
        "GetSMSAttributes" => {
            ok("<GetSMSAttributesResult><attributes/></GetSMSAttributesResult>".into())
        }
        other => (
            StatusCode::BAD_REQUEST,
            format!("action {other:?} is not faked"),
        )
            .into_response(),
    }
}
