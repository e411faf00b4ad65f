//! HTTP requests as the events AWS hands a function, and functions' answers back as HTTP:
//! API Gateway's HTTP API payload format 2.0 for the API routes, and the function URL's event
//! (the same format, `routeKey` `$default`) for the webhook.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// Which front door a request came through.
pub enum Door<'a> {
    /// The HTTP API, and the route it matched (`POST /v1/msisdn/discover`, `$default`).
    Api { api_id: &'a str, route_key: &'a str },
    /// A function URL (`<url_id>.lambda-url.<region>.on.aws`).
    FunctionUrl { url_id: &'a str },
}

pub struct HttpRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub version: Version,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub peer: SocketAddr,
}

/// Content types API Gateway and function URLs pass as text; any other body is base64.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.starts_with("text/")
        || matches!(
            ct.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/x-www-form-urlencoded"
                | "application/x-amz-json-1.0"
                | "application/x-amz-json-1.1"
        )
        || ct.ends_with("+json")
        || ct.ends_with("+xml")
}

/// `28/Nov/2026:21:30:00 +0000`, the `requestContext.time` format.
pub fn clf_time(epoch_secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // mobileid's formatter gives `YYYY-MM-DD HH:MM:SS`; only the layout differs here.
    let iso = mobileid::clock::utc_datetime(epoch_secs);
    let (date, time) = iso.split_once(' ').unwrap_or((&iso, "00:00:00"));
    let mut parts = date.split('-');
    let (y, m, d) = (
        parts.next().unwrap_or("1970"),
        parts
            .next()
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1),
        parts.next().unwrap_or("01"),
    );
    format!("{d}/{}/{y}:{time} +0000", MONTHS[(m - 1) % 12])
}

/// The event for `request` coming through `door`, with `request_id` as API Gateway's id.
pub fn build(request: &HttpRequest<'_>, door: &Door<'_>, request_id: &str) -> Value {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let protocol = match request.version {
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    };
    let source_ip = request.peer.ip().to_string();
    // Header names arrive lower-cased; repeated headers are joined with commas; cookies move
    // to their own list (payload 2.0 has no `cookie` header).
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
            );
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    // What the front door adds: the client's address, port and scheme, and a trace id.
    let forwarded = match headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(chain) => format!("{chain}, {source_ip}"),
        None => source_ip.clone(),
    };
    headers.insert("x-forwarded-for".into(), json!(forwarded));
    let port = request
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map_or("80".to_owned(), |(_, p)| p.to_owned());
    headers.insert("x-forwarded-port".into(), json!(port));
    headers.insert("x-forwarded-proto".into(), json!("http"));
    let trace: String = request_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(24)
        .collect();
    headers.insert(
        "x-amzn-trace-id".into(),
        json!(format!("Root=1-{:08x}-{trace}", now_ms / 1000)),
    );
    let domain = request
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let raw_query = request.uri.query().unwrap_or("");
    let mut query = Map::new();
    for (k, v) in form_urlencoded_pairs(raw_query) {
        match query.get_mut(&k) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let user_agent = headers.get("user-agent").cloned().unwrap_or(json!(""));
    let (route_key, api_id, account) = match door {
        Door::Api { api_id, route_key } => (*route_key, *api_id, "000000000000"),
        Door::FunctionUrl { url_id } => ("$default", *url_id, "anonymous"),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split('.').next().unwrap_or(""),
            "http": {
                "method": request.method.as_str(),
                "path": request.uri.path(),
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": clf_time(now_ms / 1000),
            "timeEpoch": now_ms,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !request.body.is_empty() {
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        match std::str::from_utf8(request.body) {
            Ok(text) if is_text(content_type) => event["body"] = json!(text),
            _ => {
                event["body"] = json!(BASE64.encode(request.body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

/// `a=1&b=%20x` as decoded pairs (`+` is a space, as API Gateway decodes it).
fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default()
}

/// Why the function gave no usable answer: each is answered as API Gateway answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No route and no `$default`: API Gateway's own 404.
    NoRoute,
    /// The instance crashed, reported an error, or answered something that is not a response.
    FunctionError,
    /// The invocation ran past the function's timeout.
    Timeout,
    /// Every instance the function may run is busy for longer than the runner waits.
    Throttled,
    /// The request body is over API Gateway's limit.
    TooLarge,
}

/// API Gateway's own answer for `failure` (JSON `{"message": ..}`, as it writes them).
pub fn gateway_answer(failure: Failure) -> Response<axum::body::Body> {
    let (status, message) = match failure {
        Failure::NoRoute => (StatusCode::NOT_FOUND, "Not Found"),
        Failure::FunctionError => (StatusCode::BAD_GATEWAY, "Internal Server Error"),
        Failure::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        Failure::Throttled => (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
        Failure::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
    };
    let mut response = Response::new(axum::body::Body::from(
        json!({ "message": message }).to_string(),
    ));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// The function's answer (payload 2.0 response) as HTTP; `Err` when it is not one.
pub fn response_from(body: &[u8]) -> Result<Response<axum::body::Body>, Failure> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Failure::FunctionError)?;
    // Payload 2.0 lets a function return bare JSON: API Gateway then answers 200 with it.
    let Some(status) = value.get("statusCode") else {
        let mut response = Response::new(axum::body::Body::from(value.to_string()));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return Ok(response);
    };
    let status = status
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .ok_or(Failure::FunctionError)?;
    let text = value.get("body").and_then(Value::as_str).unwrap_or("");
    let bytes = if value.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        Bytes::from(BASE64.decode(text).map_err(|_| Failure::FunctionError)?)
    } else {
        Bytes::copy_from_slice(text.as_bytes())
    };
    let mut response = Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut add = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            headers.append(n, v);
        }
    };
    if let Some(Value::Object(single)) = value.get("headers") {
        for (name, v) in single {
            if let Some(v) = v.as_str() {
                add(name, v);
            }
        }
    }
    if let Some(Value::Object(multi)) = value.get("multiValueHeaders") {
        for (name, values) in multi {
            for v in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                add(name, v);
            }
        }
    }
    for cookie in value
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        add("set-cookie", cookie);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_the_access_log_format() {
        assert_eq!(clf_time(1_795_901_400), "28/Nov/2026:21:30:00 +0000");
    }

    #[test]
    fn binary_bodies_are_base64_and_text_ones_are_not() {
        assert!(is_text(Some("application/json; charset=utf-8")));
        assert!(is_text(Some("application/x-www-form-urlencoded")));
        assert!(!is_text(Some("application/octet-stream")));
        assert!(!is_text(None));
    }

    #[test]
    fn answers_that_are_not_responses_are_function_errors() {
        assert_eq!(
            response_from(b"not json").err(),
            Some(Failure::FunctionError)
        );
        assert_eq!(
            response_from(br#"{"statusCode":"x"}"#).err(),
            Some(Failure::FunctionError)
        );
        let ok = response_from(br#"{"statusCode":201,"headers":{"a":"1"},"cookies":["c=1"],"body":"aGk=","isBase64Encoded":true}"#).unwrap();
        assert_eq!(ok.status(), 201);
        assert_eq!(ok.headers()["a"], "1");
        assert_eq!(ok.headers()["set-cookie"], "c=1");
        assert_eq!(gateway_answer(Failure::NoRoute).status(), 404);
    }
}
