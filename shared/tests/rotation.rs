//! Rotating every key of the stage secret breaks nothing (issue 11): sessions, pending codes,
//! certificates and limit counts made before a rotation hold after it.
//!
//! Two services share one store, as two deployments of a stage share its tables: the first
//! runs with the secret as it was, the second with every key and secret rotated (a new version
//! added, then promoted, the old one still honoured as `previous`).

use std::sync::Arc;

use http::{Method, StatusCode};
use mobileid::config::rotation::{self, SIGNING_KEYS};
use mobileid::config::{SECRET_NAMES, ServiceSecrets};
use mobileid::crypto::{JwsError, verify_es256};
use mobileid::random::OsRandomness;
use mobileid::store::MemoryStore;
use mobileid::testkit::{Device, TestApp, TestResponse};
use serde_json::{Value, json};

const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#;

/// The dev stage with low code-check budgets (two per number and client address, three per
/// number), so that their counts are easy to carry across the rotation.
fn stage() -> String {
    include_str!("../../infra/stages/dev.toml").replacen(
        "[[test_numbers]]",
        "[limits]\nwrong_tries_per_number_per_client = 2\nwrong_tries_per_number = 3\n\n[[test_numbers]]",
        1,
    )
}

async fn app(secrets: &ServiceSecrets, store: &Arc<MemoryStore>) -> TestApp {
    TestApp::builder()
        .stage_toml(&stage())
        .secrets(secrets.clone())
        .store(store.clone())
        .build()
        .await
}

fn assert_status(res: &TestResponse, status: u16, errno: Option<u64>) {
    assert_eq!(res.status.as_u16(), status, "{}", res.json());
    if let Some(errno) = errno {
        assert_eq!(res.json()["errno"], errno, "{}", res.json());
    }
}

async fn sign(app: &TestApp, device: &Device) -> String {
    let body =
        json!({"publicKey": serde_json::from_str::<Value>(EC_KEY).unwrap(), "duration": 3600});
    let res = app.post_as(device, "/v1/certificate/sign", &body).await;
    assert_status(&res, 200, None);
    res.json()["cert"].as_str().unwrap().to_owned()
}

async fn jwks(app: &TestApp) -> Value {
    app.send(Method::GET, "/.well-known/jwks.json", None)
        .await
        .json()
}

fn kid(cert: &str, keys: &Value) -> String {
    let (header, _) = verify_es256(cert, keys).expect("verifies against the served keys");
    header["kid"].as_str().unwrap().to_owned()
}

/// Adds and promotes a new version of every key and secret; returns the rotated secret.
fn rotate_everything(before: &ServiceSecrets, now: i64) -> ServiceSecrets {
    let mut s = before.clone();
    for name in std::iter::once(SIGNING_KEYS).chain(SECRET_NAMES) {
        let added = rotation::add(&mut s, name, &OsRandomness).unwrap();
        rotation::promote(&mut s, name, &added.id, now).unwrap();
    }
    // It loads as the service will load it.
    ServiceSecrets::from_json(&s.to_json_pretty()).unwrap()
}

#[tokio::test]
async fn sessions_certificates_codes_and_counts_survive_a_rotation() {
    let store = Arc::new(MemoryStore::new());
    let secrets = ServiceSecrets::generate(&OsRandomness);
    let before = app(&secrets, &store).await;

    // Before: a verified session with a certificate; a session with a code pending; a number
    // with wrong tries counted; a number just texted.
    let verified = before.register().await;
    assert_status(
        &before
            .ask_code(&verified, "+33611111111", "208", true)
            .await,
        204,
        None,
    );
    let code = before.last_code_to("+33611111111").unwrap();
    assert_status(&before.submit_code(&verified, &code).await, 200, None);
    let old_cert = sign(&before, &verified).await;
    let old_kid = kid(&old_cert, &jwks(&before).await);

    let pending = before.register().await;
    assert_status(
        &before.ask_code(&pending, "+33622222222", "208", true).await,
        204,
        None,
    );
    let pending_code = before.last_code_to("+33622222222").unwrap();

    let guessed = before.register().await;
    assert_status(
        &before.ask_code(&guessed, "+33633333333", "208", true).await,
        204,
        None,
    );
    let right = before.last_code_to("+33633333333").unwrap();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..2 {
        assert_status(&before.submit_code(&guessed, wrong).await, 400, Some(105));
    }

    // Every key and secret rotated; the old versions are still honoured.
    let rotated = rotate_everything(&secrets, before.clock.now_secs_for_tests());
    let after = app(&rotated, &store).await;
    let keys = jwks(&after).await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2, "{keys}");

    // The certificate signed before verifies against what the stage serves now.
    assert_eq!(kid(&old_cert, &keys), old_kid);
    // The verified session (stored under the old hawkIdSecret, sealed with the old seal
    // secret) still authenticates and opens its number; new certificates carry the new kid.
    let new_cert = sign(&after, &verified).await;
    let new_kid = kid(&new_cert, &keys);
    assert_ne!(new_kid, old_kid);
    assert_eq!(new_kid, rotated.signer().unwrap().kid());
    // The code sent before (its MAC under the old codeSecret) still verifies.
    let res = after.submit_code(&pending, &pending_code).await;
    assert_status(&res, 200, None);
    assert_eq!(res.json()["msisdn"], "+33622222222");
    // The number's code-check count (keyed by the old msisdnSecret) did not start again: the
    // budget of 2 from this client is spent, even for the right code.
    assert_status(&after.submit_code(&guessed, &right).await, 429, Some(115));
    // Nor did the resend interval of the number just texted.
    let again = after.register().await;
    assert_status(
        &after.ask_code(&again, "+33622222222", "208", true).await,
        429,
        Some(115),
    );
    // New sessions work, under the new versions.
    let fresh = after.register().await;
    assert_status(
        &after.ask_code(&fresh, "+33644444444", "208", true).await,
        204,
        None,
    );
    let code = after.last_code_to("+33644444444").unwrap();
    assert_status(&after.submit_code(&fresh, &code).await, 200, None);
    sign(&after, &fresh).await;

    // The old service (an instance not yet on the new secret) still reads what the new one made
    // only if the new version was published first: that is why a version is added as `next`,
    // deployed, and only then promoted. Here: a secret with every new version added, not promoted.
    let mut staged = secrets.clone();
    for name in std::iter::once(SIGNING_KEYS).chain(SECRET_NAMES) {
        rotation::add(&mut staged, name, &OsRandomness).unwrap();
    }
    let staged_app = app(&staged, &store).await;
    let staged_keys = jwks(&staged_app).await;
    assert_eq!(staged_keys["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        kid(&sign(&staged_app, &verified).await, &staged_keys),
        old_kid,
        "next signs nothing"
    );

    // Once the old signing key is retired, what it signed stops verifying (by then it expired).
    let mut retired = rotated.clone();
    let limits = after.state.limits().clone();
    let later =
        before.clock.now_secs_for_tests() + rotation::hold_secs(SIGNING_KEYS, &limits).unwrap();
    rotation::retire(&mut retired, SIGNING_KEYS, &old_kid, later, &limits, false).unwrap();
    let final_app = app(&retired, &store).await;
    let final_keys = jwks(&final_app).await;
    assert_eq!(final_keys["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        verify_es256(&old_cert, &final_keys),
        Err(JwsError::UnknownKid)
    );
    assert_eq!(kid(&new_cert, &final_keys), new_kid);
    assert_eq!(
        final_app
            .send(Method::GET, "/.well-known/browserid", None)
            .await
            .json()["keys"],
        final_keys["keys"]
    );
    assert_eq!(
        after
            .send(Method::GET, "/__lbheartbeat__", None)
            .await
            .status,
        StatusCode::OK
    );
}
