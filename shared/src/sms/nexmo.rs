//! Nexmo (Vonage SMS API): one form POST per SMS, credentials in the body (never in a URL
//! that could end up in a log), and the answer read for what it says — unlike the original,
//! which counted an HTTP error or a non-JSON answer as a success.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{OutboundSms, Sent, SmsError, SmsSender, gsm};

pub struct NexmoSender {
    http: reqwest::Client,
    url: String,
    api_key: String,
    api_secret: String,
}

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
        })
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

    /// Sends nothing: the credentials are checked at start-up; Nexmo has no free ping.
    async fn check(&self) -> Result<(), SmsError> {
        Ok(())
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
