//! `mobileid-loadtest`: the original service's load-stage scenario against any Mobile-ID base
//! URL, with throughput, latency per endpoint, unexpected answers and (when the server reports
//! them) store requests per flow. `--help` says how to run it.

mod args;
mod client;
mod compare;
mod flow;
mod numbers;
mod runner;
mod server_cpu;
mod stats;
mod store_stats;
mod webhook;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use mobileid::crypto::CertificateSigner;
use mobileid::random::OsRandomness;
use reqwest::Url;
use serde_json::{Value, json};

use args::{Args, Paths, Plan};

/// `{"algorithm":"DS","y","p","q","g"}` (hex), for `--paths original`.
const DSA_PUBLIC_KEY: &str = include_str!("dsa-public-key.json");
use client::HttpClient;
use flow::{Channel, FlowPlan, Scenario};
use runner::{Bounds, Load};
use stats::Summary;

#[tokio::main]
async fn main() -> ExitCode {
    // `compare` reads two summaries and runs nothing: its own arguments.
    if std::env::args().nth(1).as_deref() == Some("compare") {
        return compare::main(std::env::args().skip(1));
    }
    let args = Args::parse();
    let plan = match args.plan() {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("mobileid-loadtest: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args, &plan).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("mobileid-loadtest: {e}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when every answer was the expected one.
async fn run(args: &Args, plan: &Plan) -> Result<bool, String> {
    let scenario = Arc::new(scenario(args, plan)?);
    let stats_before = scenario.client.get_json(&plan.store_stats).await;

    let mut healthy = true;
    let mut store_phases = Vec::new();
    if let Some(before) = &stats_before
        && args.store_phase_flows > 0
    {
        eprintln!(
            "the server reports store stats: measuring store requests per flow ({} flows of each kind, one at a time)",
            args.store_phase_flows
        );
        let (phases, ok) =
            store_cost_phases(&scenario, plan, args.store_phase_flows, before.clone()).await;
        store_phases = phases;
        healthy &= ok;
    }

    eprintln!(
        "load: {} users against {}{}{}, ramp-up {:.1}s{}",
        args.users,
        plan.base,
        args.duration
            .map_or(String::new(), |d| format!(", for {:.1}s", d.as_secs_f64())),
        plan.max_flows
            .map_or(String::new(), |n| format!(", at most {n} flows")),
        args.ramp_up.as_secs_f64(),
        args.rate
            .map_or(String::new(), |r| format!(", paced at {r} flows/s")),
    );
    let before_load = scenario.client.get_json(&plan.store_stats).await;
    let meter = server_cpu::Meter::for_target(&plan.base);
    let cpu_before = meter.sample();
    let load = Load {
        users: args.users,
        ramp_up: args.ramp_up,
        rate: args.rate,
        quiet: args.quiet,
    };
    let bounds = Bounds::new(plan.time_limit, plan.max_flows);
    let (recorder, elapsed) = runner::run(scenario.clone(), &load, bounds).await;
    let cpu_after = meter.sample();

    let mut summary = Summary::new(
        plan.base.to_string(),
        args.users,
        args.rate,
        elapsed,
        &recorder,
    );
    summary.cpu_per_flow = Some(meter.per_flow(cpu_before, cpu_after, summary.flows.completed));
    if let (Some(before), Some(after)) = (
        before_load,
        scenario.client.get_json(&plan.store_stats).await,
    ) {
        let flows = summary.flows.completed;
        let per = store_stats::per_flow(&before, &after, flows);
        store_phases.push(store_stats::phase(
            "mixed load (the main run)",
            flows,
            summary.flows.failed,
            per,
        ));
    }
    if !store_phases.is_empty() {
        summary.store = Some(Value::Array(store_phases));
    }
    let report = if args.json {
        serde_json::to_string_pretty(&summary).expect("the summary serialises") + "\n"
    } else {
        summary.render()
    };
    // A closed pipe (`| head`) is not worth a panic; the exit code still tells the outcome.
    let _ = std::io::stdout().write_all(report.as_bytes());
    if summary.flows.completed == 0 {
        eprintln!("no flow completed: is the server up?");
        healthy = false;
    }
    Ok(healthy && summary.unexpected_total == 0)
}

fn scenario(args: &Args, plan: &Plan) -> Result<Scenario, String> {
    let client = HttpClient::new(args.users, args.timeout)?.with_sms_token(args.sms_token.clone());
    let signer = args
        .signature_secret
        .clone()
        .map(|secret| webhook::Signer::new(&secret, &args.signature_method))
        .transpose()
        .map_err(|e| format!("--signature-secret/--signature-method: {e}"))?;
    let api = |path: &str| -> Result<Url, String> {
        let path = args.paths.api(path);
        plan.base.join(&path).map_err(|e| format!("{path}: {e}"))
    };
    let public_key = match args.paths {
        // A real client key: the server checks that the point is on P-256.
        Paths::V1 => {
            let jwk = CertificateSigner::generate(&OsRandomness).public_jwk();
            json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]})
        }
        // The original's clients sent a BrowserID DSA key, serialised: a JSON string. A real
        // 2048/256 key (its domain parameters check out), made once with openssl.
        Paths::Original => Value::String(DSA_PUBLIC_KEY.trim().to_owned()),
    };
    Ok(Scenario {
        client,
        discover: api("discover")?,
        register: api("register")?,
        mt_verify: api("sms/mt/verify")?,
        verify_code: api("sms/verify_code")?,
        certificate_sign: api("certificate/sign")?,
        unregister: api("unregister")?,
        verify_command: args.paths.verify_command(),
        webhook: plan.webhook.clone(),
        sms: plan.sms.clone(),
        mcc: args.mcc.clone(),
        public_key,
        signer,
        sms_wait: args.sms_wait,
        numbers: numbers::Numbers::new(rand::random()),
    })
}

/// Runs each flow kind alone, one flow at a time, and diffs the server's store counters
/// around each: the exact store cost of one flow of that kind.
async fn store_cost_phases(
    scenario: &Scenario,
    plan: &Plan,
    flows: u64,
    mut before: Value,
) -> (Vec<Value>, bool) {
    let kinds = [
        (
            "SMS-MT: right code + certificate + unregister",
            FlowPlan {
                channel: Channel::Mt { short: true },
                right_code: true,
            },
        ),
        (
            "SMS-MO+MT: right code + certificate + unregister",
            FlowPlan {
                channel: Channel::Momt,
                right_code: true,
            },
        ),
        (
            "SMS-MT: wrong code + unregister",
            FlowPlan {
                channel: Channel::Mt { short: false },
                right_code: false,
            },
        ),
    ];
    let mut phases = Vec::new();
    let mut healthy = true;
    for (name, kind) in kinds {
        let rec = runner::sequential(scenario, kind, flows).await;
        for line in rec.unexpected_lines() {
            eprintln!("  store phase {name:?}: unexpected {line}");
        }
        healthy &= rec.unexpected_total() == 0;
        let Some(after) = scenario.client.get_json(&plan.store_stats).await else {
            eprintln!("  the store stats stopped answering; per-flow costs skipped");
            break;
        };
        let per = store_stats::per_flow(&before, &after, flows);
        let phase = store_stats::phase(name, flows, rec.flows_failed, per);
        eprint!("{}", store_stats::render(&json!([phase])));
        phases.push(phase);
        before = after;
    }
    (phases, healthy)
}
