//! Every DynamoDB request of the store goes through [`RequestLog::send`]: counted (so tests and
//! the load test can see what each endpoint costs) and its failure classified. A failed
//! condition is an answer (the caller maps it to a trait outcome); anything else — throttling,
//! timeouts, connection errors, a missing table — makes the store unavailable (503 upstream).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::get_item::GetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use mobileid::store::{StoreError, StoreResult};

pub type Item = HashMap<String, AttributeValue>;

/// The item operations the store uses (table administration is not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Get = 0,
    Put = 1,
    Update = 2,
    Delete = 3,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "GetItem",
            Op::Put => "PutItem",
            Op::Update => "UpdateItem",
            Op::Delete => "DeleteItem",
        }
    }
}

/// How many requests of each operation the store has sent since it was built. One store call
/// is one request; the SDK's own retries (after a timeout or throttling) are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub get_item: u64,
    pub put_item: u64,
    pub update_item: u64,
    pub delete_item: u64,
}

impl RequestCounts {
    /// Read requests (read capacity).
    pub fn reads(&self) -> u64 {
        self.get_item
    }

    /// Write requests (write capacity).
    pub fn writes(&self) -> u64 {
        self.put_item + self.update_item + self.delete_item
    }

    /// The requests made after `earlier` was taken.
    pub fn since(&self, earlier: &RequestCounts) -> RequestCounts {
        RequestCounts {
            get_item: self.get_item.saturating_sub(earlier.get_item),
            put_item: self.put_item.saturating_sub(earlier.put_item),
            update_item: self.update_item.saturating_sub(earlier.update_item),
            delete_item: self.delete_item.saturating_sub(earlier.delete_item),
        }
    }

    /// The shape `GET /__store__/stats` serves.
    pub fn to_json(&self) -> Value {
        json!({
            "reads": self.reads(),
            "writes": self.writes(),
            "operations": {
                "GetItem": self.get_item,
                "PutItem": self.put_item,
                "UpdateItem": self.update_item,
                "DeleteItem": self.delete_item,
            },
        })
    }
}

impl std::fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} reads, {} writes", self.reads(), self.writes())
    }
}

/// The counters behind [`RequestCounts`], and the one place requests are sent from.
#[derive(Debug, Default)]
pub(super) struct RequestLog([AtomicU64; 4]);

impl RequestLog {
    pub fn snapshot(&self) -> RequestCounts {
        let get = |op: Op| self.0[op as usize].load(Ordering::Relaxed);
        RequestCounts {
            get_item: get(Op::Get),
            put_item: get(Op::Put),
            update_item: get(Op::Update),
            delete_item: get(Op::Delete),
        }
    }

    /// Counts and sends one request. `Ok(Err(old))` when its condition failed, with the item
    /// as it was if the request asked for it (`ReturnValuesOnConditionCheckFailure::AllOld`).
    pub async fn send<T, E>(
        &self,
        op: Op,
        request: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> StoreResult<Result<T, Option<Item>>>
    where
        E: ConditionFailure + ProvideErrorMetadata,
    {
        self.0[op as usize].fetch_add(1, Ordering::Relaxed);
        match request.await {
            Ok(output) => Ok(Ok(output)),
            Err(e) => match e {
                SdkError::ServiceError(service) => {
                    let err = service.into_err();
                    match err.condition_failed() {
                        Ok(old) => Ok(Err(old)),
                        Err(err) => Err(unavailable(
                            op,
                            err.code().unwrap_or("unknown service error"),
                        )),
                    }
                }
                SdkError::TimeoutError(_) => Err(unavailable(op, "timed out")),
                SdkError::DispatchFailure(d) if d.is_timeout() => {
                    Err(unavailable(op, "timed out connecting"))
                }
                SdkError::DispatchFailure(_) => Err(unavailable(op, "connection failed")),
                SdkError::ResponseError(_) => Err(unavailable(op, "unreadable response")),
                // Building the request failed: a bug here, but the client still gets a 503.
                other => Err(unavailable(op, &format!("request not sent ({other})"))),
            },
        }
    }

    /// A request that has no condition.
    pub async fn unconditional<T, E>(
        &self,
        op: Op,
        request: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> StoreResult<T>
    where
        E: ConditionFailure + ProvideErrorMetadata,
    {
        self.send(op, request).await?.map_err(|_| {
            StoreError::Corrupt(format!(
                "{}: condition failed without a condition",
                op.name()
            ))
        })
    }
}

/// Only the operation and the error kind: DynamoDB's messages could quote keys or values.
fn unavailable(op: Op, why: &str) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB {}: {why}", op.name()))
}

/// Picks the "condition failed" case out of an operation's error type.
pub(super) trait ConditionFailure: Sized {
    /// `Ok(old item)` if this is a failed condition, else the error back.
    fn condition_failed(self) -> Result<Option<Item>, Self>;
}

macro_rules! conditional {
    ($($error:ty),*) => {$(
        impl ConditionFailure for $error {
            fn condition_failed(self) -> Result<Option<Item>, Self> {
                match self {
                    Self::ConditionalCheckFailedException(e) => Ok(e.item),
                    other => Err(other),
                }
            }
        }
    )*};
}

conditional!(PutItemError, UpdateItemError, DeleteItemError);

impl ConditionFailure for GetItemError {
    fn condition_failed(self) -> Result<Option<Item>, Self> {
        Err(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_split_into_reads_and_writes() {
        let log = RequestLog::default();
        for op in [Op::Get, Op::Get, Op::Put, Op::Update, Op::Delete] {
            log.0[op as usize].fetch_add(1, Ordering::Relaxed);
        }
        let counts = log.snapshot();
        assert_eq!((counts.reads(), counts.writes()), (2, 3));
        assert_eq!(
            counts
                .since(&RequestCounts {
                    get_item: 1,
                    ..Default::default()
                })
                .reads(),
            1
        );
        assert_eq!(counts.to_json()["operations"]["UpdateItem"], 1);
        assert_eq!(counts.to_string(), "2 reads, 3 writes");
    }
}
