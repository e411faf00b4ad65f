//! How long the webhook takes to answer, in-process (router and memory store, no network):
//! the provider retries callbacks that are slow to answer, so this must stay far below its
//! timeout. Printed for the record; the bound asserted is generous for debug builds on a busy
//! machine.

use std::time::{Duration, Instant};

use http::StatusCode;
use mobileid::clock::Clock;
use mobileid::sms::NexmoSigner;
use mobileid::testkit::{Device, TestApp};

use crate::callback::{Encoding, PATH, params, request, signed, verify_text};
use crate::support::{app_with_secrets, signing_secrets};

struct Figures {
    median: Duration,
    p99: Duration,
    max: Duration,
}

fn figures(mut samples: Vec<Duration>) -> Figures {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Figures {
        median: at(0.5),
        p99: at(0.99),
        max: *samples.last().unwrap(),
    }
}

async fn time(app: &TestApp, callbacks: Vec<Vec<(String, String)>>) -> Figures {
    let mut samples = Vec::with_capacity(callbacks.len());
    for callback in callbacks {
        let req = request(Encoding::Form, PATH, &callback);
        let started = Instant::now();
        let res = app.call(req).await;
        samples.push(started.elapsed());
        assert_eq!(res.status, StatusCode::OK);
    }
    figures(samples)
}

#[tokio::test]
async fn the_webhook_answers_in_milliseconds() {
    let app = app_with_secrets(&signing_secrets("timing-secret", "sha256"), None).await;
    let signer = NexmoSigner::new("timing-secret", "sha256").unwrap();
    let now = app.clock.now_secs();

    // Full SMS-MO+MT: verify the signature, de-duplicate, find the session, bind, send.
    const FULL: usize = 200;
    let mut devices: Vec<Device> = Vec::with_capacity(FULL);
    for _ in 0..FULL {
        devices.push(app.register().await);
    }
    let full: Vec<_> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| {
            signed(
                params(
                    &format!("336{i:04}5678"),
                    &verify_text(&d.id),
                    &format!("full-{i}"),
                    now,
                ),
                &signer,
            )
        })
        .collect();
    let sent = time(&app, full).await;
    assert_eq!(app.outbox.all().len(), FULL);

    // Texts that are not for us (no session): verify, de-duplicate, look up, answer.
    const IGNORED: usize = 2000;
    let unknown = Device::from_token(&"cd".repeat(32));
    let ignored: Vec<_> = (0..IGNORED)
        .map(|i| {
            signed(
                params(
                    "33612345678",
                    &verify_text(&unknown.id),
                    &format!("ign-{i}"),
                    now,
                ),
                &signer,
            )
        })
        .collect();
    let skipped = time(&app, ignored).await;

    for (what, n, f) in [
        ("SMS-MO+MT with reply", FULL, &sent),
        ("not for us", IGNORED, &skipped),
    ] {
        println!(
            "webhook, {what}: n={n} median={:.3} ms p99={:.3} ms max={:.3} ms",
            f.median.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3,
            f.max.as_secs_f64() * 1e3
        );
    }
    assert!(sent.p99 < Duration::from_millis(250), "p99 {:?}", sent.p99);
    assert!(
        skipped.p99 < Duration::from_millis(250),
        "p99 {:?}",
        skipped.p99
    );
}
