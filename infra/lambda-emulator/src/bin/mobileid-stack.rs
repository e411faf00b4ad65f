//! `mobileid-stack`: the deployed shape on one machine. See `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lambda_emulator::stack::{self, StackConfig};

const ABOUT: &str = "\
Runs template.yaml's four functions as AWS would, on this machine, without Docker: each
function is a pool of its release bootstrap (as `cargo lambda build --release` writes it),
one invocation per instance at a time, instances started on demand (real cold starts) up to a
limit and stopped when idle. The HTTP API serves exactly the template's routes (API Gateway's
404 {\"message\":\"Not Found\"} for the others, 502/503 when a function crashes or times out);
the inbound function has its function URL; the tables are created in DynamoDB Local from the
template's definitions; the stage secret and the fake SMS gateway's token are generated.";

const EXAMPLES: &str = "\
Examples:
  # The bootstraps first (the CI sam stage builds them): cargo lambda build --release
  mobileid-stack --dynamodb http://127.0.0.1:8000 --bootstrap-dir target/lambda \\
      --ready-file /tmp/stack.json
  # then, with the addresses and secrets of /tmp/stack.json:
  curl -s -X POST http://127.0.0.1:PORT/v1/msisdn/register
  curl -s http://CONTROL/stats            # cold starts, instances, p50/p99 per route
  curl -s -X POST 'http://CONTROL/faults/kill?function=verify-code&at=after-work'
  curl -s -X POST 'http://CONTROL/faults/dynamodb?up=false'

The ready file (JSON, mode 600, written once every listener is up) has: api, function_url,
control, sms_token (the fake gateway's /receive bearer), signature_secret and
signature_method (to sign Nexmo callbacks), tables, functions and routes.
Responses carry x-stack-function and x-stack-cold-start (the runner's, not AWS's).
Functions' logs go to --log-dir, one file per instance. Ctrl-C (or SIGTERM) stops every
instance and deletes the stack's tables.";

/// The Mobile-ID stack as deployed: template.yaml's functions as Lambda instance pools.
#[derive(Parser, Debug)]
#[command(name = "mobileid-stack", version, about = ABOUT, after_help = EXAMPLES)]
struct Args {
    /// The SAM template to serve.
    #[arg(long, default_value = "template.yaml", value_name = "FILE")]
    template: PathBuf,

    /// Where `<function>/bootstrap` are (cargo lambda's target/lambda).
    #[arg(long, value_name = "DIR", env = "MOBILEID_STACK_BOOTSTRAPS")]
    bootstrap_dir: PathBuf,

    /// DynamoDB Local's endpoint; the tables are created there.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL_DYNAMODB")]
    dynamodb: String,

    /// The template's Stage parameter (load-stage: SMS go to the store-backed fake gateway).
    #[arg(long, default_value = "load-stage")]
    stage: String,

    /// Another template parameter, NAME=VALUE (PublicUrl and Issuer are set to the API's
    /// address). Repeatable.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,

    /// An extra environment variable for every function, NAME=VALUE. Repeatable.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,

    /// Instances per function at most, when the template reserves no concurrency for it.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    max_instances: u32,

    /// An instance idle this long is stopped (the next request pays a cold start).
    #[arg(long, default_value = "60", value_name = "SECONDS")]
    idle_timeout: u64,

    /// How long a request waits for an instance when all are busy before API Gateway's 429.
    #[arg(long, default_value = "10", value_name = "SECONDS")]
    queue_timeout: u64,

    /// Points the functions' Nexmo and SNS at local stand-ins the control API can take down
    /// or slow (POST /faults/sms), for a stage that sends real SMS (--stage dev); what they
    /// were sent is at GET /sms/sent?to=DIGITS.
    #[arg(long)]
    fake_sms_providers: bool,

    /// The API's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,

    /// The function URL's address.
    #[arg(long, default_value = "127.0.0.1:0")]
    url_listen: SocketAddr,

    /// The control API's address (figures, faults; never exposed to clients).
    #[arg(long, default_value = "127.0.0.1:0")]
    control_listen: SocketAddr,

    /// The functions' logs, one file per instance.
    #[arg(long, default_value = ".tools/logs/stack", value_name = "DIR")]
    log_dir: PathBuf,

    /// The template's LogLevel parameter (RUST_LOG of the functions).
    #[arg(long, default_value = "warn")]
    log_level: String,

    /// Writes the addresses and the generated secrets here once the stack serves.
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,

    #[arg(long, default_value = "us-east-1")]
    region: String,
}

fn pairs(specs: &[String], flag: &str) -> Result<Vec<(String, String)>, String> {
    specs
        .iter()
        .map(|s| {
            s.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("{flag} {s:?}: want NAME=VALUE"))
        })
        .collect()
}

fn write_private(path: &PathBuf, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    // Renamed into place, so a reader never sees half a file.
    std::fs::rename(tmp, path)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mobileid-stack: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut parameters = pairs(&args.parameters, "--parameter")?;
    parameters.push(("LogLevel".into(), args.log_level.clone()));
    let config = StackConfig {
        template: args.template,
        bootstrap_dir: args.bootstrap_dir,
        stage: args.stage,
        parameters,
        dynamodb: args.dynamodb.clone(),
        max_instances: args.max_instances as usize,
        idle_timeout: Duration::from_secs(args.idle_timeout),
        queue_timeout: Duration::from_secs(args.queue_timeout),
        log_dir: args.log_dir,
        extra_env: pairs(&args.env, "--env")?,
        region: args.region.clone(),
        fake_sms_providers: args.fake_sms_providers,
        api_listen: args.listen,
        url_listen: args.url_listen,
        control_listen: args.control_listen,
    };
    let running = stack::start(config).await?;
    let description = running.describe();
    eprintln!(
        "mobileid-stack: {} serving: API {}, function URL {}, control {}",
        running.stack_name, description["api"], description["function_url"], description["control"]
    );
    if let Some(path) = &args.ready_file {
        write_private(path, &format!("{description:#}\n"))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    eprintln!("mobileid-stack: stopping");
    running.shutdown(&args.dynamodb, &args.region).await;
    Ok(())
}
