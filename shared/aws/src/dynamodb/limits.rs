//! The limiter on DynamoDB: every check-and-charge is one conditional `UpdateItem` on the
//! counters table, and the item that failed a condition comes back with the failure
//! (`ALL_OLD`), so a refusal costs no extra read to say when to retry.
//!
//! | item | `pk` | attributes | `expires_at` |
//! |---|---|---|---|
//! | sliding limit | `rl#<limit>#<subject>` | `n0` … `n<k-1>` N: the newest k event times (epoch s), newest first | the longest window after the newest event |
//! | count | `rl#<limit>#<subject>[#<window start>]` | `hit_count` N | the window's end (or the budget's) |
//! | delivery | `delivery#<id>` | `done` BOOL, `written_by` S | the in-flight lease, then the de-duplication period |
//!
//! A sliding charge shifts the times one place (`SET n1 = n0, n2 = n1, …, n0 = :now`: every
//! operand is read from the item before the update) under the condition that each window's
//! `max`-th newest time `n<max-1>` is old enough. A count is `ADD hit_count :one` under
//! `hit_count < :max`.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::calls::{Item, Op};
use super::items::*;
use super::{DynamoStore, MAX_RACES, call_token, written_by};
use mobileid::store::{Charge, Delivery, Limit, SlidingLog, StoreError, StoreResult, Window};

const DONE: &str = "done";

fn slot(i: usize) -> String {
    format!("n{i}")
}

/// The event times of a sliding item, newest first (absent slots are 0).
fn stamps(item: Option<&Item>, len: usize) -> StoreResult<Vec<i64>> {
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let t = match item {
            Some(item) => opt_number(item, &slot(i))?.unwrap_or(0),
            None => 0,
        };
        out.push(t);
    }
    Ok(out)
}

impl DynamoStore {
    pub(super) async fn charge_limit(
        &self,
        key: &str,
        limit: &Limit,
        now: i64,
    ) -> StoreResult<Charge> {
        match limit {
            Limit::Sliding(windows) => self.charge_sliding(key, windows, now).await,
            Limit::Count { max, expires_at } => {
                self.charge_count(key, *max, *expires_at, now).await
            }
        }
    }

    async fn charge_sliding(&self, key: &str, windows: &[Window], now: i64) -> StoreResult<Charge> {
        let len = Limit::log_len(windows);
        // n<len-1> = n<len-2>, …, n1 = n0, n0 = :now (absent slots read as 0).
        let mut update: Vec<String> = (1..len)
            .rev()
            .map(|i| format!("n{i} = if_not_exists(n{}, :zero)", i - 1))
            .collect();
        update.push("n0 = :now".into());
        update.push(format!("{EXPIRES_AT} = :exp"));
        let mut request = self
            .client
            .update_item()
            .table_name(&self.counters)
            .set_key(Some(key_item(key)))
            .update_expression(format!("SET {}", update.join(", ")))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(
                ":exp",
                n(Limit::Sliding(windows.to_vec()).expires_at(now)),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut conditions = Vec::new();
        for (i, w) in windows.iter().enumerate() {
            let at = slot(w.max as usize - 1);
            conditions.push(format!("(attribute_not_exists({at}) OR {at} <= :cut{i})"));
            request = request.expression_attribute_values(format!(":cut{i}"), n(now - w.secs));
        }
        let request = request
            .condition_expression(conditions.join(" AND "))
            .send();
        match self.log.send(Op::Update, request).await? {
            Ok(_) => Ok(Charge::Charged),
            Err(old) => {
                let stamps = stamps(old.as_ref(), len)?;
                // The condition failed on exactly this item, so it is a refusal; if the item
                // somehow allows the event, refuse for a second rather than charge twice.
                Ok(
                    SlidingLog::judge(&stamps, windows, now).unwrap_or(Charge::Refused {
                        window: 0,
                        retry_after: 1,
                    }),
                )
            }
        }
    }

    async fn charge_count(
        &self,
        key: &str,
        max: u64,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<Charge> {
        for _ in 0..MAX_RACES {
            let add = self
                .client
                .update_item()
                .table_name(&self.counters)
                .set_key(Some(key_item(key)))
                .update_expression(format!(
                    "ADD {HIT_COUNT} :one SET {EXPIRES_AT} = if_not_exists({EXPIRES_AT}, :exp)"
                ))
                .condition_expression(format!(
                    "(attribute_not_exists(pk) OR {EXPIRES_AT} > :now) AND \
                     (attribute_not_exists({HIT_COUNT}) OR {HIT_COUNT} < :max)"
                ))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":exp", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":max", n(max))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send();
            let old = match self.log.send(Op::Update, add).await? {
                Ok(_) => return Ok(Charge::Charged),
                Err(old) => old,
            };
            if let Some(old) = &old {
                let old_expiry = super::items::expires_at(old)?;
                if old_expiry > now {
                    return Ok(Charge::Refused {
                        window: 0,
                        retry_after: old_expiry - now,
                    });
                }
            }
            // An expired item: a new window, unless another request starts it first.
            let mut item = key_item(key);
            item.insert(HIT_COUNT.into(), n(1));
            item.insert(EXPIRES_AT.into(), n(expires_at));
            let restart = self
                .client
                .put_item()
                .table_name(&self.counters)
                .set_item(Some(item))
                .condition_expression(format!("attribute_not_exists(pk) OR {EXPIRES_AT} <= :now"))
                .expression_attribute_values(":now", n(now))
                .send();
            if self.log.send(Op::Put, restart).await?.is_ok() {
                return Ok(Charge::Charged);
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB: limit contended, retry later".into(),
        ))
    }

    pub(super) async fn refund_limit(
        &self,
        key: &str,
        limit: &Limit,
        charged_at: i64,
    ) -> StoreResult<()> {
        let request = self
            .client
            .update_item()
            .table_name(&self.counters)
            .set_key(Some(key_item(key)));
        let request = match limit {
            Limit::Sliding(windows) => {
                let len = Limit::log_len(windows);
                // n0 = n1, …, n<len-2> = n<len-1>, n<len-1> = 0: the time shifted out by the
                // charge was outside every window then, so 0 ("long ago") stands for it.
                let mut update: Vec<String> = (0..len.saturating_sub(1))
                    .map(|i| format!("n{i} = if_not_exists(n{}, :zero)", i + 1))
                    .collect();
                update.push(format!("n{} = :zero", len - 1));
                request
                    .update_expression(format!("SET {}", update.join(", ")))
                    .condition_expression("n0 = :stamp")
                    .expression_attribute_values(":zero", n(0))
                    .expression_attribute_values(":stamp", n(charged_at))
            }
            Limit::Count { .. } => request
                .update_expression(format!("ADD {HIT_COUNT} :minus"))
                .condition_expression(format!("{HIT_COUNT} > :zero"))
                .expression_attribute_values(":minus", n(-1))
                .expression_attribute_values(":zero", n(0)),
        };
        // A failed condition: a later event came first, or nothing is left to give back.
        self.log.send(Op::Update, request.send()).await.map(drop)
    }

    pub(super) async fn claim(
        &self,
        key: &str,
        lease_until: i64,
        now: i64,
    ) -> StoreResult<Delivery> {
        let token = call_token();
        let mut item = key_item(key);
        item.insert(EXPIRES_AT.into(), n(lease_until));
        item.insert(DONE.into(), AttributeValue::Bool(false));
        item.insert(WRITTEN_BY.into(), s(&token));
        let request = self
            .client
            .put_item()
            .table_name(&self.counters)
            .set_item(Some(item))
            .condition_expression(format!("attribute_not_exists(pk) OR {EXPIRES_AT} <= :now"))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        match self.log.send(Op::Put, request).await? {
            Ok(_) => Ok(Delivery::Claimed),
            Err(old) if written_by(old.as_ref(), WRITTEN_BY, &token)? => Ok(Delivery::Claimed),
            Err(Some(old)) if matches!(old.get(DONE), Some(AttributeValue::Bool(true))) => {
                Ok(Delivery::Done)
            }
            Err(_) => Ok(Delivery::InFlight),
        }
    }

    pub(super) async fn settle(&self, key: &str, done_until: Option<i64>) -> StoreResult<()> {
        match done_until {
            Some(until) => {
                let mut item = key_item(key);
                item.insert(EXPIRES_AT.into(), n(until));
                item.insert(DONE.into(), AttributeValue::Bool(true));
                let request = self
                    .client
                    .put_item()
                    .table_name(&self.counters)
                    .set_item(Some(item))
                    .send();
                self.log.unconditional(Op::Put, request).await.map(drop)
            }
            None => self.forget_item(key).await,
        }
    }
}

fn key_item(pk: &str) -> Item {
    super::items::key(pk)
}
