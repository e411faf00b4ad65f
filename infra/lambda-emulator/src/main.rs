//! `lambda-emulator`: runs one Lambda bootstrap (a custom-runtime executable such as the ones
//! `cargo lambda build` writes) against a local Runtime API, feeds it events, and measures it:
//! cold start, per-invocation duration, CPU time and peak RSS. It is what sizes the memory and
//! timeouts in template.yaml and what CI uses to smoke-test the release bootstraps, without
//! Docker (which `sam local` needs and this machine lacks).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use serde_json::{Value, json};
use tokio::process::Child;
use tokio::sync::mpsc;

use lambda_emulator::bootstrap::{self, Sandbox};
use lambda_emulator::runtime_api::{self, Report, new_invocation};

const EXAMPLES: &str = "\
Examples:
  # A release bootstrap with a sample event, as CI runs it
  lambda-emulator --bootstrap target/lambda/start-verification/bootstrap \\
      --event events/start-verification-discover.json \\
      --env MOBILEID_STAGE=dev --env MOBILEID_SECRET_JSON=\"$(cat secret.json)\" --expect-status 200

  # One cold start then 99 warm invocations; pass RUST_LOG from this shell
  lambda-emulator --bootstrap target/debug/verify-code --event events/verify-code.json \\
      --repeat 100 --env RUST_LOG --log /tmp/verify-code.log

Output (stdout): one JSON line per invocation,
  {\"invocation\":1,\"event\":\"...\",\"cold_start_ms\":..,\"duration_ms\":..,\"status\":200,\"response\":{..}}
where cold_start_ms (first invocation only) runs from process spawn to the first response and
duration_ms from handing the event out to its response; then one summary line,
  {\"summary\":{\"init_ms\":..,\"peak_rss_kib\":..,\"cpu_ms\":..,\"failed\":0,..}}.
Exit status: 0 if every invocation answered (with --expect-status's status), 1 otherwise,
2 on a usage error.";

/// Runs a Lambda bootstrap locally against an emulated Runtime API and measures it.
#[derive(Parser, Debug)]
#[command(name = "lambda-emulator", version, after_help = EXAMPLES)]
struct Args {
    /// The function's executable (cargo lambda writes target/lambda/<function>/bootstrap).
    #[arg(long, value_name = "PATH")]
    bootstrap: PathBuf,

    /// An event (JSON file) to invoke the function with; repeat the flag to send several in order.
    #[arg(long = "event", value_name = "FILE", required = true)]
    events: Vec<PathBuf>,

    /// An environment variable for the function: KEY=VALUE, or KEY alone to pass this shell's
    /// value. Nothing else of this shell's environment reaches the function.
    #[arg(long = "env", value_name = "KEY[=VALUE]")]
    env: Vec<String>,

    /// Sends the events this many times to the same process (one cold start, then warm).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    repeat: u32,

    /// The function timeout: an invocation not answered within it fails.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,

    /// Time allowed from process start to its first poll for an event (Lambda allows 10 s).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    init_timeout: u64,

    /// The memory size the function is told it has (not enforced: peak RSS shows the need).
    #[arg(long, value_name = "MB", default_value_t = 128)]
    memory: u32,

    /// The function's name; by default the bootstrap's directory (or file) name.
    #[arg(long)]
    function_name: Option<String>,

    #[arg(long, default_value = "us-east-1")]
    region: String,

    /// Fail (exit 1) unless the response's statusCode is this. Once: for every event; once per
    /// --event: the n-th status for the n-th event.
    #[arg(long = "expect-status", value_name = "CODE")]
    expect_status: Vec<u16>,

    /// Write the function's own output (its logs) to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("lambda-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

/// How one invocation ended.
enum Outcome {
    Answered {
        started: Instant,
        at: Instant,
        body: Bytes,
    },
    FunctionError {
        started: Instant,
        at: Instant,
        error_type: Option<String>,
        body: Bytes,
    },
    /// The process cannot take more events: init error, exit, or timeout.
    Fatal(String),
}

/// Runs every invocation; `Ok(false)` when one failed.
async fn run(args: Args) -> Result<bool, String> {
    let events = args
        .events
        .iter()
        .map(|path| read_event(path).map(|body| (event_name(path), body)))
        .collect::<Result<Vec<_>, _>>()?;
    let env = parse_env(&args.env)?;
    if !matches!(args.expect_status.len(), 0 | 1) && args.expect_status.len() != events.len() {
        return Err(format!(
            "{} --expect-status for {} --event: give one for all, or one per event",
            args.expect_status.len(),
            events.len()
        ));
    }
    let name = args
        .function_name
        .clone()
        .unwrap_or_else(|| default_name(&args.bootstrap));
    let arn = format!(
        "arn:aws:lambda:{}:000000000000:function:{name}",
        args.region
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let api = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let (invocations, queued) = mpsc::channel(1);
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let router = runtime_api::router(queued, reports_tx, arn);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let sandbox = Sandbox {
        runtime_api: &api,
        function_name: &name,
        memory_mb: args.memory,
        region: &args.region,
        timeout_secs: args.timeout,
    };
    let spawned_at = Instant::now();
    let mut child = bootstrap::spawn(&args.bootstrap, &sandbox, &env, args.log.as_deref())
        .map_err(|e| format!("cannot start {}: {e}", args.bootstrap.display()))?;
    let pid = child.id().ok_or("the bootstrap exited at once")?;

    let mut measured = Measured::default();
    let schedule = (0..args.repeat).flat_map(|_| events.iter().enumerate());
    for (n, (index, (event_name, event))) in schedule.enumerate() {
        let cold = n == 0;
        let invocation = new_invocation(event.clone(), args.timeout);
        let request_id = invocation.request_id.clone();
        if invocations.send(invocation).await.is_err() {
            return Err("the Runtime API stopped".into());
        }
        let first_wait = Duration::from_secs(if cold {
            args.init_timeout
        } else {
            args.timeout
        });
        let limits = (first_wait, Duration::from_secs(args.timeout));
        let outcome = wait_for(
            &mut reports,
            &mut child,
            &request_id,
            limits,
            &mut measured,
            spawned_at,
        )
        .await;
        let mut line = json!({"invocation": n + 1, "event": event_name});
        let fatal = match outcome {
            Outcome::Answered { started, at, body } => {
                let response = parse_json(&body);
                let status = response["statusCode"].as_u64();
                if cold {
                    line["cold_start_ms"] = json!(ms(at - spawned_at));
                    measured.cold_start_ms = Some(ms(at - spawned_at));
                    measured.cold_cpu_ms = bootstrap::cpu_ms(pid);
                } else {
                    line["cold_start_ms"] = Value::Null;
                }
                line["duration_ms"] = json!(ms(at - started));
                line["status"] = json!(status);
                line["response"] = response;
                let expected = match args.expect_status.as_slice() {
                    [all] => Some(*all),
                    per_event => per_event.get(index).copied(),
                };
                if let Some(expected) = expected
                    && status != Some(u64::from(expected))
                {
                    line["failure"] = json!(format!("expected status {expected}"));
                    measured.failed += 1;
                }
                false
            }
            Outcome::FunctionError {
                started,
                at,
                error_type,
                body,
            } => {
                line["duration_ms"] = json!(ms(at - started));
                line["status"] = Value::Null;
                line["error"] = json!({"type": error_type, "body": parse_json(&body)});
                measured.failed += 1;
                false
            }
            Outcome::Fatal(why) => {
                line["status"] = Value::Null;
                line["error"] = json!({"type": "Emulator.Fatal", "body": why});
                measured.failed += 1;
                true
            }
        };
        println!("{line}");
        measured.invocations += 1;
        if fatal {
            break;
        }
    }

    // Read the costs before the process goes away.
    let peak_rss_kib = bootstrap::peak_rss_kib(pid);
    let cpu_ms = bootstrap::cpu_ms(pid);
    stop(&mut child).await;
    server.abort();
    let summary = json!({"summary": {
        "function": name,
        "invocations": measured.invocations,
        "failed": measured.failed,
        "init_ms": measured.init_ms,
        "cold_start_ms": measured.cold_start_ms,
        "cold_start_cpu_ms": measured.cold_cpu_ms,
        "cpu_ms": cpu_ms,
        "peak_rss_kib": peak_rss_kib,
        "memory_mb": args.memory,
    }});
    println!("{summary}");
    Ok(measured.failed == 0)
}

#[derive(Default)]
struct Measured {
    invocations: u32,
    failed: u32,
    /// Process start to its first poll for an event (Lambda's "Init Duration").
    init_ms: Option<f64>,
    cold_start_ms: Option<f64>,
    cold_cpu_ms: Option<u64>,
}

/// Waits for the bootstrap to take and answer `request_id`: within `limits.0` to take it and
/// then `limits.1` (the function timeout) to answer.
async fn wait_for(
    reports: &mut mpsc::UnboundedReceiver<Report>,
    child: &mut Child,
    request_id: &str,
    limits: (Duration, Duration),
    measured: &mut Measured,
    spawned_at: Instant,
) -> Outcome {
    let mut deadline = tokio::time::Instant::now() + limits.0;
    let mut started = None;
    loop {
        tokio::select! {
            report = reports.recv() => match report {
                Some(Report::Started { request_id: id, at }) if id == request_id => {
                    measured.init_ms.get_or_insert_with(|| ms(at - spawned_at));
                    started = Some(at);
                    deadline = tokio::time::Instant::from_std(at) + limits.1;
                }
                Some(Report::Response { request_id: id, body, at }) if id == request_id => {
                    return Outcome::Answered { started: started.unwrap_or(at), at, body };
                }
                Some(Report::Error { request_id: id, error_type, body, at }) if id == request_id => {
                    return Outcome::FunctionError { started: started.unwrap_or(at), at, error_type, body };
                }
                Some(Report::InitError { error_type, body }) => {
                    let body = String::from_utf8_lossy(&body).into_owned();
                    return Outcome::Fatal(format!("init error {}: {body}", error_type.unwrap_or_default()));
                }
                // A report about another request id: the bootstrap is confused; keep waiting.
                Some(other) => eprintln!("lambda-emulator: unexpected call from the bootstrap: {other:?}"),
                None => return Outcome::Fatal("the Runtime API stopped".into()),
            },
            status = child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                return Outcome::Fatal(format!("the bootstrap exited ({status}) before answering"));
            }
            _ = tokio::time::sleep_until(deadline) => {
                let phase = if started.is_some() { "answer within the timeout" } else { "ask for the event in time" };
                return Outcome::Fatal(format!("the bootstrap did not {phase}"));
            }
        }
    }
}

/// Ends the bootstrap (ours, by its handle) and reaps it.
async fn stop(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

fn read_event(path: &Path) -> Result<Bytes, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read event {}: {e}", path.display()))?;
    serde_json::from_slice::<Value>(&bytes)
        .map_err(|e| format!("event {} is not JSON: {e}", path.display()))?;
    Ok(Bytes::from(bytes))
}

fn event_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `target/lambda/verify-code/bootstrap` → `verify-code`; `target/debug/verify-code` → itself.
fn default_name(bootstrap: &Path) -> String {
    let file = bootstrap
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if file == "bootstrap"
        && let Some(dir) = bootstrap.parent().and_then(Path::file_name)
    {
        return dir.to_string_lossy().into_owned();
    }
    file
}

fn parse_env(specs: &[String]) -> Result<Vec<(String, String)>, String> {
    specs
        .iter()
        .map(|spec| match spec.split_once('=') {
            Some(("", _)) => Err(format!("--env {spec:?}: the name is empty")),
            Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
            None => std::env::var(spec)
                .map(|v| (spec.clone(), v))
                .map_err(|_| format!("--env {spec}: not set in this shell (use {spec}=VALUE)")),
        })
        .collect()
}

/// The body as JSON, or as a JSON string when it is not JSON.
fn parse_json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Milliseconds with two decimals (the JSON stays readable).
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn env_specs_are_key_value_or_inherited() {
        let parsed = parse_env(&["A=1".into(), "B=x=y".into(), "PATH".into()]).unwrap();
        assert_eq!(parsed[0], ("A".into(), "1".into()));
        assert_eq!(parsed[1], ("B".into(), "x=y".into()));
        assert_eq!(parsed[2].0, "PATH");
        assert!(parse_env(&["=1".into()]).is_err());
        assert!(parse_env(&["SURELY_NOT_SET_ANYWHERE_42".into()]).is_err());
    }

    #[test]
    fn names_come_from_the_bootstrap_path() {
        assert_eq!(
            default_name(Path::new("target/lambda/verify-code/bootstrap")),
            "verify-code"
        );
        assert_eq!(
            default_name(Path::new("target/debug/inbound-sms")),
            "inbound-sms"
        );
    }

    #[test]
    fn invocations_look_like_lambda_ones() {
        let inv = new_invocation(Bytes::from_static(b"{}"), 3);
        assert_eq!(inv.request_id.len(), 36);
        assert_eq!(&inv.request_id[14..15], "4");
        assert!(inv.trace_id.starts_with("Root=1-") && inv.trace_id.ends_with(";Sampled=0"));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert!(inv.deadline_ms > now + 2_000 && inv.deadline_ms <= now + 3_000);
    }
}
