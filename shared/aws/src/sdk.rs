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
use aws_smithy_http_client::tls::{TlsContext, TrustStore};
use aws_types::SdkConfig;
use aws_types::region::Region;

/// The root CAs AWS service endpoints chain to (Amazon Trust Services and its Starfield
/// cross-sign), from Mozilla's list: `data/aws_roots.py` writes the file and says why.
/// Trusting these instead of the system's store spares every cold start the reading and
/// parsing of ~150 certificate files, and no AWS endpoint presents another chain. An
/// `AWS_ENDPOINT_URL` over TLS with another CA (a private endpoint proxy) is refused; the
/// local servers tests use speak plain HTTP.
pub const AWS_ROOT_CAS_PEM: &[u8] = include_bytes!("../data/aws-root-cas.pem");

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
        .tls_context(aws_trust())
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

fn aws_trust() -> TlsContext {
    let roots = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOT_CAS_PEM);
    TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .expect("a TLS context of PEM certificates builds (checked by a test)")
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

    #[test]
    fn the_aws_root_cas_are_amazon_trust_services_and_parse() {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        use sha2::{Digest, Sha256};
        // Mozilla's SHA-256 fingerprints of Amazon Root CA 1, 2, 3, 4 and Starfield Services
        // Root Certificate Authority - G2, in the file's order.
        const FINGERPRINTS: [&str; 5] = [
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
        ];
        let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(AWS_ROOT_CAS_PEM)
            .collect::<Result<_, _>>()
            .expect("the file is PEM");
        let seen: Vec<String> = certs
            .iter()
            .map(|c| hex::encode(Sha256::digest(c.as_ref())))
            .collect();
        assert_eq!(seen, FINGERPRINTS);
        let mut store = rustls::RootCertStore::empty();
        let (valid, invalid) = store.add_parsable_certificates(certs);
        assert_eq!(
            (valid, invalid),
            (5, 0),
            "every root parses as a trust anchor"
        );
        // And the SDK's own builder takes them (it panics on a certificate it cannot parse).
        let _ = aws_trust();
    }
}
