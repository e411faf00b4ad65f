//! Attribute names and the conversions between items and the store's records. The layout
//! itself is documented in the module above (`dynamodb.rs`).

use std::fmt::Display;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::calls::Item;
use mobileid::store::{BoundMsisdn, PendingCode, SessionRecord, StoreError, StoreResult};

/// The partition key of both tables (string).
pub const PK: &str = "pk";
/// Epoch seconds; the tables' TTL attribute.
pub const EXPIRES_AT: &str = "expires_at";

// Sessions.
pub const AUTH_KEY: &str = "auth_key";
pub const MSISDN_MAC: &str = "msisdn_mac";
pub const MSISDN_SEALED: &str = "msisdn_sealed";
pub const CODE_MAC: &str = "code_mac";
pub const CODE_EXPIRES_AT: &str = "code_expires_at";
pub const WRONG_TRIES: &str = "wrong_tries";
pub const CODE_USED: &str = "code_used";
pub const USED_BY: &str = "used_by";
pub const VERIFIED_AT_MS: &str = "verified_at_ms";

// Counters table.
pub const HIT_COUNT: &str = "hit_count";
pub const WRITTEN_BY: &str = "written_by";
pub const MSG_LIST: &str = "msg_list";
pub const MSG_VERSION: &str = "msg_version";
/// A message's text and expiry inside `msg_list`.
pub const MSG_TEXT: &str = "t";
pub const MSG_EXPIRES_AT: &str = "x";

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn b(value: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(value))
}

pub fn key(pk: &str) -> Item {
    Item::from([(PK.to_owned(), s(pk))])
}

pub fn session_item(pk: &str, record: &SessionRecord) -> Item {
    let mut item = key(pk);
    item.insert(EXPIRES_AT.into(), n(record.expires_at));
    item.insert(AUTH_KEY.into(), b(&record.sealed_auth_key));
    if let Some(m) = &record.msisdn {
        item.insert(MSISDN_MAC.into(), s(&m.mac));
        item.insert(MSISDN_SEALED.into(), b(&m.sealed));
    }
    if let Some(c) = &record.code {
        item.extend(code_attributes(c));
    }
    if let Some(at) = record.verified_at_ms {
        item.insert(VERIFIED_AT_MS.into(), n(at));
    }
    item
}

/// A pending code as attributes (`issue_code` sets them with one `SET`).
pub fn code_attributes(code: &PendingCode) -> [(String, AttributeValue); 4] {
    [
        (CODE_MAC.into(), s(&code.mac)),
        (CODE_EXPIRES_AT.into(), n(code.expires_at)),
        (WRONG_TRIES.into(), n(code.wrong_tries)),
        (CODE_USED.into(), AttributeValue::Bool(code.used)),
    ]
}

pub fn session_record(item: &Item) -> StoreResult<SessionRecord> {
    let msisdn = match (opt_str(item, MSISDN_MAC)?, opt_bytes(item, MSISDN_SEALED)?) {
        (Some(mac), Some(sealed)) => Some(BoundMsisdn { mac, sealed }),
        (None, None) => None,
        _ => return Err(corrupt("a session has half a number")),
    };
    let code = match opt_str(item, CODE_MAC)? {
        None => None,
        Some(mac) => Some(PendingCode {
            mac,
            expires_at: number(item, CODE_EXPIRES_AT)?,
            wrong_tries: number(item, WRONG_TRIES)?,
            used: match item.get(CODE_USED) {
                Some(AttributeValue::Bool(used)) => *used,
                _ => return Err(corrupt("code_used is not a boolean")),
            },
        }),
    };
    Ok(SessionRecord {
        sealed_auth_key: opt_bytes(item, AUTH_KEY)?
            .ok_or_else(|| corrupt("a session without auth_key"))?,
        expires_at: expires_at(item)?,
        msisdn,
        code,
        verified_at_ms: opt_number(item, VERIFIED_AT_MS)?,
    })
}

pub fn expires_at(item: &Item) -> StoreResult<i64> {
    number(item, EXPIRES_AT)
}

/// Whether the item exists and is unexpired at `now` (TTL deletes lazily).
pub fn live(item: Option<&Item>, now: i64) -> StoreResult<bool> {
    match item {
        Some(item) => Ok(expires_at(item)? > now),
        None => Ok(false),
    }
}

pub fn number<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<T> {
    opt_number(item, name)?.ok_or_else(|| corrupt(&format!("{name} is missing")))
}

pub fn opt_number<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<Option<T>> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| corrupt(&format!("{name} is out of range"))),
        Some(_) => Err(corrupt(&format!("{name} is not a number"))),
    }
}

pub fn opt_str(item: &Item, name: &str) -> StoreResult<Option<String>> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
        Some(_) => Err(corrupt(&format!("{name} is not a string"))),
    }
}

fn opt_bytes(item: &Item, name: &str) -> StoreResult<Option<Vec<u8>>> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::B(v)) => Ok(Some(v.clone().into_inner())),
        Some(_) => Err(corrupt(&format!("{name} is not binary"))),
    }
}

/// Names only, never values: an item may hold sealed data.
pub fn corrupt(why: &str) -> StoreError {
    StoreError::Corrupt(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_record() -> SessionRecord {
        SessionRecord {
            sealed_auth_key: vec![9; 40],
            expires_at: 1_800_000_000,
            msisdn: Some(BoundMsisdn {
                mac: "m".into(),
                sealed: vec![1, 2],
            }),
            code: Some(PendingCode {
                mac: "c".into(),
                expires_at: 1_800_000_600,
                wrong_tries: 2,
                used: true,
            }),
            verified_at_ms: Some(1_800_000_000_123),
        }
    }

    #[test]
    fn sessions_round_trip_through_items() {
        for record in [
            full_record(),
            SessionRecord {
                msisdn: None,
                code: None,
                verified_at_ms: None,
                ..full_record()
            },
        ] {
            assert_eq!(session_record(&session_item("k", &record)).unwrap(), record);
        }
    }

    #[test]
    fn unreadable_items_are_corrupt_not_panics() {
        let mut item = session_item("k", &full_record());
        item.insert(WRONG_TRIES.into(), s("three"));
        assert!(
            matches!(session_record(&item), Err(StoreError::Corrupt(m)) if m.contains("wrong_tries"))
        );
        let mut item = session_item("k", &full_record());
        item.remove(MSISDN_SEALED);
        assert!(matches!(session_record(&item), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            session_record(&key("k")),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn liveness_is_strictly_before_expiry() {
        let item = session_item("k", &full_record());
        assert!(live(Some(&item), 1_800_000_000 - 1).unwrap());
        assert!(!live(Some(&item), 1_800_000_000).unwrap());
        assert!(!live(None, 0).unwrap());
    }
}
