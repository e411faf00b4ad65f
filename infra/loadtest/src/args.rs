//! Command-line options, and the checks that keep a run bounded and aimed where it was meant.

use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use reqwest::Url;

/// Load test of a Mobile-ID server: the original service's load-stage scenario.
///
/// Each virtual user repeats one flow: discover, register, then either SMS-MT (the server
/// texts a code to a random French mobile) or SMS-MO+MT (we post the inbound SMS webhook the
/// provider would), read the code back from the fake SMS gateway, submit it (66 %: right code,
/// then a certificate; 34 %: a wrong code, which must be refused with 400/105) and unregister.
///
/// A run is always bounded: give --duration or --flows (or both; the first reached stops it).
/// Only loopback targets are accepted unless --allow-remote is given.
///
/// Example (local server started with MOBILEID_STAGE=load-stage):
///
///   mobileid-loadtest --base-url http://127.0.0.1:8080 --users 32 --duration 60s
///
/// The exit code is 0 when every answer was the expected one, 1 otherwise.
///
/// `mobileid-loadtest compare BASELINE.json CANDIDATE.json` compares two --json summaries
/// and exits 1 on a regression (`mobileid-loadtest compare --help` lists the rules).
#[derive(Parser, Debug, Clone)]
#[command(name = "mobileid-loadtest", version, verbatim_doc_comment)]
pub struct Args {
    /// Base URL of the API (the server's MOBILEID_PUBLIC_URL).
    #[arg(long, env = "LOADTEST_BASE_URL")]
    pub base_url: Url,

    /// The fake SMS gateway's receive endpoint (`?to=<digits>` is appended).
    /// Default: <base-url>/__sms__/receive.
    #[arg(long)]
    pub sms_url: Option<Url>,

    /// Bearer token for the fake SMS gateway (load-stage protects it).
    #[arg(long, env = "LOADTEST_SMS_TOKEN", hide_env_values = true)]
    pub sms_token: Option<String>,

    /// The inbound-SMS webhook (the Nexmo callback). Default: <base-url>/v1/msisdn/sms/momt/nexmo,
    /// or <base-url>/sms/momt/?provider=nexmo with --paths original.
    #[arg(long)]
    pub webhook_url: Option<Url>,

    /// Which paths the client calls: `v1` (/v1/msisdn/..., a P-256 JWK) or `original`, as the
    /// original service's clients do (unprefixed paths, /sms/momt/?provider=nexmo and the text
    /// `/sms/momt/verify <hawkId>`, a DSA public key sent as a JSON string). The same scenario
    /// then runs against any server that speaks the original protocol.
    #[arg(long, value_enum, default_value_t = Paths::V1)]
    pub paths: Paths,

    /// Nexmo signature secret: when set, every webhook call carries a valid `sig`.
    #[arg(long, env = "LOADTEST_SIGNATURE_SECRET", hide_env_values = true)]
    pub signature_secret: Option<String>,

    /// Nexmo signature method: md5hash, md5, sha1, sha256 or sha512.
    #[arg(long, default_value = "md5hash")]
    pub signature_method: String,

    /// Where the server reports its store's request counts (DynamoDB reads/writes).
    /// Default: <base-url>/__store__/stats; ignored when it does not answer 200.
    #[arg(long)]
    pub store_stats_url: Option<Url>,

    /// Flows run by each flow kind in the per-flow store-cost phase (0 skips the phase).
    #[arg(long, default_value_t = 20)]
    pub store_phase_flows: u64,

    /// Concurrent virtual users (also the size of the connection pool).
    #[arg(long, default_value_t = 16)]
    pub users: usize,

    /// Stop starting flows after this long (e.g. 60s, 2m, 500ms).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after this many flows in total.
    #[arg(long)]
    pub flows: Option<u64>,

    /// Start the users evenly over this period instead of all at once.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub ramp_up: Duration,

    /// Start at most this many flows per second in total (open pacing); unlimited by default.
    #[arg(long)]
    pub rate: Option<f64>,

    /// Per-request timeout.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,

    /// How long to wait for an SMS to show up at the fake gateway.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub sms_wait: Duration,

    /// MCC sent with discover and mt/verify (the numbers are French mobiles, +336…).
    #[arg(long, default_value = "208")]
    pub mcc: String,

    /// Print the summary as one JSON document on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// No progress line each second.
    #[arg(long)]
    pub quiet: bool,

    /// Allow targets that are not on this machine (a real load-stage stack). Never point a
    /// load test at production.
    #[arg(long)]
    pub allow_remote: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paths {
    V1,
    Original,
}

impl Paths {
    /// The API path of an endpoint, relative to the base URL (`discover`, `sms/mt/verify`…).
    pub fn api(self, path: &str) -> String {
        match (self, path) {
            (Paths::V1, "certificate/sign") => "v1/certificate/sign".into(),
            (Paths::V1, path) => format!("v1/msisdn/{path}"),
            (Paths::Original, path) => path.into(),
        }
    }

    fn webhook(self) -> &'static str {
        match self {
            Paths::V1 => "v1/msisdn/sms/momt/nexmo",
            Paths::Original => "sms/momt/?provider=nexmo",
        }
    }

    /// The first word of the SMS-MO text.
    pub fn verify_command(self) -> &'static str {
        match self {
            Paths::V1 => "/v1/msisdn/sms/momt/verify",
            Paths::Original => "/sms/momt/verify",
        }
    }
}

/// When only --flows is given, the run still ends after this long.
pub const DEFAULT_TIME_CAP: Duration = Duration::from_secs(600);

/// The checked settings of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub base: Url,
    pub sms: Url,
    pub webhook: Url,
    pub store_stats: Url,
    pub time_limit: Duration,
    pub max_flows: Option<u64>,
}

impl Args {
    pub fn plan(&self) -> Result<Plan, String> {
        if self.duration.is_none() && self.flows.is_none() {
            return Err("refusing an unbounded run: give --duration and/or --flows".into());
        }
        if self.users == 0 {
            return Err("--users must be at least 1".into());
        }
        if self.flows == Some(0) || self.duration == Some(Duration::ZERO) {
            return Err("--flows and --duration must be positive".into());
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err("--rate must be a positive number of flows per second".into());
        }
        let base = with_trailing_slash(self.base_url.clone());
        let join = |path: &str| base.join(path).map_err(|e| format!("{path}: {e}"));
        let plan = Plan {
            sms: self
                .sms_url
                .clone()
                .map_or_else(|| join("__sms__/receive"), Ok)?,
            webhook: self
                .webhook_url
                .clone()
                .map_or_else(|| join(self.paths.webhook()), Ok)?,
            store_stats: self
                .store_stats_url
                .clone()
                .map_or_else(|| join("__store__/stats"), Ok)?,
            base,
            time_limit: self.duration.unwrap_or(DEFAULT_TIME_CAP),
            max_flows: self.flows,
        };
        if !self.allow_remote {
            for url in [&plan.base, &plan.sms, &plan.webhook, &plan.store_stats] {
                if !is_loopback(url) {
                    return Err(format!(
                        "{url} is not on this machine; pass --allow-remote to load a remote stack"
                    ));
                }
            }
        }
        Ok(plan)
    }
}

/// `Url::join` replaces the last path segment unless the base ends with `/`.
fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// `60s`, `2m`, `500ms`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 60s, 2m, 500ms)"))?;
    let secs = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["mobileid-loadtest", "--base-url", "http://127.0.0.1:8080"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn a_run_needs_a_bound() {
        assert!(args(&[]).plan().unwrap_err().contains("unbounded"));
        let plan = args(&["--flows", "10"]).plan().unwrap();
        assert_eq!(plan.time_limit, DEFAULT_TIME_CAP);
        assert_eq!(plan.max_flows, Some(10));
        assert_eq!(
            args(&["--duration", "2m"]).plan().unwrap().time_limit,
            Duration::from_secs(120)
        );
    }

    #[test]
    fn original_paths_are_the_unprefixed_ones() {
        let original = args(&["--flows", "1", "--paths", "original"]);
        assert_eq!(
            original.plan().unwrap().webhook.as_str(),
            "http://127.0.0.1:8080/sms/momt/?provider=nexmo"
        );
        assert_eq!(Paths::Original.api("sms/verify_code"), "sms/verify_code");
        assert_eq!(
            Paths::V1.api("sms/verify_code"),
            "v1/msisdn/sms/verify_code"
        );
        assert_eq!(Paths::V1.api("certificate/sign"), "v1/certificate/sign");
        assert_eq!(Paths::Original.verify_command(), "/sms/momt/verify");
    }

    #[test]
    fn urls_default_under_the_base() {
        let plan = args(&["--flows", "1"]).plan().unwrap();
        assert_eq!(plan.sms.as_str(), "http://127.0.0.1:8080/__sms__/receive");
        assert_eq!(
            plan.webhook.as_str(),
            "http://127.0.0.1:8080/v1/msisdn/sms/momt/nexmo"
        );
        let prefixed = Args::try_parse_from([
            "x",
            "--base-url",
            "http://localhost:9000/stage",
            "--flows",
            "1",
        ])
        .unwrap();
        assert_eq!(
            prefixed.plan().unwrap().store_stats.as_str(),
            "http://localhost:9000/stage/__store__/stats"
        );
    }

    #[test]
    fn remote_targets_need_an_explicit_flag() {
        let remote = [
            "x",
            "--base-url",
            "https://mobileid.example.com",
            "--flows",
            "1",
        ];
        let err = Args::try_parse_from(remote).unwrap().plan().unwrap_err();
        assert!(err.contains("--allow-remote"));
        let mut allowed = remote.to_vec();
        allowed.push("--allow-remote");
        assert!(Args::try_parse_from(allowed).unwrap().plan().is_ok());
        assert!(
            args(&["--flows", "1", "--sms-url", "http://10.0.0.1/receive"])
                .plan()
                .is_err()
        );
        assert!(
            Args::try_parse_from(["x", "--base-url", "http://[::1]:80", "--flows", "1"])
                .unwrap()
                .plan()
                .is_ok()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 days").is_err());
    }
}
