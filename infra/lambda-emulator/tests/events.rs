//! The events the stack runner builds have the shape of the sample events under `events/`
//! (which `shared/aws/tests/events.rs` checks against each function's router), and
//! `lambda_http` reads them as the HTTP request that was sent.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue, Method, Uri, Version};
use lambda_emulator::event::{Door, HttpRequest, build};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use serde_json::Value;

fn sample(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

struct Sent {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn sent(method: Method, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Sent {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    Sent {
        method,
        uri: uri.parse().unwrap(),
        headers: map,
        body: body.to_vec(),
    }
}

fn event_for(s: &Sent, door: &Door<'_>) -> Value {
    let peer: SocketAddr = "198.51.100.7:50000".parse().unwrap();
    let request = HttpRequest {
        method: &s.method,
        uri: &s.uri,
        version: Version::HTTP_11,
        headers: &s.headers,
        body: &s.body,
        peer,
    };
    build(&request, door, "c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
}

/// The sample's fields are all there, with the same values where the request fixes them.
fn same_shape(ours: &Value, theirs: &Value) {
    assert_eq!(keys(ours), keys(theirs), "top level: {ours}");
    assert_eq!(
        keys(&ours["requestContext"]),
        keys(&theirs["requestContext"])
    );
    assert_eq!(
        keys(&ours["requestContext"]["http"]),
        keys(&theirs["requestContext"]["http"])
    );
    for field in [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "isBase64Encoded",
        "body",
    ] {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    for field in ["method", "path", "protocol"] {
        assert_eq!(
            ours["requestContext"]["http"][field],
            theirs["requestContext"]["http"][field]
        );
    }
    // The headers API Gateway adds itself.
    for header in [
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-amzn-trace-id",
    ] {
        assert!(ours["headers"][header].is_string(), "{header}: {ours}");
    }
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[test]
fn api_events_match_the_samples() {
    let register = sent(Method::POST, "/v1/msisdn/register", &[JSON], b"{}");
    let door = Door::Api {
        api_id: "a1b2c3d4e5",
        route_key: "POST /v1/msisdn/register",
    };
    same_shape(
        &event_for(&register, &door),
        &sample("start-verification-register.json"),
    );
    let discover = sent(
        Method::POST,
        "/v1/msisdn/discover",
        &[JSON],
        br#"{"mcc":"310","mnc":"410"}"#,
    );
    let door = Door::Api {
        api_id: "a1b2c3d4e5",
        route_key: "POST /v1/msisdn/discover",
    };
    same_shape(
        &event_for(&discover, &door),
        &sample("start-verification-discover.json"),
    );
}

#[test]
fn function_url_events_match_the_sample() {
    let ping = sent(
        Method::GET,
        "/v1/msisdn/sms/momt/nexmo",
        &[("accept", "*/*")],
        b"",
    );
    let event = event_for(&ping, &Door::FunctionUrl { url_id: "k3x7q9w2" });
    let theirs = sample("inbound-sms-nexmo-ping.json");
    same_shape(&event, &theirs);
    assert_eq!(event["requestContext"]["accountId"], "anonymous");
}

#[test]
fn lambda_http_reads_them_as_the_request_that_was_sent() {
    let s = sent(
        Method::POST,
        "/sms/momt/?provider=nexmo&a=1&a=2",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", "x=1; y=2"),
            ("x-dup", "one"),
            ("x-dup", "two"),
        ],
        b"text=hello+world",
    );
    let event = event_for(&s, &Door::FunctionUrl { url_id: "k3x7q9w2" });
    assert_eq!(event["cookies"], serde_json::json!(["x=1", "y=2"]));
    assert_eq!(event["headers"]["x-dup"], "one,two");
    assert_eq!(event["queryStringParameters"]["a"], "1,2");
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri().path(), "/sms/momt/");
    assert_eq!(
        request.query_string_parameters().all("provider"),
        Some(vec!["nexmo"])
    );
    assert_eq!(request.body().as_ref(), b"text=hello+world");
    assert_eq!(request.headers()["cookie"], "x=1; y=2");
    let Some(RequestContext::ApiGatewayV2(context)) = request.extensions().get::<RequestContext>()
    else {
        panic!("an HTTP API (payload 2.0) context");
    };
    assert_eq!(context.http.source_ip.as_deref(), Some("198.51.100.7"));

    // A body that is not text travels base64, and lambda_http gives back the bytes.
    let binary = sent(
        Method::POST,
        "/v1/msisdn/register",
        &[("content-type", "application/octet-stream")],
        &[0, 159, 146, 150],
    );
    let door = Door::Api {
        api_id: "a1b2c3d4e5",
        route_key: "POST /v1/msisdn/register",
    };
    let event = event_for(&binary, &door);
    assert_eq!(event["isBase64Encoded"], true);
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(request.body().as_ref(), &[0, 159, 146, 150]);
}
