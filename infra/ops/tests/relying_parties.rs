//! Third-party verifiers read what we sign (issue 11): the snippets of docs/relying-parties.md —
//! PyJWT, npm `jose`, the `jsonwebtoken` crate — and the ops tool, each with its default
//! validation, against certificates the service issued through its HTTP API. A fresh
//! certificate verifies; one past its duration, one signed by another key and one whose kid
//! the keys don't have are refused.
//!
//! The snippets are extracted from the markdown by build.rs. PyJWT and jose come from `.tools/`
//! (infra/test.sh installs them, and points MOBILEID_RP_PYTHON and MOBILEID_RP_NODE_MODULES at
//! them); without them those two are skipped with a message, unless MOBILEID_REQUIRE_SERVERS=1
//! (infra/test.sh), which makes a missing verifier fail the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use mobileid::testkit::TestApp;
use p256::ecdsa::signature::Signer;
use serde_json::{Value, json};

mod snippet {
    include!(concat!(env!("OUT_DIR"), "/verify.rs"));
}

const ISSUER: &str = "mobileid.example.org";
const EC_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#;

/// The four certificates every verifier is shown, and the keys it is given.
struct Cases {
    jwks: Value,
    fresh: String,
    expired: String,
    other_key: String,
    unknown_kid: String,
}

impl Cases {
    fn all(&self) -> [(&'static str, &str); 4] {
        [
            ("fresh", &self.fresh),
            ("expired", &self.expired),
            ("other_key", &self.other_key),
            ("unknown_kid", &self.unknown_kid),
        ]
    }
}

async fn app() -> TestApp {
    TestApp::builder()
        .var("MOBILEID_ISSUER", ISSUER)
        .build()
        .await
}

/// Register, verify `number` by SMS, ask a certificate of `duration` seconds.
async fn certificate(app: &TestApp, number: &str, duration: i64) -> String {
    let device = app.register().await;
    let res = app.ask_code(&device, number, "208", true).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.json());
    let code = app.last_code_to(number).unwrap();
    assert_eq!(app.submit_code(&device, &code).await.status, StatusCode::OK);
    let body =
        json!({"publicKey": serde_json::from_str::<Value>(EC_KEY).unwrap(), "duration": duration});
    let res = app.post_as(&device, "/v1/certificate/sign", &body).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.json());
    res.json()["cert"].as_str().unwrap().to_owned()
}

async fn cases() -> Cases {
    let app = app().await;
    let jwks = app
        .send(Method::GET, "/.well-known/jwks.json", None)
        .await
        .json();
    // Verifiers run on the real clock: the expired certificate is one the service issued two
    // hours ago for 60 s (well past jsonwebtoken's default leeway of 60 s).
    let now_ms = app.clock.now_secs_for_tests() * 1000;
    app.clock.set_ms(now_ms - 7_200_000);
    let expired = certificate(&app, "+33611111111", 60).await;
    app.clock.set_ms(now_ms);
    let fresh = certificate(&app, "+33622222222", 600).await;

    // The fresh certificate's header (with the stage's kid) and claims, signed by another key.
    let (signed, _) = fresh.rsplit_once('.').unwrap();
    let stranger = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let signature: p256::ecdsa::Signature = stranger.sign(signed.as_bytes());
    let other_key = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));

    // A certificate of another stage (another secret): its kid is not in these keys.
    let unknown_kid = certificate(&self::app().await, "+33633333333", 600).await;
    Cases {
        jwks,
        fresh,
        expired,
        other_key,
        unknown_kid,
    }
}

fn claims_of(cert: &str) -> Value {
    let payload = cert.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn third_party_verifiers_accept_fresh_certificates_and_refuse_the_rest() {
    let cases = cases().await;
    let expected_claims = claims_of(&cases.fresh);
    assert_eq!(expected_claims["phone_number"], "+33622222222");

    // Rust: jsonwebtoken.
    let keys: jsonwebtoken::jwk::JwkSet = serde_json::from_value(cases.jwks.clone()).unwrap();
    use jsonwebtoken::errors::ErrorKind;
    use snippet::{Refused, verify_certificate};
    let claims = verify_certificate(&cases.fresh, &keys, ISSUER).expect("a fresh certificate");
    assert_eq!(claims, expected_claims);
    for (name, cert, expected) in [
        ("expired", &cases.expired, ErrorKind::ExpiredSignature),
        ("other_key", &cases.other_key, ErrorKind::InvalidSignature),
    ] {
        match verify_certificate(cert, &keys, ISSUER) {
            Err(Refused::Invalid(e)) if *e.kind() == expected => {}
            other => panic!("jsonwebtoken, {name}: {other:?}"),
        }
    }
    assert!(matches!(
        verify_certificate(&cases.unknown_kid, &keys, ISSUER),
        Err(Refused::UnknownKid(Some(_)))
    ));
    println!("jsonwebtoken: fresh ok; expired, other_key, unknown_kid refused");

    let dir = Scratch::new();
    let input = json!({
        "jwks": cases.jwks,
        "issuer": ISSUER,
        "cases": cases.all().iter().map(|(n, c)| (n.to_string(), json!(c))).collect::<serde_json::Map<_, _>>(),
    });
    std::fs::write(dir.0.join("cases.json"), input.to_string()).unwrap();

    // Python: PyJWT.
    if let Some(python) = tool("MOBILEID_RP_PYTHON", ".tools/venv/bin/python", "PyJWT") {
        std::fs::write(
            dir.0.join("verify.py"),
            include_str!(concat!(env!("OUT_DIR"), "/verify.py")),
        )
        .unwrap();
        std::fs::write(dir.0.join("harness.py"), PYTHON_HARNESS).unwrap();
        let results = run(Command::new(python).arg("harness.py").current_dir(&dir.0));
        check(
            "PyJWT",
            &results,
            &expected_claims,
            [
                ("expired", "ExpiredSignatureError"),
                ("other_key", "InvalidSignatureError"),
                ("unknown_kid", "InvalidKeyError"),
            ],
        );
    }

    // Node: jose (an ES module resolves `jose` from a node_modules beside it).
    if let Some(modules) = tool(
        "MOBILEID_RP_NODE_MODULES",
        ".tools/jose/node_modules",
        "jose",
    ) {
        std::os::unix::fs::symlink(&modules, dir.0.join("node_modules")).unwrap();
        std::fs::write(
            dir.0.join("verify.mjs"),
            include_str!(concat!(env!("OUT_DIR"), "/verify.mjs")),
        )
        .unwrap();
        std::fs::write(dir.0.join("harness.mjs"), NODE_HARNESS).unwrap();
        let results = run(Command::new("node").arg("harness.mjs").current_dir(&dir.0));
        check(
            "jose",
            &results,
            &expected_claims,
            [
                ("expired", "ERR_JWT_EXPIRED"),
                ("other_key", "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
                ("unknown_kid", "ERR_JWKS_NO_MATCHING_KEY"),
            ],
        );
    }

    // The ops tool.
    let jwks_file = dir.0.join("jwks.json");
    std::fs::write(&jwks_file, cases.jwks.to_string()).unwrap();
    for (name, cert) in cases.all() {
        let cert_file = dir.0.join(format!("{name}.jwt"));
        std::fs::write(&cert_file, cert).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_mobileid"))
            .args(["cert", "verify", "--jwks"])
            .args([&jwks_file, &cert_file])
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            name == "fresh",
            "mobileid cert verify, {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("mobileid cert verify: fresh ok; expired, other_key, unknown_kid refused");
}

/// Checks one verifier's results: `{case: {"ok": claims} | {"error": name}}`.
fn check(verifier: &str, results: &Value, expected_claims: &Value, refusals: [(&str, &str); 3]) {
    assert_eq!(
        &results["fresh"]["ok"], expected_claims,
        "{verifier}, fresh: {results}"
    );
    for (case, error) in refusals {
        assert_eq!(
            results[case]["error"], error,
            "{verifier}, {case}: {results}"
        );
    }
    println!("{verifier}: fresh ok; expired, other_key, unknown_kid refused ({results})");
}

const PYTHON_HARNESS: &str = r#"
import json
from verify import verify_certificate

data = json.load(open("cases.json"))
results = {}
for name, cert in data["cases"].items():
    try:
        results[name] = {"ok": verify_certificate(cert, data["jwks"], data["issuer"])}
    except Exception as e:
        results[name] = {"error": type(e).__name__, "message": str(e)}
print(json.dumps(results))
"#;

const NODE_HARNESS: &str = r#"
import { readFileSync } from "node:fs";
import { verifyCertificate } from "./verify.mjs";

const data = JSON.parse(readFileSync("cases.json", "utf8"));
const results = {};
for (const [name, cert] of Object.entries(data.cases)) {
  try {
    results[name] = { ok: await verifyCertificate(cert, data.jwks, data.issuer) };
  } catch (e) {
    results[name] = { error: e.code ?? e.name, message: e.message };
  }
}
console.log(JSON.stringify(results));
"#;

fn run(command: &mut Command) -> Value {
    let out = command.output().expect("the verifier runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{command:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A verifier's interpreter or modules: from `var`, else from the workspace's `.tools/`.
fn tool(var: &str, default: &str, what: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = std::env::var_os(var).map_or_else(|| root.join(default), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("MOBILEID_REQUIRE_SERVERS").as_deref() == Ok("1") {
        panic!(
            "{what} is not installed at {} (set {var}; infra/test.sh installs it)",
            path.display()
        );
    }
    eprintln!(
        "skipping {what}: not installed at {} (infra/test.sh --only tools installs it)",
        path.display()
    );
    None
}

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("mobileid-rp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
