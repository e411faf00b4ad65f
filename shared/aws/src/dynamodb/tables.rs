//! Table set-up (the local server with `MOBILEID_STORE=dynamodb`, and the tests; the SAM
//! template creates the deployed tables with the same schema) and the health check.

use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use super::DynamoStore;
use super::calls::Op;
use super::items::{EXPIRES_AT, PK, key};
use mobileid::store::{StoreError, StoreResult};

/// How long a new table may take to become active (seconds on AWS, none on DynamoDB Local).
const ACTIVE_WAIT: Duration = Duration::from_secs(60);

fn admin_error<E: std::error::Error + 'static>(
    what: &str,
    table: &str,
    e: SdkError<E>,
) -> StoreError {
    StoreError::Unavailable(format!("{what} {table}: {}", DisplayErrorContext(e)))
}

impl DynamoStore {
    /// Creates both tables if they do not exist (on-demand billing, key `pk`), waits until
    /// they are active and makes sure TTL on `expires_at` is on. Safe to call concurrently.
    pub async fn create_tables_if_missing(&self) -> StoreResult<()> {
        for table in [&self.sessions, &self.counters] {
            self.create_table_if_missing(table).await?;
            self.wait_until_active(table).await?;
            self.enable_ttl(table).await?;
        }
        Ok(())
    }

    async fn create_table_if_missing(&self, table: &str) -> StoreResult<()> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let created = self
            .client
            .create_table()
            .table_name(table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(PK)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(PK)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(build)?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {
                tracing::info!(table, "DynamoDB table created");
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(admin_error("creating table", table, e)),
        }
    }

    async fn wait_until_active(&self, table: &str) -> StoreResult<()> {
        let deadline = tokio::time::Instant::now() + ACTIVE_WAIT;
        loop {
            let described = self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| admin_error("describing table", table, e))?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(StoreError::Unavailable(format!(
                    "table {table} is not active after {ACTIVE_WAIT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn enable_ttl(&self, table: &str) -> StoreResult<()> {
        let current = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| admin_error("reading the TTL of", table, e))?;
        let status = current
            .time_to_live_description()
            .and_then(|d| d.time_to_live_status());
        if matches!(
            status,
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        ) {
            return Ok(());
        }
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(EXPIRES_AT)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| admin_error("enabling TTL on", table, e))?;
        Ok(())
    }

    /// The health check: one cheap eventually consistent read in each table (a missing table,
    /// missing permissions or an unreachable endpoint all fail it).
    pub(super) async fn check_tables(&self) -> StoreResult<()> {
        let probe = |table: &str| {
            let request = self
                .client
                .get_item()
                .table_name(table)
                .set_key(Some(key("ping")))
                .send();
            self.log.unconditional(Op::Get, request)
        };
        tokio::try_join!(probe(&self.sessions), probe(&self.counters))?;
        Ok(())
    }
}
