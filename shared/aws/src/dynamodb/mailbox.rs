//! The store-backed fake SMS gateway's mailboxes (load-stage, where Lambda instances share
//! nothing but the store): one item per destination, its messages in order in a list.
//!
//! Appending is one `UpdateItem` with `list_append`. The list is capped so that the item stays
//! far below DynamoDB's 400 KB item limit; when it is full (or when the new message expires
//! before the item does), the item is rewritten without its oldest messages, guarded by a
//! version number so that a concurrent append is never lost.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::calls::{Item, Op};
use super::items::*;
use super::{DynamoStore, MAX_RACES};
use mobileid::store::{StoreError, StoreResult};

/// Messages kept per destination (a load test reads the last one or two).
const CAPACITY: usize = 100;

fn mailbox_key(to: &str) -> String {
    format!("mailbox#{to}")
}

fn entry(text: &str, expires_at: i64) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (MSG_TEXT.to_owned(), s(text)),
        (MSG_EXPIRES_AT.to_owned(), n(expires_at)),
    ]))
}

/// The messages of a mailbox item with their expiry, oldest first.
fn entries(item: &Item) -> StoreResult<Vec<(String, i64)>> {
    let Some(list) = item.get(MSG_LIST) else {
        return Ok(Vec::new());
    };
    let AttributeValue::L(list) = list else {
        return Err(corrupt("msg_list is not a list"));
    };
    list.iter()
        .map(|value| match value {
            AttributeValue::M(m) => Ok((
                opt_str(m, MSG_TEXT)?.ok_or_else(|| corrupt("a message without text"))?,
                number(m, MSG_EXPIRES_AT)?,
            )),
            _ => Err(corrupt("a message is not a map")),
        })
        .collect()
}

impl DynamoStore {
    pub(super) async fn append_to_mailbox(
        &self,
        to: &str,
        text: &str,
        expires_at: i64,
    ) -> StoreResult<()> {
        let pk = mailbox_key(to);
        for _ in 0..MAX_RACES {
            let append = self
                .client
                .update_item()
                .table_name(&self.counters)
                .set_key(Some(key(&pk)))
                .update_expression(
                    "SET msg_list = list_append(if_not_exists(msg_list, :empty), :new), \
                         expires_at = :expires_at \
                     ADD msg_version :one",
                )
                .condition_expression(
                    "attribute_not_exists(pk) OR (size(msg_list) < :capacity AND expires_at <= :expires_at)",
                )
                .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
                .expression_attribute_values(":new", AttributeValue::L(vec![entry(text, expires_at)]))
                .expression_attribute_values(":expires_at", n(expires_at))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":capacity", n(CAPACITY))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send();
            let old = match self.log.send(Op::Update, append).await? {
                Ok(_) => return Ok(()),
                // Deleted in between (TTL): the next round creates it.
                Err(None) => continue,
                Err(Some(old)) => old,
            };
            let version: u64 = number(&old, MSG_VERSION)?;
            let mut messages = entries(&old)?;
            messages.push((text.to_owned(), expires_at));
            let kept = &messages[messages.len().saturating_sub(CAPACITY)..];
            let latest = kept.iter().map(|(_, exp)| *exp).max().unwrap_or(expires_at);
            let mut item = key(&pk);
            item.insert(
                MSG_LIST.into(),
                AttributeValue::L(kept.iter().map(|(t, x)| entry(t, *x)).collect()),
            );
            item.insert(MSG_VERSION.into(), n(version + 1));
            item.insert(EXPIRES_AT.into(), n(latest));
            let rewrite = self
                .client
                .put_item()
                .table_name(&self.counters)
                .set_item(Some(item))
                .condition_expression("msg_version = :version")
                .expression_attribute_values(":version", n(version))
                .send();
            if self.log.send(Op::Put, rewrite).await?.is_ok() {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB: mailbox contended, retry later".into(),
        ))
    }

    pub(super) async fn read_mailbox(&self, to: &str, now: i64) -> StoreResult<Vec<String>> {
        let Some(item) = self.get(&self.counters, &mailbox_key(to)).await? else {
            return Ok(Vec::new());
        };
        Ok(entries(&item)?
            .into_iter()
            .filter(|(_, exp)| *exp > now)
            .map(|(text, _)| text)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_order_and_reject_odd_shapes() {
        let mut item = key("mailbox#1");
        item.insert(
            MSG_LIST.into(),
            AttributeValue::L(vec![entry("a", 1), entry("b", 2)]),
        );
        assert_eq!(
            entries(&item).unwrap(),
            [("a".to_owned(), 1), ("b".to_owned(), 2)]
        );
        item.insert(MSG_LIST.into(), AttributeValue::L(vec![s("a")]));
        assert!(entries(&item).is_err());
        assert!(entries(&key("mailbox#2")).unwrap().is_empty());
    }
}
