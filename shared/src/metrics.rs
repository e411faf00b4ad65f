//! What the service counts, as CloudWatch Embedded Metric Format (EMF) lines: one JSON object
//! per event on stdout, which CloudWatch Logs turns into metrics with no API call (and no
//! latency, no extra permission, nothing to fail). Handlers call one method per event.
//!
//! Dimensions are low-cardinality and never personal: a country is an ISO 3166-1 alpha-2
//! region (`FR`), a provider a name (`nexmo`), an errno a number. Never a phone number, a code,
//! a key or an id. Each metric is also emitted per country alone and with no dimension at all,
//! so that the dashboard and the alarms can read totals and per-country series directly.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::clock::Clock;

/// Where EMF lines go.
pub trait MetricsSink: Send + Sync {
    fn emit(&self, line: &str);
}

/// A Lambda function's stdout: CloudWatch Logs reads the lines there.
pub struct Stdout;

impl MetricsSink for Stdout {
    fn emit(&self, line: &str) {
        // A closed stdout must not fail a request: the metric is lost, the answer is not.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// The local server: nobody reads the metrics there.
pub struct Discard;

impl MetricsSink for Discard {
    fn emit(&self, _: &str) {}
}

/// Keeps every line (tests read them back).
#[derive(Default)]
pub struct Capture(Mutex<Vec<String>>);

impl Capture {
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl MetricsSink for Capture {
    fn emit(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line.to_owned());
    }
}

/// The outcome of one code check (`verify_code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    Verified,
    Wrong,
    Expired,
    Locked,
}

impl CodeOutcome {
    fn metric(self) -> &'static str {
        match self {
            CodeOutcome::Verified => "CodesVerified",
            CodeOutcome::Wrong => "CodesWrong",
            CodeOutcome::Expired => "CodesExpired",
            CodeOutcome::Locked => "CodesLocked",
        }
    }
}

/// Which provider callback refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Webhook {
    InboundSms,
    DeliveryReceipt,
}

impl Webhook {
    fn name(self) -> &'static str {
        match self {
            Webhook::InboundSms => "inbound-sms",
            Webhook::DeliveryReceipt => "delivery-receipt",
        }
    }
}

#[derive(Clone)]
pub struct Metrics {
    namespace: String,
    sink: Arc<dyn MetricsSink>,
    clock: Arc<dyn Clock>,
}

impl Metrics {
    /// Metrics of `stage`, in the namespace `MobileId/<stage>` (the template's alarms read it).
    pub fn new(stage: &str, sink: Arc<dyn MetricsSink>, clock: Arc<dyn Clock>) -> Self {
        Metrics {
            namespace: format!("MobileId/{stage}"),
            sink,
            clock,
        }
    }

    /// An SMS handed to `provider` for a number of `country`.
    pub fn sms_sent(&self, provider: &str, country: &str) {
        self.count("SmsSent", country, &[("Provider", provider)]);
    }

    /// An SMS `provider` did not take (a failover went on, or the send failed).
    pub fn sms_failed(&self, provider: &str, country: &str) {
        self.count("SmsFailed", country, &[("Provider", provider)]);
    }

    /// A provider's final delivery receipt: delivered, or not (failed, rejected, expired …).
    pub fn sms_receipt(&self, provider: &str, country: &str, delivered: bool) {
        let name = if delivered {
            "SmsDelivered"
        } else {
            "SmsUndelivered"
        };
        self.count(name, country, &[("Provider", provider)]);
    }

    pub fn code_checked(&self, outcome: CodeOutcome, country: &str) {
        self.count(outcome.metric(), country, &[]);
    }

    pub fn certificate_signed(&self) {
        self.emit("CertificatesSigned", &[], &[&[]]);
    }

    /// An error answer, by errno (every ApiError the routers render).
    pub fn refused(&self, errno: u16) {
        let errno = errno.to_string();
        self.emit("Refusals", &[("Errno", &errno)], &[&["Errno"], &[]]);
    }

    /// A provider callback refused or ignored, and why (`signature`, `unknown-message`, …).
    pub fn webhook_refused(&self, webhook: Webhook, reason: &str) {
        self.emit(
            "WebhookRefusals",
            &[("Webhook", webhook.name()), ("Reason", reason)],
            &[&["Webhook", "Reason"], &["Webhook"], &[]],
        );
    }

    /// One event of a per-country metric: by country and the extra dimensions, by country,
    /// and in total.
    fn count(&self, name: &str, country: &str, extra: &[(&'static str, &str)]) {
        let mut dims = vec![("Country", country)];
        dims.extend_from_slice(extra);
        let all: Vec<&str> = dims.iter().map(|(k, _)| *k).collect();
        if extra.is_empty() {
            self.emit(name, &dims, &[&all, &[]]);
        } else {
            self.emit(name, &dims, &[&all, &["Country"], &[]]);
        }
    }

    fn emit(&self, name: &str, dims: &[(&str, &str)], sets: &[&[&str]]) {
        self.sink.emit(&self.line(name, dims, sets));
    }

    /// `{"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":…,"Dimensions":[[…]],
    /// "Metrics":[{"Name":…,"Unit":"Count"}]}]},"<dim>":"<value>",…,"<name>":1}`
    fn line(&self, name: &str, dims: &[(&str, &str)], sets: &[&[&str]]) -> String {
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.clock.now_ms(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": sets,
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }],
            }),
        );
        for (k, v) in dims {
            // EMF drops a metric whose dimension value is empty: say so instead.
            let v = if v.is_empty() { "unknown" } else { v };
            root.insert((*k).into(), Value::String(v.into()));
        }
        root.insert(name.into(), json!(1));
        Value::Object(root).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let capture = Arc::new(Capture::default());
        let m = Metrics::new(
            "dev",
            capture.clone(),
            Arc::new(ManualClock::at_ms(1_700_000_000_123)),
        );
        m.sms_sent("nexmo", "IT");
        m.refused(107);
        let lines = capture.lines();
        let sent: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(sent["_aws"]["Timestamp"], 1_700_000_000_123i64);
        let directive = &sent["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "MobileId/dev");
        assert_eq!(
            directive["Dimensions"],
            json!([["Country", "Provider"], ["Country"], []])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "SmsSent", "Unit": "Count"}])
        );
        assert_eq!(
            (&sent["Country"], &sent["Provider"], &sent["SmsSent"]),
            (&json!("IT"), &json!("nexmo"), &json!(1))
        );
        let refused: Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(refused["Errno"], "107");
        assert_eq!(refused["Refusals"], 1);
        // Every dimension a directive names is a member of the line (else CloudWatch drops it).
        for line in &lines {
            let v: Value = serde_json::from_str(line).unwrap();
            for set in v["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
                .as_array()
                .unwrap()
            {
                for d in set.as_array().unwrap() {
                    assert!(v[d.as_str().unwrap()].is_string(), "{d} in {line}");
                }
            }
        }
    }
}
