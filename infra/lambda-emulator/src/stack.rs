//! The stack runner: the template's functions as instance pools, behind the HTTP API routes
//! the template declares and the inbound function's URL, on tables created from the template
//! in DynamoDB Local (through a proxy that can fail), with a generated stage secret.
//!
//! Three listeners: the API (what API Gateway serves), the function URL, and a control API for
//! scenarios (figures, fault injection, reaping instances) that clients of the service never
//! see.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, Response, StatusCode};
use axum::routing::{get, post};
use bytes::Bytes;
use mobileid::config::ServiceSecrets;
use mobileid::random::OsRandomness;
use serde_json::{Value, json};

use crate::event::{self, Door, Failure, HttpRequest};
use crate::faults::Proxy;
use crate::pool::{FunctionSpec, KillPoint, Pool, RouteLatencies};
use crate::sms_fake::{Mode, SmsFake};
use crate::template::{self, Cors, Route, TableDef, Template};

/// API Gateway's limit on a request body (HTTP API: 10 MB); Lambda's own is 6 MB.
const BODY_LIMIT: usize = 10 * 1024 * 1024;

pub struct StackConfig {
    pub template: PathBuf,
    /// Holds `<binary>/bootstrap` for each function (cargo lambda's `target/lambda`).
    pub bootstrap_dir: PathBuf,
    pub stage: String,
    /// More template parameters (Stage, PublicUrl and Issuer are set from the above).
    pub parameters: Vec<(String, String)>,
    /// DynamoDB Local's endpoint (`http://127.0.0.1:PORT`).
    pub dynamodb: String,
    /// Instances per function when the template reserves no concurrency.
    pub max_instances: usize,
    pub idle_timeout: Duration,
    pub queue_timeout: Duration,
    pub log_dir: PathBuf,
    /// Extra variables for every function (after the template's).
    pub extra_env: Vec<(String, String)>,
    pub region: String,
    /// Points every function's Nexmo and SNS at local stand-ins ([`SmsFake`]) a scenario can
    /// take down or slow, with stand-in Nexmo credentials (for a stage that sends real SMS).
    pub fake_sms_providers: bool,
    pub api_listen: SocketAddr,
    pub url_listen: SocketAddr,
    pub control_listen: SocketAddr,
}

/// What a client of the running stack needs: its addresses and the secrets a load test uses.
pub struct Running {
    pub api: SocketAddr,
    pub function_url: SocketAddr,
    pub control: SocketAddr,
    pub stack_name: String,
    pub sms_token: String,
    pub signature_secret: String,
    pub signature_method: String,
    pub tables: Vec<TableDef>,
    state: Arc<StackState>,
}

impl Running {
    /// The ready file's content (secrets included: write it where only its owner reads).
    pub fn describe(&self) -> Value {
        json!({
            "api": format!("http://{}", self.api),
            "function_url": format!("http://{}/", self.function_url),
            "control": format!("http://{}", self.control),
            "stack": self.stack_name,
            "sms_token": self.sms_token,
            "signature_secret": self.signature_secret,
            "signature_method": self.signature_method,
            "tables": self.tables.iter().map(|t| &t.name).collect::<Vec<_>>(),
            "functions": self.state.pools.iter().map(|p| json!({
                "name": p.spec.name, "limit": p.spec.limit,
                "timeout_s": p.spec.timeout.as_secs(),
            })).collect::<Vec<_>>(),
            "routes": self.state.routes.iter().map(|(r, i)| json!({
                "route": r.to_string(), "function": self.state.pools[*i].spec.name,
            })).collect::<Vec<_>>(),
        })
    }

    /// Stops every instance and deletes the stack's tables.
    pub async fn shutdown(self, dynamodb: &str, region: &str) {
        for pool in &self.state.pools {
            pool.reap(Duration::ZERO).await;
        }
        crate::dynamodb::delete_tables(dynamodb, region, &self.tables).await;
    }
}

struct StackState {
    pools: Vec<Arc<Pool>>,
    /// The HTTP API's routes, in the template's order, with their function.
    routes: Vec<(Route, usize)>,
    /// The function behind the function URL.
    url_function: Option<usize>,
    api_id: String,
    url_id: String,
    latencies: RouteLatencies,
    dynamodb: Arc<Proxy>,
    sms: Option<SmsFake>,
    cors: Option<Cors>,
}

impl StackState {
    /// API Gateway's route selection: the exact `METHOD /path` (or `ANY /path`), else
    /// `$default`, else nothing.
    fn route(&self, method: &str, path: &str) -> Option<(&Route, usize)> {
        let exact = self
            .routes
            .iter()
            .find(|(r, _)| r.path == path && (r.method == method || r.method == "ANY"));
        exact
            .or_else(|| self.routes.iter().find(|(r, _)| r.path == "$default"))
            .map(|(r, i)| (r, *i))
    }

    fn pool(&self, name: &str) -> Option<&Arc<Pool>> {
        self.pools.iter().find(|p| p.spec.name == name)
    }
}

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Builds and starts the stack.
pub async fn start(config: StackConfig) -> Result<Running, String> {
    let text = std::fs::read_to_string(&config.template)
        .map_err(|e| format!("cannot read {}: {e}", config.template.display()))?;
    let api_listener = tokio::net::TcpListener::bind(config.api_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.api_listen))?;
    let url_listener = tokio::net::TcpListener::bind(config.url_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.url_listen))?;
    let control_listener = tokio::net::TcpListener::bind(config.control_listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.control_listen))?;
    let api = api_listener.local_addr().map_err(|e| e.to_string())?;
    let function_url = url_listener.local_addr().map_err(|e| e.to_string())?;
    let control = control_listener.local_addr().map_err(|e| e.to_string())?;

    // One name per run: several stacks (or test runs) can share a DynamoDB Local.
    let stack_name = format!("mobileid-stack-{}", random_hex(4));
    let sms_token = random_hex(20);
    let mut parameters: HashMap<String, String> = config.parameters.iter().cloned().collect();
    parameters.insert("Stage".into(), config.stage.clone());
    parameters.insert("PublicUrl".into(), format!("http://{api}"));
    parameters.insert("Issuer".into(), api.ip().to_string());
    let mut stack = template::Stack {
        name: stack_name.clone(),
        region: config.region.clone(),
        account: "000000000000".into(),
        parameters,
        secret_strings: HashMap::new(),
    };
    let token_id = stack.physical_id("FakeSmsToken", "AWS::SecretsManager::Secret");
    stack.secret_strings.insert(token_id, sms_token.clone());
    let template: Template = template::load(&text, &stack)?;

    // The stage secret, as `mobileid secret generate` makes it, with a webhook signature
    // secret a load test can sign Nexmo callbacks with. It reaches the functions inline
    // (MOBILEID_SECRET_JSON), in place of the Secrets Manager read.
    let mut secrets = ServiceSecrets::generate(&OsRandomness);
    let signature_secret = random_hex(16);
    secrets.nexmo.signature_secret = signature_secret.clone();
    secrets.nexmo.signature_method = "sha256".into();
    let sms = if config.fake_sms_providers {
        secrets.nexmo.api_key = "stack-key".into();
        secrets.nexmo.api_secret = "stack-secret".into();
        Some(SmsFake::start().await.map_err(|e| e.to_string())?)
    } else {
        None
    };
    let secret_json = serde_json::to_string(&secrets).map_err(|e| e.to_string())?;

    crate::dynamodb::create_tables(&config.dynamodb, &config.region, &template.tables).await?;
    let upstream = config
        .dynamodb
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse::<SocketAddr>()
        .map_err(|e| format!("--dynamodb {}: want http://IP:PORT ({e})", config.dynamodb))?;
    let proxy = Proxy::start(upstream).await.map_err(|e| e.to_string())?;

    std::fs::create_dir_all(&config.log_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.log_dir.display()))?;
    let mut pools = Vec::new();
    let mut routes = Vec::new();
    let mut url_function = None;
    for (index, function) in template.functions.iter().enumerate() {
        let bootstrap = config
            .bootstrap_dir
            .join(&function.binary)
            .join("bootstrap");
        if !bootstrap.is_file() {
            return Err(format!(
                "{} is missing: build the bootstraps with `cargo lambda build --release` \
                 (infra/test.sh --only sam does)",
                bootstrap.display()
            ));
        }
        let mut env = function.env.clone();
        env.extend([
            ("MOBILEID_SECRET_JSON".into(), secret_json.clone()),
            ("AWS_ACCESS_KEY_ID".into(), "stack".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "stack".into()),
            // Every other AWS service is a closed port: nothing leaves this machine.
            ("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into()),
            (
                "AWS_ENDPOINT_URL_DYNAMODB".into(),
                format!("http://{}", proxy.listen),
            ),
        ]);
        if let Some((_, addr)) = &sms {
            env.push((
                "MOBILEID_NEXMO_URL".into(),
                format!("http://{addr}/sms/json"),
            ));
            env.push(("AWS_ENDPOINT_URL_SNS".into(), format!("http://{addr}/")));
        }
        for (k, v) in &config.extra_env {
            env.retain(|(name, _)| name != k);
            env.push((k.clone(), v.clone()));
        }
        pools.push(Arc::new(Pool::new(FunctionSpec {
            name: function.binary.clone(),
            bootstrap,
            env,
            timeout: Duration::from_secs(function.timeout_secs),
            memory_mb: function.memory_mb,
            limit: function
                .reserved_concurrency
                .unwrap_or(config.max_instances),
            queue_timeout: config.queue_timeout,
            region: config.region.clone(),
            log_dir: config.log_dir.clone(),
        })));
        routes.extend(function.routes.iter().map(|r| (r.clone(), index)));
        if function.function_url {
            url_function = Some(index);
        }
    }
    let state = Arc::new(StackState {
        pools,
        routes,
        url_function,
        api_id: random_hex(5),
        url_id: random_hex(16),
        latencies: RouteLatencies::default(),
        dynamodb: proxy,
        sms: sms.map(|(fake, _)| fake),
        cors: template.cors.clone(),
    });

    let reaper = state.clone();
    let idle_timeout = config.idle_timeout;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            for pool in &reaper.pools {
                pool.reap(idle_timeout).await;
            }
        }
    });
    let serve = |listener: tokio::net::TcpListener, router: Router| {
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
    };
    serve(
        api_listener,
        Router::new()
            .fallback(api_request)
            .with_state(state.clone()),
    );
    serve(
        url_listener,
        Router::new()
            .fallback(url_request)
            .with_state(state.clone()),
    );
    serve(control_listener, control_router(state.clone()));
    Ok(Running {
        api,
        function_url,
        control,
        stack_name,
        sms_token,
        signature_secret,
        signature_method: "sha256".into(),
        tables: template.tables,
        state,
    })
}

async fn api_request(
    State(state): State<Arc<StackState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response<Body> {
    let origin = request
        .headers()
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let (Some(cors), Some(origin)) = (&state.cors, &origin)
        && request.method() == axum::http::Method::OPTIONS
        && request
            .headers()
            .contains_key("access-control-request-method")
    {
        return preflight(cors, origin);
    }
    let path = request.uri().path().to_owned();
    let Some((route, index)) = state
        .route(request.method().as_str(), &path)
        .map(|(r, i)| (r.to_string(), i))
    else {
        return event::gateway_answer(Failure::NoRoute);
    };
    let door = Door::Api {
        api_id: &state.api_id,
        route_key: &route,
    };
    let mut response = invoke(&state, index, &route, &door, peer, request).await;
    if let Some(cors) = &state.cors {
        with_cors(&mut response, cors, origin.as_deref());
    }
    response
}

/// The origin CORS allows for `origin`, as API Gateway writes it (`*` when every origin is).
fn allowed_origin(cors: &Cors, origin: &str) -> Option<String> {
    if cors.allow_origins.iter().any(|o| o == "*") {
        Some("*".into())
    } else {
        cors.allow_origins
            .iter()
            .find(|o| o.eq_ignore_ascii_case(origin))
            .cloned()
    }
}

/// API Gateway's own answer to a CORS preflight: the function is not invoked.
fn preflight(cors: &Cors, origin: &str) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let Some(allowed) = allowed_origin(cors, origin) else {
        return response;
    };
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("access-control-allow-origin", allowed);
    set("access-control-allow-methods", cors.allow_methods.join(","));
    set("access-control-allow-headers", cors.allow_headers.join(","));
    if let Some(age) = cors.max_age {
        set("access-control-max-age", age.to_string());
    }
    response
}

/// With CORS configured, API Gateway sets the CORS headers of every answer itself: the
/// function's own are dropped.
fn with_cors(response: &mut Response<Body>, cors: &Cors, origin: Option<&str>) {
    let headers = response.headers_mut();
    let own: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for name in own {
        headers.remove(name);
    }
    let Some(allowed) = origin.and_then(|o| allowed_origin(cors, o)) else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&allowed) {
        headers.insert("access-control-allow-origin", v);
    }
    if let Ok(v) = HeaderValue::from_str(&cors.expose_headers.join(",")) {
        headers.insert("access-control-expose-headers", v);
    }
}

async fn url_request(
    State(state): State<Arc<StackState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response<Body> {
    let Some(index) = state.url_function else {
        return event::gateway_answer(Failure::NoRoute);
    };
    let door = Door::FunctionUrl {
        url_id: &state.url_id,
    };
    invoke(&state, index, "function-url", &door, peer, request).await
}

async fn invoke(
    state: &StackState,
    index: usize,
    route: &str,
    door: &Door<'_>,
    peer: SocketAddr,
    request: Request,
) -> Response<Body> {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return event::gateway_answer(Failure::TooLarge);
    };
    let request_id = crate::runtime_api::new_invocation(Bytes::new(), 0).request_id;
    let http = HttpRequest {
        method: &parts.method,
        uri: &parts.uri,
        version: parts.version,
        headers: &parts.headers,
        body: &body,
        peer,
    };
    let event = event::build(&http, door, &request_id);
    let pool = state.pools[index].clone();
    // In a task of its own: a client that hangs up does not cancel the invocation (Lambda
    // runs it to its end), nor kill the instance running it.
    let invocation = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.invoke(Bytes::from(event.to_string())).await })
    };
    let answer = invocation.await.unwrap_or(crate::pool::Answer {
        result: Err(Failure::FunctionError),
        cold: false,
        instance: 0,
    });
    let mut response = match answer.result.and_then(|body| event::response_from(&body)) {
        Ok(response) => response,
        Err(failure) => event::gateway_answer(failure),
    };
    state
        .latencies
        .record(route, answer.cold, arrived.elapsed().as_secs_f64() * 1000.0);
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("apigw-requestid", v);
    }
    // Not AWS's: which function and whether a cold start served it, for the runner's tests.
    if let Ok(v) = HeaderValue::from_str(&pool.spec.name) {
        headers.insert("x-stack-function", v);
    }
    headers.insert(
        "x-stack-cold-start",
        HeaderValue::from_static(if answer.cold { "true" } else { "false" }),
    );
    response
}

#[derive(serde::Deserialize)]
struct KillQuery {
    function: String,
    #[serde(default = "after_work")]
    at: String,
    #[serde(default = "one")]
    count: usize,
}

fn after_work() -> String {
    "after-work".into()
}

fn one() -> usize {
    1
}

#[derive(serde::Deserialize)]
struct UpQuery {
    up: bool,
}

fn json_response(status: StatusCode, value: Value) -> Response<Body> {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn control_router(state: Arc<StackState>) -> Router {
    Router::new()
        .route("/stats", get(stats))
        .route("/stats/latencies", axum::routing::delete(clear_latencies))
        .route("/reap", post(reap))
        .route("/faults/kill", post(kill))
        .route("/faults/dynamodb", post(dynamodb))
        .route("/faults/sms", post(sms_fault))
        .route("/sms/sent", get(sms_sent))
        .fallback(|| async {
            json_response(
                StatusCode::NOT_FOUND,
                json!({"error": "control API: GET /stats, DELETE /stats/latencies, POST /reap, \
                        POST /faults/kill?function=F&at=on-start|after-work&count=N, \
                        POST /faults/dynamodb?up=true|false, \
                        POST /faults/sms?provider=nexmo|sns&mode=up|down|slow&delay_ms=N, \
                        GET /sms/sent?to=DIGITS"}),
            )
        })
        .with_state(state)
}

async fn stats(State(state): State<Arc<StackState>>) -> Response<Body> {
    let mut functions = Vec::new();
    for pool in &state.pools {
        functions.push(pool.stats().await);
    }
    json_response(
        StatusCode::OK,
        json!({
            "functions": functions,
            "routes": state.latencies.report(),
            "dynamodb_up": state.dynamodb.is_up(),
        }),
    )
}

async fn clear_latencies(State(state): State<Arc<StackState>>) -> Response<Body> {
    state.latencies.clear();
    json_response(StatusCode::OK, json!({"cleared": true}))
}

async fn reap(State(state): State<Arc<StackState>>) -> Response<Body> {
    let mut reaped = 0;
    for pool in &state.pools {
        reaped += pool.reap(Duration::ZERO).await;
    }
    json_response(StatusCode::OK, json!({ "reaped": reaped }))
}

async fn kill(State(state): State<Arc<StackState>>, Query(q): Query<KillQuery>) -> Response<Body> {
    let point = match q.at.as_str() {
        "on-start" => KillPoint::OnStart,
        "after-work" => KillPoint::AfterWork,
        other => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("at={other}: use on-start or after-work")}),
            );
        }
    };
    let Some(pool) = state.pool(&q.function) else {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no function {}", q.function)}),
        );
    };
    pool.arm_kill(point, q.count);
    json_response(
        StatusCode::OK,
        json!({"armed": q.count, "function": q.function, "at": q.at}),
    )
}

async fn dynamodb(
    State(state): State<Arc<StackState>>,
    Query(q): Query<UpQuery>,
) -> Response<Body> {
    state.dynamodb.set_up(q.up);
    json_response(StatusCode::OK, json!({ "dynamodb_up": q.up }))
}

#[derive(serde::Deserialize)]
struct SmsQuery {
    provider: String,
    mode: String,
    #[serde(default)]
    delay_ms: u64,
}

fn no_fake_sms() -> Response<Body> {
    json_response(
        StatusCode::CONFLICT,
        json!({"error": "the stack runs without --fake-sms-providers"}),
    )
}

async fn sms_fault(
    State(state): State<Arc<StackState>>,
    Query(q): Query<SmsQuery>,
) -> Response<Body> {
    let Some(fake) = &state.sms else {
        return no_fake_sms();
    };
    let mode = match q.mode.as_str() {
        "up" => Mode::Up,
        "down" => Mode::Down,
        "slow" => Mode::Slow(Duration::from_millis(q.delay_ms)),
        other => {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("mode={other}: use up, down or slow")}),
            );
        }
    };
    if !fake.set(&q.provider, mode) {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("provider={}: use nexmo or sns", q.provider)}),
        );
    }
    json_response(
        StatusCode::OK,
        json!({"provider": q.provider, "mode": q.mode}),
    )
}

#[derive(serde::Deserialize)]
struct ToQuery {
    to: String,
}

async fn sms_sent(
    State(state): State<Arc<StackState>>,
    Query(q): Query<ToQuery>,
) -> Response<Body> {
    match &state.sms {
        Some(fake) => json_response(StatusCode::OK, fake.sent_to(q.to.trim_start_matches('+'))),
        None => no_fake_sms(),
    }
}
