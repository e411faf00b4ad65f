//! One function as Lambda runs it: a pool of instances (bootstrap processes), each with its own
//! Runtime API and taking one invocation at a time, started on demand (a cold start) up to the
//! function's concurrency limit, kept warm between invocations, and reaped when idle.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::process::Child;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::bootstrap::{self, Sandbox};
use crate::event::Failure;
use crate::runtime_api::{self, Report, new_invocation};

/// Lambda's limit on a function's init phase.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a function is run.
pub struct FunctionSpec {
    pub name: String,
    pub bootstrap: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Instances at most (the template's reserved concurrency, or the runner's limit).
    pub limit: usize,
    /// How long a request waits for a free instance when all `limit` are busy.
    pub queue_timeout: Duration,
    pub region: String,
    /// Each instance's output goes to `<log_dir>/<name>-<n>.log`.
    pub log_dir: PathBuf,
}

/// When an injected kill strikes an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillPoint {
    /// As soon as the instance takes the event: nothing of the request was done.
    OnStart,
    /// After the instance posted its answer, before it reaches the client: everything was done
    /// and the answer is lost (the worst case for a request that must not be repeated).
    AfterWork,
}

struct Instance {
    number: u64,
    child: Child,
    pid: u32,
    invocations: mpsc::Sender<runtime_api::Invocation>,
    reports: mpsc::UnboundedReceiver<Report>,
    server: JoinHandle<()>,
    idle_since: Instant,
}

impl Drop for Instance {
    fn drop(&mut self) {
        // kill_on_drop ends the process (SIGKILL); the Runtime API goes with it.
        self.server.abort();
    }
}

#[derive(Default, Debug, Clone)]
struct Counters {
    invocations: u64,
    cold_starts: u64,
    function_errors: u64,
    timeouts: u64,
    throttles: u64,
    killed: u64,
    reaped: u64,
    busy: usize,
    peak_busy: usize,
    /// Wall time from the event handed over to the answer; cold ones include the start.
    cold_ms: Vec<f64>,
    warm_ms: Vec<f64>,
    cold_start_cpu_ms: Vec<u64>,
    peak_rss_kib: u64,
}

/// What one invocation gave.
pub struct Answer {
    pub result: Result<Bytes, Failure>,
    pub cold: bool,
    pub instance: u64,
}

pub struct Pool {
    pub spec: FunctionSpec,
    idle: Mutex<Vec<Instance>>,
    slots: Arc<Semaphore>,
    started: AtomicU64,
    counters: std::sync::Mutex<Counters>,
    kills: std::sync::Mutex<Vec<KillPoint>>,
}

impl Pool {
    pub fn new(spec: FunctionSpec) -> Self {
        Pool {
            slots: Arc::new(Semaphore::new(spec.limit)),
            spec,
            idle: Mutex::new(Vec::new()),
            started: AtomicU64::new(0),
            counters: std::sync::Mutex::default(),
            kills: std::sync::Mutex::default(),
        }
    }

    fn count(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Arms a kill of the next `count` invocations at `point` (SIGKILL of their instance).
    pub fn arm_kill(&self, point: KillPoint, count: usize) {
        let mut kills = self.kills.lock().unwrap_or_else(|e| e.into_inner());
        kills.extend(std::iter::repeat_n(point, count));
    }

    /// Starts an instance: a process with its own Runtime API, as a fresh sandbox.
    async fn start(&self) -> std::io::Result<Instance> {
        let number = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api = listener.local_addr()?.to_string();
        let (invocations, queued) = mpsc::channel(1);
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let arn = format!(
            "arn:aws:lambda:{}:000000000000:function:{}",
            self.spec.region, self.spec.name
        );
        let router = runtime_api::router(queued, reports_tx, arn);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let sandbox = Sandbox {
            runtime_api: &api,
            function_name: &self.spec.name,
            memory_mb: self.spec.memory_mb,
            region: &self.spec.region,
            timeout_secs: self.spec.timeout.as_secs(),
        };
        let log = self
            .spec
            .log_dir
            .join(format!("{}-{number}.log", self.spec.name));
        let child = bootstrap::spawn(&self.spec.bootstrap, &sandbox, &self.spec.env, Some(&log))
            .inspect_err(|_| server.abort())?;
        let pid = child.id().unwrap_or(0);
        Ok(Instance {
            number,
            child,
            pid,
            invocations,
            reports,
            server,
            idle_since: Instant::now(),
        })
    }

    /// A warm instance that is still alive, if any.
    async fn warm(&self) -> Option<Instance> {
        let mut idle = self.idle.lock().await;
        while let Some(mut instance) = idle.pop() {
            if matches!(instance.child.try_wait(), Ok(None)) {
                return Some(instance);
            }
        }
        None
    }

    /// Runs one invocation on a warm instance, or on a new one if none is free.
    pub async fn invoke(&self, event: Bytes) -> Answer {
        let Ok(Ok(_slot)) =
            tokio::time::timeout(self.spec.queue_timeout, self.slots.clone().acquire_owned()).await
        else {
            self.count(|c| c.throttles += 1);
            return Answer {
                result: Err(Failure::Throttled),
                cold: false,
                instance: 0,
            };
        };
        self.count(|c| {
            c.invocations += 1;
            c.busy += 1;
            c.peak_busy = c.peak_busy.max(c.busy);
        });
        let (instance, cold) = match self.warm().await {
            Some(instance) => (Ok(instance), false),
            None => (self.start().await, true),
        };
        let begun = Instant::now();
        let answer = match instance {
            Err(e) => {
                eprintln!(
                    "mobileid-stack: {}: cannot start an instance: {e}",
                    self.spec.name
                );
                self.count(|c| c.function_errors += 1);
                Answer {
                    result: Err(Failure::FunctionError),
                    cold,
                    instance: 0,
                }
            }
            Ok(instance) => self.run_on(instance, event, cold, begun).await,
        };
        self.count(|c| c.busy -= 1);
        answer
    }

    async fn run_on(
        &self,
        mut instance: Instance,
        event: Bytes,
        cold: bool,
        begun: Instant,
    ) -> Answer {
        let number = instance.number;
        let kill = {
            let mut kills = self.kills.lock().unwrap_or_else(|e| e.into_inner());
            (!kills.is_empty()).then(|| kills.remove(0))
        };
        let invocation = new_invocation(event, self.spec.timeout.as_secs());
        let request_id = invocation.request_id.clone();
        let fail = |failure| Answer {
            result: Err(failure),
            cold,
            instance: number,
        };
        if instance.invocations.send(invocation).await.is_err() {
            self.count(|c| c.function_errors += 1);
            return fail(Failure::FunctionError);
        }
        // A cold instance has the init phase to take the event, then the function timeout.
        let mut deadline = tokio::time::Instant::now()
            + if cold {
                INIT_TIMEOUT
            } else {
                self.spec.timeout
            };
        let outcome = loop {
            tokio::select! {
                report = instance.reports.recv() => match report {
                    Some(Report::Started { request_id: id, at }) if id == request_id => {
                        if kill == Some(KillPoint::OnStart) {
                            break Err(Failure::FunctionError);
                        }
                        deadline = tokio::time::Instant::from_std(at) + self.spec.timeout;
                    }
                    Some(Report::Response { request_id: id, body, .. }) if id == request_id => {
                        if kill == Some(KillPoint::AfterWork) {
                            break Err(Failure::FunctionError);
                        }
                        break Ok(body);
                    }
                    // An unhandled error: Lambda reports it, API Gateway answers 5xx.
                    Some(Report::Error { request_id: id, .. }) if id == request_id => {
                        break Err(Failure::FunctionError);
                    }
                    Some(Report::InitError { .. }) | None => break Err(Failure::FunctionError),
                    Some(_) => {}
                },
                _ = instance.child.wait() => break Err(Failure::FunctionError),
                _ = tokio::time::sleep_until(deadline) => break Err(Failure::Timeout),
            }
        };
        let elapsed = begun.elapsed().as_secs_f64() * 1000.0;
        let cpu = cold.then(|| bootstrap::cpu_ms(instance.pid)).flatten();
        let rss = bootstrap::peak_rss_kib(instance.pid).unwrap_or(0);
        self.count(|c| {
            if cold {
                c.cold_starts += 1;
                c.cold_ms.push(elapsed);
                c.cold_start_cpu_ms.extend(cpu);
            } else {
                c.warm_ms.push(elapsed);
            }
            c.peak_rss_kib = c.peak_rss_kib.max(rss);
            match &outcome {
                Err(Failure::Timeout) => c.timeouts += 1,
                Err(_) if kill.is_some() => c.killed += 1,
                Err(_) => c.function_errors += 1,
                Ok(_) => {}
            }
        });
        match outcome {
            Ok(body) => {
                instance.idle_since = Instant::now();
                self.idle.lock().await.push(instance);
                Answer {
                    result: Ok(body),
                    cold,
                    instance: number,
                }
            }
            // Lambda does not reuse an instance that crashed or timed out: this one is
            // killed (SIGKILL, by its handle) when dropped here.
            Err(failure) => {
                drop(instance);
                fail(failure)
            }
        }
    }

    /// Stops the instances idle for `idle_for` or more (all idle ones with `Duration::ZERO`).
    pub async fn reap(&self, idle_for: Duration) -> usize {
        let mut idle = self.idle.lock().await;
        let before = idle.len();
        idle.retain(|i| i.idle_since.elapsed() < idle_for);
        let reaped = before - idle.len();
        self.count(|c| c.reaped += reaped as u64);
        reaped
    }

    /// Pids of the idle instances (for a test that kills one from outside).
    pub async fn idle_pids(&self) -> Vec<u32> {
        self.idle.lock().await.iter().map(|i| i.pid).collect()
    }

    /// The function's figures so far, as JSON.
    pub async fn stats(&self) -> Value {
        let warm_now = self.idle.lock().await.len();
        let c = self
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        json!({
            "function": self.spec.name,
            "limit": self.spec.limit,
            "invocations": c.invocations,
            "cold_starts": c.cold_starts,
            "instances_started": self.started.load(Ordering::Relaxed),
            "instances_warm_now": warm_now,
            "peak_concurrency": c.peak_busy,
            "function_errors": c.function_errors,
            "timeouts": c.timeouts,
            "throttles": c.throttles,
            "killed_by_fault": c.killed,
            "reaped": c.reaped,
            "cold_ms": percentiles(&c.cold_ms),
            "warm_ms": percentiles(&c.warm_ms),
            "cold_start_cpu_ms_max": c.cold_start_cpu_ms.iter().max(),
            "peak_rss_kib": c.peak_rss_kib,
        })
    }
}

/// `{count, p50, p99, max}` of `samples` (nearest rank), `null`s when empty.
pub fn percentiles(samples: &[f64]) -> Value {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| -> Value {
        if sorted.is_empty() {
            return Value::Null;
        }
        let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        json!((sorted[i] * 100.0).round() / 100.0)
    };
    json!({"count": sorted.len(), "p50": rank(0.50), "p99": rank(0.99), "max": rank(1.0)})
}

/// Latencies at the front door, per route, split by whether the request met a cold start.
#[derive(Default)]
pub struct RouteLatencies(std::sync::Mutex<HashMap<String, ColdAndWarm>>);

/// Milliseconds of the requests that met a cold start, and of the others.
type ColdAndWarm = (Vec<f64>, Vec<f64>);

impl RouteLatencies {
    pub fn record(&self, route: &str, cold: bool, ms: f64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (cold_ms, warm_ms) = map.entry(route.to_owned()).or_default();
        if cold { cold_ms } else { warm_ms }.push(ms);
    }

    pub fn report(&self) -> Value {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut routes: Vec<_> = map.iter().collect();
        routes.sort_by(|a, b| a.0.cmp(b.0));
        Value::Array(
            routes
                .into_iter()
                .map(|(route, (cold, warm))| {
                    json!({"route": route, "cold": percentiles(cold), "warm": percentiles(warm)})
                })
                .collect(),
        )
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&samples);
        assert_eq!(
            (p["p50"].as_f64(), p["p99"].as_f64()),
            (Some(50.0), Some(99.0))
        );
        assert_eq!(percentiles(&[])["p50"], Value::Null);
        assert_eq!(percentiles(&[7.0])["max"].as_f64(), Some(7.0));
    }
}
