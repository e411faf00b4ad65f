//! The SNS sender: its Publish request on the wire (a local server answering as SNS does),
//! and a real publish through the SDK to moto.

use mobileid::sms::{OutboundSms, SmsError, SmsSender, SnsSender};
use rand::Rng;

use crate::support::{FormServer, Reply, moto_url, sns_attributes, sns_client};

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
