//! `mobileid-loadtest compare`: one run within the limits passes; each rule, broken alone,
//! fails the comparison (exit 1) and is named in the table.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn baseline() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("baseline.json")).unwrap()).unwrap()
}

/// Runs `compare` on the baseline fixture and `candidate` (written to a temporary file).
fn compare(candidate: &Value, extra: &[&str]) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!(
        "mobileid-compare-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("candidate.json");
    std::fs::write(&path, candidate.to_string()).unwrap();
    let out = compare_files(&fixture("baseline.json"), &path, extra);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn compare_files(baseline: &Path, candidate: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mobileid-loadtest"))
        .arg("compare")
        .arg(baseline)
        .arg(candidate)
        .args(extra)
        .output()
        .expect("the binary runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The table line of `rule`.
fn line<'a>(table: &'a str, rule: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(rule))
        .unwrap_or_else(|| panic!("no line {rule:?} in\n{table}"))
}

fn endpoint_mut<'a>(v: &'a mut Value, name: &str) -> &'a mut Value {
    v["endpoints"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["endpoint"] == name)
        .unwrap()
}

#[test]
fn a_candidate_within_the_limits_passes() {
    let (code, table) = compare_files(
        &fixture("baseline.json"),
        &fixture("candidate-ok.json"),
        &[],
    );
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("no regression"), "{table}");
    assert!(!table.contains("REGRESSION"), "{table}");
    // Every rule is in the table: unexpected, throughput, each endpoint's p99, store.
    for rule in [
        "unexpected answers",
        "throughput (flows/s)",
        "p99 sms/mt/verify (ms)",
        "p99 certificate/sign (ms)",
        "store writes/flow, SMS-MT",
    ] {
        assert!(line(&table, rule).ends_with("ok"), "{rule}: {table}");
    }
    // The same run compared with itself passes too.
    let (code, _) = compare(&baseline(), &[]);
    assert_eq!(code, 0);
}

#[test]
fn any_unexpected_answer_is_a_regression() {
    let mut c = baseline();
    c["unexpected_total"] = json!(1);
    let (code, table) = compare(&c, &[]);
    assert_eq!(code, 1, "{table}");
    assert!(line(&table, "unexpected answers").ends_with("REGRESSION"));
    let (code, _) = compare(&c, &["--max-unexpected", "1"]);
    assert_eq!(code, 0, "the limit is configurable");
}

#[test]
fn throughput_down_more_than_ten_percent_is_a_regression() {
    let mut c = baseline();
    c["flows_per_s"] = json!(7.1); // -11.25 %
    let (code, table) = compare(&c, &[]);
    assert_eq!(code, 1, "{table}");
    assert!(
        line(&table, "throughput").ends_with("REGRESSION"),
        "{table}"
    );
    assert!(line(&table, "throughput").contains("-11.3 %"), "{table}");
    c["flows_per_s"] = json!(7.3); // -8.75 %
    assert_eq!(compare(&c, &[]).0, 0);
    assert_eq!(compare(&c, &["--max-throughput-drop", "5"]).0, 1);
}

#[test]
fn any_endpoints_p99_up_more_than_a_quarter_is_a_regression() {
    let mut c = baseline();
    let p99 = endpoint_mut(&mut c, "certificate/sign")["p99_ms"]
        .as_f64()
        .unwrap();
    endpoint_mut(&mut c, "certificate/sign")["p99_ms"] = json!(p99 * 1.3);
    let (code, table) = compare(&c, &[]);
    assert_eq!(code, 1, "{table}");
    assert!(line(&table, "p99 certificate/sign").ends_with("REGRESSION"));
    assert!(line(&table, "p99 discover").ends_with("ok"));
    assert_eq!(compare(&c, &["--max-p99-rise", "40"]).0, 0);
    // A rise inside the absolute slack is noise.
    assert_eq!(compare(&c, &["--p99-slack-ms", "10"]).0, 0);
    // An endpoint the candidate did not measure at all.
    let mut missing = baseline();
    missing["endpoints"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["endpoint"] != "sms/momt (webhook)");
    let (code, table) = compare(&missing, &[]);
    assert_eq!(code, 1);
    assert!(line(&table, "p99 sms/momt (webhook)").contains("not measured"));
}

#[test]
fn more_store_requests_per_flow_is_a_regression() {
    let mut c = baseline();
    c["store"][0]["per_flow"]["writes"] = json!(7.0);
    let (code, table) = compare(&c, &[]);
    assert_eq!(code, 1, "{table}");
    assert!(line(&table, "store writes/flow, SMS-MT").ends_with("REGRESSION"));
    assert!(line(&table, "store reads/flow, SMS-MT").ends_with("ok"));
    assert_eq!(compare(&c, &["--max-store-rise", "20"]).0, 0);
    // Fewer is fine; no store figures in one run skips the rule.
    c["store"][0]["per_flow"]["writes"] = json!(5.0);
    assert_eq!(compare(&c, &[]).0, 0);
    let mut none = baseline();
    none.as_object_mut().unwrap().remove("store");
    let (code, table) = compare(&none, &[]);
    assert_eq!(code, 0);
    assert!(line(&table, "store requests per flow").ends_with("skipped"));
}

#[test]
fn unreadable_input_exits_2() {
    let (code, text) = compare(&json!({"hello": 1}), &[]);
    assert_eq!(code, 2);
    assert!(
        text.contains("not a mobileid-loadtest --json summary"),
        "{text}"
    );
    let (code, _) = compare_files(
        &fixture("baseline.json"),
        Path::new("/nonexistent.json"),
        &[],
    );
    assert_eq!(code, 2);
}
