//! Every route's request parsing, through the real router in-process: arbitrary bodies (raw
//! bytes, or JSON objects built from the routes' parameter names with arbitrary values), content
//! types, Accept headers, query strings and authentication. No input may panic or answer a 5xx,
//! and every error must be the JSON error body.

#![no_main]

#[path = "harness.rs"]
mod harness;

use arbitrary::Arbitrary;
use harness::{Auth, check, harness};
use http::Method;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const ROUTES: [(&str, &str); 16] = [
    ("POST", "/v1/msisdn/discover"),
    ("POST", "/v1/msisdn/register"),
    ("POST", "/v1/msisdn/unregister"),
    ("POST", "/v1/msisdn/sms/mt/verify"),
    ("POST", "/v1/msisdn/sms/verify_code"),
    ("POST", "/v1/certificate/sign"),
    ("POST", "/v1/msisdn/sms/momt/nexmo"),
    ("GET", "/v1/msisdn/sms/momt/nexmo"),
    ("POST", "/sms/momt/"),
    ("GET", "/sms/momt/"),
    ("GET", "/__sms__/receive"),
    ("GET", "/receive"),
    ("GET", "/openapi.json"),
    ("GET", "/__heartbeat__"),
    ("POST", "/discover"),
    ("POST", "/sms/verify_code"),
];

const FIELDS: [&str; 17] = [
    "mcc",
    "mnc",
    "msisdn",
    "shortVerificationCode",
    "code",
    "publicKey",
    "duration",
    "roaming",
    "text",
    "messageId",
    "network-code",
    "timestamp",
    "sig",
    "provider",
    "to",
    "type",
    "nonce",
];

/// Values that get past the first checks, so the fuzzer reaches the logic behind them.
const PLAUSIBLE: [&str; 16] = [
    "208",
    "310",
    "10",
    "260",
    "+33623456789",
    "+12025550142",
    "33623456789",
    "123456",
    "654321",
    "0123456789abcdef0123456789abcdef",
    "60",
    "nexmo",
    "20801",
    r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#,
    // n = 10^617 + 1: odd, 2050 bits (a modulus the service certifies).
    concat!(r#"{"algorithm":"RS","n":"1"#, "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", r#"1","e":"65537"}"#),
    "+4915123456789",
];

const CONTENT_TYPES: [&str; 5] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "application/json; charset=utf-8",
    "",
];
const ACCEPTS: [&str; 4] = [
    "application/json",
    "text/html",
    "*/*",
    "application/*;q=0.1, text/plain",
];

#[derive(Arbitrary, Debug)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Plausible(u8),
    Array(Vec<u8>),
    /// A JSON object as a value (publicKey may be one).
    Object(Vec<(u8, u8)>),
}

impl Val {
    fn json(&self) -> Value {
        let plausible = |i: &u8| PLAUSIBLE[usize::from(*i) % PLAUSIBLE.len()];
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => json!(b),
            Val::Int(i) => json!(i),
            Val::Float(f) => json!(f),
            Val::Str(s) => json!(s),
            Val::Plausible(i) => json!(plausible(i)),
            Val::Array(items) => items.iter().map(|i| json!(plausible(i))).collect(),
            Val::Object(pairs) => {
                let map: Map<String, Value> = pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            FIELDS[usize::from(*k) % FIELDS.len()].to_owned(),
                            json!(plausible(v)),
                        )
                    })
                    .collect();
                Value::Object(map)
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Payload {
    Raw(Vec<u8>),
    Fields(Vec<(u8, Val)>),
}

#[derive(Arbitrary, Debug)]
enum AuthChoice {
    None,
    Signed { with_hash: bool },
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    route: u8,
    content_type: u8,
    accept: Option<u8>,
    accept_language: Option<String>,
    query: Option<Vec<(u8, Val)>>,
    auth: AuthChoice,
    payload: Payload,
}

fn fields_json(fields: &[(u8, Val)]) -> Map<String, Value> {
    fields
        .iter()
        .map(|(k, v)| (FIELDS[usize::from(*k) % FIELDS.len()].to_owned(), v.json()))
        .collect()
}

fn as_form(map: &Map<String, Value>) -> String {
    let pairs: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fuzz_target!(|input: Input| {
    let h = harness();
    let (method, path) = ROUTES[usize::from(input.route) % ROUTES.len()];
    let content_type = CONTENT_TYPES[usize::from(input.content_type) % CONTENT_TYPES.len()];
    let mut uri = path.to_owned();
    if let Some(query) = &input.query {
        let q = as_form(&fields_json(query));
        if !q.is_empty() {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            uri.push_str(&q);
        }
    }
    let body = match &input.payload {
        Payload::Raw(bytes) => bytes.clone(),
        Payload::Fields(fields) => {
            let map = fields_json(fields);
            if content_type.contains("form") {
                as_form(&map).into_bytes()
            } else {
                Value::Object(map).to_string().into_bytes()
            }
        }
    };
    let body = if method == "GET" { Vec::new() } else { body };
    let mut headers = Vec::new();
    if let Some(a) = input.accept {
        headers.push(("accept", ACCEPTS[usize::from(a) % ACCEPTS.len()]));
    }
    if let Some(lang) = &input.accept_language {
        headers.push(("accept-language", lang.as_str()));
    }
    let auth = match &input.auth {
        AuthChoice::None => Auth::None,
        AuthChoice::Signed { with_hash } => Auth::Signed {
            with_hash: *with_hash,
        },
        AuthChoice::Raw(value) => Auth::Raw(value),
    };
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let ct = (!content_type.is_empty()).then_some(content_type);
    let Some(request) = h.request(method, &uri, ct, &headers, body, auth) else {
        return; // bytes that can't be an HTTP header or URI never reach the service
    };
    let res = h.call(request);
    check(&format!("{path} {input:?}"), &res);
    if path.ends_with("/unregister") && res.status == 204 {
        h.renew_device();
    }
});
