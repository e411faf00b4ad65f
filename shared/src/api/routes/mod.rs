//! The routes, one module per function (plus the local server's fake gateway).

pub mod certificate;
pub mod fake_sms;
pub mod inbound;
pub mod openapi;
pub mod receipts;
pub mod service;
pub mod start;
pub mod verify;

use serde_json::Value;

use super::body::Params;
use crate::domain::{Mcc, Mnc};
use crate::error::ApiError;

/// The `mcc` parameter: required, three digits as a string.
fn mcc_param(params: &Params) -> Result<Mcc, ApiError> {
    params
        .str("mcc")
        .and_then(Mcc::parse)
        .ok_or_else(|| ApiError::invalid("Invalid MCC."))
}

/// The optional `mnc` parameter: `null` or absent is none; anything else must be 2–3 digits.
fn mnc_param(params: &Params) -> Result<Option<Mnc>, ApiError> {
    match params.get("mnc") {
        None => Ok(None),
        Some(Value::String(s)) => Mnc::parse(s)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("Invalid MNC.")),
        Some(_) => Err(ApiError::invalid("Invalid MNC.")),
    }
}
