//! The stage secret from Secrets Manager (`MOBILEID_SECRET_ID`), read once per cold start.

use mobileid::config::{ConfigError, ServiceSecrets, Settings};
use mobileid::runtime::Host;

/// Secrets Manager when the settings name a secret id; otherwise what the core crate reads
/// (inline JSON, or a fresh secret locally).
pub async fn load_secrets(
    settings: &Settings,
    sdk: &aws_types::SdkConfig,
    host: Host,
) -> Result<ServiceSecrets, ConfigError> {
    let Some(id) = settings
        .secret_id
        .as_deref()
        .filter(|_| settings.secret_json.is_none())
    else {
        return mobileid::runtime::load_secrets(settings, host);
    };
    let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(url) = crate::sdk::service_endpoint("SECRETS_MANAGER") {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_secretsmanager::Client::from_conf(config.build());
    let value = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            ConfigError::new(format!(
                "reading secret {id}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            ))
        })?;
    let text = value
        .secret_string()
        .ok_or_else(|| ConfigError::new(format!("secret {id} has no string value")))?;
    ServiceSecrets::from_json(text)
}
