//! Building the callbacks Nexmo makes: its parameters, signed or not, as GET, form or JSON.

use axum::body::Body;
use http::{Method, Request, header};
use mobileid::domain::HawkId;
use mobileid::sms::NexmoSigner;
use mobileid::testkit::HOST;

pub const PATH: &str = "/v1/msisdn/sms/momt/nexmo";
/// The dev stage's number devices text (`mo_default`), as Nexmo writes it.
pub const SERVICE_NUMBER: &str = "33757000001";

/// The text a device sends in the SMS-MO+MT flow.
pub fn verify_text(id: &HawkId) -> String {
    format!("/v1/msisdn/sms/momt/verify {}", id.to_hex())
}

/// An inbound SMS from `sender` (digits), as Nexmo describes it, stamped `timestamp`.
pub fn params(sender: &str, text: &str, message_id: &str, timestamp: i64) -> Vec<(String, String)> {
    [
        ("msisdn", sender),
        ("to", SERVICE_NUMBER),
        ("messageId", message_id),
        ("text", text),
        ("type", "text"),
        ("keyword", text.split_whitespace().next().unwrap_or("")),
        ("network-code", "20801"),
        ("message-timestamp", "2026-11-28 10:00:00"),
        ("timestamp", &timestamp.to_string()),
        ("nonce", "6a3f3c3e-1b2c-4d5e-8f90-0123456789ab"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `params` with the `sig` `signer` computes for them.
pub fn signed(mut params: Vec<(String, String)>, signer: &NexmoSigner) -> Vec<(String, String)> {
    let sig = signer.sign(&params);
    params.push(("sig".into(), sig));
    params
}

#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    Query,
    Form,
    Json,
}

pub fn request(encoding: Encoding, path: &str, params: &[(String, String)]) -> Request<Body> {
    let builder = Request::builder().header(header::HOST, HOST);
    let (builder, body, content_type) = match encoding {
        Encoding::Query => {
            let query = serde_urlencoded::to_string(params).unwrap();
            let separator = if path.contains('?') { '&' } else { '?' };
            let uri = format!("{path}{separator}{query}");
            return builder
                .method(Method::GET)
                .uri(uri)
                .body(Body::empty())
                .unwrap();
        }
        Encoding::Form => (
            builder,
            serde_urlencoded::to_string(params).unwrap(),
            "application/x-www-form-urlencoded",
        ),
        Encoding::Json => {
            let object: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().into()))
                .collect();
            (
                builder,
                serde_json::Value::Object(object).to_string(),
                "application/json",
            )
        }
    };
    builder
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap()
}
