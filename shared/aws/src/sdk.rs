//! The AWS SDK's configuration, shared by every client of a process.

/// The SDK configuration with the ring-only rustls HTTP client (no aws-lc build). Endpoints,
/// region and credentials come from the standard `AWS_*` environment, so tests point the same
/// code at DynamoDB Local and moto with `AWS_ENDPOINT_URL_*` and no code of their own.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}
