//! Issuing a code: shared by SMS-MT (`/sms/mt/verify`) and SMS-MO+MT (the inbound webhook).
//! Screen the number, bind it to the session and store the code in one atomic write, then
//! send the SMS — and withdraw the code if the SMS could not be sent.

use super::AppState;
use super::limits::Limiter;
use crate::crypto::{Sealed, SessionKey};
use crate::domain::{CodeKind, HawkId, Mcc, Mnc, Msisdn, VerificationCode};
use crate::error::ApiError;
use crate::sms::{OutboundSms, text};
use crate::store::{BoundMsisdn, IssueOutcome, PendingCode};

pub struct CodeRequest<'a> {
    pub session_key: &'a SessionKey,
    /// The number the session already has, as read with it.
    pub bound: Option<&'a BoundMsisdn>,
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

/// Refuses, before anything is stored or sent, a number or network the stage does not serve.
pub fn screen(state: &AppState, msisdn: &Msisdn, mcc: &Mcc) -> Result<(), ApiError> {
    let stage = &state.settings.stage;
    if stage.country_of_number(msisdn).is_none() {
        return Err(ApiError::invalid(format!(
            "Numbers of region {} are not served by this service (country rule).",
            msisdn.region()
        )));
    }
    if stage.country_of_mcc(mcc).is_none() {
        return Err(ApiError::invalid(format!(
            "Networks of MCC {mcc} are not served by this service (country rule)."
        )));
    }
    Ok(())
}

pub async fn issue_and_send(state: &AppState, req: CodeRequest<'_>) -> Result<(), IssueError> {
    screen(state, req.msisdn, req.mcc)?;
    let stage = &state.settings.stage;
    let test_code = stage.test_code_for(req.msisdn);
    if test_code.is_none() {
        let limiter = Limiter::new(state);
        limiter.sends_to(req.msisdn).await?;
        let country = stage.country_of_number(req.msisdn).expect("screened above");
        limiter.country(country).await?;
    }
    let code = match test_code {
        Some(fixed) => VerificationCode::parse(fixed).expect("stage files are checked at load"),
        None => VerificationCode::generate(req.kind, state.rng.as_ref()),
    };
    let now = state.clock.now_secs();
    let pending = PendingCode {
        mac: state.ids.code_mac(req.session_key, &code),
        expires_at: now + state.limits().code_ttl_secs,
        wrong_tries: 0,
        used: false,
    };
    // The same number bound before a msisdnSecret rotation keeps its MAC (the store compares
    // MACs to keep one number per session); a new binding uses the current version.
    let macs = state.ids.msisdn_macs(req.msisdn);
    let mac = req
        .bound
        .map(|b| &b.mac)
        .filter(|mac| macs.contains(mac))
        .unwrap_or(&macs[0]);
    let bound = BoundMsisdn {
        mac: mac.clone(),
        sealed: state.sealer.seal(
            req.hawk_id,
            Sealed::Msisdn,
            req.msisdn.e164().as_bytes(),
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
        text: match code.kind() {
            CodeKind::Short => text::short_code_text(code.as_str(), req.accept_language),
            CodeKind::Long => code.as_str().to_owned(),
        },
    };
    match state.sms.send(&sms).await {
        Ok(()) => {
            tracing::info!(number = %tag, provider = state.sms.name(), kind = ?code.kind(), "code sent");
            Ok(())
        }
        Err(e) => {
            tracing::error!(number = %tag, error = %e, "SMS could not be sent; code withdrawn");
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
