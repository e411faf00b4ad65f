//! DynamoDB Local for the tests: found through `AWS_ENDPOINT_URL_DYNAMODB` only (as in
//! production, the SDK reads it), with fresh tables per test so that tests and runs never see
//! each other's items.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Builder, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use mobileid::random::{OsRandomness, random_array};
use mobileid_aws::DynamoStore;

pub type Item = std::collections::HashMap<String, AttributeValue>;

/// The DynamoDB endpoint, or `None` (the test skips) when none is configured. Under
/// `MOBILEID_REQUIRE_SERVERS=1` (infra/test.sh) a missing endpoint fails the test instead.
pub fn endpoint() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_owned()),
        _ if std::env::var("MOBILEID_REQUIRE_SERVERS").as_deref() == Ok("1") => {
            panic!("MOBILEID_REQUIRE_SERVERS=1 but AWS_ENDPOINT_URL_DYNAMODB is not set")
        }
        _ => {
            eprintln!(
                "skipped: AWS_ENDPOINT_URL_DYNAMODB is not set (infra/test.sh starts DynamoDB Local)"
            );
            None
        }
    }
}

/// The SDK configuration the service would build from this environment; `via` replaces the
/// endpoint (the outage test's proxy). Region and credentials default to DynamoDB Local's
/// dummies when the environment has none, so `AWS_ENDPOINT_URL_DYNAMODB` alone is enough.
pub async fn client_config(via: Option<&str>) -> Builder {
    let sdk = mobileid_aws::sdk_config().await;
    let mut config = Builder::from(&sdk);
    if sdk.region().is_none() {
        config = config.region(Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        config = config.credentials_provider(Credentials::new("test", "test", None, None, "tests"));
    }
    if let Some(url) = via
        .map(str::to_owned)
        .or_else(|| mobileid_aws::service_endpoint("DYNAMODB"))
    {
        config = config.endpoint_url(url);
    }
    config
}

/// A store over two tables of its own, and a plain client to look at them.
pub struct Tables {
    pub store: Arc<DynamoStore>,
    pub raw: Client,
}

impl Tables {
    /// Fresh tables, or `None` when there is no DynamoDB to test against.
    pub async fn create() -> Option<Tables> {
        endpoint()?;
        Some(Self::create_via(None).await)
    }

    /// Fresh tables reached through `via` (the endpoint must be up while they are created).
    pub async fn create_via(via: Option<&str>) -> Tables {
        let run = hex::encode(random_array::<5>(&OsRandomness));
        let store = DynamoStore::new(
            client_config(via).await,
            &format!("mobileid-test-{run}-sessions"),
            &format!("mobileid-test-{run}-counters"),
        );
        store
            .create_tables_if_missing()
            .await
            .expect("tables created on DynamoDB Local");
        Tables {
            store: Arc::new(store),
            raw: Client::from_conf(client_config(None).await.build()),
        }
    }

    pub fn names(&self) -> [String; 2] {
        [
            self.store.sessions_table().to_owned(),
            self.store.counters_table().to_owned(),
        ]
    }

    /// Every item of both tables, with its table's name.
    pub async fn scan_all(&self) -> Vec<(String, Item)> {
        let mut all = Vec::new();
        for table in self.names() {
            let mut start = None;
            loop {
                let page = self
                    .raw
                    .scan()
                    .table_name(&table)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .expect("scan");
                all.extend(
                    page.items()
                        .iter()
                        .map(|item| (table.clone(), item.clone())),
                );
                start = page.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
        }
        all
    }

    /// Deletes the tables (DynamoDB Local keeps them in memory until it stops).
    pub async fn drop_tables(self) {
        for table in self.names() {
            let _ = self.raw.delete_table().table_name(table).send().await;
        }
    }
}
