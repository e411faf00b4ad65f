//! Per endpoint, the work no implementation of the protocol can skip: its cryptography and the
//! number validation, composed from the same functions the handlers call, with no routing,
//! no JSON, no store and no allocation beyond what those functions do. `discover` has none.

use divan::black_box;
use mobileid::crypto::hawk_auth::HawkHeader;
use mobileid::crypto::{AuthKey, Sealed, derive_credentials};
use mobileid::domain::{ClientPublicKey, CodeKind, HawkId, Msisdn, SessionToken, VerificationCode};
use mobileid::random::{OsRandomness, random_array};

use crate::crypto::{FIXTURE, REQUEST};

/// Every Hawk-authenticated request: parse the header, key the session, open the stored auth
/// key, check MAC and payload hash, sign the response.
fn authenticate() -> (HawkId, String) {
    let f = &*FIXTURE;
    let hawk = HawkHeader::parse(Some(black_box(&f.header))).expect("a valid header");
    let id = hawk.hawk_id().expect("a hex id");
    black_box(f.ids.session_key(&id));
    let key = f
        .sealer
        .open(&id, Sealed::AuthKey, &f.sealed_auth_key)
        .expect("it opens");
    let key = AuthKey::from_bytes(key.try_into().expect("32 bytes"));
    hawk.verify(&key, &REQUEST, Some(("application/json", &f.body)), true)
        .expect("it verifies");
    (id, hawk.server_authorization(&key, &REQUEST))
}

/// register: a fresh token, its credentials, the sealed auth key and the session's key.
#[divan::bench]
pub fn register() {
    let f = &*FIXTURE;
    let token = SessionToken::from_bytes(random_array(&OsRandomness));
    let (id, key) = derive_credentials(&token);
    black_box(
        f.sealer
            .seal(&id, Sealed::AuthKey, key.as_bytes(), &OsRandomness),
    );
    black_box(f.ids.session_key(&id));
}

/// unregister: authentication only.
#[divan::bench]
pub fn unregister() {
    black_box(authenticate());
}

/// sms/mt/verify: authentication, the number, a code, its MAC, the number's MAC, the sealed number.
#[divan::bench]
pub fn mt_verify() {
    let f = &*FIXTURE;
    let (id, _) = black_box(authenticate());
    code_issue(&id, &f.ids.session_key(&id));
}

/// The inbound webhook: the provider's signature, the session's key, then as mt/verify.
#[divan::bench]
pub fn webhook() {
    let f = &*FIXTURE;
    black_box(f.nexmo.sign(&f.webhook_params));
    let id = f.id.clone();
    code_issue(&id, &f.ids.session_key(&id));
}

fn code_issue(id: &HawkId, session_key: &mobileid::crypto::SessionKey) {
    let f = &*FIXTURE;
    let msisdn = Msisdn::parse(black_box("+33612345678")).expect("a French mobile");
    let code = VerificationCode::generate(CodeKind::Short, &OsRandomness);
    black_box(f.ids.code_mac(session_key, &code));
    black_box(f.ids.msisdn_mac(&msisdn));
    black_box(
        f.sealer
            .seal(id, Sealed::Msisdn, msisdn.e164().as_bytes(), &OsRandomness),
    );
}

/// sms/verify_code: authentication, the submitted code's MAC, the sealed number opened.
#[divan::bench]
pub fn verify_code() {
    let f = &*FIXTURE;
    let (id, _) = black_box(authenticate());
    let code = VerificationCode::parse(black_box("123456")).expect("a short code");
    black_box(f.ids.code_mac(&f.ids.session_key(&id), &code));
    black_box(
        f.sealer
            .open(&id, Sealed::Msisdn, &f.sealed_msisdn)
            .expect("it opens"),
    );
}

/// certificate/sign: authentication, the number opened, the client key checked, the
/// principal's MAC, the ES256 signature.
#[divan::bench]
pub fn certificate_sign() {
    let f = &*FIXTURE;
    let (id, _) = black_box(authenticate());
    black_box(
        f.sealer
            .open(&id, Sealed::Msisdn, &f.sealed_msisdn)
            .expect("it opens"),
    );
    black_box(ClientPublicKey::from_param(&f.client_key).expect("a valid key"));
    black_box(f.ids.principal(&f.msisdn));
    black_box(f.signer.sign(&f.claims));
}
