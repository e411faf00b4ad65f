//! The DynamoDB store (production): two tables, TTL on every item, and every state change
//! that must not race is one conditional write.
//!
//! # Tables
//!
//! Both tables have one string partition key `pk`, no sort key, on-demand billing, and TTL on
//! `expires_at` (N, epoch seconds). TTL only collects garbage — it deletes up to days late —
//! so every read compares `expires_at` with `now` itself, and every condition does too.
//!
//! | item | table | `pk` | other attributes | `expires_at` | written by | read by |
//! |---|---|---|---|---|---|---|
//! | session | sessions | HMAC of the Hawk id (hex) | `auth_key` B (sealed under the Hawk id); `msisdn_mac` S, `msisdn_sealed` B (sealed); `code_mac` S (HMAC of session ‖ code), `code_expires_at` N, `wrong_tries` N, `code_used` BOOL, `used_by` S; `verified_at_ms` N | register: session TTL; verify_code: verified-session TTL | register (Put), sms/mt/verify and the inbound webhook (Update), verify_code (Update), unregister (Delete) | every Hawk-signed request, the inbound webhook (Get) |
//! | Hawk nonce | counters | `nonce#<session pk>#<nonce>` | `written_by` S | timestamp + skew | Hawk authentication (Put if absent or expired) | — (the Put's condition is the check) |
//! | inbound message | counters | `inbound#<messageId>` | `written_by` S | 2 days | inbound webhook (Put; Delete if handling failed) | — |
//! | counter | counters | the caller's key (`rl#<limit>#<subject>#<window start>`; subjects are HMACs of numbers, or client addresses) | `hit_count` N | end of its window | `increment` (Update, or Put for a new window) | `counter` (Get) |
//! | limit | counters | `rl#<limit>#<subject>[#<window start>]` | `n0`…`n<k-1>` N (sliding) or `hit_count` N (count) | see `limits.rs` | check-and-charge and refunds (Update; Put for a new count window) | — (the condition is the check) |
//! | delivery | counters | `delivery#<messageId>` | `done` BOOL, `written_by` S | in-flight lease, then 2 days | inbound webhook (Put; Delete on failure) | — |
//! | mailbox | counters | `mailbox#<destination digits>` | `msg_list` L of {`t` S, `x` N}, `msg_version` N | its latest message's | the store-backed fake SMS gateway (Update) | its `/receive` (Get) |
//!
//! No number, token, Hawk id, key or code is stored in clear: session keys and number keys are
//! HMACs, the number and the auth key are sealed under the client's Hawk id, codes are stored
//! as HMACs. The exceptions: the per-address rate limits name the client's IP address (for an
//! hour at most), and the fake gateway's mailbox (load-stage only, fictional numbers) holds the
//! SMS text a load test reads back.
//!
//! `written_by` and `used_by` hold a random token per store call. When the SDK retries a
//! conditional write whose first attempt was applied but whose answer was lost, the retry's
//! condition fails; the token tells that "failure" apart from another request's win. Counts
//! (wrong tries, rate limits) have no such token: a retried `ADD` may count twice, which errs
//! on the strict side.
//!
//! Reads are strongly consistent: the next request of a flow may run in another Lambda
//! instance, right after the write it depends on.

mod calls;
mod items;
mod limits;
mod mailbox;
mod tables;

pub use calls::RequestCounts;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use self::calls::{Item, Op, RequestLog};
use self::items::*;
use mobileid::config::Settings;
use mobileid::crypto::SessionKey;
use mobileid::random::{OsRandomness, random_array};
use mobileid::store::{
    BoundMsisdn, Charge, Consume, Delivery, IssueOutcome, Limit, PendingCode, SessionRecord, Store,
    StoreError, StoreResult, WrongTry,
};

/// One request may take this long in all, retries included; then the client gets a 503.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// One attempt may take this long (DynamoDB answers in milliseconds when healthy).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);
/// The first try and up to two retries, if the operation timeout leaves time for them.
const MAX_ATTEMPTS: u32 = 3;
/// Short backoffs: a request waits for them, and the operation timeout bounds them anyway.
const INITIAL_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// Bound on the rounds of an optimistic loop (counter restart, mailbox trim) lost to
/// concurrent writers before giving up with `Unavailable`.
const MAX_RACES: usize = 4;

pub struct DynamoStore {
    client: Client,
    sessions: String,
    counters: String,
    log: RequestLog,
}

impl DynamoStore {
    /// The store the settings name, with the SDK configured from the standard `AWS_*`
    /// environment (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB`).
    pub async fn from_settings(settings: &Settings) -> Self {
        Self::from_sdk(&crate::sdk_config().await, settings)
    }

    /// The store the settings name, over a process's SDK configuration.
    pub fn from_sdk(sdk: &aws_types::SdkConfig, settings: &Settings) -> Self {
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(url) = crate::sdk::service_endpoint("DYNAMODB") {
            config = config.endpoint_url(url);
        }
        Self::new(config, &settings.sessions_table, &settings.counters_table)
    }

    /// The store over a client configuration (endpoint, credentials…), with this store's
    /// timeouts and retries rather than the SDK's defaults.
    pub fn new(
        config: aws_sdk_dynamodb::config::Builder,
        sessions_table: &str,
        counters_table: &str,
    ) -> Self {
        let config = config
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(OPERATION_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            )
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            sessions: sessions_table.to_owned(),
            counters: counters_table.to_owned(),
            log: RequestLog::default(),
        }
    }

    /// Requests sent so far, by operation.
    pub fn request_counts(&self) -> RequestCounts {
        self.log.snapshot()
    }

    pub fn sessions_table(&self) -> &str {
        &self.sessions
    }

    pub fn counters_table(&self) -> &str {
        &self.counters
    }

    async fn get(&self, table: &str, pk: &str) -> StoreResult<Option<Item>> {
        let request = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .send();
        Ok(self.log.unconditional(Op::Get, request).await?.item)
    }

    /// Deletes an item of the counters table (a marker or a delivery claim).
    async fn forget_item(&self, key: &str) -> StoreResult<()> {
        let request = self
            .client
            .delete_item()
            .table_name(&self.counters)
            .set_key(Some(items::key(key)))
            .send();
        self.log.unconditional(Op::Delete, request).await.map(drop)
    }

    /// One try of `consume_code`; `set_expiry` also moves the session's expiry forward (only
    /// allowed when that lengthens it, which is what the condition checks).
    async fn try_consume(
        &self,
        key: &SessionKey,
        code_mac: &str,
        c: &Consume,
        token: &str,
        set_expiry: bool,
    ) -> StoreResult<Result<(), Option<Item>>> {
        let mut condition = "expires_at > :now AND code_mac = :mac AND code_used = :false \
                             AND code_expires_at > :now AND wrong_tries < :max"
            .to_owned();
        let mut update =
            "SET code_used = :true, used_by = :token, verified_at_ms = :verified".to_owned();
        let mut request = self.client.update_item();
        if set_expiry {
            condition.push_str(" AND expires_at <= :expiry");
            update.push_str(", expires_at = :expiry");
            request = request.expression_attribute_values(":expiry", n(c.session_expires_at));
        }
        let request = request
            .table_name(&self.sessions)
            .set_key(Some(items::key(key.as_str())))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":now", n(c.now))
            .expression_attribute_values(":mac", s(code_mac))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":max", n(c.max_wrong_tries))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":verified", n(c.verified_at_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        Ok(self.log.send(Op::Update, request).await?.map(drop))
    }
}

/// A random token naming one store call (see `written_by` / `used_by` above).
fn call_token() -> String {
    hex::encode(random_array::<12>(&OsRandomness))
}

fn written_by(old: Option<&Item>, attribute: &str, token: &str) -> StoreResult<bool> {
    Ok(match old {
        Some(item) => opt_str(item, attribute)?.as_deref() == Some(token),
        None => false,
    })
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_session(&self, key: &SessionKey, record: &SessionRecord) -> StoreResult<()> {
        let request = self
            .client
            .put_item()
            .table_name(&self.sessions)
            .set_item(Some(session_item(key.as_str(), record)))
            .send();
        self.log.unconditional(Op::Put, request).await.map(drop)
    }

    async fn get_session(&self, key: &SessionKey, now: i64) -> StoreResult<Option<SessionRecord>> {
        let Some(item) = self.get(&self.sessions, key.as_str()).await? else {
            return Ok(None);
        };
        let record = session_record(&item)?;
        Ok((record.expires_at > now).then_some(record))
    }

    async fn issue_code(
        &self,
        key: &SessionKey,
        msisdn: &BoundMsisdn,
        code: &PendingCode,
        now: i64,
    ) -> StoreResult<IssueOutcome> {
        // One write: bind the number unless another one is bound, and replace the code (its
        // count of wrong tries restarts; `used_by` of an earlier code goes).
        let mut request = self
            .client
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(items::key(key.as_str())))
            .update_expression(
                "SET msisdn_mac = if_not_exists(msisdn_mac, :msisdn_mac), \
                     msisdn_sealed = if_not_exists(msisdn_sealed, :msisdn_sealed), \
                     code_mac = :code_mac, code_expires_at = :code_expires_at, \
                     wrong_tries = :wrong_tries, code_used = :code_used \
                 REMOVE used_by",
            )
            .condition_expression(
                "expires_at > :now AND (attribute_not_exists(msisdn_mac) OR msisdn_mac = :msisdn_mac)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":msisdn_mac", s(&msisdn.mac))
            .expression_attribute_values(":msisdn_sealed", b(&msisdn.sealed))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in code_attributes(code) {
            request = request.expression_attribute_values(format!(":{name}"), value);
        }
        match self.log.send(Op::Update, request.send()).await? {
            Ok(_) => Ok(IssueOutcome::Issued),
            Err(old) if live(old.as_ref(), now)? => Ok(IssueOutcome::OtherNumberBound),
            Err(_) => Ok(IssueOutcome::NoSession),
        }
    }

    async fn withdraw_code(&self, key: &SessionKey, code_mac: &str) -> StoreResult<()> {
        let request = self
            .client
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(items::key(key.as_str())))
            .update_expression("REMOVE code_mac, code_expires_at, wrong_tries, code_used, used_by")
            .condition_expression("code_mac = :mac")
            .expression_attribute_values(":mac", s(code_mac))
            .send();
        // A failed condition: the code was replaced or the session is gone; nothing to do.
        self.log.send(Op::Update, request).await.map(drop)
    }

    async fn count_wrong_try(
        &self,
        key: &SessionKey,
        code_mac: &str,
        max: u32,
    ) -> StoreResult<WrongTry> {
        let request = self
            .client
            .update_item()
            .table_name(&self.sessions)
            .set_key(Some(items::key(key.as_str())))
            .update_expression("SET wrong_tries = wrong_tries + :one")
            .condition_expression("code_mac = :mac AND code_used = :false AND wrong_tries < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":mac", s(code_mac))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":max", n(max))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        match self.log.send(Op::Update, request).await? {
            Ok(out) => {
                let new = out
                    .attributes
                    .ok_or_else(|| corrupt("UpdateItem returned no attributes"))?;
                Ok(WrongTry::Counted(number(&new, WRONG_TRIES)?))
            }
            Err(old) => {
                let code = match &old {
                    Some(item) => session_record(item)?.code,
                    None => None,
                };
                Ok(match code {
                    Some(c) if c.mac == code_mac && !c.used => WrongTry::AlreadyLocked,
                    _ => WrongTry::CodeChanged,
                })
            }
        }
    }

    async fn consume_code(
        &self,
        key: &SessionKey,
        code_mac: &str,
        consume: &Consume,
    ) -> StoreResult<bool> {
        let token = call_token();
        // Usually the verified session lives longer than the unverified one, so the first try
        // lengthens it; if it already lives longer, the second try leaves its expiry alone.
        for set_expiry in [true, false] {
            let old = match self
                .try_consume(key, code_mac, consume, &token, set_expiry)
                .await?
            {
                Ok(()) => return Ok(true),
                Err(old) => old,
            };
            if written_by(old.as_ref(), USED_BY, &token)? {
                return Ok(true); // our own first attempt was applied (an SDK retry)
            }
            let Some(old) = old else { return Ok(false) };
            let record = session_record(&old)?;
            let consumable = record.expires_at > consume.now
                && record.code.as_ref().is_some_and(|c| {
                    c.mac == code_mac
                        && !c.used
                        && c.expires_at > consume.now
                        && c.wrong_tries < consume.max_wrong_tries
                });
            if !consumable || record.expires_at <= consume.session_expires_at {
                return Ok(false);
            }
        }
        Ok(false)
    }

    async fn delete_session(&self, key: &SessionKey) -> StoreResult<()> {
        let request = self
            .client
            .delete_item()
            .table_name(&self.sessions)
            .set_key(Some(items::key(key.as_str())))
            .send();
        self.log.unconditional(Op::Delete, request).await.map(drop)
    }

    async fn insert_once(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        let token = call_token();
        let mut item = items::key(key);
        item.insert(EXPIRES_AT.into(), n(expires_at));
        item.insert(WRITTEN_BY.into(), s(&token));
        let request = self
            .client
            .put_item()
            .table_name(&self.counters)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send();
        match self.log.send(Op::Put, request).await? {
            Ok(_) => Ok(true),
            Err(old) => written_by(old.as_ref(), WRITTEN_BY, &token),
        }
    }

    async fn forget(&self, key: &str) -> StoreResult<()> {
        self.forget_item(key).await
    }

    async fn increment(&self, key: &str, expires_at: i64, now: i64) -> StoreResult<u64> {
        for _ in 0..MAX_RACES {
            // An absent or unexpired counter: one atomic ADD (an absent one starts at 0).
            let add = self
                .client
                .update_item()
                .table_name(&self.counters)
                .set_key(Some(items::key(key)))
                .update_expression(
                    "ADD hit_count :one SET expires_at = if_not_exists(expires_at, :expires_at)",
                )
                .condition_expression("attribute_not_exists(pk) OR expires_at > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expires_at", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::UpdatedNew)
                .send();
            if let Ok(out) = self.log.send(Op::Update, add).await? {
                let new = out
                    .attributes
                    .ok_or_else(|| corrupt("UpdateItem returned no attributes"))?;
                return number(&new, HIT_COUNT);
            }
            // An expired counter: a new window, unless another request started it first (then
            // the ADD above counts into that one).
            let mut item = items::key(key);
            item.insert(HIT_COUNT.into(), n(1));
            item.insert(EXPIRES_AT.into(), n(expires_at));
            let restart = self
                .client
                .put_item()
                .table_name(&self.counters)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", n(now))
                .send();
            if self.log.send(Op::Put, restart).await?.is_ok() {
                return Ok(1);
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB: counter contended, retry later".into(),
        ))
    }

    async fn counter(&self, key: &str, now: i64) -> StoreResult<u64> {
        match self.get(&self.counters, key).await? {
            Some(item) if expires_at(&item)? > now => {
                Ok(opt_number(&item, HIT_COUNT)?.unwrap_or(0))
            }
            _ => Ok(0),
        }
    }

    async fn charge(&self, key: &str, limit: &Limit, now: i64) -> StoreResult<Charge> {
        self.charge_limit(key, limit, now).await
    }

    async fn refund(&self, key: &str, limit: &Limit, charged_at: i64) -> StoreResult<()> {
        self.refund_limit(key, limit, charged_at).await
    }

    async fn claim_delivery(&self, key: &str, lease_until: i64, now: i64) -> StoreResult<Delivery> {
        self.claim(key, lease_until, now).await
    }

    async fn settle_delivery(&self, key: &str, done_until: Option<i64>) -> StoreResult<()> {
        self.settle(key, done_until).await
    }

    async fn append_message(&self, to: &str, message: &str, expires_at: i64) -> StoreResult<()> {
        self.append_to_mailbox(to, message, expires_at).await
    }

    async fn messages(&self, to: &str, now: i64) -> StoreResult<Vec<String>> {
        self.read_mailbox(to, now).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.check_tables().await
    }
}
