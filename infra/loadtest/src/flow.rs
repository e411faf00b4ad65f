//! One verification flow, as the original load test ran it, checking every answer.
//!
//! A step that gets an unexpected answer records it and ends the flow (the rest would only
//! pile up follow-on errors); the flow then counts as failed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mobileid::domain::Msisdn;
use reqwest::{StatusCode, Url};
use serde_json::{Value, json};

use crate::client::{Answer, Credentials, HttpClient};
use crate::numbers::Numbers;
use crate::stats::{Endpoint, Recorder};
use crate::webhook;

/// How a flow gets its code, and which code it submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowPlan {
    pub channel: Channel,
    pub right_code: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The server texts the number the client names (`short`: a 6-digit code).
    Mt { short: bool },
    /// The device texts the server; the provider's webhook tells us; a long code comes back.
    Momt,
}

impl FlowPlan {
    /// The original's mix: 50 % MT (half of them short codes) / 50 % MO+MT; 66 % right codes.
    pub fn random(rng: &mut impl rand::Rng) -> Self {
        let channel = if rng.gen_bool(0.5) {
            Channel::Mt {
                short: rng.gen_bool(0.5),
            }
        } else {
            Channel::Momt
        };
        FlowPlan {
            channel,
            right_code: rng.gen_bool(0.66),
        }
    }
}

/// What every flow shares: where to send, what to send, how long to wait for an SMS.
pub struct Scenario {
    pub client: HttpClient,
    pub discover: Url,
    pub register: Url,
    pub mt_verify: Url,
    pub verify_code: Url,
    pub certificate_sign: Url,
    pub unregister: Url,
    /// The first word of the SMS-MO text (`/v1/msisdn/sms/momt/verify` or the original's).
    pub verify_command: &'static str,
    pub webhook: Url,
    pub sms: Url,
    pub mcc: String,
    /// The certificate request's public key (one P-256 JWK for the whole run).
    pub public_key: Value,
    pub signer: Option<webhook::Signer>,
    pub sms_wait: Duration,
    pub numbers: Numbers,
}

/// Runs one flow; `true` when every answer was the expected one.
pub async fn run(s: &Scenario, plan: FlowPlan, rec: &mut Recorder) -> bool {
    let ok = steps(s, plan, rec).await.is_ok();
    match plan.channel {
        Channel::Mt { .. } => rec.mt_flows += 1,
        Channel::Momt => rec.momt_flows += 1,
    }
    if plan.right_code {
        rec.right_code_flows += 1;
    } else {
        rec.wrong_code_flows += 1;
    }
    if ok {
        rec.flows_ok += 1;
    } else {
        rec.flows_failed += 1;
    }
    ok
}

/// `Err(())` once an unexpected answer has been recorded.
async fn steps(s: &Scenario, plan: FlowPlan, rec: &mut Recorder) -> Result<(), ()> {
    let c = &s.client;
    let found = c
        .post_json(
            rec,
            Endpoint::Discover,
            &s.discover,
            &json!({"mcc": s.mcc}),
            None,
        )
        .await?;
    let found = expect(rec, Endpoint::Discover, found, StatusCode::OK)?.json();

    let registered = c
        .post_json(rec, Endpoint::Register, &s.register, &json!({}), None)
        .await?;
    let registered = expect(rec, Endpoint::Register, registered, StatusCode::OK)?;
    let creds = registered.json()["msisdnSessionToken"]
        .as_str()
        .and_then(Credentials::from_token)
        .ok_or_else(|| {
            rec.unexpected(
                Endpoint::Register,
                "200 without a valid msisdnSessionToken".into(),
            )
        })?;

    let msisdn = s.numbers.next();
    let asked_at = unix_now();
    let short = match plan.channel {
        Channel::Mt { short } => {
            let body =
                json!({"msisdn": msisdn.e164(), "mcc": s.mcc, "shortVerificationCode": short});
            let sent = c
                .post_json(rec, Endpoint::MtVerify, &s.mt_verify, &body, Some(&creds))
                .await?;
            expect(rec, Endpoint::MtVerify, sent, StatusCode::NO_CONTENT)?;
            short
        }
        Channel::Momt => {
            let to = found["verificationDetails"]["sms/momt"]["moVerifier"]
                .as_str()
                .ok_or_else(|| {
                    rec.unexpected(Endpoint::Discover, "200 without sms/momt moVerifier".into())
                })?;
            let form = webhook::inbound_form(
                &msisdn,
                to,
                &webhook::verify_text(s.verify_command, &creds.id),
                s.signer.as_ref(),
            );
            let posted = c
                .post_form(rec, Endpoint::Webhook, &s.webhook, form)
                .await?;
            expect(rec, Endpoint::Webhook, posted, StatusCode::OK)?;
            false
        }
    };

    let code = receive_code(s, rec, &msisdn, asked_at).await?;
    let looks_right = if short {
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
    } else {
        code.len() == 32 && code.bytes().all(|b| b.is_ascii_hexdigit())
    };
    if !looks_right {
        let kind = if short { "short" } else { "long" };
        rec.unexpected(
            Endpoint::SmsReceive,
            format!("not a {kind} code in the SMS"),
        );
        return Err(());
    }

    if plan.right_code {
        let answer = c
            .post_json(
                rec,
                Endpoint::VerifyCodeRight,
                &s.verify_code,
                &json!({"code": code}),
                Some(&creds),
            )
            .await?;
        let answer = expect(rec, Endpoint::VerifyCodeRight, answer, StatusCode::OK)?;
        if answer.json()["msisdn"].as_str() != Some(msisdn.e164()) {
            rec.unexpected(Endpoint::VerifyCodeRight, "200 with another msisdn".into());
            return Err(());
        }
        let body = json!({"publicKey": s.public_key, "duration": 10});
        let signed = c
            .post_json(
                rec,
                Endpoint::CertificateSign,
                &s.certificate_sign,
                &body,
                Some(&creds),
            )
            .await?;
        let signed = expect(rec, Endpoint::CertificateSign, signed, StatusCode::OK)?;
        if !signed.json()["cert"].is_string() {
            rec.unexpected(Endpoint::CertificateSign, "200 without a cert".into());
            return Err(());
        }
    } else {
        let answer = c
            .post_json(
                rec,
                Endpoint::VerifyCodeWrong,
                &s.verify_code,
                &json!({"code": wrong(&code)}),
                Some(&creds),
            )
            .await?;
        if !(answer.status == StatusCode::BAD_REQUEST && answer.json()["errno"] == 105) {
            rec.unexpected(Endpoint::VerifyCodeWrong, answer.outcome());
            return Err(());
        }
    }

    let gone = c
        .post_json(
            rec,
            Endpoint::Unregister,
            &s.unregister,
            &json!({}),
            Some(&creds),
        )
        .await?;
    expect(rec, Endpoint::Unregister, gone, StatusCode::NO_CONTENT)?;
    Ok(())
}

fn expect(
    rec: &mut Recorder,
    endpoint: Endpoint,
    answer: Answer,
    status: StatusCode,
) -> Result<Answer, ()> {
    if answer.status == status {
        Ok(answer)
    } else {
        rec.unexpected(endpoint, answer.outcome());
        Err(())
    }
}

/// Polls the fake gateway until the SMS is there: at once (the local server sends before it
/// answers), then with growing pauses, for at most `sms_wait`.
async fn receive_code(
    s: &Scenario,
    rec: &mut Recorder,
    msisdn: &Msisdn,
    asked_at: i64,
) -> Result<String, ()> {
    let deadline = Instant::now() + s.sms_wait;
    let mut pause = Duration::from_millis(20);
    loop {
        let answer = s.client.sms_receive(rec, &s.sms, msisdn.digits()).await?;
        let answer = expect(rec, Endpoint::SmsReceive, answer, StatusCode::OK)?;
        if let Some(code) = newest_code(&answer.json(), asked_at) {
            return Ok(code);
        }
        if Instant::now() + pause > deadline {
            rec.unexpected(
                Endpoint::SmsReceive,
                format!("no SMS within {} ms", s.sms_wait.as_millis()),
            );
            return Err(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// The code (last word) of the newest message sent since we asked. Numbers do not repeat
/// within a run, so an older message can only be a previous run's; the timestamp check (with
/// a little slack for a server clock that differs from ours) keeps it out.
fn newest_code(messages: &Value, asked_at: i64) -> Option<String> {
    let newest = messages.as_array()?.last()?;
    if newest["timestamp"]
        .as_i64()
        .is_some_and(|t| t < asked_at - 5)
    {
        return None;
    }
    newest["text"]
        .as_str()?
        .split_whitespace()
        .last()
        .map(str::to_owned)
}

/// A code of the same shape that is surely wrong: the last character changed.
fn wrong(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn wrong_codes_differ_and_keep_their_shape() {
        assert_eq!(wrong("123456"), "123450");
        assert_eq!(wrong("123450"), "123451");
        let long = "0123456789abcdef0123456789abcdef";
        assert_ne!(wrong(long), long);
        assert_eq!(wrong(long).len(), 32);
    }

    #[test]
    fn the_newest_recent_message_gives_the_code() {
        let messages = json!([
            {"text": "Your verification code is: 111111", "timestamp": 100},
            {"text": "Your verification code is: 222222", "timestamp": 200},
        ]);
        assert_eq!(newest_code(&messages, 200).as_deref(), Some("222222"));
        assert_eq!(
            newest_code(&messages, 300),
            None,
            "stale messages are not ours"
        );
        assert_eq!(newest_code(&json!([]), 0), None);
        let long = json!([{"text": "0123456789abcdef0123456789abcdef", "timestamp": 5}]);
        assert_eq!(
            newest_code(&long, 5).as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn the_random_mix_is_the_originals() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let plans: Vec<FlowPlan> = (0..10_000).map(|_| FlowPlan::random(&mut rng)).collect();
        let share =
            |f: &dyn Fn(&FlowPlan) -> bool| plans.iter().filter(|p| f(p)).count() as f64 / 10_000.0;
        assert!((share(&|p| p.channel == Channel::Momt) - 0.5).abs() < 0.03);
        assert!((share(&|p| p.channel == Channel::Mt { short: true }) - 0.25).abs() < 0.03);
        assert!((share(&|p| p.right_code) - 0.66).abs() < 0.03);
    }
}
