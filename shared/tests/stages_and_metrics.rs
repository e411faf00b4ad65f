//! Issue 16 through the HTTP layer: dev's "Others" (the catch-all of the stage table), the
//! EMF lines the functions print for each counted event, and Nexmo's delivery receipts.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use http::{Method, StatusCode};
use mobileid::clock::Clock;
use mobileid::sms::{NexmoSignature, NexmoSigner, OutboundSms, Sent, SmsError, SmsSender};
use mobileid::testkit::{TestApp, TestResponse};
use serde_json::{Value, json};

/// An Italian mobile (+39 3…): Italy is listed by no stage.
const IT: &str = "+393123456789";
const IT_MCC: &str = "222";

fn assert_error(res: &TestResponse, status: u16, errno: u64) {
    assert_eq!(
        (res.status.as_u16(), res.errno()),
        (status, Some(errno)),
        "{}",
        res.json()
    );
}

async fn app_of(stage: &str) -> TestApp {
    TestApp::builder()
        .var("MOBILEID_STAGE", stage)
        // A real stage's NANP senders come from the operator (not the fiction range).
        .var("MOBILEID_SENDER_NANP_MT", "+12025550300")
        .var("MOBILEID_SENDER_NANP_MO", "+12025550301")
        .build()
        .await
}

/// The dev table with small catch-all caps (per country, all together).
fn dev_with_caps(per_country: u64, total: u64) -> String {
    include_str!("../../infra/stages/dev.toml")
        .replace(
            "daily_sms_cap = 200\n",
            &format!("daily_sms_cap = {per_country}\n"),
        )
        .replace(
            "daily_sms_cap_total = 1000\n",
            &format!("daily_sms_cap_total = {total}\n"),
        )
}

// ---- dev's "Others" ------------------------------------------------------------------------

#[tokio::test]
async fn dev_sends_a_code_to_an_italian_mobile_and_production_refuses_it() {
    let dev = app_of("dev").await;
    let device = dev.register().await;
    let res = dev.ask_code(&device, IT, IT_MCC, true).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.json());
    let code = dev.last_code_to(IT).expect("an SMS to the Italian number");
    let verified = dev.submit_code(&device, &code).await;
    assert_eq!(verified.json(), json!({"msisdn": IT}));

    let production = app_of("production").await;
    let device = production.register().await;
    let res = production.ask_code(&device, IT, IT_MCC, true).await;
    assert_error(&res, 400, 107);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("region IT"),
        "{}",
        res.json()
    );
    assert!(production.sms_to(IT).is_empty());
}

#[tokio::test]
async fn discover_answers_for_an_unlisted_country_as_for_a_listed_one() {
    let dev = app_of("dev").await;
    let discover = |mcc: &str, msisdn: Option<&str>| {
        let mut body = json!({"mcc": mcc});
        if let Some(m) = msisdn {
            body["msisdn"] = json!(m);
        }
        body
    };
    let listed = dev
        .send(
            Method::POST,
            "/v1/msisdn/discover",
            Some(&discover("214", Some("+34612345678"))),
        )
        .await;
    let unlisted = dev
        .send(
            Method::POST,
            "/v1/msisdn/discover",
            Some(&discover(IT_MCC, Some(IT))),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(unlisted.status, StatusCode::OK, "{}", unlisted.json());
    assert_eq!(
        unlisted.json()["verificationMethods"],
        json!(["sms/mt", "sms/momt"])
    );
    assert_eq!(
        unlisted.json()["verificationDetails"]["sms/mt"]["mtSender"],
        "Mozilla@"
    );
    // Not a country: test and international networks are still refused.
    for mcc in ["001", "901"] {
        let res = dev
            .send(
                Method::POST,
                "/v1/msisdn/discover",
                Some(&discover(mcc, None)),
            )
            .await;
        assert_error(&res, 400, 107);
    }
    let production = app_of("production").await;
    let res = production
        .send(
            Method::POST,
            "/v1/msisdn/discover",
            Some(&discover(IT_MCC, None)),
        )
        .await;
    assert_error(&res, 400, 107);
}

#[tokio::test]
async fn the_catch_all_still_refuses_numbers_that_cannot_receive_sms() {
    let dev = app_of("dev").await;
    let device = dev.register().await;
    for (number, mcc, rule) in [
        ("+39899123456", IT_MCC, "premium-rate"),
        ("+448451234567", "234", "premium-rate"),
        ("+41848123456", "228", "shared-cost"),
        ("+442079460000", "234", "fixed-line"),
    ] {
        let res = dev.ask_code(&device, number, mcc, true).await;
        assert_error(&res, 400, 107);
        let info = res.json()["info"].as_str().unwrap_or("").to_owned();
        assert!(info.contains(rule), "{number}: {info}");
        assert!(dev.sms_to(number).is_empty());
    }
}

#[tokio::test]
async fn each_unlisted_country_has_its_own_breaker_under_a_cap_for_all() {
    let app = TestApp::builder()
        .stage_toml(&dev_with_caps(2, 3))
        .build()
        .await;
    let ask = |number: &'static str, mcc: &'static str| {
        let app = &app;
        async move {
            let device = app.register().await;
            app.ask_code(&device, number, mcc, true).await
        }
    };
    // Two Italian numbers fill Italy's cap; a third is refused with 116 …
    for n in ["+393123456780", "+393123456781"] {
        assert_eq!(ask(n, IT_MCC).await.status, StatusCode::NO_CONTENT);
    }
    assert_error(&ask("+393123456782", IT_MCC).await, 429, 116);
    // … whichever network the client names: the breaker keys on the number's real country.
    assert_error(&ask("+393123456783", "208").await, 429, 116);
    // Japan has its own count, until the cap of all unlisted countries is reached.
    assert_eq!(
        ask("+819012345678", "440").await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(&ask("+819012345679", "440").await, 429, 116);
    // Listed countries are not behind the catch-all's caps.
    assert_eq!(
        ask("+33623456789", "208").await.status,
        StatusCode::NO_CONTENT
    );
}

// ---- EMF lines ---------------------------------------------------------------------------

/// Checks an EMF line's structure and returns its members.
fn emf(line: &Value, namespace: &str) -> Value {
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    assert!(line["_aws"]["Timestamp"].is_i64(), "{line}");
    assert_eq!(directive["Namespace"], namespace, "{line}");
    let name = directive["Metrics"][0]["Name"].as_str().unwrap();
    assert_eq!(line[name], 1, "{line}");
    for set in directive["Dimensions"].as_array().unwrap() {
        for d in set.as_array().unwrap() {
            assert!(line[d.as_str().unwrap()].is_string(), "{d} in {line}");
        }
    }
    // Never a number in a metric.
    let text = line.to_string();
    assert!(!text.contains("3123456789") && !text.contains("623456789"));
    line.clone()
}

#[tokio::test]
async fn every_counted_event_prints_an_emf_line() {
    let app = app_of("dev").await;
    let ns = "MobileId/dev";
    // SMS sent, code wrong, code verified, certificate signed.
    let device = app.register().await;
    app.ask_code(&device, IT, IT_MCC, true).await;
    let sent = app.metric_lines("SmsSent");
    assert_eq!(sent.len(), 1);
    let sent = emf(&sent[0], ns);
    assert_eq!(
        (&sent["Country"], &sent["Provider"]),
        (&json!("IT"), &json!("outbox"))
    );
    assert_error(&app.submit_code(&device, "000000").await, 400, 105);
    let code = app.last_code_to(IT).unwrap();
    assert_eq!(app.submit_code(&device, &code).await.status, StatusCode::OK);
    let key = r#"{"kty":"EC","crv":"P-256","x":"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY","y":"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}"#;
    let cert = app
        .post_as(
            &device,
            "/v1/certificate/sign",
            &json!({"publicKey": key, "duration": 60}),
        )
        .await;
    assert_eq!(cert.status, StatusCode::OK);
    for name in ["CodesWrong", "CodesVerified"] {
        let lines = app.metric_lines(name);
        assert_eq!(lines.len(), 1, "{name}");
        assert_eq!(emf(&lines[0], ns)["Country"], "IT");
    }
    assert_eq!(app.metric_lines("CertificatesSigned").len(), 1);
    emf(&app.metric_lines("CertificatesSigned")[0], ns);

    // Expired and locked codes.
    let late = app.register().await;
    app.ask_code(&late, "+33623456789", "208", true).await;
    app.clock.advance_secs(601);
    let code = app.last_code_to("+33623456789").unwrap();
    assert_error(&app.submit_code(&late, &code).await, 410, 111);
    assert_eq!(
        emf(&app.metric_lines("CodesExpired")[0], ns)["Country"],
        "FR"
    );
    let locked = app.register().await;
    app.ask_code(&locked, "+34612345678", "214", true).await;
    for _ in 0..3 {
        app.submit_code(&locked, "000000").await;
    }
    assert_error(&app.submit_code(&locked, "000000").await, 410, 111);
    assert_eq!(
        emf(&app.metric_lines("CodesLocked")[0], ns)["Country"],
        "ES"
    );

    // Refusals by errno: one line per error answer, with its errno.
    let before = app.metric_lines("Refusals").len();
    app.send(Method::POST, "/v1/msisdn/discover", Some(&json!({})))
        .await;
    let refusals = app.metric_lines("Refusals");
    assert_eq!(refusals.len(), before + 1);
    assert_eq!(emf(refusals.last().unwrap(), ns)["Errno"], "108");
    let errnos: Vec<&str> = refusals
        .iter()
        .filter_map(|l| l["Errno"].as_str())
        .collect();
    assert!(
        errnos.contains(&"105") && errnos.contains(&"111"),
        "{errnos:?}"
    );
}

// ---- delivery receipts ---------------------------------------------------------------------

const SECRET: &str = "receipt-signature-secret";
const RECEIPT: &str = "/v1/msisdn/sms/nexmo/receipt";

/// Nexmo as the service sees it: takes every SMS and names it with the next id.
#[derive(Default)]
struct FakeNexmo {
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl SmsSender for FakeNexmo {
    fn name(&self) -> &str {
        "nexmo"
    }

    async fn send(&self, sms: &OutboundSms) -> Result<(), SmsError> {
        self.send_tracked(sms, &[]).await.map(|_| ())
    }

    async fn send_tracked(&self, sms: &OutboundSms, _: &[String]) -> Result<Sent, SmsError> {
        let mut sent = self.sent.lock().unwrap();
        sent.push(sms.text.clone());
        Ok(Sent {
            provider: "nexmo".into(),
            message_ids: vec![format!("0A00000000{:06X}", sent.len())],
            failed: vec![],
        })
    }
}

async fn receipt_app() -> (TestApp, NexmoSigner) {
    let signer = NexmoSigner::new(SECRET, "sha256").unwrap();
    let app = TestApp::builder()
        .sms(Arc::new(FakeNexmo::default()))
        .inbound_verifier(Arc::new(NexmoSignature::new(signer.clone(), 300)))
        .build()
        .await;
    (app, signer)
}

/// A receipt as Nexmo sends it, signed (or not) with `signer`.
fn receipt(
    app: &TestApp,
    signer: Option<&NexmoSigner>,
    message_id: &str,
    status: &str,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("msisdn", IT.trim_start_matches('+')),
        ("to", "Mozilla"),
        ("network-code", "22201"),
        ("messageId", message_id),
        ("price", "0.03330000"),
        ("status", status),
        ("scts", "2601011200"),
        ("err-code", if status == "delivered" { "0" } else { "5" }),
        ("message-timestamp", "2026-01-01 12:00:00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    params.push(("timestamp".into(), app.clock.now_secs().to_string()));
    if let Some(signer) = signer {
        let sig = signer.sign(&params);
        params.push(("sig".into(), sig));
    }
    params
}

async fn post_receipt(app: &TestApp, params: &[(String, String)]) -> TestResponse {
    let query = serde_urlencoded::to_string(params).unwrap();
    app.send(Method::GET, &format!("{RECEIPT}?{query}"), None)
        .await
}

fn reasons(app: &TestApp) -> Vec<String> {
    app.metric_lines("WebhookRefusals")
        .iter()
        .map(|l| {
            assert_eq!(l["Webhook"], "delivery-receipt");
            l["Reason"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_signed_receipt_counts_once_as_delivered_for_the_country() {
    let (app, signer) = receipt_app().await;
    let device = app.register().await;
    assert_eq!(
        app.ask_code(&device, IT, IT_MCC, true).await.status,
        StatusCode::NO_CONTENT
    );
    let id = "0A00000000000001";
    // Nexmo's intermediate "accepted" is recorded, not counted; "delivered" is.
    for status in ["accepted", "delivered"] {
        let res = post_receipt(&app, &receipt(&app, Some(&signer), id, status)).await;
        assert_eq!((res.status, res.json()), (StatusCode::OK, json!({})));
    }
    let delivered = app.metric_lines("SmsDelivered");
    assert_eq!(delivered.len(), 1);
    let line = emf(&delivered[0], "MobileId/dev");
    assert_eq!(
        (&line["Country"], &line["Provider"]),
        (&json!("IT"), &json!("nexmo"))
    );
    // Replayed (or retried by Nexmo): 200, nothing counted twice.
    let replay = receipt(&app, Some(&signer), id, "delivered");
    assert_eq!(post_receipt(&app, &replay).await.status, StatusCode::OK);
    assert_eq!(app.metric_lines("SmsDelivered").len(), 1);
    assert_eq!(reasons(&app), ["duplicate"]);
    // The record holds the country and the receipts, not the number.
    let stored = app
        .state
        .store
        .messages(&format!("dlr#nexmo#{id}"), app.clock.now_secs())
        .await
        .unwrap();
    assert_eq!(stored.len(), 3, "sent + accepted + delivered: {stored:?}");
    assert!(
        stored.iter().all(|l| !l.contains("3123456789")),
        "{stored:?}"
    );
    assert!(stored[0].contains("\"country\":\"IT\""));
}

#[tokio::test]
async fn undelivered_receipts_count_as_undelivered() {
    let (app, signer) = receipt_app().await;
    let device = app.register().await;
    app.ask_code(&device, IT, IT_MCC, true).await;
    let res = post_receipt(
        &app,
        &receipt(&app, Some(&signer), "0A00000000000001", "failed"),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.metric_lines("SmsUndelivered").len(), 1);
    assert!(app.metric_lines("SmsDelivered").is_empty());
}

#[tokio::test]
async fn forged_stale_and_oddly_named_receipts_are_refused_and_record_nothing() {
    let (app, signer) = receipt_app().await;
    let device = app.register().await;
    app.ask_code(&device, IT, IT_MCC, true).await;
    let id = "0A00000000000001";
    // Unsigned, signed with another secret, or with a changed status after signing.
    let other = NexmoSigner::new("not-the-secret", "sha256").unwrap();
    let mut tampered = receipt(&app, Some(&signer), id, "failed");
    for (k, v) in tampered.iter_mut() {
        if k == "status" {
            *v = "delivered".into();
        }
    }
    for params in [
        receipt(&app, None, id, "delivered"),
        receipt(&app, Some(&other), id, "delivered"),
        tampered,
    ] {
        assert_error(&post_receipt(&app, &params).await, 401, 109);
    }
    // A genuine receipt replayed after the timestamp window.
    let old = receipt(&app, Some(&signer), id, "delivered");
    app.clock.advance_secs(301);
    assert_error(&post_receipt(&app, &old).await, 401, 109);
    // A name outside Nexmo's charset ("a=b&c" would make the signed string ambiguous).
    let mut odd = receipt(&app, None, id, "delivered");
    odd.push(("status&x".into(), "1".into()));
    let sig = signer.sign(&odd);
    odd.push(("sig".into(), sig));
    assert_error(&post_receipt(&app, &odd).await, 400, 107);
    assert!(app.metric_lines("SmsDelivered").is_empty());
    assert_eq!(
        reasons(&app),
        [
            "signature",
            "signature",
            "signature",
            "signature",
            "malformed"
        ]
    );
    let stored = app
        .state
        .store
        .messages(&format!("dlr#nexmo#{id}"), app.clock.now_secs())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "only the sent record: {stored:?}");
}

#[tokio::test]
async fn receipts_for_unknown_messages_are_answered_and_not_recorded() {
    let (app, signer) = receipt_app().await;
    let unknown = "0A0000000000BEEF";
    let res = post_receipt(&app, &receipt(&app, Some(&signer), unknown, "delivered")).await;
    assert_eq!((res.status, res.json()), (StatusCode::OK, json!({})));
    assert_eq!(reasons(&app), ["unknown-message"]);
    assert!(app.metric_lines("SmsDelivered").is_empty());
    let stored = app
        .state
        .store
        .messages(&format!("dlr#nexmo#{unknown}"), app.clock.now_secs())
        .await
        .unwrap();
    assert!(stored.is_empty());
    // Ids outside the charset never reach a store key; a ping answers 200.
    let res = post_receipt(&app, &receipt(&app, Some(&signer), "a#b", "delivered")).await;
    assert_error(&res, 400, 107);
    assert_eq!(
        app.send(Method::GET, RECEIPT, None).await.status,
        StatusCode::OK
    );
}

// ---- the fake gateway's delivery states -------------------------------------------------------

#[tokio::test]
async fn the_fake_gateway_delivers_at_once_or_fails_on_the_configured_number() {
    let app = TestApp::builder()
        .var("MOBILEID_FAKE_SMS_UNDELIVERABLE", "+33699999999")
        .build()
        .await;
    for number in ["+33623456789", "+33699999999"] {
        let device = app.register().await;
        assert_eq!(
            app.ask_code(&device, number, "208", true).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let all = app.send(Method::GET, "/__sms__/all", None).await.json();
    let states: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["to"].as_str().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [("33623456789", "delivered"), ("33699999999", "failed")]
    );
    assert!(all[0]["id"].as_str().unwrap().starts_with("fake-"));
}

// ---- the release, visible ------------------------------------------------------------------

#[tokio::test]
async fn the_root_and_version_show_the_release_of_the_build() {
    let app = TestApp::new().await;
    let version = app.send(Method::GET, "/__version__", None).await.json();
    let keys: Vec<&str> = version
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["build", "commit", "source", "version"],
        "Dockerflow's form"
    );
    let home = app.send(Method::GET, "/", None).await.json();
    assert_eq!(home["version"], version["version"]);
    assert_eq!(home["commit"], version["commit"]);
    // Built from a git checkout (as CI and every developer build), the commit is the
    // checkout's HEAD at build time: 40 hex digits, not the crate version.
    let commit = version["commit"].as_str().unwrap();
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    assert_ne!(version["version"], "", "{version}");
}
