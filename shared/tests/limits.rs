//! Abuse resistance (issue "Abuse resistance: limits, backoff, replay protection and
//! SMS-pumping defence"): each limit driven past its threshold through the HTTP layer, with the
//! status, errno, Retry-After and retryAfter it answers, and its reset after the window — with
//! the injected clock, never a sleep. (Hawk replay and payload-hash tests are in protocol.rs.)

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use http::{Method, StatusCode};
use mobileid::clock::Clock;
use mobileid::testkit::{Device, TestApp, TestResponse, json_request};
use serde_json::json;

const FR: &str = "+33623456789";

fn assert_limited(res: &TestResponse, errno: u64, retry_after: u64) {
    assert_eq!(
        res.status,
        StatusCode::TOO_MANY_REQUESTS,
        "body {}",
        res.json()
    );
    assert_eq!(res.errno(), Some(errno), "body {}", res.json());
    assert_eq!(
        res.header("retry-after"),
        Some(retry_after.to_string().as_str()),
        "Retry-After"
    );
    assert_eq!(
        res.json()["retryAfter"],
        retry_after,
        "retryAfter in the body"
    );
}

/// A clock at the start of a fixed window, so the remaining time is the whole window.
async fn app_at_window_start() -> TestApp {
    let app = TestApp::new().await;
    app.clock
        .set_ms(1_800_000_000_000 - 1_800_000_000_000 % 86_400_000);
    app
}

async fn app_with_limits(limits: &str) -> TestApp {
    let stage = include_str!("../../infra/stages/dev.toml").replacen(
        "[[test_numbers]]",
        &format!("[limits]\n{limits}\n\n[[test_numbers]]"),
        1,
    );
    let app = TestApp::builder().stage_toml(&stage).build().await;
    app.clock
        .set_ms(1_800_000_000_000 - 1_800_000_000_000 % 86_400_000);
    app
}

#[tokio::test]
async fn one_code_per_number_per_30_seconds() {
    let app = app_at_window_start().await;
    let (a, b) = (app.register().await, app.register().await);
    assert_eq!(
        app.ask_code(&a, FR, "208", true).await.status,
        StatusCode::NO_CONTENT
    );
    // Another session, same number: the number is what is protected.
    assert_limited(&app.ask_code(&b, FR, "208", true).await, 115, 30);
    app.clock.advance_secs(30);
    assert_eq!(
        app.ask_code(&b, FR, "208", true).await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn five_codes_per_number_per_ten_minutes() {
    let app = app_at_window_start().await;
    for _ in 0..5 {
        let device = app.register().await;
        assert_eq!(
            app.ask_code(&device, FR, "208", false).await.status,
            StatusCode::NO_CONTENT
        );
        app.clock.advance_secs(30);
    }
    let device = app.register().await;
    assert_limited(
        &app.ask_code(&device, FR, "208", false).await,
        115,
        600 - 150,
    );
    app.clock.advance_secs(600 - 150);
    assert_eq!(
        app.ask_code(&device, FR, "208", false).await.status,
        StatusCode::NO_CONTENT
    );
}

fn register_from(ip: [u8; 4]) -> http::Request<axum::body::Body> {
    let mut req = json_request(Method::POST, "/v1/msisdn/register", None, None);
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 4000))));
    req
}

#[tokio::test]
async fn registrations_per_client_address_per_minute_and_hour() {
    let app = app_with_limits("requests_per_ip_per_minute = 3\nrequests_per_ip_per_hour = 5").await;
    for _ in 0..3 {
        assert_eq!(
            app.call(register_from([192, 0, 2, 1])).await.status,
            StatusCode::OK
        );
    }
    assert_limited(&app.call(register_from([192, 0, 2, 1])).await, 117, 60);
    assert_eq!(
        app.call(register_from([192, 0, 2, 2])).await.status,
        StatusCode::OK,
        "another address"
    );
    app.clock.advance_secs(60);
    // Three counted in the hour so far: two more fit, then the hour says no.
    for _ in 0..2 {
        assert_eq!(
            app.call(register_from([192, 0, 2, 1])).await.status,
            StatusCode::OK
        );
    }
    assert_limited(
        &app.call(register_from([192, 0, 2, 1])).await,
        117,
        3600 - 60,
    );
    app.clock.advance_secs(3600 - 60);
    assert_eq!(
        app.call(register_from([192, 0, 2, 1])).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sends_per_client_address() {
    let app = app_with_limits("requests_per_ip_per_minute = 2").await;
    let device = app.register().await;
    let other = app.register().await;
    let ask_as = |device: &Device, number: &str| {
        let mut req = device.request(
            &app.clock,
            Method::POST,
            "/v1/msisdn/sms/mt/verify",
            Some(&json!({"msisdn": number, "mcc": "208"})),
        );
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 7], 1))));
        req
    };
    let ask = |number: &str| ask_as(&device, number);
    assert_eq!(app.call(ask(FR)).await.status, StatusCode::NO_CONTENT);
    app.clock.advance_secs(30);
    assert_eq!(app.call(ask(FR)).await.status, StatusCode::NO_CONTENT);
    // Another session and number (and range): only the address's minute stands in the way.
    assert_limited(&app.call(ask_as(&other, "+33698765432")).await, 117, 30);
}

#[tokio::test]
async fn pumping_across_a_number_range_stops_at_the_configured_rate() {
    // 100 numbers of one range (the number without its last four digits), one session each:
    // the range stops at 20 sends per hour, whatever the individual numbers.
    let app = app_at_window_start().await;
    let mut sent = 0;
    let mut refused = 0;
    for i in 0..100 {
        let device = app.register().await;
        let number = format!("+3361234{i:04}");
        let res = app.ask_code(&device, &number, "208", false).await;
        match res.status {
            StatusCode::NO_CONTENT => sent += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_limited(&res, 115, 3600);
                refused += 1;
            }
            other => panic!("unexpected {other} {}", res.json()),
        }
    }
    assert_eq!((sent, refused), (20, 80));
    let delivered: usize = (0..100)
        .map(|i| app.sms_to(&format!("+3361234{i:04}")).len())
        .sum();
    assert_eq!(delivered, 20, "no SMS for refused requests");
    app.clock.advance_secs(3600);
    let device = app.register().await;
    assert_eq!(
        app.ask_code(&device, "+33612349999", "208", false)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn country_circuit_breaker() {
    let stage = include_str!("../../infra/stages/dev.toml").replacen(
        "name = \"France\"\n",
        "name = \"France\"\ndaily_sms_cap = 2\n",
        1,
    );
    let app = TestApp::builder().stage_toml(&stage).build().await;
    app.clock
        .set_ms(1_800_000_000_000 - 1_800_000_000_000 % 86_400_000);
    for number in ["+33611111111", "+33622222222"] {
        let device = app.register().await;
        assert_eq!(
            app.ask_code(&device, number, "208", true).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let device = app.register().await;
    assert_limited(
        &app.ask_code(&device, "+33633333333", "208", true).await,
        116,
        86_400,
    );
    // Other countries still work.
    assert_eq!(
        app.ask_code(&device, "+34612345678", "214", true)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    app.clock.advance_secs(86_400);
    let next_day = app.register().await;
    assert_eq!(
        app.ask_code(&next_day, "+33633333333", "208", true)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn test_numbers_get_fixed_codes_no_sms_and_no_limits() {
    let app = app_at_window_start().await;
    for _ in 0..5 {
        let device = app.register().await;
        let res = app.ask_code(&device, "+12025550142", "310", true).await;
        assert_eq!(
            res.status,
            StatusCode::NO_CONTENT,
            "no per-number interval for test numbers"
        );
        assert!(app.sms_to("+12025550142").is_empty(), "never sent");
        for _ in 0..3 {
            assert_eq!(app.submit_code(&device, "000000").await.errno(), Some(105));
        }
        app.clock.advance_secs(1);
    }
    let device = app.register().await;
    app.ask_code(&device, "+12025550142", "310", true).await;
    let res = app.submit_code(&device, "123456").await;
    assert_eq!(
        res.json(),
        json!({"msisdn": "+12025550142"}),
        "15 wrong tries did not lock a test number"
    );
}

#[tokio::test]
async fn overload_sheds_with_503_and_retry_after() {
    // Zero is refused in a stage file; set after loading, it sheds everything.
    let app = TestApp::builder()
        .adjust(|s| s.stage.limits.max_in_flight = 0)
        .build()
        .await;
    let res = app.send(Method::GET, "/__lbheartbeat__", None).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.errno(), Some(201));
    assert_eq!(res.header("retry-after"), Some("30"));
    assert_eq!(res.json()["retryAfter"], 30);
}

#[test]
fn production_with_test_numbers_refuses_to_start() {
    let prod = include_str!("../../infra/stages/production.toml").to_owned()
        + "\n[[test_numbers]]\nmsisdn = \"+12025550142\"\ncode = \"123456\"\n";
    let err = mobileid::config::StageTable::parse(&prod).unwrap_err();
    assert!(
        err.to_string()
            .contains("test numbers are not allowed in production"),
        "{err}"
    );
}

#[tokio::test]
async fn starting_a_verification_does_not_reveal_known_numbers() {
    let app = app_at_window_start().await;
    let owner = app.register().await;
    app.ask_code(&owner, FR, "208", true).await;
    let owners_code = app.last_code_to(FR).unwrap();
    assert_eq!(
        app.submit_code(&owner, &owners_code).await.status,
        StatusCode::OK
    );
    app.clock.advance_secs(30);

    let known = app.register().await;
    let fresh = app.register().await;
    let a = app.ask_code(&known, FR, "208", true).await;
    let b = app.ask_code(&fresh, "+33698765432", "208", true).await;
    assert_eq!(
        (a.status, a.body.clone()),
        (b.status, b.body.clone()),
        "same answer for a known number"
    );
    let names = |r: &TestResponse| {
        let mut v: Vec<String> = r.headers.keys().map(|k| k.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&a), names(&b), "same headers");
    // Another session's (used) code means nothing here: a plain wrong code, not "already used".
    let res = app.submit_code(&known, &owners_code).await;
    let mine = app.last_code_to(FR).unwrap();
    if mine != owners_code {
        assert_eq!(res.errno(), Some(105), "{}", res.json());
        assert_eq!(res.json()["message"], "Code error.");
    }
}

// ---- issue 12: limits that stop abusers without stopping owners ------------------------------

/// `request` as if it came from `ip` (the per-address limits and budgets key on it).
fn from_ip(
    mut request: http::Request<axum::body::Body>,
    ip: [u8; 4],
) -> http::Request<axum::body::Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 4000))));
    request
}

async fn ask_from(
    app: &TestApp,
    device: &Device,
    number: &str,
    short: bool,
    ip: [u8; 4],
) -> TestResponse {
    let body = json!({"msisdn": number, "mcc": "208", "shortVerificationCode": short});
    let req = device.request(
        &app.clock,
        Method::POST,
        "/v1/msisdn/sms/mt/verify",
        Some(&body),
    );
    app.call(from_ip(req, ip)).await
}

async fn submit_from(app: &TestApp, device: &Device, code: &str, ip: [u8; 4]) -> TestResponse {
    let body = json!({"code": code});
    let req = device.request(
        &app.clock,
        Method::POST,
        "/v1/msisdn/sms/verify_code",
        Some(&body),
    );
    app.call(from_ip(req, ip)).await
}

fn assert_no_content(res: &TestResponse, what: &str) {
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{what}: {}", res.json());
}

#[tokio::test]
async fn a_refused_send_charges_nothing_so_the_owner_still_gets_a_code() {
    let app = app_at_window_start().await;
    let attacker = app.register().await;
    assert_no_content(
        &app.ask_code(&attacker, FR, "208", true).await,
        "own number",
    );
    // The attacker's session is bound to FR: every ask for the victim's number is refused…
    let victim = "+33698765432";
    for _ in 0..25 {
        let res = app.ask_code(&attacker, victim, "208", true).await;
        assert_eq!(
            (res.status, res.errno()),
            (StatusCode::BAD_REQUEST, Some(107))
        );
    }
    // …and also for 20 other numbers of the victim's range (the range limit is 20 per hour).
    for i in 0..20 {
        let res = app
            .ask_code(&attacker, &format!("+3369876{i:04}"), "208", true)
            .await;
        assert_eq!(res.errno(), Some(107));
    }
    assert!(
        app.sms_to(victim).is_empty(),
        "nothing was sent to the victim"
    );
    // The owner, from a fresh session, at once: neither the number, its range nor the
    // attacker's refused requests stand in the way.
    let owner = app.register().await;
    assert_no_content(
        &app.ask_code(&owner, victim, "208", true).await,
        "the owner's send",
    );
    let code = app.last_code_to(victim).unwrap();
    assert_eq!(app.submit_code(&owner, &code).await.status, StatusCode::OK);
    // The refused asks did not spend the attacker session's send budget either.
    app.clock.advance_secs(30);
    assert_no_content(
        &app.ask_code(&attacker, FR, "208", true).await,
        "second own send",
    );
}

#[tokio::test]
async fn refused_sends_do_not_trip_the_country_breaker() {
    let stage = include_str!("../../infra/stages/dev.toml").replacen(
        "name = \"France\"\n",
        "name = \"France\"\ndaily_sms_cap = 2\n",
        1,
    );
    let app = TestApp::builder().stage_toml(&stage).build().await;
    app.clock
        .set_ms(1_800_000_000_000 - 1_800_000_000_000 % 86_400_000);
    let bound = app.register().await;
    assert_no_content(&app.ask_code(&bound, FR, "208", true).await, "first SMS");
    for i in 0..5 {
        let res = app
            .ask_code(&bound, &format!("+3361111{i:04}"), "208", true)
            .await;
        assert_eq!(res.errno(), Some(107));
    }
    let other = app.register().await;
    assert_no_content(
        &app.ask_code(&other, "+33622222222", "208", true).await,
        "the second SMS of the day still goes",
    );
}

#[tokio::test]
async fn wrong_guesses_from_one_address_do_not_stop_the_owner() {
    let app = app_at_window_start().await;
    let attacker_ip = [198, 51, 100, 66];
    let mut wrong = 0;
    let mut locked = false;
    'guessing: for _ in 0..4 {
        let device = app.register().await;
        assert_no_content(
            &ask_from(&app, &device, FR, true, attacker_ip).await,
            "attacker's send",
        );
        let code = app.last_code_to(FR).unwrap();
        let guess = if code == "999999" { "999998" } else { "999999" };
        for _ in 0..3 {
            let res = submit_from(&app, &device, guess, attacker_ip).await;
            if res.status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(res.errno(), Some(115));
                locked = true;
                break 'guessing;
            }
            assert_eq!(res.errno(), Some(105), "{}", res.json());
            wrong += 1;
        }
        app.clock.advance_secs(30);
    }
    assert!(
        locked,
        "the attacker's address is stopped after {wrong} wrong codes"
    );
    assert!(wrong <= 5, "{wrong} wrong codes from one address");
    // The owner, from their own address, with a fresh code: verifies.
    app.clock.advance_secs(30);
    let owner_ip = [192, 0, 2, 10];
    let owner = app.register().await;
    assert_no_content(
        &ask_from(&app, &owner, FR, true, owner_ip).await,
        "owner's send",
    );
    let code = app.last_code_to(FR).unwrap();
    let res = submit_from(&app, &owner, &code, owner_ip).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the owner verifies: {}",
        res.json()
    );
}

#[tokio::test]
async fn a_guesser_spread_over_many_addresses_is_stopped_by_the_number_budget() {
    let app = app_at_window_start().await;
    let mut wrong = 0;
    let mut stopped = false;
    'guessing: for a in 0..10u8 {
        let ip = [203, 0, 113, a];
        let device = app.register().await;
        assert_no_content(&ask_from(&app, &device, FR, true, ip).await, "send");
        let code = app.last_code_to(FR).unwrap();
        let guess = if code == "999999" { "999998" } else { "999999" };
        for _ in 0..3 {
            let res = submit_from(&app, &device, guess, ip).await;
            if res.status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(res.errno(), Some(115));
                // Backoff, not a day-long lock: the budget comes back within the hour.
                let retry = res.json()["retryAfter"].as_u64().unwrap();
                assert!(retry <= 3600, "retry after {retry}");
                stopped = true;
                break 'guessing;
            }
            assert_eq!(res.errno(), Some(105), "{}", res.json());
            wrong += 1;
        }
        // Spaced so that the per-number send limits (5 per 10 min) do not end the test first.
        app.clock.advance_secs(121);
    }
    assert!(stopped, "stopped after {wrong} wrong codes");
    assert_eq!(wrong, 20, "the per-number budget: 20 wrong codes per hour");
}

#[tokio::test]
async fn a_session_cannot_send_a_sixth_code_of_any_kind() {
    let app = app_at_window_start().await;
    let device = app.register().await;
    for i in 0..5 {
        // Long codes (the default), spaced past every per-number limit.
        assert_no_content(
            &app.ask_code(&device, FR, "208", false).await,
            &format!("send {i}"),
        );
        app.clock.advance_secs(121);
    }
    let res = app.ask_code(&device, FR, "208", false).await;
    assert_eq!(
        (res.status, res.errno()),
        (StatusCode::TOO_MANY_REQUESTS, Some(114)),
        "{}",
        res.json()
    );
    assert_eq!(app.sms_to(FR).len(), 5);
}

#[tokio::test]
async fn two_sends_to_one_number_are_never_under_30_seconds_apart() {
    let app = app_at_window_start().await;
    // Start at every offset of a 30 s window: whatever the edges, the second send waits 30 s.
    for offset in 0..30 {
        // One range per number: the per-range limit stays out of the way.
        let number = format!("+336{offset:02}345678");
        let a = app.register().await;
        assert_no_content(&app.ask_code(&a, &number, "208", false).await, "first");
        let first = app.clock.now_secs();
        let b = app.register().await;
        loop {
            app.clock.advance_secs(1);
            let res = app.ask_code(&b, &number, "208", false).await;
            if res.status == StatusCode::NO_CONTENT {
                break;
            }
            assert_eq!(res.errno(), Some(115));
            let retry = res.json()["retryAfter"].as_i64().unwrap();
            assert_eq!(
                retry,
                first + 30 - app.clock.now_secs(),
                "Retry-After is exact"
            );
        }
        let gap = app.clock.now_secs() - first;
        assert_eq!(gap, 30, "offset {offset}: two codes {gap} s apart");
        app.clock.advance_secs(offset as i64 % 7 + 1);
    }
}

#[tokio::test]
async fn one_number_gets_at_most_ten_codes_a_day() {
    let app = app_at_window_start().await;
    let mut sent = 0;
    for _ in 0..3 {
        let device = app.register().await;
        for _ in 0..5 {
            let res = app.ask_code(&device, FR, "208", false).await;
            match res.status {
                StatusCode::NO_CONTENT => sent += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(res.errno(), Some(115), "{}", res.json());
                }
                other => panic!("{other}: {}", res.json()),
            }
            app.clock.advance_secs(121);
        }
    }
    assert_eq!(sent, 10, "ten a day, whatever the sessions");
    assert_eq!(app.sms_to(FR).len(), 10);
}

#[tokio::test]
async fn one_ipv6_64_is_one_client_and_mapped_ipv4_is_its_ipv4() {
    let app = app_with_limits("requests_per_ip_per_minute = 2").await;
    let register = |ip: &str| {
        let mut req = json_request(Method::POST, "/v1/msisdn/register", None, None);
        let ip: std::net::IpAddr = ip.parse().unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(ip, 4000)));
        req
    };
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2:dead:beef:0:7"] {
        assert_eq!(app.call(register(ip)).await.status, StatusCode::OK, "{ip}");
    }
    // A third address of the same /64 is the same client.
    assert_limited(&app.call(register("2001:db8:1:2:ffff::1")).await, 117, 60);
    assert_eq!(
        app.call(register("2001:db8:1:3::1")).await.status,
        StatusCode::OK,
        "another /64"
    );
    assert_eq!(app.call(register("192.0.2.9")).await.status, StatusCode::OK);
    assert_eq!(app.call(register("192.0.2.9")).await.status, StatusCode::OK);
    assert_limited(&app.call(register("::ffff:192.0.2.9")).await, 117, 60);
}
