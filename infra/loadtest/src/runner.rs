//! Virtual users: started over the ramp-up, each repeating flows until the run's bounds (time,
//! flow count) are reached, optionally paced to a total flow rate; a progress line each second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::flow::{self, FlowPlan, Scenario};
use crate::stats::{Live, Recorder};

/// When to stop starting flows. Flows in progress at the deadline are finished (each request
/// is bounded by the client's timeout), so a run ends shortly after it.
pub struct Bounds {
    deadline: Instant,
    max_flows: Option<u64>,
    started: AtomicU64,
}

impl Bounds {
    pub fn new(time_limit: Duration, max_flows: Option<u64>) -> Self {
        Bounds {
            deadline: Instant::now() + time_limit,
            max_flows,
            started: AtomicU64::new(0),
        }
    }

    /// Claims the right to start one more flow.
    fn try_start(&self) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        let n = self.started.fetch_add(1, Ordering::Relaxed);
        self.max_flows.is_none_or(|max| n < max)
    }
}

/// Spreads flow starts evenly: the k-th flow of the run may start at `start + k / rate`.
/// When every user is busy the slots are taken late, so the achieved rate can be lower.
struct Pacer {
    start: Instant,
    interval: Duration,
    next: AtomicU64,
}

impl Pacer {
    fn slot(&self) -> Instant {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        self.start + self.interval.mul_f64(k as f64)
    }
}

pub struct Load {
    pub users: usize,
    pub ramp_up: Duration,
    pub rate: Option<f64>,
    pub quiet: bool,
}

/// Runs the load; returns every user's measurements merged, and how long it took.
pub async fn run(scenario: Arc<Scenario>, load: &Load, bounds: Bounds) -> (Recorder, Duration) {
    let started = Instant::now();
    let bounds = Arc::new(bounds);
    let live = Arc::new(Live::default());
    let pacer = load.rate.map(|rate| {
        Arc::new(Pacer {
            start: started,
            interval: Duration::from_secs_f64(1.0 / rate),
            next: AtomicU64::new(0),
        })
    });
    let done = Arc::new(AtomicBool::new(false));
    let progress =
        (!load.quiet).then(|| tokio::spawn(progress(live.clone(), done.clone(), load.users)));

    let mut users = Vec::with_capacity(load.users);
    for i in 0..load.users {
        let delay = load.ramp_up.mul_f64(i as f64 / load.users as f64);
        let user = User {
            scenario: scenario.clone(),
            bounds: bounds.clone(),
            pacer: pacer.clone(),
            live: live.clone(),
        };
        users.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            user.run().await
        }));
    }
    let mut total = Recorder::default();
    for user in users {
        match user.await {
            Ok(rec) => total.merge(&rec),
            Err(e) => eprintln!("a virtual user stopped abnormally: {e}"),
        }
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.await;
    }
    (total, elapsed)
}

/// Runs `flows` flows of one fixed plan, one after another (the store-cost phases).
pub async fn sequential(scenario: &Scenario, plan: FlowPlan, flows: u64) -> Recorder {
    let mut rec = Recorder::default();
    for _ in 0..flows {
        flow::run(scenario, plan, &mut rec).await;
    }
    rec
}

struct User {
    scenario: Arc<Scenario>,
    bounds: Arc<Bounds>,
    pacer: Option<Arc<Pacer>>,
    live: Arc<Live>,
}

impl User {
    async fn run(self) -> Recorder {
        let mut rng = StdRng::from_entropy();
        let mut rec = Recorder::default();
        while self.bounds.try_start() {
            if let Some(pacer) = &self.pacer {
                let slot = pacer.slot();
                if slot >= self.bounds.deadline {
                    break;
                }
                tokio::time::sleep_until(slot.into()).await;
            }
            let (requests, unexpected) = (rec.requests(), rec.unexpected_total());
            let ok = flow::run(&self.scenario, FlowPlan::random(&mut rng), &mut rec).await;
            Live::add(&self.live.flows, 1);
            Live::add(&self.live.failed, u64::from(!ok));
            Live::add(&self.live.requests, rec.requests() - requests);
            Live::add(&self.live.unexpected, rec.unexpected_total() - unexpected);
        }
        rec
    }
}

/// One line a second on stderr: totals and the last second's rates.
async fn progress(live: Arc<Live>, done: Arc<AtomicBool>, users: usize) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let (mut last_flows, mut last_requests) = (0, 0);
    loop {
        tick.tick().await;
        if done.load(Ordering::Relaxed) {
            break;
        }
        let flows = Live::get(&live.flows);
        let requests = Live::get(&live.requests);
        eprintln!(
            "[{:>4}s] flows {flows} ({}/s)  requests {requests} ({}/s)  failed flows {}  unexpected {}  users {users}",
            started.elapsed().as_secs(),
            flows - last_flows,
            requests - last_requests,
            Live::get(&live.failed),
            Live::get(&live.unexpected),
        );
        (last_flows, last_requests) = (flows, requests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_stop_at_the_flow_count() {
        let bounds = Bounds::new(Duration::from_secs(60), Some(3));
        assert_eq!((0..5).filter(|_| bounds.try_start()).count(), 3);
        let expired = Bounds::new(Duration::ZERO, None);
        assert!(!expired.try_start());
    }

    #[test]
    fn the_pacer_spaces_slots_by_the_rate() {
        let start = Instant::now();
        let pacer = Pacer {
            start,
            interval: Duration::from_millis(10),
            next: AtomicU64::new(0),
        };
        assert_eq!(pacer.slot(), start);
        assert_eq!(pacer.slot(), start + Duration::from_millis(10));
        assert_eq!(pacer.slot(), start + Duration::from_millis(20));
    }
}
