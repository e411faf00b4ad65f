//! Responses observed in real flows match the document: every request of these flows goes
//! through [`Recorder`], which checks its response against the documented status, content type,
//! body schema and required headers of its route, and remembers which (operation, status)
//! pairs were seen. The flows cover each success path and every error they can trigger.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{HeaderValue, Method, Request, header};
use mobileid::api::InboundVerifier;
use mobileid::config::{BearerToken, Settings};
use mobileid::crypto::verify_es256;
use mobileid::sms::{NexmoSignature, NexmoSigner, OutboundSms, SmsError, SmsSender};
use mobileid::store::MemoryStore;
use mobileid::testkit::{Device, TestApp, TestResponse, json_request};
use serde_json::{Value, json};

use super::contract::Contract;

const FR: &str = "+33623456789";
const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#;

/// Sends requests to a [`TestApp`] and checks each answer against the contract.
struct Recorder {
    app: TestApp,
    contract: Rc<Contract>,
    seen: Mutex<BTreeSet<(String, String, u16)>>,
    failures: Mutex<Vec<String>>,
}

impl Recorder {
    fn new(app: TestApp, contract: Rc<Contract>) -> Self {
        Recorder {
            app,
            contract,
            seen: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    async fn call(&self, request: Request<Body>) -> TestResponse {
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let res = self.app.call(request).await;
        if let Err(e) = self.contract.check(&method, &path, &res) {
            self.failures.lock().unwrap().push(e);
        }
        let template = self.contract.template_of(&path).unwrap_or(path);
        self.seen
            .lock()
            .unwrap()
            .insert((method, template, res.status.as_u16()));
        res
    }

    async fn get(&self, path: &str) -> TestResponse {
        self.call(json_request(Method::GET, path, None, None)).await
    }

    async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.call(json_request(
            Method::POST,
            path,
            Some(body.to_string()),
            None,
        ))
        .await
    }

    async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> TestResponse {
        let mut req = json_request(Method::POST, path, Some(body.to_owned()), None);
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        self.call(req).await
    }

    async fn hawk(&self, device: &Device, path: &str, body: Value) -> TestResponse {
        self.call(device.request(&self.app.clock, Method::POST, path, Some(&body)))
            .await
    }

    async fn register(&self) -> Device {
        let res = self.post("/v1/msisdn/register", json!({})).await;
        assert_eq!(res.status, 200, "{}", res.json());
        Device::from_token(res.json()["msisdnSessionToken"].as_str().unwrap())
    }

    fn finish(self) -> BTreeSet<(String, String, u16)> {
        let failures = self.failures.into_inner().unwrap();
        assert!(
            failures.is_empty(),
            "{} responses break the contract:\n{}",
            failures.len(),
            failures.join("\n")
        );
        self.seen.into_inner().unwrap()
    }
}

#[track_caller]
fn expect(res: &TestResponse, status: u16, errno: Option<u64>) {
    assert_eq!(
        res.status.as_u16(),
        status,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    assert_eq!(res.errno(), errno, "{}", res.json());
}

/// Requests every generic body failure can come from: not JSON, not an object, chunked
/// without Content-Length, too large, and an Accept that refuses JSON.
async fn body_failures(r: &Recorder, path: &str, device: Option<&Device>) {
    let signed = |body: &str| -> Request<Body> {
        let mut req = match device {
            Some(d) => d.request(&r.app.clock, Method::POST, path, None),
            None => json_request(Method::POST, path, None, None),
        };
        *req.body_mut() = Body::from(body.to_owned());
        req.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        req
    };
    expect(&r.call(signed("{not json")).await, 400, Some(106));
    expect(&r.call(signed("[1, 2]")).await, 400, Some(106));
    let mut refuses_json = signed("{}");
    refuses_json
        .headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("text/html"));
    expect(&r.call(refuses_json).await, 406, Some(106));
    let mut chunked = signed("{}");
    chunked.headers_mut().remove(header::CONTENT_LENGTH);
    chunked.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    expect(&r.call(chunked).await, 411, Some(112));
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(20_000));
    expect(&r.call(signed(&big)).await, 413, Some(113));
}

#[tokio::test]
async fn responses_of_every_flow_match_the_document() {
    let contract = Rc::new(Contract::from_source());
    let r = Recorder::new(TestApp::new().await, contract.clone());

    service_routes(&r).await;
    discover(&r).await;
    register_and_unregister(&r).await;
    hawk_failures(&r).await;
    sms_mt_to_certificate(&r).await;
    inbound(&r).await;
    // Paths and methods outside the document: the generic 404 and 405.
    expect(&r.get("/nope").await, 404, Some(999));
    expect(
        &r.call(json_request(
            Method::DELETE,
            "/v1/msisdn/discover",
            None,
            None,
        ))
        .await,
        405,
        Some(999),
    );

    let failing = Recorder::new(
        TestApp::builder().sms(Arc::new(DownSms)).build().await,
        contract.clone(),
    );
    dependencies_down(&failing).await;
    let broken_store = Arc::new(MemoryStore::new());
    let store_down = Recorder::new(
        TestApp::builder().store(broken_store.clone()).build().await,
        contract.clone(),
    );
    let device = store_down.register().await;
    broken_store.set_unavailable(true);
    expect(
        &store_down.post("/v1/msisdn/register", json!({})).await,
        503,
        Some(201),
    );
    expect(
        &store_down
            .hawk(&device, "/v1/msisdn/unregister", json!({}))
            .await,
        503,
        Some(201),
    );

    expect(
        &store_down
            .hawk(
                &device,
                "/v1/msisdn/sms/verify_code",
                json!({"code": "123456"}),
            )
            .await,
        503,
        Some(201),
    );
    expect(
        &store_down
            .hawk(
                &device,
                "/v1/certificate/sign",
                json!({"publicKey": EC_KEY, "duration": 9}),
            )
            .await,
        503,
        Some(201),
    );
    let limited = Recorder::new(
        TestApp::builder().adjust(strict_limits).build().await,
        contract.clone(),
    );
    limits_and_tokens(&limited).await;
    let signed = Recorder::new(
        TestApp::builder()
            .inbound_verifier(nexmo_verifier())
            .without_fake_gateway()
            .build()
            .await,
        contract.clone(),
    );
    signed_webhook(&signed).await;
    let overloaded = Recorder::new(
        TestApp::builder()
            .adjust(|s| s.stage.limits.max_in_flight = 0)
            .build()
            .await,
        contract.clone(),
    );
    everything_overloaded(&overloaded).await;

    let mut seen = r.finish();
    for other in [failing, store_down, limited, signed, overloaded] {
        seen.extend(other.finish());
    }
    // Every documented operation ran at least once; the rest is reported, not required.
    let mut never = Vec::new();
    let mut not_seen = Vec::new();
    for op in contract.operations() {
        let statuses = contract.doc["paths"][&op.path][op.method.to_ascii_lowercase()]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(|s| s.parse::<u16>().unwrap())
            .collect::<Vec<_>>();
        let observed: Vec<u16> = statuses
            .iter()
            .copied()
            .filter(|s| seen.contains(&(op.method.clone(), op.path.clone(), *s)))
            .collect();
        if observed.is_empty() {
            never.push(format!("{} {}", op.method, op.path));
        }
        for s in statuses.iter().filter(|s| !observed.contains(s)) {
            not_seen.push(format!("{} {} {s}", op.method, op.path));
        }
    }
    eprintln!(
        "documented responses not produced by these flows ({}): {not_seen:?}",
        not_seen.len()
    );
    eprintln!(
        "(operation, status) pairs observed and checked: {}",
        seen.len()
    );
    assert!(never.is_empty(), "operations no flow exercised: {never:?}");
}

async fn service_routes(r: &Recorder) {
    for path in [
        "/",
        "/__heartbeat__",
        "/__lbheartbeat__",
        "/__version__",
        "/.well-known/browserid",
        "/.well-known/browserid/warning.html",
        "/.well-known/jwks.json",
        "/openapi.json",
        "/api-specs",
        "/__sms__/all",
        "/__sms__/",
        "/__sms__/receive?to=33623456789",
        "/receive?to=%2B33623456789",
    ] {
        expect(&r.get(path).await, 200, None);
    }
    expect(&r.get("/__sms__/receive").await, 400, Some(108));
    expect(&r.get("/receive?to=").await, 400, Some(108));
    expect(&r.get("/receive?to=alice").await, 400, Some(107));
}

async fn discover(r: &Recorder) {
    let path = "/v1/msisdn/discover";
    for ok in [
        json!({"mcc": "208"}),
        json!({"mcc": "310", "mnc": "260", "msisdn": "+14155550123"}),
        json!({"mcc": "262", "mnc": null}),
        json!({"mcc": "208", "msisdn": "+33 6 23 45 67 89", "roaming": false}),
    ] {
        expect(&r.post(path, ok).await, 200, None);
    }
    expect(&r.post("/discover", json!({"mcc": "214"})).await, 200, None);
    expect(
        &r.post_raw(path, "application/x-www-form-urlencoded", "mcc=208&mnc=10")
            .await,
        200,
        None,
    );
    expect(&r.post(path, json!({})).await, 400, Some(108));
    expect(&r.post(path, json!({"mcc": ""})).await, 400, Some(108));
    for bad in [
        json!({"mcc": "20"}),
        json!({"mcc": 208}),
        json!({"mcc": "999"}),
        json!({"mcc": "208", "mnc": "1"}),
        json!({"mcc": "208", "mnc": 10}),
        json!({"mcc": "208", "msisdn": "hello"}),
        json!({"mcc": "208", "msisdn": null}),
        json!({"mcc": "208", "msisdn": "+33140205050"}),
        json!({"mcc": "208", "msisdn": "+81312345678"}),
    ] {
        expect(&r.post(path, bad).await, 400, Some(107));
    }
    body_failures(r, path, None).await;
}

async fn register_and_unregister(r: &Recorder) {
    expect(
        &r.post("/register", json!({"ignored": true})).await,
        200,
        None,
    );
    expect(
        &r.call(json_request(
            Method::POST,
            "/v1/msisdn/register",
            None,
            None,
        ))
        .await,
        200,
        None,
    );
    body_failures(r, "/v1/msisdn/register", None).await;
    let device = r.register().await;
    body_failures(r, "/v1/msisdn/unregister", Some(&device)).await;
    expect(
        &r.hawk(&device, "/v1/msisdn/unregister", json!({})).await,
        204,
        None,
    );
    expect(
        &r.hawk(&device, "/unregister", json!({})).await,
        401,
        Some(110),
    );
}

async fn hawk_failures(r: &Recorder) {
    let device = r.register().await;
    let path = "/v1/msisdn/sms/mt/verify";
    let body = json!({"msisdn": FR, "mcc": "208"});
    let unsigned = |auth: Option<&str>| {
        json_request(
            Method::POST,
            path,
            Some(body.to_string()),
            auth.map(str::to_owned),
        )
    };
    for route in [
        "/v1/msisdn/sms/mt/verify",
        "/v1/msisdn/sms/verify_code",
        "/v1/certificate/sign",
    ] {
        expect(
            &r.call(json_request(Method::POST, route, Some("{}".into()), None))
                .await,
            401,
            Some(110),
        );
    }
    expect(&r.call(unsigned(Some("Bearer abc"))).await, 401, Some(110));
    expect(
        &r.call(unsigned(Some("Hawk wrong-parameters"))).await,
        400,
        Some(110),
    );
    // Found by fuzzing: a ts past the clock's range made the hawk crate panic (500).
    let far = r#"Hawk id="a", ts="18446744073709551615", nonce="n", mac="AAAA""#;
    expect(&r.call(unsigned(Some(far))).await, 400, Some(110));
    let stranger = Device::from_token(&"ab".repeat(32));
    expect(&r.hawk(&stranger, path, body.clone()).await, 401, Some(110));
    let now = r.app.clock.now_secs_for_tests();
    let stale = device.request_at(now - 3600, "n-stale", Method::POST, path, Some(&body), true);
    let res = r.call(stale).await;
    expect(&res, 401, Some(110));
    assert!(
        res.header("www-authenticate")
            .is_some_and(|h| h.contains("tsm="))
    );
    let once = || device.request_at(now, "n-once", Method::POST, path, Some(&json!({})), true);
    expect(&r.call(once()).await, 400, Some(108));
    expect(&r.call(once()).await, 401, Some(110));
    let mut tampered = device.request(&r.app.clock, Method::POST, path, Some(&body));
    *tampered.body_mut() = Body::from(json!({"msisdn": "+33611111111", "mcc": "208"}).to_string());
    expect(&r.call(tampered).await, 401, Some(110));
    let mut no_host = device.request(&r.app.clock, Method::POST, path, Some(&body));
    no_host.headers_mut().remove(header::HOST);
    expect(&r.call(no_host).await, 400, Some(110));
}

async fn sms_mt_to_certificate(r: &Recorder) {
    let device = r.register().await;
    let mt = "/v1/msisdn/sms/mt/verify";
    body_failures(r, mt, Some(&device)).await;
    expect(
        &r.hawk(&device, mt, json!({"mcc": "208"})).await,
        400,
        Some(108),
    );
    for bad in [
        json!({"msisdn": "0623456789", "mcc": "208"}),
        json!({"msisdn": FR, "mcc": "2080"}),
        json!({"msisdn": FR, "mcc": "208", "mnc": "1234"}),
        json!({"msisdn": "+81312345678", "mcc": "208"}),
    ] {
        expect(&r.hawk(&device, mt, bad).await, 400, Some(107));
    }

    // Codes, wrong and right.
    let verify = "/v1/msisdn/sms/verify_code";
    expect(
        &r.hawk(&device, verify, json!({"code": "123456"})).await,
        410,
        Some(111),
    );
    expect(
        &r.hawk(
            &device,
            mt,
            json!({"msisdn": FR, "mcc": "208", "shortVerificationCode": true}),
        )
        .await,
        204,
        None,
    );
    expect(
        &r.hawk(
            &device,
            "/sms/mt/verify",
            json!({"msisdn": FR, "mcc": "208"}),
        )
        .await,
        429,
        Some(115),
    );
    expect(
        &r.hawk(&device, mt, json!({"msisdn": "+33611111111", "mcc": "208"}))
            .await,
        400,
        Some(107),
    );
    let code = r.app.last_code_to(FR).expect("a code");
    body_failures(r, verify, Some(&device)).await;
    expect(&r.hawk(&device, verify, json!({})).await, 400, Some(108));
    expect(
        &r.hawk(&device, verify, json!({"code": "12345"})).await,
        400,
        Some(107),
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    expect(
        &r.hawk(&device, verify, json!({"code": wrong})).await,
        400,
        Some(105),
    );

    let sign = "/v1/certificate/sign";
    expect(
        &r.hawk(&device, sign, json!({"publicKey": EC_KEY, "duration": 60}))
            .await,
        410,
        Some(111),
    );
    expect(
        &r.hawk(&device, "/sms/verify_code", json!({"code": code}))
            .await,
        200,
        None,
    );
    // The same code again is a repeat of the submission that used it (same answer); another
    // code on the used one is refused.
    expect(
        &r.hawk(&device, verify, json!({"code": code})).await,
        200,
        None,
    );
    expect(
        &r.hawk(&device, verify, json!({"code": wrong})).await,
        410,
        Some(111),
    );

    // Certificates.
    body_failures(r, sign, Some(&device)).await;
    expect(
        &r.hawk(&device, sign, json!({"duration": 60})).await,
        400,
        Some(108),
    );
    expect(
        &r.hawk(&device, sign, json!({"publicKey": "{nope", "duration": 60}))
            .await,
        400,
        Some(106),
    );
    for bad in [
        json!({"publicKey": {"algorithm": "XX"}, "duration": 60}),
        json!({"publicKey": EC_KEY, "duration": 0}),
        json!({"publicKey": EC_KEY, "duration": "soon"}),
    ] {
        expect(&r.hawk(&device, sign, bad).await, 400, Some(107));
    }
    // 10^617 + 1: odd and of 2050 bits (what is checked of a modulus).
    let rs = json!({"algorithm": "RS", "n": format!("1{}1", "0".repeat(616)), "e": "65537"});
    expect(
        &r.hawk(
            &device,
            "/certificate/sign",
            json!({"publicKey": rs, "duration": "600"}),
        )
        .await,
        200,
        None,
    );
    let res = r
        .hawk(&device, sign, json!({"publicKey": EC_KEY, "duration": 60}))
        .await;
    expect(&res, 200, None);
    let jwks = r.get("/.well-known/jwks.json").await.json();
    verify_es256(res.json()["cert"].as_str().unwrap(), &jwks).expect("the certificate verifies");

    // Three wrong tries lock a code (410 after that).
    let other = r.register().await;
    let de = "+4915123456789";
    expect(
        &r.hawk(
            &other,
            mt,
            json!({"msisdn": de, "mcc": "262", "shortVerificationCode": true}),
        )
        .await,
        204,
        None,
    );
    let code = r.app.last_code_to(de).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        expect(
            &r.hawk(&other, verify, json!({"code": wrong})).await,
            400,
            Some(105),
        );
    }
    expect(
        &r.hawk(&other, verify, json!({"code": code})).await,
        410,
        Some(111),
    );
}

async fn inbound(r: &Recorder) {
    let device = r.register().await;
    let text = format!("/v1/msisdn/sms/momt/verify {}", device.id.to_hex());
    let query = serde_urlencoded::to_string([
        ("msisdn", "33612345678"),
        ("text", text.as_str()),
        ("network-code", "20801"),
        ("messageId", "conformance-1"),
    ])
    .unwrap();
    expect(
        &r.get(&format!("/sms/momt/?provider=nexmo&{query}")).await,
        200,
        None,
    );
    expect(
        &r.get(&format!("/v1/msisdn/sms/momt/nexmo?{query}")).await,
        200,
        None,
    );
    expect(
        &r.get("/v1/msisdn/sms/momt/nexmo?msisdn=33612345678&text=hello")
            .await,
        200,
        None,
    );
    // Invalid UTF-8 is decoded lossily: an ignored callback, not an error.
    expect(
        &r.get("/v1/msisdn/sms/momt/nexmo?msisdn=%FF%FE&text=a%20%FF")
            .await,
        200,
        None,
    );
    expect(&r.get("/sms/momt/?provider=beepsend").await, 400, Some(107));
    expect(&r.get("/sms/momt/").await, 400, Some(107));
    expect(
        &r.post("/sms/momt/?provider=other", json!({})).await,
        400,
        Some(107),
    );
    let form = format!("{query}&messageId=conformance-2");
    expect(
        &r.post_raw(
            "/v1/msisdn/sms/momt/nexmo",
            "application/x-www-form-urlencoded",
            &form,
        )
        .await,
        200,
        None,
    );
    expect(
        &r.post(
            "/sms/momt/?provider=nexmo",
            json!({"msisdn": "33612345678", "text": "hi"}),
        )
        .await,
        200,
        None,
    );
    expect(
        &r.post_raw("/v1/msisdn/sms/momt/nexmo", "application/json", "{oops")
            .await,
        400,
        Some(106),
    );
    let mut chunked = json_request(
        Method::POST,
        "/v1/msisdn/sms/momt/nexmo",
        Some("{}".into()),
        None,
    );
    chunked.headers_mut().remove(header::CONTENT_LENGTH);
    chunked.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    expect(&r.call(chunked).await, 411, Some(112));
    let big = format!(r#"{{"text":"{}"}}"#, "x".repeat(20_000));
    expect(
        &r.post_raw("/sms/momt/?provider=nexmo", "application/json", &big)
            .await,
        413,
        Some(113),
    );
    // The provider's URL check, without parameters.
    expect(&r.get("/v1/msisdn/sms/momt/nexmo").await, 200, None);
    expect(
        &r.post("/v1/msisdn/sms/momt/nexmo", json!({})).await,
        200,
        None,
    );
}

/// An SMS provider that is down: sends fail and the heartbeat says so.
struct DownSms;

#[async_trait]
impl SmsSender for DownSms {
    fn name(&self) -> &str {
        "down"
    }
    async fn send(&self, _: &OutboundSms) -> Result<(), SmsError> {
        Err(SmsError::Unreachable("test: provider down".into()))
    }
    async fn check(&self) -> Result<(), SmsError> {
        Err(SmsError::Unreachable("test: provider down".into()))
    }
}

async fn dependencies_down(r: &Recorder) {
    expect(&r.get("/__heartbeat__").await, 503, None);
    let device = r.register().await;
    let res = r
        .hawk(
            &device,
            "/v1/msisdn/sms/mt/verify",
            json!({"msisdn": FR, "mcc": "208"}),
        )
        .await;
    expect(&res, 503, Some(201));
}

fn strict_limits(settings: &mut Settings) {
    settings.stage.limits.requests_per_ip_per_minute = 1;
    settings.stage.limits.wrong_tries_per_number_per_client = 1;
    settings.fake_sms_token = Some(BearerToken::new("reader-token"));
}

fn nexmo_verifier() -> Arc<dyn InboundVerifier> {
    Arc::new(NexmoSignature::new(
        NexmoSigner::new("webhook-secret", "sha256").unwrap(),
        300,
    ))
}

/// 429s of the rate limits (a client address, wrong codes per number) and the fake gateway's
/// token and absence.
async fn limits_and_tokens(r: &Recorder) {
    let from = |mut req: Request<Body>| {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 4000))));
        req
    };
    let register = || json_request(Method::POST, "/v1/msisdn/register", None, None);
    expect(&r.call(from(register())).await, 200, None);
    let res = r.call(from(register())).await;
    expect(&res, 429, Some(117));
    assert!(res.header("retry-after").is_some());

    let device = r.register().await;
    let ask = json!({"msisdn": FR, "mcc": "208", "shortVerificationCode": true});
    expect(
        &r.hawk(&device, "/v1/msisdn/sms/mt/verify", ask).await,
        204,
        None,
    );
    let code = r.app.last_code_to(FR).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = "/v1/msisdn/sms/verify_code";
    expect(
        &r.hawk(&device, verify, json!({"code": wrong})).await,
        400,
        Some(105),
    );
    expect(
        &r.hawk(&device, verify, json!({"code": code})).await,
        429,
        Some(115),
    );

    for path in [
        "/__sms__/receive?to=33623456789",
        "/receive?to=33623456789",
        "/__sms__/all",
        "/__sms__/inbound",
    ] {
        let unauthorized = r.get(path).await;
        expect(&unauthorized, 401, Some(118));
        let reader = json_request(Method::GET, path, None, Some("Bearer reader-token".into()));
        expect(&r.call(reader).await, 200, None);
    }
}

/// A stage whose provider signs its callbacks: unsigned or stale ones get 401/109.
async fn signed_webhook(r: &Recorder) {
    let now = r.app.clock.now_secs_for_tests().to_string();
    let signer = NexmoSigner::new("webhook-secret", "sha256").unwrap();
    let mut params = vec![
        ("msisdn", "33612345678"),
        ("messageId", "0B0000000CF0"),
        ("text", "hello"),
        ("timestamp", now.as_str()),
    ];
    let sig = signer.sign(&params);
    params.push(("sig", &sig));
    let query = serde_urlencoded::to_string(&params).unwrap();
    expect(
        &r.get(&format!("/v1/msisdn/sms/momt/nexmo?{query}")).await,
        200,
        None,
    );
    expect(
        &r.get(&format!("/sms/momt/?provider=nexmo&{query}")).await,
        200,
        None,
    );
    let forged = query.replace("hello", "hullo");
    expect(
        &r.get(&format!("/v1/msisdn/sms/momt/nexmo?{forged}")).await,
        401,
        Some(109),
    );
    expect(
        &r.get(&format!("/sms/momt/?provider=nexmo&{forged}")).await,
        401,
        Some(109),
    );
    let form = "application/x-www-form-urlencoded";
    expect(
        &r.post_raw("/v1/msisdn/sms/momt/nexmo", form, &forged).await,
        401,
        Some(109),
    );
    expect(
        &r.post_raw("/sms/momt/?provider=nexmo", form, &forged).await,
        401,
        Some(109),
    );
    let big = format!("text={}", "x".repeat(20_000));
    expect(
        &r.post_raw("/v1/msisdn/sms/momt/nexmo", form, &big).await,
        413,
        Some(113),
    );
    let mut chunked = json_request(
        Method::POST,
        "/sms/momt/?provider=nexmo",
        Some("{}".into()),
        None,
    );
    chunked.headers_mut().remove(header::CONTENT_LENGTH);
    chunked.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    expect(&r.call(chunked).await, 411, Some(112));
    // This deployment has no fake gateway.
    for path in [
        "/__sms__/receive?to=1",
        "/receive?to=1",
        "/__sms__/all",
        "/__sms__/",
    ] {
        expect(&r.get(path).await, 404, Some(999));
    }
}

/// With no room for a request in flight, every route sheds it: 503/201 with Retry-After.
async fn everything_overloaded(r: &Recorder) {
    let contract = r.contract.clone();
    for op in contract.operations() {
        let path = if op.path.contains("receive") {
            format!("{}?to=1", op.path)
        } else {
            op.path.clone()
        };
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let body = (method == Method::POST).then(|| "{}".to_owned());
        expect(
            &r.call(json_request(method, &path, body, None)).await,
            503,
            Some(201),
        );
    }
}
