//! The template's tables, created in DynamoDB Local from their own definitions (keys,
//! attribute types, billing mode, TTL attribute), through DynamoDB's JSON API.
//!
//! Plain HTTP rather than the AWS SDK: two calls at start-up do not justify linking the SDK
//! into the runner, and DynamoDB Local reads the credential's key id from the Authorization
//! header without checking the signature.

use serde_json::{Value, json};

use crate::template::TableDef;

async fn call(
    client: &reqwest::Client,
    endpoint: &str,
    region: &str,
    action: &str,
    body: Value,
) -> Result<Value, String> {
    let response = client
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("DynamoDB_20120810.{action}"))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/dynamodb/aws4_request, \
                 SignedHeaders=host;x-amz-target, Signature=0"
            ),
        )
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("DynamoDB at {endpoint}: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("DynamoDB {action}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("DynamoDB {action}: {e}"))
}

/// The CreateTable request for `table`.
pub fn create_table_request(table: &TableDef) -> Value {
    let pairs = |items: &[(String, String)], a: &str, b: &str| -> Value {
        items.iter().map(|(x, y)| json!({ a: x, b: y })).collect()
    };
    json!({
        "TableName": table.name,
        "AttributeDefinitions": pairs(&table.attributes, "AttributeName", "AttributeType"),
        "KeySchema": pairs(&table.key_schema, "AttributeName", "KeyType"),
        "BillingMode": "PAY_PER_REQUEST",
    })
}

/// Creates each table (and turns its TTL on); fails if one exists already, which would mean
/// another stack with the same name shares this DynamoDB Local.
pub async fn create_tables(
    endpoint: &str,
    region: &str,
    tables: &[TableDef],
) -> Result<(), String> {
    let client = reqwest::Client::new();
    for table in tables {
        call(
            &client,
            endpoint,
            region,
            "CreateTable",
            create_table_request(table),
        )
        .await?;
        if let Some(attribute) = &table.ttl_attribute {
            call(
                &client,
                endpoint,
                region,
                "UpdateTimeToLive",
                json!({
                    "TableName": table.name,
                    "TimeToLiveSpecification": {"AttributeName": attribute, "Enabled": true},
                }),
            )
            .await?;
        }
    }
    Ok(())
}

/// Deletes the tables (the runner's own, at exit), ignoring failures.
pub async fn delete_tables(endpoint: &str, region: &str, tables: &[TableDef]) {
    let client = reqwest::Client::new();
    for table in tables {
        let _ = call(
            &client,
            endpoint,
            region,
            "DeleteTable",
            json!({"TableName": table.name}),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_template_definition() {
        let table = TableDef {
            logical_id: "T".into(),
            name: "s-T".into(),
            key_schema: vec![("pk".into(), "HASH".into())],
            attributes: vec![("pk".into(), "S".into())],
            ttl_attribute: Some("expires_at".into()),
        };
        let request = create_table_request(&table);
        assert_eq!(request["TableName"], "s-T");
        assert_eq!(request["KeySchema"][0]["KeyType"], "HASH");
        assert_eq!(request["AttributeDefinitions"][0]["AttributeType"], "S");
    }
}
