//! Nexmo (Vonage SMS API): one form POST per SMS, credentials in the body (never in a URL
//! that could end up in a log), and the answer read for what it says — unlike the original,
//! which counted an HTTP error or a non-JSON answer as a success.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;

use super::{OutboundSms, Sent, SmsError, SmsSender, gsm};

pub struct NexmoSender {
    http: reqwest::Client,
    url: String,
    api_key: String,
    api_secret: String,
    /// The heartbeat's last account check: when, and what it said.
    checked: Mutex<Option<(Instant, Result<(), SmsError>)>>,
}

/// The account check's own timeout: a heartbeat must answer quickly.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a check's answer is reused: heartbeats come every few seconds, and each would
/// otherwise be an API call. A failure is retried sooner, so recovery shows quickly.
const CHECK_CACHE: Duration = Duration::from_secs(60);
const FAILED_CHECK_CACHE: Duration = Duration::from_secs(10);

/// `{"message-count":"1","messages":[{"status":"0", …}]}`: one entry per SMS part.
#[derive(Deserialize)]
struct SendResponse {
    messages: Vec<MessageStatus>,
}

#[derive(Deserialize)]
struct MessageStatus {
    status: String,
    #[serde(rename = "error-text", default)]
    error_text: Option<String>,
    /// The id its delivery receipt will name.
    #[serde(rename = "message-id", default)]
    message_id: Option<String>,
}

/// Longest error text kept from an answer (it goes into logs).
const MAX_ERROR_TEXT: usize = 120;

impl NexmoSender {
    /// `timeout` bounds the whole exchange (connect, send, answer).
    pub fn new(
        url: &str,
        api_key: &str,
        api_secret: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        if api_key.is_empty() || api_secret.is_empty() {
            return Err("nexmo.apiKey and nexmo.apiSecret must be set in the stage secret".into());
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(NexmoSender {
            http,
            url: url.to_owned(),
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
            checked: Mutex::new(None),
        })
    }

    /// The account API next to the SMS endpoint (`…/sms/json` → `…/account/get-balance`).
    fn balance_url(&self) -> String {
        let base = self.url.strip_suffix("/sms/json").unwrap_or(&self.url);
        format!("{}/account/get-balance", base.trim_end_matches('/'))
    }

    /// One account call: proves Nexmo answers and takes these credentials (sends nothing).
    async fn check_account(&self) -> Result<(), SmsError> {
        let response = self
            .http
            .get(self.balance_url())
            // Basic auth in a header, as Vonage documents for this API: never in the URL.
            .basic_auth(&self.api_key, Some(&self.api_secret))
            .timeout(CHECK_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(SmsError::Rejected(format!(
                "account check: HTTP {}",
                status.as_u16()
            )));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| SmsError::Rejected("account check: not Nexmo's JSON".into()))?;
        if body.get("value").is_some_and(serde_json::Value::is_number) {
            Ok(())
        } else {
            Err(SmsError::Rejected(
                "account check: no balance in the answer".into(),
            ))
        }
    }
}

#[async_trait]
impl SmsSender for NexmoSender {
    fn name(&self) -> &str {
        "nexmo"
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        self.send_tracked(sms, &[]).await.map(|_| ())
    }

    async fn send_tracked(&self, sms: &OutboundSms, _only: &[String]) -> Result<Sent, SmsError> {
        let mut form = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.as_str()),
            ("from", sms.from.strip_prefix('+').unwrap_or(&sms.from)),
            ("to", sms.to.trim_start_matches('+')),
            ("text", sms.text.as_str()),
        ];
        if !gsm::is_gsm(&sms.text) {
            form.push(("type", "unicode"));
        }
        let response = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            return Err(SmsError::Rejected(format!("HTTP {}", status.as_u16())));
        }
        let parsed: SendResponse = serde_json::from_slice(&body)
            .map_err(|_| SmsError::Rejected("the answer is not Nexmo's JSON".into()))?;
        if parsed.messages.is_empty() {
            return Err(SmsError::Rejected("the answer lists no message".into()));
        }
        match parsed.messages.iter().find(|m| m.status != "0") {
            None => Ok(Sent {
                provider: self.name().to_owned(),
                message_ids: parsed
                    .messages
                    .into_iter()
                    .filter_map(|m| m.message_id)
                    .collect(),
                failed: Vec::new(),
            }),
            Some(m) => {
                let text: String = m
                    .error_text
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(MAX_ERROR_TEXT)
                    .collect();
                Err(SmsError::Rejected(format!("status {}: {text}", m.status)))
            }
        }
    }

    /// Nexmo's account balance (free, sends nothing), answered from a cache for a minute.
    async fn check(&self) -> Result<(), SmsError> {
        if let Some((at, result)) = self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            let ttl = if result.is_ok() {
                CHECK_CACHE
            } else {
                FAILED_CHECK_CACHE
            };
            if at.elapsed() < ttl {
                return result;
            }
        }
        let result = self.check_account().await;
        *self.checked.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), result.clone()));
        result
    }
}

fn transport_error(e: reqwest::Error) -> SmsError {
    if e.is_timeout() {
        return SmsError::Timeout;
    }
    // The causes say what happened (refused, DNS, TLS); the URL holds no secret.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SmsError::Unreachable(message)
}
