//! The whole SMS-MO+MT flow, as a device and Nexmo drive it, on a service that checks
//! signatures: discover → register → the device texts the MO number → Nexmo's signed callback
//! → the long code is read from the fake gateway → verify_code → certificate/sign.

use http::{Method, StatusCode};
use mobileid::clock::Clock;
use mobileid::crypto::{CertificateSigner, verify_es256};
use mobileid::random::OsRandomness;
use mobileid::sms::NexmoSigner;
use serde_json::json;

use crate::callback::{Encoding, PATH, SERVICE_NUMBER, params, request, signed, verify_text};
use crate::support::{app_with_secrets, get, signing_secrets, submit_code};

#[tokio::test]
async fn sms_mo_then_mt_verifies_the_number_and_yields_a_certificate() {
    let app = app_with_secrets(&signing_secrets("flow-secret", "sha1"), None).await;
    let signer = NexmoSigner::new("flow-secret", "sha1").unwrap();

    let res = app
        .send(
            Method::POST,
            "/v1/msisdn/discover",
            Some(&json!({"mcc": "208", "mnc": "01"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let mo_number = res.json()["verificationDetails"]["sms/momt"]["moVerifier"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(mo_number.trim_start_matches('+'), SERVICE_NUMBER);

    let device = app.register().await;
    // The device texts the MO number; Nexmo calls the webhook with what it received.
    let callback = signed(
        params(
            "33612345678",
            &verify_text(&device.id),
            "0B000000AB12CD34",
            app.clock.now_secs(),
        ),
        &signer,
    );
    let res = app.call(request(Encoding::Form, PATH, &callback)).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());

    // The long code comes back by SMS, read from the fake gateway as the load test does.
    let res = app.call(get("/__sms__/receive?to=33612345678", &[])).await;
    let messages = res.json();
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");
    let code = messages[0]["text"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 32);

    let res = submit_code(&app, &device, &code).await;
    assert_eq!(
        (res.status, res.json()),
        (StatusCode::OK, json!({"msisdn": "+33612345678"}))
    );

    let client_key = CertificateSigner::generate(&OsRandomness).public_jwk();
    let body = json!({"publicKey": client_key, "duration": 3600});
    let res = app
        .call(device.request(
            &app.clock,
            Method::POST,
            "/v1/certificate/sign",
            Some(&body),
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.json());
    let cert = res.json()["cert"].as_str().unwrap().to_owned();
    let jwks = app
        .send(Method::GET, "/.well-known/jwks.json", None)
        .await
        .json();
    let (_, claims) = verify_es256(&cert, &jwks).expect("the service's key signed it");
    assert_eq!(claims["public-key"]["x"], client_key["x"]);
}
