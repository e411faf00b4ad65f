//! What a run measured: a latency histogram and the unexpected outcomes of each endpoint.
//!
//! Each virtual user records into its own [`Recorder`] (no lock on the hot path); the runner
//! merges them at the end. Live counters for the progress line are separate atomics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Every call the scenario makes, as reported (the two verify_code outcomes are kept apart
/// because they expect different answers and cost differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    Discover,
    Register,
    MtVerify,
    Webhook,
    SmsReceive,
    VerifyCodeRight,
    VerifyCodeWrong,
    CertificateSign,
    Unregister,
}

impl Endpoint {
    pub const ALL: [Endpoint; 9] = [
        Endpoint::Discover,
        Endpoint::Register,
        Endpoint::MtVerify,
        Endpoint::Webhook,
        Endpoint::SmsReceive,
        Endpoint::VerifyCodeRight,
        Endpoint::VerifyCodeWrong,
        Endpoint::CertificateSign,
        Endpoint::Unregister,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Discover => "discover",
            Endpoint::Register => "register",
            Endpoint::MtVerify => "sms/mt/verify",
            Endpoint::Webhook => "sms/momt (webhook)",
            Endpoint::SmsReceive => "fake gateway receive",
            Endpoint::VerifyCodeRight => "verify_code (right)",
            Endpoint::VerifyCodeWrong => "verify_code (wrong)",
            Endpoint::CertificateSign => "certificate/sign",
            Endpoint::Unregister => "unregister",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Latencies are kept in microseconds, from 1 µs to 5 min, to 3 significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 300_000_000, 3).expect("valid histogram bounds")
}

#[derive(Clone)]
struct EndpointStats {
    latency: Histogram<u64>,
    /// Outcome ("500", "400 errno 999", "timeout", …) → count.
    unexpected: BTreeMap<String, u64>,
}

/// One user's (or the merged) measurements.
#[derive(Clone)]
pub struct Recorder {
    endpoints: Vec<EndpointStats>,
    pub flows_ok: u64,
    pub flows_failed: u64,
    pub mt_flows: u64,
    pub momt_flows: u64,
    pub right_code_flows: u64,
    pub wrong_code_flows: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        let endpoint = EndpointStats {
            latency: new_histogram(),
            unexpected: BTreeMap::new(),
        };
        Recorder {
            endpoints: vec![endpoint; Endpoint::ALL.len()],
            flows_ok: 0,
            flows_failed: 0,
            mt_flows: 0,
            momt_flows: 0,
            right_code_flows: 0,
            wrong_code_flows: 0,
        }
    }
}

impl Recorder {
    pub fn latency(&mut self, endpoint: Endpoint, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.endpoints[endpoint.index()]
            .latency
            .saturating_record(micros);
    }

    pub fn unexpected(&mut self, endpoint: Endpoint, outcome: String) {
        *self.endpoints[endpoint.index()]
            .unexpected
            .entry(outcome)
            .or_default() += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        for (mine, theirs) in self.endpoints.iter_mut().zip(&other.endpoints) {
            mine.latency
                .add(&theirs.latency)
                .expect("histograms share their bounds");
            for (outcome, n) in &theirs.unexpected {
                *mine.unexpected.entry(outcome.clone()).or_default() += n;
            }
        }
        self.flows_ok += other.flows_ok;
        self.flows_failed += other.flows_failed;
        self.mt_flows += other.mt_flows;
        self.momt_flows += other.momt_flows;
        self.right_code_flows += other.right_code_flows;
        self.wrong_code_flows += other.wrong_code_flows;
    }

    pub fn requests(&self) -> u64 {
        self.endpoints.iter().map(|e| e.latency.len()).sum()
    }

    /// Every unexpected outcome as `"<endpoint>: <outcome> ×n"` lines.
    pub fn unexpected_lines(&self) -> Vec<String> {
        Endpoint::ALL
            .iter()
            .zip(&self.endpoints)
            .flat_map(|(endpoint, e)| {
                e.unexpected
                    .iter()
                    .map(move |(outcome, n)| format!("{}: {outcome} ×{n}", endpoint.name()))
            })
            .collect()
    }

    pub fn unexpected_total(&self) -> u64 {
        self.endpoints
            .iter()
            .flat_map(|e| e.unexpected.values())
            .sum()
    }
}

/// Counters the progress line reads while users run.
#[derive(Default)]
pub struct Live {
    pub flows: AtomicU64,
    pub failed: AtomicU64,
    pub requests: AtomicU64,
    pub unexpected: AtomicU64,
}

impl Live {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Serialize)]
pub struct EndpointSummary {
    pub endpoint: &'static str,
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub unexpected: BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct FlowCounts {
    pub completed: u64,
    pub failed: u64,
    pub sms_mt: u64,
    pub sms_momt: u64,
    pub right_code: u64,
    pub wrong_code: u64,
}

/// The machine-readable summary (`--json`); the text report prints the same fields.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub target: String,
    pub users: usize,
    pub rate_limit_flows_per_s: Option<f64>,
    pub elapsed_s: f64,
    pub flows: FlowCounts,
    pub flows_per_s: f64,
    pub requests: u64,
    pub requests_per_s: f64,
    pub endpoints: Vec<EndpointSummary>,
    pub unexpected_total: u64,
    /// Store requests per flow, by phase (present when the server reports store stats).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<serde_json::Value>,
    /// CPU per flow of a local server and of the load generator (read from /proc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_per_flow: Option<crate::server_cpu::CpuPerFlow>,
}

fn ms(micros: u64) -> f64 {
    (micros as f64 / 10.0).round() / 100.0
}

impl Summary {
    pub fn new(
        target: String,
        users: usize,
        rate: Option<f64>,
        elapsed: Duration,
        rec: &Recorder,
    ) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let endpoints = Endpoint::ALL
            .iter()
            .zip(&rec.endpoints)
            .filter(|(_, e)| !e.latency.is_empty() || !e.unexpected.is_empty())
            .map(|(endpoint, e)| EndpointSummary {
                endpoint: endpoint.name(),
                count: e.latency.len(),
                p50_ms: ms(e.latency.value_at_quantile(0.50)),
                p90_ms: ms(e.latency.value_at_quantile(0.90)),
                p99_ms: ms(e.latency.value_at_quantile(0.99)),
                max_ms: ms(e.latency.max()),
                unexpected: e.unexpected.clone(),
            })
            .collect();
        let completed = rec.flows_ok + rec.flows_failed;
        Summary {
            target,
            users,
            rate_limit_flows_per_s: rate,
            elapsed_s: (secs * 1000.0).round() / 1000.0,
            flows: FlowCounts {
                completed,
                failed: rec.flows_failed,
                sms_mt: rec.mt_flows,
                sms_momt: rec.momt_flows,
                right_code: rec.right_code_flows,
                wrong_code: rec.wrong_code_flows,
            },
            flows_per_s: (rec.flows_ok as f64 / secs * 10.0).round() / 10.0,
            requests: rec.requests(),
            requests_per_s: (rec.requests() as f64 / secs * 10.0).round() / 10.0,
            endpoints,
            unexpected_total: rec.unexpected_total(),
            store: None,
            cpu_per_flow: None,
        }
    }

    /// The human-readable report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let f = &self.flows;
        out.push_str(&format!(
            "\n== mobileid-loadtest: {} ({} users{}) ==\n",
            self.target,
            self.users,
            self.rate_limit_flows_per_s
                .map_or(String::new(), |r| format!(", paced at {r} flows/s")),
        ));
        out.push_str(&format!(
            "elapsed {:.1} s; flows {} ({} failed; {} SMS-MT, {} SMS-MO+MT; {} right code, {} wrong code)\n",
            self.elapsed_s, f.completed, f.failed, f.sms_mt, f.sms_momt, f.right_code, f.wrong_code
        ));
        out.push_str(&format!(
            "throughput: {:.1} successful flows/s, {:.1} requests/s\n\n",
            self.flows_per_s, self.requests_per_s
        ));
        out.push_str(&format!(
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9}  unexpected\n",
            "endpoint", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"
        ));
        for e in &self.endpoints {
            let unexpected = if e.unexpected.is_empty() {
                "0".to_owned()
            } else {
                e.unexpected
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "{:<22} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}\n",
                e.endpoint, e.count, e.p50_ms, e.p90_ms, e.p99_ms, e.max_ms, unexpected
            ));
        }
        if let Some(store) = &self.store {
            out.push_str("\nstore requests per flow (from the server's /__store__/stats):\n");
            out.push_str(&crate::store_stats::render(store));
        }
        if let Some(cpu) = &self.cpu_per_flow {
            let ms = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3} ms"));
            out.push_str(&format!(
                "\nCPU per flow (from /proc): server {}{}, load generator {}; load average {}\n",
                ms(cpu.server_ms),
                cpu.server_pid
                    .map_or(" (no local listener found)".to_owned(), |p| format!(
                        " (pid {p})"
                    )),
                ms(cpu.client_ms),
                cpu.load_average
                    .map_or("n/a".to_owned(), |l| format!("{l:.2}")),
            ));
        }
        out.push_str(&format!(
            "\nunexpected outcomes: {}{}\n",
            self.unexpected_total,
            if self.unexpected_total == 0 {
                " (healthy)"
            } else {
                " (FAILED)"
            }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_adds_latencies_and_outcomes() {
        let mut a = Recorder::default();
        a.latency(Endpoint::Register, Duration::from_millis(2));
        a.unexpected(Endpoint::Register, "500".into());
        a.flows_ok = 1;
        let mut b = Recorder::default();
        b.latency(Endpoint::Register, Duration::from_millis(4));
        b.unexpected(Endpoint::Register, "500".into());
        b.flows_failed = 1;
        a.merge(&b);
        assert_eq!(a.requests(), 2);
        assert_eq!(a.unexpected_total(), 2);
        let s = Summary::new("t".into(), 1, None, Duration::from_secs(1), &a);
        assert_eq!(s.flows.completed, 2);
        assert_eq!(s.flows_per_s, 1.0);
        let register = &s.endpoints[0];
        assert_eq!(register.endpoint, "register");
        assert_eq!(register.unexpected["500"], 2);
        assert!((register.max_ms - 4.0).abs() < 0.01, "{}", register.max_ms);
        assert!(s.render().contains("FAILED"));
    }
}
