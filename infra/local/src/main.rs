//! `mobileid-local`: every route of the four functions in one process, with an in-memory store
//! (or DynamoDB, `MOBILEID_STORE=dynamodb`, when built with `--features dynamodb`) and a fake SMS
//! gateway whose messages are readable
//! at `/__sms__/`. No set-up needed: keys
//! and secrets are generated for the run unless `MOBILEID_SECRET_JSON` gives them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use mobileid::clock::{Clock, SystemClock};
use mobileid::config::{Settings, StoreKind};
use mobileid::runtime::{self, Host, Overrides};
use mobileid::store::{MemoryStore, Store};

/// Runs the whole Mobile-ID service locally (all four functions in one process).
///
/// Every setting can also come from the environment: MOBILEID_STAGE, MOBILEID_PUBLIC_URL,
/// MOBILEID_ISSUER, MOBILEID_STORE, MOBILEID_SECRET_JSON, … (see the README).
#[derive(Parser, Debug)]
#[command(name = "mobileid-local", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "MOBILEID_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Records the in-memory store holds at most, per table (sessions, counters, mailboxes);
    /// past that, requests that need a new record get 503/201 until old ones expire.
    #[arg(long, env = "MOBILEID_MEMORY_CAPACITY", default_value_t = mobileid::store::DEFAULT_CAPACITY)]
    memory_capacity: usize,
}

/// How often the in-memory store collects expired records off the request path.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let args = Args::parse();
    runtime::init_tracing(Host::Local);
    if let Err(e) = run(args, started).await {
        eprintln!("mobileid-local: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args, started: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let default_url = format!("http://{}", args.listen);
    let settings = Settings::from_vars(|name| match name {
        "MOBILEID_PUBLIC_URL" => std::env::var(name)
            .ok()
            .or_else(|| Some(default_url.clone())),
        _ => std::env::var(name).ok(),
    })?;
    let secrets = runtime::load_secrets(&settings, Host::Local)?;
    let stage = settings.stage.stage.clone();
    let (store, store_name, extra_routes) = local_store(&settings, args.memory_capacity).await?;
    let overrides = Overrides {
        store,
        ..Overrides::default()
    };
    let state = runtime::build_services(settings, &secrets, Host::Local, overrides).await?;
    let app = mobileid::api::local_router(state).merge(extra_routes);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("mobileid-local listening on {url} (stage {stage}, {store_name})");
    println!(
        "  fake SMS gateway: {url}/__sms__/  (JSON: {url}/__sms__/receive?to=<number without +>)"
    );
    println!(
        "  started in {} ms; Ctrl-C stops it",
        started.elapsed().as_millis()
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// With `MOBILEID_STORE=dynamodb`: the DynamoDB store (tables created if missing, on the
/// endpoint `AWS_ENDPOINT_URL_DYNAMODB` names) and `GET /__store__/stats`, its request
/// counters, which the load test reads to cost each flow. Otherwise the default memory store.
async fn local_store(
    settings: &Settings,
    memory_capacity: usize,
) -> Result<(Option<Arc<dyn Store>>, String, axum::Router), Box<dyn std::error::Error>> {
    if settings.store != StoreKind::DynamoDb {
        let store = Arc::new(MemoryStore::with_capacity(memory_capacity));
        let sweeper = store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                every.tick().await;
                sweeper.sweep(SystemClock.now_secs());
            }
        });
        let name = format!("in-memory store, at most {memory_capacity} records per table");
        return Ok((Some(store), name, axum::Router::new()));
    }
    dynamodb_store(settings).await
}

#[cfg(not(feature = "dynamodb"))]
async fn dynamodb_store(
    _: &Settings,
) -> Result<(Option<Arc<dyn Store>>, String, axum::Router), Box<dyn std::error::Error>> {
    Err(
        "MOBILEID_STORE=dynamodb needs the DynamoDB adapter: build with \
         `cargo run -p mobileid-local --features dynamodb`"
            .into(),
    )
}

#[cfg(feature = "dynamodb")]
async fn dynamodb_store(
    settings: &Settings,
) -> Result<(Option<Arc<dyn Store>>, String, axum::Router), Box<dyn std::error::Error>> {
    let store = Arc::new(mobileid_aws::DynamoStore::from_settings(settings).await);
    let tables = format!("{}, {}", store.sessions_table(), store.counters_table());
    store
        .create_tables_if_missing()
        .await
        .map_err(|e| format!("DynamoDB tables {tables}: {e}"))?;
    let name = format!("DynamoDB store: tables {tables}");
    let stats = {
        let store = store.clone();
        axum::Router::new().route(
            "/__store__/stats",
            axum::routing::get(move || {
                let store = store.clone();
                async move {
                    let mut body = store.request_counts().to_json();
                    body["sessionsTable"] = store.sessions_table().into();
                    body["countersTable"] = store.counters_table().into();
                    axum::Json(body)
                }
            }),
        )
    };
    Ok((Some(store), name, stats))
}
