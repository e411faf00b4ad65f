//! Amazon SNS: `Publish` straight to a phone number, as a transactional SMS (delivered even
//! to numbers that opted out of marketing, and routed for reliability rather than cost).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use mobileid::config::{ConfigError, ServiceSecrets, Settings};
use mobileid::sms::build::ProviderFactory;
use mobileid::sms::{OutboundSms, SmsError, SmsSender};

pub struct SnsSender {
    client: Client,
}

impl SnsSender {
    pub fn new(client: Client) -> Self {
        SnsSender { client }
    }
}

/// The `sns` provider of stage tables, over the process's SDK configuration.
pub struct SnsFactory(pub aws_types::SdkConfig);

#[async_trait]
impl ProviderFactory for SnsFactory {
    fn name(&self) -> &'static str {
        "sns"
    }

    async fn build(
        &self,
        _: &Settings,
        _: &ServiceSecrets,
        timeout: Duration,
    ) -> Result<Arc<dyn SmsSender>, ConfigError> {
        let mut config = aws_sdk_sns::config::Builder::from(&self.0);
        if let Some(url) = crate::sdk::service_endpoint("SNS") {
            config = config.endpoint_url(url);
        }
        let config = config
            .timeout_config(
                aws_sdk_sns::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(timeout)
                    .connect_timeout(timeout)
                    .build(),
            )
            .build();
        Ok(Arc::new(SnsSender::new(Client::from_conf(config))))
    }
}

/// The message attributes for an SMS from `from`: an alphanumeric sender id, or the number
/// it is sent from (North America, where carriers refuse alphanumeric senders).
pub fn sms_attributes(from: &str) -> Vec<(&'static str, String)> {
    let mut attributes = vec![("AWS.SNS.SMS.SMSType", "Transactional".to_owned())];
    let digits = from.strip_prefix('+').unwrap_or(from);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        attributes.push(("AWS.MM.SMS.OriginationNumber", format!("+{digits}")));
    } else {
        // SNS takes 1–11 letters and digits with at least one letter (`Mozilla@` → `Mozilla`).
        let id: String = from
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(11)
            .collect();
        if id.chars().any(|c| c.is_ascii_alphabetic()) {
            attributes.push(("AWS.SNS.SMS.SenderID", id));
        }
    }
    attributes
}

#[async_trait]
impl SmsSender for SnsSender {
    fn name(&self) -> &str {
        "sns"
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        let mut publish = self
            .client
            .publish()
            .phone_number(&sms.to)
            .message(&sms.text);
        for (name, value) in sms_attributes(&sms.from) {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .expect("data_type is set");
            publish = publish.message_attributes(name, value);
        }
        publish.send().await.map(|_| ()).map_err(sdk_error)
    }

    /// A read-only call: proves the endpoint answers and the credentials are accepted.
    async fn check(&self) -> Result<(), SmsError> {
        self.client
            .get_sms_attributes()
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }
}

/// Only the error's code is kept: SNS messages may quote the phone number.
fn sdk_error<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> SmsError {
    match &e {
        SdkError::TimeoutError(_) => SmsError::Timeout,
        SdkError::DispatchFailure(d) if d.is_timeout() => SmsError::Timeout,
        SdkError::DispatchFailure(_) => SmsError::Unreachable("SNS could not be reached".into()),
        SdkError::ServiceError(s) => SmsError::Rejected(format!(
            "SNS: {}",
            s.err().code().unwrap_or("unknown error")
        )),
        _ => SmsError::Unreachable(format!("SNS: {}", e.code().unwrap_or("unreadable answer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_senders_become_origination_numbers_and_names_sender_ids() {
        let kind = ("AWS.SNS.SMS.SMSType", "Transactional".to_owned());
        assert_eq!(
            sms_attributes("+12025550180"),
            [
                kind.clone(),
                ("AWS.MM.SMS.OriginationNumber", "+12025550180".to_owned())
            ]
        );
        assert_eq!(
            sms_attributes("12025550180"),
            [
                kind.clone(),
                ("AWS.MM.SMS.OriginationNumber", "+12025550180".to_owned())
            ]
        );
        assert_eq!(
            sms_attributes("Mozilla@"),
            [kind.clone(), ("AWS.SNS.SMS.SenderID", "Mozilla".to_owned())]
        );
        assert_eq!(
            sms_attributes("A very long sender"),
            [
                kind.clone(),
                ("AWS.SNS.SMS.SenderID", "Averylongse".to_owned())
            ]
        );
        // Nothing SNS would accept as a sender id: let SNS choose.
        assert_eq!(sms_attributes("@@"), [kind]);
    }
}
