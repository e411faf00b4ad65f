//! The AWS SDK's configuration, shared by every client of a process, read from the standard
//! `AWS_*` environment that Lambda sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and that tests set to point the same code at
//! DynamoDB Local and moto (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`).
//!
//! Built by hand rather than by `aws-config`'s loader: a Lambda function gets its credentials
//! and region from the environment and nowhere else, and the loader's other sources (profile
//! files, SSO, STS web identity, the instance metadata service) would only add code to every
//! bootstrap and steps to every cold start.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// The SDK configuration, with the ring-only rustls HTTP client (no aws-lc build).
pub async fn sdk_config() -> SdkConfig {
    sdk_config_from(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn sdk_config_from(env: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(
            env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .map(Region::new),
        );
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        let credentials =
            Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
    }
    if let Some(url) = env("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    config.build()
}

/// `AWS_ENDPOINT_URL_<SERVICE>` (`DYNAMODB`, `SNS`, `SECRETS_MANAGER`): a service's own
/// endpoint, which the SDK's clients take over the process-wide `AWS_ENDPOINT_URL`.
pub fn service_endpoint(service: &str) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
        .ok()
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_credentials_and_endpoint_come_from_the_environment() {
        let vars = [
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ];
        let config = sdk_config_from(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        });
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:9"));
        assert!(config.credentials_provider().is_some());
        let bare = sdk_config_from(|_| None);
        assert!(bare.region().is_none() && bare.credentials_provider().is_none());
    }
}
