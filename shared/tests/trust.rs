//! What a relying party, an attacker and a spec-following client see (issue 11): certificate
//! claims in the units every JOSE library reads, public keys checked before they are certified,
//! Hawk as its specification says, and sealed values that a table export cannot open.
//!
//! These tests speak HTTP to the in-process router (and read the store as an export would), so
//! they describe behaviour, not code.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use http::{Method, StatusCode, header};
use mobileid::store::MemoryStore;
use mobileid::testkit::{Device, TestApp, TestResponse, json_request};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[path = "trust/keys.rs"]
mod keys;

const FR: &str = "+33623456789";
const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#;

fn assert_error(res: &TestResponse, status: u16, errno: u64) {
    assert_eq!(res.status.as_u16(), status, "status; body {}", res.json());
    assert_eq!(res.json()["errno"], errno, "errno in {}", res.json());
}

async fn verified_device(app: &TestApp, number: &str) -> Device {
    let device = app.register().await;
    let res = app.ask_code(&device, number, "208", true).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.json());
    let code = app.last_code_to(number).expect("an SMS");
    let res = app.submit_code(&device, &code).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
    device
}

fn claims_of(cert: &str) -> Value {
    let payload = cert.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn sign(app: &TestApp, device: &Device, key: Value, duration: i64) -> TestResponse {
    app.post_as(
        device,
        "/v1/certificate/sign",
        &json!({"publicKey": key, "duration": duration}),
    )
    .await
}

// ---- certificate claims ----------------------------------------------------------------------

#[tokio::test]
async fn certificate_times_are_seconds_beside_the_original_claims() {
    let app = TestApp::builder()
        .var("MOBILEID_ISSUER", "mobileid.example.org")
        .build()
        .await;
    let device = verified_device(&app, FR).await;
    let now = app.clock.now_secs_for_tests();
    let ec: Value = serde_json::from_str(EC_KEY).unwrap();
    let res = sign(&app, &device, ec.clone(), 3600).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
    let claims = claims_of(res.json()["cert"].as_str().unwrap());

    // RFC 7519 NumericDate: seconds. iat and nbf are back-dated 10 s for verifiers' clock skew.
    assert_eq!(claims["iat"], now - 10, "{claims}");
    assert_eq!(claims["nbf"], now - 10, "{claims}");
    assert_eq!(claims["exp"], now + 3600, "{claims}");
    // The original's claims keep their names and units (milliseconds) for old clients.
    assert_eq!(
        claims["lastAuthAt"].as_i64().unwrap() / 1000,
        now,
        "{claims}"
    );
    assert!(claims["lastVerifiedAt"].as_i64().unwrap() > now * 1000 - 5_000);
    assert_eq!(claims["verifiedMSISDN"], FR);
    assert_eq!(claims["public-key"], ec);
    // What relying parties' libraries look for.
    let sub = claims["sub"].as_str().expect("sub");
    assert!(
        sub.len() == 32 && sub.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sub}"
    );
    assert_eq!(
        claims["principal"]["email"],
        format!("{sub}@mobileid.example.org")
    );
    assert_eq!(claims["phone_number"], FR);
    assert_eq!(claims["phone_number_verified"], true);
    assert_eq!(
        claims["cnf"],
        json!({"jwk": ec}),
        "RFC 7800 proof of possession"
    );
    assert_eq!(claims["iss"], "mobileid.example.org");

    // A BrowserID key is not a JWK: no cnf.
    app.clock.advance_secs(1);
    let rsa = json!({"algorithm": "RS", "n": keys::RSA_2048_N, "e": "65537"});
    let res = sign(&app, &device, rsa.clone(), 60).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
    let claims = claims_of(res.json()["cert"].as_str().unwrap());
    assert_eq!(claims["public-key"], rsa);
    assert!(claims.get("cnf").is_none(), "{claims}");
    assert_eq!(claims["exp"], now + 1 + 60);
}

// ---- public keys --------------------------------------------------------------------------------

#[tokio::test]
async fn degenerate_public_keys_are_not_certified() {
    let app = TestApp::new().await;
    let device = verified_device(&app, FR).await;
    let dsa = keys::dsa_2048();
    let with = |changes: Value| {
        let mut key = dsa.clone();
        for (k, v) in changes.as_object().unwrap() {
            key[k] = v.clone();
        }
        key
    };
    let p_minus_1 = keys::hex_minus_one(dsa["p"].as_str().unwrap());
    let cases = [
        // The issue's two examples.
        (json!({"algorithm": "RS", "n": "1", "e": "65537"}), "n must"),
        (
            json!({"algorithm": "DS", "y": "1", "p": "2", "q": "3", "g": "4"}),
            "p must",
        ),
        // RSA: a 2048-bit even modulus, a short one, bad exponents.
        (
            json!({"algorithm": "RS", "n": keys::even_2048(), "e": "65537"}),
            "n must be odd",
        ),
        (
            json!({"algorithm": "RS", "n": keys::RSA_1024_N, "e": "65537"}),
            "at least 2048 bits",
        ),
        (
            json!({"algorithm": "RS", "n": keys::RSA_2048_N, "e": "1"}),
            "e must",
        ),
        (
            json!({"algorithm": "RS", "n": keys::RSA_2048_N, "e": "65536"}),
            "e must",
        ),
        // DSA: y or g outside the subgroup, q that does not divide p-1.
        (with(json!({"y": "1"})), "y must"),
        (with(json!({"y": p_minus_1.clone()})), "y must"),
        (with(json!({"g": "1"})), "g must"),
        (with(json!({"g": p_minus_1})), "g must"),
        (
            with(json!({"q": keys::hex_plus_two(dsa["q"].as_str().unwrap())})),
            "q must",
        ),
        (with(json!({"y": dsa["g"].clone(), "g": "2"})), "g must"),
    ];
    for (key, rule) in cases {
        let res = sign(&app, &device, key.clone(), 60).await;
        assert_error(&res, 400, 107);
        let info = res.json()["info"].as_str().unwrap_or_default().to_owned();
        assert!(
            info.contains(rule),
            "{key}: info {info:?} should name the rule ({rule})"
        );
    }
    for good in [
        json!({"algorithm": "RS", "n": keys::RSA_2048_N, "e": "65537"}),
        dsa.clone(),
        serde_json::from_str(EC_KEY).unwrap(),
    ] {
        let res = sign(&app, &device, good.clone(), 60).await;
        assert_eq!(res.status, StatusCode::OK, "{good}: {}", res.json());
    }
}

// ---- Hawk ----------------------------------------------------------------------------------------

/// The Hawk MAC as the specification defines it (hueniverse/hawk, `crypto.generateNormalizedString`),
/// written here independently of the server: `app` and `dlg` are covered when present.
struct Mac1<'a> {
    kind: &'a str,
    ts: i64,
    nonce: &'a str,
    method: &'a str,
    path: &'a str,
    hash: &'a str,
    ext: &'a str,
    app: Option<(&'a str, &'a str)>,
}

impl Mac1<'_> {
    fn compute(&self, device: &Device) -> String {
        let mut normalized = format!(
            "hawk.1.{}\n{}\n{}\n{}\n{}\n127.0.0.1\n8080\n{}\n{}\n",
            self.kind, self.ts, self.nonce, self.method, self.path, self.hash, self.ext
        );
        if let Some((app, dlg)) = self.app {
            normalized.push_str(&format!("{app}\n{dlg}\n"));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(device.key.to_hex().as_bytes()).unwrap();
        mac.update(normalized.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

fn payload_hash(body: &str) -> String {
    let digest = Sha256::digest(format!("hawk.1.payload\napplication/json\n{body}\n"));
    STANDARD.encode(digest)
}

const UNREGISTER: &str = "/v1/msisdn/unregister";

/// An unregister request with this Authorization header (body `{}`).
fn raw_request(authorization: Vec<u8>) -> http::Request<axum::body::Body> {
    let mut req = json_request(Method::POST, UNREGISTER, Some("{}".into()), None);
    req.headers_mut().insert(
        header::AUTHORIZATION,
        http::HeaderValue::from_bytes(&authorization).unwrap(),
    );
    req
}

fn header_with(device: &Device, ts: i64, nonce: &str, app: Option<(&str, &str)>) -> String {
    let hash = payload_hash("{}");
    let mac = Mac1 {
        kind: "header",
        ts,
        nonce,
        method: "POST",
        path: UNREGISTER,
        hash: &hash,
        ext: "",
        app,
    }
    .compute(device);
    let mut h = format!(
        r#"Hawk id="{}", ts="{ts}", nonce="{nonce}", hash="{hash}", mac="{mac}""#,
        device.id.to_hex()
    );
    if let Some((app, dlg)) = app {
        h.push_str(&format!(r#", app="{app}", dlg="{dlg}""#));
    }
    h
}

#[tokio::test]
async fn app_and_dlg_are_covered_by_the_mac() {
    let app = TestApp::new().await;
    let now = app.clock.now_secs_for_tests();

    // Signed over app and dlg, as mohawk and the reference client do: accepted, and the
    // server's answer is signed over them too.
    let device = app.register().await;
    let signed = header_with(&device, now, "n1", Some(("demo-app", "d1")));
    let res = app.call(raw_request(signed.into_bytes())).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.json());
    let response_mac = Mac1 {
        kind: "response",
        ts: now,
        nonce: "n1",
        method: "POST",
        path: UNREGISTER,
        hash: "",
        ext: "",
        app: Some(("demo-app", "d1")),
    }
    .compute(&device);
    assert_eq!(
        res.header("server-authorization"),
        Some(format!(r#"Hawk mac="{response_mac}""#).as_str())
    );

    // Added to a header signed without them, or altered: refused.
    let device = app.register().await;
    let plain = header_with(&device, now, "n2", None);
    let added = format!(r#"{plain}, app="demo-app", dlg="d1""#);
    let res = app.call(raw_request(added.into_bytes())).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.json()["message"], "Bad mac");
    let altered = header_with(&device, now, "n3", Some(("demo-app", "d1")))
        .replace(r#"dlg="d1""#, r#"dlg="d2""#);
    let res = app.call(raw_request(altered.into_bytes())).await;
    assert_error(&res, 401, 110);
    assert_eq!(res.json()["message"], "Bad mac");
    let res = app
        .call(raw_request(
            header_with(&device, now, "n4", None).into_bytes(),
        ))
        .await;
    assert_eq!(
        res.status,
        StatusCode::NO_CONTENT,
        "the control: {}",
        res.json()
    );
}

#[tokio::test]
async fn headers_outside_the_grammar_are_bad_header_format() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    let good = header_with(&device, now, "n1", None);
    let id = device.id.to_hex();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "duplicate nonce",
            format!(r#"{good}, nonce="other""#).into_bytes(),
        ),
        (
            "duplicate id",
            format!(r#"Hawk id="{id}", {}"#, &good[5..]).into_bytes(),
        ),
        (
            "unknown attribute",
            format!(r#"{good}, foo="x""#).into_bytes(),
        ),
        (
            "no comma between attributes",
            good.replacen(", ts=", " ts=", 1).into_bytes(),
        ),
        (
            "a quote inside a value",
            good.replacen(r#"nonce="n1""#, r#"nonce="n"1""#, 1)
                .into_bytes(),
        ),
        (
            "empty value",
            good.replacen(r#"nonce="n1""#, r#"nonce="""#, 1)
                .into_bytes(),
        ),
        (
            "non-numeric ts",
            good.replacen("ts=\"", "ts=\"x", 1).into_bytes(),
        ),
        ("missing mac", good[..good.find(", mac=").unwrap()].into()),
        ("no attributes", b"Hawk".to_vec()),
    ];
    let mut non_ascii = good.clone().into_bytes();
    let at = good.find("n1").unwrap();
    non_ascii[at] = 0xe9;
    cases.push(("a non-ASCII byte in a value", non_ascii));
    let mut outside = good.clone().into_bytes();
    outside.extend_from_slice(b", \xff");
    cases.push(("a non-ASCII byte between attributes", outside));
    for (why, authorization) in cases {
        let res = app.call(raw_request(authorization)).await;
        assert_error(&res, 400, 110);
        assert_eq!(res.json()["message"], "Bad header format", "{why}");
    }
    let res = app.call(raw_request(good.into_bytes())).await;
    assert_eq!(
        res.status,
        StatusCode::NO_CONTENT,
        "the control: {}",
        res.json()
    );
}

#[tokio::test]
async fn oversized_attributes_are_refused_before_anything_is_stored() {
    let store = std::sync::Arc::new(MemoryStore::new());
    let app = TestApp::builder().store(store.clone()).build().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    // A refusal that touches no store answers 400 even with the store down (503 otherwise).
    store.set_unavailable(true);
    let long = "n".repeat(200 * 1024);
    for (why, header) in [
        ("200 KB nonce", header_with(&device, now, &long, None)),
        (
            "129-byte nonce",
            header_with(&device, now, &"n".repeat(129), None),
        ),
        (
            "2 KB ext",
            header_with(&device, now, "n1", None).replacen(
                ", mac=",
                &format!(r#", ext="{}", mac="#, "e".repeat(2048)),
                1,
            ),
        ),
        (
            "5 KB header",
            format!(
                r#"{}, app="{}""#,
                header_with(&device, now, "n1", None),
                "a".repeat(5000)
            ),
        ),
    ] {
        let res = app.call(raw_request(header.into_bytes())).await;
        assert_error(&res, 400, 110);
        assert_eq!(res.json()["message"], "Bad header format", "{why}");
    }
    store.set_unavailable(false);
    let res = app
        .call(raw_request(
            header_with(&device, now, &"n".repeat(128), None).into_bytes(),
        ))
        .await;
    assert_eq!(
        res.status,
        StatusCode::NO_CONTENT,
        "a 128-byte nonce is within bounds: {}",
        res.json()
    );
}

#[tokio::test]
async fn errors_after_authentication_are_signed_too() {
    let app = TestApp::new().await;
    let device = app.register().await;
    let now = app.clock.now_secs_for_tests();
    let body = "{not json";
    let hash = payload_hash(body);
    let mac = Mac1 {
        kind: "header",
        ts: now,
        nonce: "bad-json",
        method: "POST",
        path: UNREGISTER,
        hash: &hash,
        ext: "",
        app: None,
    }
    .compute(&device);
    let authorization = format!(
        r#"Hawk id="{}", ts="{now}", nonce="bad-json", hash="{hash}", mac="{mac}""#,
        device.id.to_hex()
    );
    let req = json_request(
        Method::POST,
        UNREGISTER,
        Some(body.into()),
        Some(authorization),
    );
    let res = app.call(req).await;
    assert_error(&res, 400, 106);
    let expected = Mac1 {
        kind: "response",
        ts: now,
        nonce: "bad-json",
        method: "POST",
        path: UNREGISTER,
        hash: "",
        ext: "",
        app: None,
    }
    .compute(&device);
    assert_eq!(
        res.header("server-authorization"),
        Some(format!(r#"Hawk mac="{expected}""#).as_str()),
        "a 400 after authentication is signed"
    );
}

// ---- sealed values ------------------------------------------------------------------------------

/// What an attacker with a table export and a Hawk id (it travels in clear in every
/// Authorization header and SMS-MO text) can do with the sealing scheme as published, without
/// the stage secret: derive every key the design allows from the id alone, and try them on every
/// byte layout.
fn attacker_opens(id: &[u8; 32], label: &[u8], sealed: &[u8]) -> bool {
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    let salts: [Option<&[u8]>; 3] = [Some(b"mobileid-seal"), None, Some(&[])];
    for salt in salts {
        let hk = hkdf::Hkdf::<Sha256>::new(salt, id);
        let mut key = [0u8; 32];
        hk.expand(label, &mut key).unwrap();
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).unwrap());
        // The nonce at the start, after a version byte, or after a two-byte version.
        for skip in 0..=2 {
            if sealed.len() < skip + 12 + 16 {
                continue;
            }
            let (nonce, body) = sealed[skip..].split_at(12);
            let mut buf = body.to_vec();
            let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
            if key.open_in_place(nonce, Aad::from(label), &mut buf).is_ok() {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn a_table_export_and_a_hawk_id_open_nothing() {
    let app = TestApp::new().await;
    let device = verified_device(&app, FR).await;
    let now = app.clock.now_secs_for_tests();
    // The export: the session's item as the store holds it.
    let key = app.state.ids.session_key(&device.id);
    let record = app
        .state
        .store
        .get_session(&key, now)
        .await
        .unwrap()
        .expect("the session is stored");
    let sealed_number = &record.msisdn.as_ref().expect("a bound number").sealed;
    let id = *device.id.as_bytes();
    assert!(
        !attacker_opens(&id, b"mobileid/v1/seal/auth-key", &record.sealed_auth_key),
        "the auth key opened without the stage secret: it forges Hawk requests"
    );
    assert!(
        !attacker_opens(&id, b"mobileid/v1/seal/msisdn", sealed_number),
        "the number opened without the stage secret"
    );
    // Nothing in the item is the number, the id or the key in clear.
    let dump = format!("{record:?}");
    for secret in [
        FR.trim_start_matches('+').to_owned(),
        device.id.to_hex(),
        device.key.to_hex(),
    ] {
        assert!(!dump.contains(&secret));
    }
    // And the service itself still opens both (the device's certificate request works).
    let res = sign(&app, &device, serde_json::from_str(EC_KEY).unwrap(), 60).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
}
