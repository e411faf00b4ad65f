//! Slow clients against the local server's real HTTP loop (TCP on loopback): stalled bodies,
//! stalled or idle headers and oversized headers must not take the server from anyone else.

use std::time::{Duration, Instant};

use mobileid::testkit::TestApp;
use mobileid_local::{ServeOptions, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// More than the default `max_in_flight` (1024): without the fix, every other client got 503.
const STALLED: usize = 1_100;

/// Each stalled connection is two descriptors here (client and server side).
fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < needed {
            limit.rlim_cur = needed.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= needed,
        "this test needs {needed} file descriptors; the hard limit is {} (ulimit -Hn)",
        limit.rlim_max
    );
}

async fn start(options: ServeOptions) -> String {
    let app = TestApp::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, app.router, options, std::future::pending()));
    addr
}

/// Sends `request` on a new connection and reads until the server closes it.
async fn exchange(addr: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await; // a reset counts as closed
    String::from_utf8_lossy(&answer).into_owned()
}

const REGISTER: &[u8] = b"POST /v1/msisdn/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_request_gets_200_while_1100_bodies_stall_and_those_get_408_within_30_s() {
    raise_fd_limit(2 * STALLED as u64 + 256);
    let addr = start(ServeOptions::default()).await;
    let started = Instant::now();
    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(b"POST /v1/msisdn/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            .await
            .unwrap();
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // While all of them hold their place, others are served.
    let answer = exchange(&addr, REGISTER).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("msisdnSessionToken"), "{answer}");
    let heartbeat = exchange(
        &addr,
        b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(heartbeat.starts_with("HTTP/1.1 200"), "{heartbeat}");
    let served_after = started.elapsed();
    assert!(served_after < Duration::from_secs(8), "{served_after:?}");

    // Then each stalled body is answered 408 in JSON and its connection closed.
    let mut answers = Vec::with_capacity(STALLED);
    for stream in stalled {
        answers.push(tokio::spawn(async move {
            let mut stream = stream;
            let mut answer = Vec::new();
            let read =
                tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
                    .await;
            (read.is_ok(), String::from_utf8_lossy(&answer).into_owned())
        }));
    }
    let mut timed_out = 0;
    for handle in answers {
        let (closed, answer) = handle.await.unwrap();
        assert!(closed, "a stalled connection was still open after 30 s");
        if answer.starts_with("HTTP/1.1 408") {
            timed_out += 1;
            assert!(answer.contains("\"errno\":119"), "{answer}");
            assert!(
                answer.to_ascii_lowercase().contains("connection: close"),
                "{answer}"
            );
        }
    }
    assert_eq!(timed_out, STALLED, "every stalled body gets the JSON 408");
    let all_done = started.elapsed();
    assert!(all_done < Duration::from_secs(30), "{all_done:?}");
    println!(
        "normal request served after {served_after:?}; {STALLED} stalled bodies answered 408 after {all_done:?}"
    );
}

#[tokio::test]
async fn stalled_and_idle_heads_are_closed_and_big_heads_get_a_json_431() {
    let options = ServeOptions {
        header_timeout: Duration::from_millis(500),
        ..ServeOptions::default()
    };
    let addr = start(options).await;

    for partial in [
        &b"GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\n"[..],
        b"",
    ] {
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(5), exchange(&addr, partial))
            .await
            .expect("the server closes a connection whose head does not come");
        assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(started.elapsed() >= Duration::from_millis(400));
    }

    let big = format!(
        "GET /__lbheartbeat__ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let answer = exchange(&addr, big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(answer.contains("\"errno\":120"), "{answer}");

    // Past hyper's own limits (here: more than 100 headers) its bare 431 (the README says so).
    let many: String = (0..150).map(|i| format!("X-H{i}: a\r\n")).collect();
    let huge = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n");
    let answer = exchange(&addr, huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(!answer.contains("errno"), "{answer}");

    // And a normal request still works.
    assert!(exchange(&addr, REGISTER).await.starts_with("HTTP/1.1 200"));
}
