//! `mobileid-loadtest compare BASELINE.json CANDIDATE.json`: what a regression is, decided by a
//! command instead of by whoever reads two reports. Both files are `--json` summaries; the
//! table says, rule by rule, what each run measured and whether the candidate is within the
//! limits. The exit code is the verdict: 0 no regression, 1 a regression, 2 unreadable input.
//!
//! The rules, with their default limits (each configurable):
//! - any unexpected answer in the candidate (`--max-unexpected 0`);
//! - throughput (flows per second) down more than 10 % (`--max-throughput-drop 10`);
//! - any endpoint's p99 latency up more than 25 % (`--max-p99-rise 25`), optionally ignoring
//!   rises smaller than `--p99-slack-ms` (sub-millisecond p99s of a local run are noise);
//!   an endpoint the baseline measured and the candidate did not is a regression too;
//! - store (DynamoDB) reads or writes per flow up at all, in each single-kind phase
//!   (`--max-store-rise 0`); skipped when either run has no store figures.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde_json::Value;

/// Compares two `mobileid-loadtest --json` summaries and decides whether the candidate
/// regressed. Exit code: 0 no regression, 1 a regression, 2 unreadable input.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "mobileid-loadtest compare",
    bin_name = "mobileid-loadtest compare",
    verbatim_doc_comment
)]
pub struct CompareArgs {
    /// The previous release's summary.
    pub baseline: PathBuf,
    /// This release's summary.
    pub candidate: PathBuf,
    /// Unexpected answers allowed in the candidate.
    #[arg(long, default_value_t = 0)]
    pub max_unexpected: u64,
    /// Largest drop of flows per second, in percent.
    #[arg(long, default_value_t = 10.0)]
    pub max_throughput_drop: f64,
    /// Largest rise of any endpoint's p99 latency, in percent.
    #[arg(long, default_value_t = 25.0)]
    pub max_p99_rise: f64,
    /// p99 rises of at most this many milliseconds are never a regression.
    #[arg(long, default_value_t = 0.0)]
    pub p99_slack_ms: f64,
    /// Largest rise of store reads or writes per flow, in percent.
    #[arg(long, default_value_t = 0.0)]
    pub max_store_rise: f64,
}

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub rule: String,
    pub baseline: String,
    pub candidate: String,
    pub limit: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Regression,
    /// Not measured in one of the runs.
    Skipped,
}

pub fn main(args: impl Iterator<Item = String>) -> ExitCode {
    let args = match CompareArgs::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let read = |p: &PathBuf| -> Result<Value, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", p.display()))?;
        for field in ["flows_per_s", "unexpected_total", "endpoints"] {
            if v.get(field).is_none() {
                return Err(format!(
                    "{}: no {field}: not a mobileid-loadtest --json summary",
                    p.display()
                ));
            }
        }
        Ok(v)
    };
    let (baseline, candidate) = match (read(&args.baseline), read(&args.candidate)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("mobileid-loadtest compare: {e}");
            return ExitCode::from(2);
        }
    };
    let checks = compare(&args, &baseline, &candidate);
    print!("{}", render(&checks));
    let regressions = checks
        .iter()
        .filter(|c| c.verdict == Verdict::Regression)
        .count();
    if regressions > 0 {
        println!("REGRESSION: {regressions} rule(s) broken");
        ExitCode::FAILURE
    } else {
        println!("no regression");
        ExitCode::SUCCESS
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn pct(base: f64, cand: f64) -> String {
    if base == 0.0 {
        return if cand == 0.0 {
            "0 %".into()
        } else {
            "new".into()
        };
    }
    format!("{:+.1} %", (cand - base) / base * 100.0)
}

pub fn compare(args: &CompareArgs, baseline: &Value, candidate: &Value) -> Vec<Check> {
    let mut checks = Vec::new();
    let verdict = |bad: bool| {
        if bad {
            Verdict::Regression
        } else {
            Verdict::Ok
        }
    };

    let unexpected = candidate["unexpected_total"].as_u64().unwrap_or(u64::MAX);
    checks.push(Check {
        rule: "unexpected answers".into(),
        baseline: baseline["unexpected_total"].to_string(),
        candidate: candidate["unexpected_total"].to_string(),
        limit: format!("<= {}", args.max_unexpected),
        verdict: verdict(unexpected > args.max_unexpected),
    });

    match (
        num(&baseline["flows_per_s"]),
        num(&candidate["flows_per_s"]),
    ) {
        (Some(b), Some(c)) => checks.push(Check {
            rule: "throughput (flows/s)".into(),
            baseline: format!("{b}"),
            candidate: format!("{c} ({})", pct(b, c)),
            limit: format!("drop <= {} %", args.max_throughput_drop),
            verdict: verdict(c < b * (1.0 - args.max_throughput_drop / 100.0)),
        }),
        _ => checks.push(skipped("throughput (flows/s)")),
    }

    let endpoints = |v: &Value| -> Vec<(String, Option<f64>)> {
        v["endpoints"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["endpoint"].as_str().unwrap_or("?").to_owned(),
                            num(&e["p99_ms"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let cand_endpoints = endpoints(candidate);
    for (name, base_p99) in endpoints(baseline) {
        let rule = format!("p99 {name} (ms)");
        let cand_p99 = cand_endpoints
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, p)| *p);
        let limit = format!("rise <= {} %", args.max_p99_rise);
        match (base_p99, cand_p99) {
            (Some(b), Some(c)) => {
                let over = c > b * (1.0 + args.max_p99_rise / 100.0) && c - b > args.p99_slack_ms;
                checks.push(Check {
                    rule,
                    baseline: format!("{b}"),
                    candidate: format!("{c} ({})", pct(b, c)),
                    limit,
                    verdict: verdict(over),
                });
            }
            (Some(b), None) => checks.push(Check {
                rule,
                baseline: format!("{b}"),
                candidate: "not measured".into(),
                limit,
                verdict: Verdict::Regression,
            }),
            _ => checks.push(skipped(&rule)),
        }
    }

    let phases = |v: &Value| v["store"].as_array().cloned().unwrap_or_default();
    let (base_phases, cand_phases) = (phases(baseline), phases(candidate));
    if base_phases.is_empty() || cand_phases.is_empty() {
        checks.push(skipped("store requests per flow"));
    }
    for phase in &base_phases {
        let name = phase["phase"].as_str().unwrap_or("?");
        // The main run's mix of flows is random (66 % right codes): its cost per flow moves
        // with the draw. The single-kind phases are exact, and they are what is compared.
        if name.starts_with("mixed load") {
            continue;
        }
        let Some(other) = cand_phases.iter().find(|p| p["phase"] == phase["phase"]) else {
            if !cand_phases.is_empty() {
                checks.push(skipped(&format!("store per flow, {name}")));
            }
            continue;
        };
        for kind in ["reads", "writes"] {
            let rule = format!("store {kind}/flow, {name}");
            match (num(&phase["per_flow"][kind]), num(&other["per_flow"][kind])) {
                (Some(b), Some(c)) => checks.push(Check {
                    rule,
                    baseline: format!("{b}"),
                    candidate: format!("{c} ({})", pct(b, c)),
                    limit: format!("rise <= {} %", args.max_store_rise),
                    // A hair of tolerance: per-flow figures are divisions.
                    verdict: verdict(c > b * (1.0 + args.max_store_rise / 100.0) + 1e-6),
                }),
                _ => checks.push(skipped(&rule)),
            }
        }
    }
    checks
}

fn skipped(rule: &str) -> Check {
    Check {
        rule: rule.into(),
        baseline: "-".into(),
        candidate: "-".into(),
        limit: "-".into(),
        verdict: Verdict::Skipped,
    }
}

pub fn render(checks: &[Check]) -> String {
    let headers = ["rule", "baseline", "candidate", "limit", "verdict"];
    let rows: Vec<[String; 5]> = checks
        .iter()
        .map(|c| {
            let v = match c.verdict {
                Verdict::Ok => "ok",
                Verdict::Regression => "REGRESSION",
                Verdict::Skipped => "skipped",
            };
            [
                c.rule.clone(),
                c.baseline.clone(),
                c.candidate.clone(),
                c.limit.clone(),
                v.into(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 5]| {
        let last = cells.len() - 1;
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == last {
                let _ = writeln!(out, "{cell}");
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
    };
    line(&mut out, headers);
    for row in &rows {
        line(&mut out, row.each_ref().map(String::as_str));
    }
    out
}
