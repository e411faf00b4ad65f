//! Issuing a code: shared by SMS-MT (`/sms/mt/verify`) and SMS-MO+MT (the inbound webhook).
//! Check everything that can refuse the send, then charge the limits, bind the number to the
//! session and store the code in one atomic write, then send the SMS — and withdraw the code
//! and give the charges back if the SMS could not be sent.
//!
//! The order is what keeps a refused request from costing anyone anything: a request that is
//! refused (a number the stage does not serve, a session bound to another number, an expired
//! session) is refused before any limit is charged, so nobody can spend a victim's budgets
//! with requests that are never going to send.

use std::net::IpAddr;

use super::AppState;
use super::limits::{Charges, Limiter};
use crate::config::Destination;
use crate::crypto::{Sealed, SessionKey};
use crate::domain::{CodeKind, HawkId, Mcc, Mnc, Msisdn, VerificationCode};
use crate::error::ApiError;
use crate::sms::receipts::{self, MessageId, SentRecord};
use crate::sms::{OutboundSms, Sent, text};
use crate::store::{BoundMsisdn, IssueOutcome, PendingCode, SessionRecord};

pub struct CodeRequest<'a> {
    pub session_key: &'a SessionKey,
    /// The session as read for this request (its number and expiry are checked first).
    pub session: &'a SessionRecord,
    /// Where the request comes from (`None` for the provider's webhook).
    pub client_ip: Option<IpAddr>,
    pub hawk_id: &'a HawkId,
    pub msisdn: &'a Msisdn,
    pub kind: CodeKind,
    pub mcc: &'a Mcc,
    pub mnc: Option<&'a Mnc>,
    pub accept_language: Option<&'a str>,
}

#[derive(Debug)]
pub enum IssueError {
    /// The session already verifies another number.
    OtherNumber,
    /// The session is gone (expired or unregistered meanwhile).
    NoSession,
    Api(ApiError),
}

impl From<ApiError> for IssueError {
    fn from(e: ApiError) -> Self {
        IssueError::Api(e)
    }
}

/// Refuses, before anything is stored or sent, a number or network the stage does not serve;
/// else says where the number's SMS go (a listed country or the stage's catch-all).
pub fn screen<'a>(
    state: &'a AppState,
    msisdn: &'a Msisdn,
    mcc: &Mcc,
) -> Result<Destination<'a>, ApiError> {
    let stage = &state.settings.stage;
    let Some(destination) = stage.destination(msisdn) else {
        return Err(ApiError::invalid(format!(
            "Numbers of region {} are not served by this service (country rule).",
            msisdn.region()
        )));
    };
    if !stage.serves_mcc(mcc) {
        return Err(ApiError::invalid(format!(
            "Networks of MCC {mcc} are not served by this service (country rule)."
        )));
    }
    Ok(destination)
}

pub async fn issue_and_send(state: &AppState, req: CodeRequest<'_>) -> Result<(), IssueError> {
    let destination = screen(state, req.msisdn, req.mcc)?;
    let now = state.clock.now_secs();
    if req.session.expires_at <= now {
        return Err(IssueError::NoSession);
    }
    // The same number bound before a msisdnSecret rotation keeps its MAC (the store compares
    // MACs to keep one number per session); a new binding uses the current version.
    let macs = state.ids.msisdn_macs(req.msisdn);
    let number_mac = match req.session.msisdn.as_ref() {
        Some(bound) if macs.contains(&bound.mac) => bound.mac.clone(),
        Some(_) => return Err(IssueError::OtherNumber),
        None => macs[0].clone(),
    };
    let stage = &state.settings.stage;
    let test_code = stage.test_code_for(req.msisdn);
    let charges = match test_code {
        Some(_) => Charges::default(),
        None => {
            let limiter = Limiter::new(state);
            match destination {
                Destination::Listed(country) => {
                    limiter
                        .send(req.client_ip, req.session_key, req.msisdn, country)
                        .await?
                }
                Destination::Others { region, others } => {
                    limiter
                        .send_unlisted(req.client_ip, req.session_key, req.msisdn, region, others)
                        .await?
                }
            }
        }
    };
    let providers = destination.providers();
    let result = issue_charged(state, &req, test_code, number_mac, now, providers).await;
    if result.is_err() {
        // Nothing was sent: nothing is owed.
        charges.refund(state).await;
    }
    result
}

/// The charged part: bind, store the code, send.
async fn issue_charged(
    state: &AppState,
    req: &CodeRequest<'_>,
    test_code: Option<&str>,
    number_mac: String,
    now: i64,
    providers: &[String],
) -> Result<(), IssueError> {
    let stage = &state.settings.stage;
    let code = match test_code {
        Some(fixed) => VerificationCode::parse(fixed).expect("stage files are checked at load"),
        None => VerificationCode::generate(req.kind, state.rng.as_ref()),
    };
    let pending = PendingCode {
        mac: state.ids.code_mac(req.session_key, &code),
        expires_at: now + state.limits().code_ttl_secs,
        wrong_tries: 0,
        used: false,
    };
    let bound = BoundMsisdn {
        mac: number_mac,
        sealed: state.sealer.seal(
            req.hawk_id,
            Sealed::Msisdn,
            req.msisdn.to_sealed_form().as_bytes(),
            state.rng.as_ref(),
        ),
    };
    let outcome = state
        .store
        .issue_code(req.session_key, &bound, &pending, now)
        .await
        .map_err(|e| state.store_error(e))?;
    match outcome {
        IssueOutcome::Issued => {}
        IssueOutcome::OtherNumberBound => return Err(IssueError::OtherNumber),
        IssueOutcome::NoSession => return Err(IssueError::NoSession),
    }
    let tag = state.ids.log_tag(req.msisdn);
    if test_code.is_some() {
        tracing::info!(number = %tag, "test number: code stored, no SMS sent");
        return Ok(());
    }
    let sms = OutboundSms {
        from: stage.mt_sender(req.mcc, req.mnc).to_owned(),
        to: req.msisdn.e164().to_owned(),
        text: text::code_text(&code, req.accept_language, text::Autofill::of_stage(stage)),
    };
    let country = req.msisdn.region();
    match state.sms.send_tracked(&sms, providers).await {
        Ok(sent) => {
            tracing::info!(number = %tag, provider = %sent.provider, kind = ?code.kind(), "code sent");
            for failed in &sent.failed {
                state.metrics.sms_failed(failed, country);
            }
            state.metrics.sms_sent(&sent.provider, country);
            log_for_receipts(state, &sent, country, now).await;
            Ok(())
        }
        Err(e) => {
            tracing::error!(number = %tag, error = %e, "SMS could not be sent; code withdrawn");
            state.metrics.sms_failed(state.sms.name(), country);
            // Best effort: if this fails too, the code is still unknown to anyone.
            let _ = state
                .store
                .withdraw_code(req.session_key, &pending.mac)
                .await;
            Err(IssueError::Api(ApiError::backend(
                state.limits().retry_after_secs,
                "Service Unavailable: the SMS could not be sent; retry later.",
            )))
        }
    }
}

/// Keeps what the delivery receipts will need (provider, country, part), under each id the
/// provider gave. Best effort: the SMS is already on its way, and a lost record only makes its
/// receipt "unknown".
async fn log_for_receipts(state: &AppState, sent: &Sent, country: &str, now: i64) {
    if !receipts::RECEIPT_PROVIDERS.contains(&sent.provider.as_str()) {
        return;
    }
    for (part, id) in sent.message_ids.iter().enumerate() {
        let Some(id) = MessageId::parse(id) else {
            tracing::warn!(provider = %sent.provider, "the provider's message id is not loggable");
            continue;
        };
        let record = SentRecord {
            provider: sent.provider.clone(),
            country: country.to_owned(),
            part,
            sent_at: now,
        };
        if let Err(e) = receipts::record_sent(state.store.as_ref(), &id, record).await {
            tracing::warn!(error = %e, "delivery log: the sent message was not recorded");
        }
    }
}
