//! The SNS sender: its Publish request on the wire (a local server answering as SNS does),
//! the sender it picks per network, a real publish through the SDK to moto, and a Lambda that
//! starts with SNS among its providers.

#[path = "../../tests/sms_support/mod.rs"]
mod support;

use std::sync::Arc;

use http::StatusCode;
use mobileid::clock::ManualClock;
use mobileid::sms::build::Providers;
use mobileid::sms::{OutboundSms, SmsError, SmsSender};
use mobileid::testkit::TestApp;
use mobileid_aws::sns::{SnsFactory, SnsSender};
use rand::Rng;

use crate::support::{
    FormServer, Reply, ask_code, lambda_services_linking, moto_url, signing_secrets, sns_attributes,
};

/// (number, MCC, sender the dev stage table names for it).
const CASES: [(&str, &str, &str); 2] = [
    ("+14155552671", "310", "+12025550180"),
    ("+33612345678", "208", "Mozilla@"),
];

/// An SNS client for `endpoint` with static test credentials (no environment involved).
fn sns_client(endpoint: &str) -> aws_sdk_sns::Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

fn sms(from: &str, to: &str, text: &str) -> OutboundSms {
    OutboundSms {
        from: from.into(),
        to: to.into(),
        text: text.into(),
    }
}

#[tokio::test]
async fn publish_is_transactional_to_the_number_with_the_sender() {
    let server = FormServer::start(Reply::sns_published()).await;
    let sns = SnsSender::new(sns_client(&server.root()));
    assert_eq!(
        sns.send(&sms(
            "Mozilla@",
            "+33612345678",
            "Your verification code is: 123456"
        ))
        .await,
        Ok(())
    );
    let form = server.only();
    assert_eq!(form.get("Action").map(String::as_str), Some("Publish"));
    assert_eq!(
        form.get("PhoneNumber").map(String::as_str),
        Some("+33612345678")
    );
    assert_eq!(
        form.get("Message").map(String::as_str),
        Some("Your verification code is: 123456")
    );
    let attributes = sns_attributes(&form);
    assert_eq!(
        attributes.get("AWS.SNS.SMS.SMSType").map(String::as_str),
        Some("Transactional")
    );
    assert_eq!(
        attributes.get("AWS.SNS.SMS.SenderID").map(String::as_str),
        Some("Mozilla")
    );
    assert_eq!(attributes.len(), 2, "{attributes:?}");
}

#[tokio::test]
async fn an_sns_error_keeps_its_code_but_not_its_message() {
    let body = "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type>\
        <Code>InvalidParameter</Code><Message>Invalid parameter: PhoneNumber +33612345678</Message></Error>\
        <RequestId>x</RequestId></ErrorResponse>";
    let server = FormServer::start(Reply {
        status: 400,
        content_type: "text/xml",
        ..Reply::status(400, body)
    })
    .await;
    let sent = SnsSender::new(sns_client(&server.root()))
        .send(&sms("Mozilla@", "+33612345678", "x"))
        .await;
    assert_eq!(
        sent,
        Err(SmsError::Rejected("SNS: InvalidParameter".into()))
    );
}

#[tokio::test]
async fn moto_records_the_sms_published_through_the_sdk() {
    let Some(moto) = moto_url() else { return };
    let number = format!("+3361{:08}", rand::thread_rng().gen_range(0..100_000_000));
    let text = format!(
        "Your verification code is: {:06}",
        rand::thread_rng().gen_range(0..1_000_000)
    );
    let sns = SnsSender::new(sns_client(&moto));
    assert_eq!(sns.check().await, Ok(()));
    assert_eq!(sns.send(&sms("+12025550180", &number, &text)).await, Ok(()));

    let data: serde_json::Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto's data is JSON");
    let recorded: Vec<&serde_json::Value> = data["sns"]["SMS"]
        .as_array()
        .unwrap_or_else(|| panic!("no sns.SMS in moto's data: {data}"))
        .iter()
        .filter(|m| m["phone_number"] == number.as_str())
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["message"], text.as_str());
}

#[tokio::test]
async fn sns_gets_an_origination_number_or_a_sender_id() {
    let server = FormServer::start(Reply::sns_published()).await;
    let app = TestApp::builder()
        .sms(Arc::new(SnsSender::new(sns_client(&server.root()))))
        .build()
        .await;
    for (number, mcc, _) in CASES {
        let device = app.register().await;
        assert_eq!(
            ask_code(&app, &device, number, mcc, true, None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    }
    let forms = server.received();
    assert_eq!(forms.len(), 2);
    let us = sns_attributes(&forms[0].iter().cloned().collect());
    assert_eq!(
        us.get("AWS.MM.SMS.OriginationNumber").map(String::as_str),
        Some(CASES[0].2)
    );
    assert!(!us.contains_key("AWS.SNS.SMS.SenderID"));
    let fr = sns_attributes(&forms[1].iter().cloned().collect());
    assert_eq!(
        fr.get("AWS.SNS.SMS.SenderID").map(String::as_str),
        Some("Mozilla")
    );
    assert!(!fr.contains_key("AWS.MM.SMS.OriginationNumber"));
}

#[tokio::test]
async fn a_lambda_that_links_sns_starts_with_the_dev_stages_providers_in_order() {
    // The SNS client reads the AWS environment (region, endpoint): only where moto runs.
    if moto_url().is_none() {
        return;
    }
    let mut signed = signing_secrets("sig-secret", "md5hash");
    signed.nexmo.api_key = "key".into();
    signed.nexmo.api_secret = "secret".into();
    let sdk = mobileid_aws::sdk_config().await;
    let providers = Providers::nexmo().with(Arc::new(SnsFactory(sdk)));
    let clock = ManualClock::starting_now();
    let state = lambda_services_linking(&[], &signed, &clock, providers)
        .await
        .unwrap();
    assert_eq!(state.sms.name(), "nexmo,sns");
    assert_eq!(state.sms.check().await, Ok(()));
}
