//! The Nexmo client against a local server that answers as Nexmo does.

use std::time::{Duration, Instant};

use mobileid::sms::{NexmoSender, OutboundSms, SmsError, SmsSender};

use crate::support::{FormServer, Reply, dead_url};

fn nexmo(url: &str, timeout: Duration) -> NexmoSender {
    NexmoSender::new(url, "key-1", "secret-1", timeout).expect("credentials are set")
}

fn sms(from: &str, text: &str) -> OutboundSms {
    OutboundSms {
        from: from.into(),
        to: "+33612345678".into(),
        text: text.into(),
    }
}

fn fields(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn a_gsm_text_is_posted_as_a_form_with_nothing_more() {
    let server = FormServer::start(Reply::nexmo_ok()).await;
    let sent = nexmo(&server.url, Duration::from_secs(2))
        .send(&sms("Mozilla@", "Your verification code is: 123456"))
        .await;
    assert_eq!(sent, Ok(()));
    assert_eq!(
        server.only(),
        fields(&[
            ("api_key", "key-1"),
            ("api_secret", "secret-1"),
            ("from", "Mozilla@"),
            ("to", "33612345678"),
            ("text", "Your verification code is: 123456"),
        ])
    );
}

#[tokio::test]
async fn a_non_gsm_text_goes_as_unicode_and_a_numeric_sender_loses_its_plus() {
    let server = FormServer::start(Reply::nexmo_ok()).await;
    let text = "Tu código de verificación es: 123456";
    assert_eq!(
        nexmo(&server.url, Duration::from_secs(2))
            .send(&sms("+12025550180", text))
            .await,
        Ok(())
    );
    let form = server.only();
    assert_eq!(form.get("type").map(String::as_str), Some("unicode"));
    assert_eq!(form.get("from").map(String::as_str), Some("12025550180"));
    assert_eq!(form.get("text").map(String::as_str), Some(text));
}

#[tokio::test]
async fn a_refusal_in_the_answer_is_a_failure_with_its_error_text() {
    let server = FormServer::start(Reply::nexmo("4", "Bad Credentials")).await;
    let sent = nexmo(&server.url, Duration::from_secs(2))
        .send(&sms("Mozilla@", "x"))
        .await;
    assert_eq!(
        sent,
        Err(SmsError::Rejected("status 4: Bad Credentials".into()))
    );
}

#[tokio::test]
async fn one_refused_part_of_a_multipart_message_is_a_failure() {
    let body = serde_json::json!({"message-count": "2", "messages": [
        {"status": "0", "message-id": "A"},
        {"status": "1", "error-text": "Throttled"},
    ]});
    let server = FormServer::start(Reply::json(body)).await;
    let sent = nexmo(&server.url, Duration::from_secs(2))
        .send(&sms("Mozilla@", "x"))
        .await;
    assert_eq!(sent, Err(SmsError::Rejected("status 1: Throttled".into())));
}

#[tokio::test]
async fn an_http_error_or_a_body_that_is_not_nexmo_json_is_a_failure() {
    let server = FormServer::start(Reply::status(500, "<html>Internal Server Error</html>")).await;
    let sent = nexmo(&server.url, Duration::from_secs(2))
        .send(&sms("Mozilla@", "x"))
        .await;
    assert_eq!(sent, Err(SmsError::Rejected("HTTP 500".into())));

    let server = FormServer::start(Reply::status(200, "<html>OK</html>")).await;
    let sent = nexmo(&server.url, Duration::from_secs(2))
        .send(&sms("Mozilla@", "x"))
        .await;
    assert_eq!(
        sent,
        Err(SmsError::Rejected("the answer is not Nexmo's JSON".into()))
    );

    let server = FormServer::start(Reply::json(
        serde_json::json!({"message-count": "0", "messages": []}),
    ))
    .await;
    let sent = nexmo(&server.url, Duration::from_secs(2))
        .send(&sms("Mozilla@", "x"))
        .await;
    assert_eq!(
        sent,
        Err(SmsError::Rejected("the answer lists no message".into()))
    );
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_is_a_timeout() {
    let server = FormServer::start(Reply::nexmo_ok().after(Duration::from_secs(10))).await;
    let started = Instant::now();
    let sent = nexmo(&server.url, Duration::from_millis(300))
        .send(&sms("Mozilla@", "x"))
        .await;
    let took = started.elapsed();
    assert_eq!(sent, Err(SmsError::Timeout));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[tokio::test]
async fn a_server_that_is_not_there_is_unreachable() {
    let sent = nexmo(&dead_url().await, Duration::from_secs(2))
        .send(&sms("Mozilla@", "x"))
        .await;
    assert!(
        matches!(&sent, Err(SmsError::Unreachable(why)) if why.contains("onnect")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn the_health_check_sends_no_sms_and_credentials_are_required() {
    // A server that answers every call as a successful SMS: the check asks for a balance, so
    // this answer (not Nexmo's account JSON) fails it, and no SMS form was posted.
    let server = FormServer::start(Reply::nexmo_ok()).await;
    assert!(
        nexmo(&server.url, Duration::from_secs(2))
            .check()
            .await
            .is_err()
    );
    assert!(
        server.received().iter().all(|form| form.is_empty()),
        "no SMS form: {:?}",
        server.received()
    );
    let err = NexmoSender::new(&server.url, "", "secret", Duration::from_secs(1))
        .err()
        .expect("refused");
    assert!(err.contains("nexmo.apiKey"), "{err}");
}

/// A server that answers the account API and counts the calls (method, path, authorization).
async fn account_server(
    status: u16,
    body: &'static str,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>,
) {
    use axum::extract::Request;
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let seen = seen.clone();
        async move {
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let target = req.uri().to_string();
            seen.lock()
                .unwrap()
                .push((req.method().to_string(), target, auth));
            (
                http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/sms/json"), calls)
}

#[tokio::test]
async fn the_heartbeat_check_asks_for_the_account_balance_once_a_minute() {
    let (url, calls) = account_server(200, r#"{"value":10.28,"autoReload":false}"#).await;
    let sender = nexmo(&url, Duration::from_secs(2));
    assert_eq!(sender.check().await, Ok(()));
    assert_eq!(sender.check().await, Ok(()), "from the cache");
    let calls = calls.lock().unwrap().clone();
    // base64("key-1:secret-1")
    assert_eq!(
        calls,
        [(
            "GET".to_owned(),
            "/account/get-balance".to_owned(),
            "Basic a2V5LTE6c2VjcmV0LTE=".to_owned()
        )],
        "one call, credentials in the header, none in the URL"
    );
}

#[tokio::test]
async fn the_heartbeat_check_fails_on_refused_credentials_or_a_dead_provider() {
    let (url, _) = account_server(
        401,
        r#"{"error-code":"401","error-code-label":"authentication failed"}"#,
    )
    .await;
    assert!(matches!(
        nexmo(&url, Duration::from_secs(2)).check().await,
        Err(SmsError::Rejected(_))
    ));
    let dead = nexmo(&dead_url().await, Duration::from_secs(2));
    let started = Instant::now();
    assert!(dead.check().await.is_err());
    assert!(started.elapsed() < Duration::from_secs(3));
}
