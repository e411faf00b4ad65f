//! The sender the stage table picks for a network reaches each provider in its own terms:
//! North American networks get the stage's number, others the alphanumeric id.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use mobileid::sms::NexmoSender;
use mobileid::testkit::TestApp;

use crate::support::{FormServer, Reply, ask_code};

/// (number, MCC, sender the dev stage table names for it); the SNS side is in mobileid-aws.
pub const CASES: [(&str, &str, &str); 2] = [
    ("+14155552671", "310", "+12025550180"),
    ("+33612345678", "208", "Mozilla@"),
];

#[tokio::test]
async fn nexmo_gets_the_sender_of_the_network_without_its_plus() {
    let server = FormServer::start(Reply::nexmo_ok()).await;
    let nexmo = NexmoSender::new(&server.url, "k", "s", Duration::from_secs(2)).unwrap();
    let app = TestApp::builder().sms(Arc::new(nexmo)).build().await;
    for (number, mcc, _) in CASES {
        let device = app.register().await;
        assert_eq!(
            ask_code(&app, &device, number, mcc, true, None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    }
    let got: Vec<(String, String)> = server
        .received()
        .iter()
        .map(|form| {
            let field = |name: &str| {
                form.iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap()
            };
            (field("to"), field("from"))
        })
        .collect();
    assert_eq!(
        got,
        [
            ("14155552671".to_owned(), "12025550180".to_owned()),
            ("33612345678".to_owned(), "Mozilla@".to_owned())
        ]
    );
}
