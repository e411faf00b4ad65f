//! The `mobileid` binary as an operator runs it: real processes, real files, exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mobileid::config::{ServiceSecrets, StageTable};
use serde_json::{Value, json};

fn mobileid(args: &[&str]) -> Output {
    mobileid_with_stdin(args, "")
}

fn mobileid_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mobileid"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mobileid binary runs");
    // A command that fails before reading its input closes the pipe: not an error here.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch directory per test (removed at the end when the test passes).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mobileid-ops-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn claims(exp: i64) -> Value {
    json!({"iss": "mobileid.test", "verifiedMSISDN": "+12025550142", "exp": exp, "iat": 0})
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn generate_then_jwks_then_a_signed_certificate_verifies() {
    let dir = Scratch::new("roundtrip");
    let generated = mobileid(&["secret", "generate", "--stage", "dev"]);
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let secret_json = text(&generated.stdout);
    let secrets =
        ServiceSecrets::from_json(&secret_json).expect("stdout is exactly the secret JSON");
    assert!(
        secrets.nexmo.api_key.is_empty(),
        "Nexmo values are left for the operator"
    );
    assert!(
        secrets.nexmo.signature_secret.is_empty(),
        "dev's webhook secret is Nexmo's, not ours"
    );
    let signer = secrets.signer().unwrap();
    let guidance = text(&generated.stderr);
    assert!(
        guidance.contains(signer.kid()),
        "stderr names the kid: {guidance}"
    );
    assert!(
        guidance.contains("put-secret-value"),
        "stderr says what to do next: {guidance}"
    );

    // The secret from standard input; the JWKS holds the generated key's public half.
    let jwks_out = mobileid_with_stdin(&["jwks", "--secret", "-"], &secret_json);
    assert!(jwks_out.status.success(), "{}", text(&jwks_out.stderr));
    let jwks: Value = serde_json::from_slice(&jwks_out.stdout).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], signer.kid());
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private part in a JWKS"
    );
    let jwks_file = dir.write("jwks.json", &jwks.to_string());

    let cert = signer.sign(&claims(now() + 3600));
    let cert_file = dir.write("cert.jwt", &cert);
    let ok = mobileid(&["cert", "verify", "--jwks", &jwks_file, &cert_file]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let shown: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(shown["claims"]["verifiedMSISDN"], "+12025550142");
    assert_eq!(shown["header"]["kid"], signer.kid());

    // The /certificate/sign answer, from standard input.
    let answer = json!({"cert": cert}).to_string();
    let from_stdin = mobileid_with_stdin(&["cert", "verify", "--jwks", &jwks_file, "-"], &answer);
    assert!(from_stdin.status.success(), "{}", text(&from_stdin.stderr));
}

#[test]
fn a_stage_without_nexmo_gets_a_random_webhook_secret() {
    let out = mobileid(&["secret", "generate", "--stage", "load-stage"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secrets = ServiceSecrets::from_json(&text(&out.stdout)).unwrap();
    assert_eq!(secrets.nexmo.signature_method, "sha256");
    assert_eq!(secrets.nexmo.signature_secret.len(), 64);
    let again = ServiceSecrets::from_json(&text(
        &mobileid(&["secret", "generate", "--stage", "load-stage"]).stdout,
    ))
    .unwrap();
    assert_ne!(again.nexmo.signature_secret, secrets.nexmo.signature_secret);
    assert_ne!(
        again.signer().unwrap().kid(),
        secrets.signer().unwrap().kid()
    );
}

#[test]
fn a_local_webhook_signature_secret_is_one_flag() {
    let out = mobileid(&[
        "secret",
        "generate",
        "--stage",
        "dev",
        "--signature-secret",
        "s3cret",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secrets = ServiceSecrets::from_json(&text(&out.stdout)).unwrap();
    assert_eq!(secrets.nexmo.signature_secret, "s3cret");
    assert_eq!(secrets.nexmo.signature_method, "sha256");
    let sha512 = mobileid(&[
        "secret",
        "generate",
        "--stage",
        "dev",
        "--signature-secret",
        "x",
        "--signature-method",
        "sha512",
    ]);
    let secrets = ServiceSecrets::from_json(&text(&sha512.stdout)).unwrap();
    assert_eq!(secrets.nexmo.signature_method, "sha512");
    let orphan = mobileid(&[
        "secret",
        "generate",
        "--stage",
        "dev",
        "--signature-method",
        "md5",
    ]);
    assert_eq!(
        orphan.status.code(),
        Some(2),
        "a method without a secret is a usage error"
    );
}

#[test]
fn tampered_foreign_and_expired_certificates_fail() {
    let dir = Scratch::new("refused");
    let secrets = ServiceSecrets::generate(&mobileid::random::OsRandomness);
    let signer = secrets.signer().unwrap();
    let jwks_file = dir.write(
        "jwks.json",
        &json!({"keys": [signer.public_jwk()]}).to_string(),
    );
    let cert = signer.sign(&claims(now() + 3600));

    // Another number in the claims, same signature.
    let parts: Vec<&str> = cert.split('.').collect();
    let mut forged_claims = claims(now() + 3600);
    forged_claims["verifiedMSISDN"] = json!("+12025550143");
    let forged_payload = URL_SAFE_NO_PAD.encode(forged_claims.to_string());
    let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let out = mobileid(&[
        "cert",
        "verify",
        "--jwks",
        &jwks_file,
        &dir.write("t.jwt", &tampered),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature does not verify"),
        "{}",
        text(&out.stderr)
    );

    let stranger = ServiceSecrets::generate(&mobileid::random::OsRandomness)
        .signer()
        .unwrap();
    let foreign = stranger.sign(&claims(now() + 3600));
    let out = mobileid(&[
        "cert",
        "verify",
        "--jwks",
        &jwks_file,
        &dir.write("f.jwt", &foreign),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("kid"), "{}", text(&out.stderr));

    let expired = signer.sign(&claims(now() - 1));
    let expired_file = dir.write("e.jwt", &expired);
    let out = mobileid(&["cert", "verify", "--jwks", &jwks_file, &expired_file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("expired"),
        "{}",
        text(&out.stderr)
    );
    let out = mobileid(&[
        "cert",
        "verify",
        "--ignore-expiry",
        "--jwks",
        &jwks_file,
        &expired_file,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = mobileid(&[
        "cert",
        "verify",
        "--jwks",
        &jwks_file,
        &dir.write("g.jwt", "garbage"),
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_jwks_can_come_from_a_loopback_url() {
    let signer = ServiceSecrets::generate(&mobileid::random::OsRandomness)
        .signer()
        .unwrap();
    let jwks = json!({"keys": [signer.public_jwk()]});
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || async move { axum::Json(jwks) }),
    );
    runtime.spawn(async move { axum::serve(listener, app).await });

    let cert = signer.sign(&claims(now() + 60));
    let out = mobileid_with_stdin(&["cert", "verify", "--jwks", &url, "-"], &cert);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let remote = mobileid_with_stdin(
        &[
            "cert",
            "verify",
            "--jwks",
            "http://192.0.2.1/jwks.json",
            "-",
        ],
        &cert,
    );
    assert_eq!(remote.status.code(), Some(1));
    assert!(
        text(&remote.stderr).contains("plain http"),
        "{}",
        text(&remote.stderr)
    );
}

#[test]
fn every_shipped_stage_checks_by_name_and_by_file() {
    let stages_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stages");
    for stage in StageTable::known_stages() {
        let by_name = mobileid(&["stage", "check", stage]);
        assert!(
            by_name.status.success(),
            "{stage}: {}",
            text(&by_name.stderr)
        );
        let summary = text(&by_name.stdout);
        assert!(
            summary.starts_with(&format!("stage {stage}: OK")),
            "{summary}"
        );
        assert!(
            summary.contains("USA") && summary.contains("310"),
            "{summary}"
        );

        let file = stages_dir.join(format!("{stage}.toml"));
        let by_file = mobileid(&["stage", "check", file.to_str().unwrap()]);
        assert!(
            by_file.status.success(),
            "{stage}: {}",
            text(&by_file.stderr)
        );
    }
}

#[test]
fn a_broken_stage_file_is_refused_with_the_reason() {
    let dir = Scratch::new("stage");
    let dev =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../stages/dev.toml"))
            .unwrap();

    let bad_mcc = dir.write(
        "bad-mcc.toml",
        &dev.replace("mccs = [\"214\"]", "mccs = [\"21A\"]"),
    );
    let out = mobileid(&["stage", "check", &bad_mcc]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("MCC \"21A\""),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());

    // A shipped stage's file must name its own stage.
    let renamed = dir.write("production.toml", &dev);
    let out = mobileid(&["stage", "check", &renamed]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("says stage = \"dev\""),
        "{}",
        text(&out.stderr)
    );

    let out = mobileid(&["stage", "check", "staging"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("neither a stage"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unknown_stages_get_no_secret_and_help_has_examples() {
    let out = mobileid(&["secret", "generate", "--stage", "staging"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "nothing that looks like a secret is printed"
    );
    assert!(
        text(&out.stderr).contains("unknown stage"),
        "{}",
        text(&out.stderr)
    );

    let help = mobileid(&["--help"]);
    assert!(help.status.success());
    assert!(
        text(&help.stdout)
            .contains("cargo run -q -p mobileid-ops -- secret generate --stage dev > secret.json")
    );
    assert_eq!(
        mobileid(&["cert"]).status.code(),
        Some(2),
        "usage errors exit 2"
    );
}

#[test]
fn the_signing_key_rotates_through_the_cli() {
    let dir = Scratch::new("rotate");
    let generated = mobileid(&["secret", "generate", "--stage", "dev"]);
    let path = dir.write("secret.json", &text(&generated.stdout));
    let load = || ServiceSecrets::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let old = load().signer().unwrap().kid().to_owned();

    let out = mobileid(&["secret", "add", &path, "signingKeys"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let staged = load();
    let new = staged
        .signing_keys
        .iter()
        .find(|k| k.kid != old)
        .expect("a second key")
        .kid
        .clone();
    assert_eq!(staged.signer().unwrap().kid(), old, "next signs nothing");
    let jwks = mobileid(&["jwks", "--secret", &path]);
    let jwks: Value = serde_json::from_slice(&jwks.stdout).unwrap();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "but is published"
    );

    let out = mobileid(&["secret", "promote", &path, "signingKeys", &new]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(load().signer().unwrap().kid(), new);

    // Too early: certificates the old key signed may still be in use.
    let out = mobileid(&[
        "secret",
        "retire",
        &path,
        "signingKeys",
        &old,
        "--stage",
        "dev",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("must stay until"),
        "{}",
        text(&out.stderr)
    );
    let out = mobileid(&[
        "secret",
        "retire",
        &path,
        "signingKeys",
        &old,
        "--stage",
        "dev",
        "--force",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(load().signing_keys.len(), 1);

    // The other secrets rotate with the same verbs.
    for args in [
        ["secret", "add", path.as_str(), "msisdnSecret", ""],
        ["secret", "promote", path.as_str(), "msisdnSecret", "2"],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let out = mobileid(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    assert_eq!(load().msisdn_secret.len(), 2);
    let out = mobileid(&["secret", "add", &path, "nonsense"]);
    assert_eq!(out.status.code(), Some(1));
}
