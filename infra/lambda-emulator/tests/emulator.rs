//! The emulator against a real function binary (start-verification, debug build) and against
//! bootstraps that misbehave. Each test runs the emulator as a process, as CI does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use mobileid::config::ServiceSecrets;
use mobileid::random::OsRandomness;
use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>/start-verification`, rebuilt first: cargo does not build other packages'
/// binaries for this package's tests, and a binary left by an older build would test old code.
fn start_verification() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let profile_dir = Path::new(env!("CARGO_BIN_EXE_lambda-emulator"))
            .parent()
            .unwrap()
            .to_path_buf();
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build
            .args(["build", "--quiet", "-p", "start-verification"])
            .current_dir(workspace_root());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build -p start-verification failed");
        let binary = profile_dir.join("start-verification");
        assert!(
            binary.is_file(),
            "{} is missing after the build",
            binary.display()
        );
        binary
    })
}

/// A stage secret the functions accept (a Lambda refuses to start without a webhook secret).
fn secret_json() -> String {
    let mut secrets = ServiceSecrets::generate(&OsRandomness);
    secrets.nexmo.api_key = "test-key".into();
    secrets.nexmo.api_secret = "test-secret".into();
    secrets.nexmo.signature_secret = "0123456789abcdef0123456789abcdef".into();
    secrets.nexmo.signature_method = "sha256".into();
    serde_json::to_string(&secrets).unwrap()
}

fn event(name: &str) -> String {
    workspace_root()
        .join("events")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// What every run gives the function besides its own arguments: a Lambda runs on DynamoDB
/// only, and these events never reach the store, so an endpoint that refuses connections will
/// do (the cold start's warm-up ping fails quietly).
const STORE_ENV: [&str; 10] = [
    "--env",
    "MOBILEID_STORE=dynamodb",
    "--env",
    "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:9",
    "--env",
    "AWS_REGION=us-east-1",
    "--env",
    "AWS_ACCESS_KEY_ID=test",
    "--env",
    "AWS_SECRET_ACCESS_KEY=test",
];

fn emulator(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .args(args)
        .args(STORE_ENV)
        .output()
        .expect("the emulator runs")
}

/// The JSON lines on stdout: (invocations, summary).
fn lines(out: &Output) -> (Vec<Value>, Value) {
    let mut lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    (lines, summary["summary"].clone())
}

#[test]
fn discover_through_the_runtime_api_answers_200() {
    let bootstrap = start_verification().to_str().unwrap().to_owned();
    let secret = format!("MOBILEID_SECRET_JSON={}", secret_json());
    let discover = event("start-verification-discover.json");
    let verify = event("verify-code-unsigned.json");
    let out = emulator(&[
        "--bootstrap",
        &bootstrap,
        "--event",
        &discover,
        "--event",
        &verify,
        "--expect-status",
        "200",
        "--expect-status",
        "404",
        "--repeat",
        "3",
        "--env",
        "MOBILEID_STAGE=dev",
        "--env",
        &secret,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}; stderr:\n{stderr}",
        out.status
    );
    let (invocations, summary) = lines(&out);
    assert_eq!(invocations.len(), 6);
    let first = &invocations[0];
    assert_eq!(first["status"], 200, "{first}");
    let body: Value = serde_json::from_str(first["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["verificationMethods"][0], "sms/momt", "{body}");
    assert!(
        first["cold_start_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{first}"
    );
    // verify_code is not a route of start-verification: its JSON 404.
    assert_eq!(invocations[1]["status"], 404);
    for warm in &invocations[1..] {
        assert!(warm["cold_start_ms"].is_null(), "{warm}");
        assert!(warm["duration_ms"].as_f64().is_some(), "{warm}");
    }
    assert_eq!(summary["failed"], 0);
    assert!(
        summary["peak_rss_kib"]
            .as_u64()
            .is_some_and(|kib| kib > 1000),
        "{summary}"
    );
    assert!(summary["init_ms"].as_f64().is_some(), "{summary}");
    // The function's logs went to stderr, never to the JSON on stdout.
    assert!(stderr.contains("cold start complete"), "{stderr}");
}

#[test]
fn an_unexpected_status_fails_the_run() {
    let bootstrap = start_verification().to_str().unwrap().to_owned();
    let secret = format!("MOBILEID_SECRET_JSON={}", secret_json());
    let out = emulator(&[
        "--bootstrap",
        &bootstrap,
        "--event",
        &event("start-verification-discover.json"),
        "--expect-status",
        "201",
        "--env",
        &secret,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let (invocations, summary) = lines(&out);
    assert_eq!(invocations[0]["status"], 200);
    assert_eq!(invocations[0]["failure"], "expected status 201");
    assert_eq!(summary["failed"], 1);
}

#[test]
fn a_function_that_cannot_start_fails_the_run() {
    // No secret: a Lambda host refuses to start (shared/src/runtime.rs).
    let bootstrap = start_verification().to_str().unwrap().to_owned();
    let out = emulator(&[
        "--bootstrap",
        &bootstrap,
        "--event",
        &event("start-verification-discover.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let (invocations, _) = lines(&out);
    let error = invocations[0]["error"]["body"].as_str().unwrap_or_default();
    assert!(error.contains("exited"), "{}", invocations[0]);
}

#[test]
fn a_bootstrap_that_never_polls_times_out() {
    let dir = std::env::temp_dir().join(format!("lambda-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("bootstrap");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&script, executable).unwrap();
    let started = std::time::Instant::now();
    let out = emulator(&[
        "--bootstrap",
        script.to_str().unwrap(),
        "--event",
        &event("start-verification-discover.json"),
        "--init-timeout",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        started.elapsed().as_secs() < 10,
        "the emulator must not wait for the sleep"
    );
    let (invocations, summary) = lines(&out);
    assert!(
        invocations[0]["error"]["body"]
            .as_str()
            .unwrap()
            .contains("in time"),
        "{}",
        invocations[0]
    );
    assert_eq!(
        summary["function"],
        format!("lambda-emulator-test-{}", std::process::id())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_are_refused_before_anything_starts() {
    let out = emulator(&[
        "--bootstrap",
        "/nonexistent/bootstrap",
        "--event",
        &event("start-verification-discover.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot start"));
    let out = emulator(&["--bootstrap", "x", "--event", "/nonexistent/event.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read event"));
    let out = emulator(&["--event", "x"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}
