//! The cryptographic primitives, one at a time, with realistic inputs.

use std::sync::LazyLock;

use divan::{Bencher, black_box};
use mobileid::config::ServiceSecrets;
use mobileid::crypto::hawk_auth::{HawkHeader, SignedRequest, client_authorization, payload_hash};
use mobileid::crypto::{
    AuthKey, CertificateSigner, KeyedIds, Sealed, Sealer, SessionKey, derive_credentials,
};
use mobileid::domain::{ClientPublicKey, CodeKind, HawkId, Msisdn, SessionToken, VerificationCode};
use mobileid::random::OsRandomness;
use mobileid::sms::NexmoSigner;
use serde_json::{Value, json};

/// What the server holds for one device, and a request that device signed.
pub struct Fixture {
    pub ids: KeyedIds,
    pub sealer: Sealer,
    pub signer: CertificateSigner,
    pub token: SessionToken,
    pub id: HawkId,
    pub key: AuthKey,
    pub session_key: SessionKey,
    pub sealed_auth_key: Vec<u8>,
    pub sealed_msisdn: Vec<u8>,
    pub msisdn: Msisdn,
    pub code: VerificationCode,
    /// A verify_code body and its Hawk header (with payload hash).
    pub body: Vec<u8>,
    pub header: String,
    pub client_key: Value,
    pub claims: Value,
    pub webhook_params: Vec<(String, String)>,
    pub nexmo: NexmoSigner,
}

/// The request every Hawk check in these benches is about.
pub const REQUEST: SignedRequest<'static> = SignedRequest {
    method: "POST",
    host: "127.0.0.1",
    port: 8080,
    path: "/v1/msisdn/sms/verify_code",
};

pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let secrets = ServiceSecrets::generate(&OsRandomness);
    let ids = secrets.keyed_ids().expect("generated secrets load");
    let sealer = secrets.sealer().expect("generated secrets load");
    let token = SessionToken::from_bytes([7; 32]);
    let (id, key) = derive_credentials(&token);
    let msisdn = Msisdn::parse("+33612345678").expect("a French mobile");
    let body = br#"{"code":"123456"}"#.to_vec();
    let header = client_authorization(
        &id,
        &key,
        &REQUEST,
        1_700_000_000,
        "b3c1e2f4",
        Some(("application/json", &body)),
    );
    let client = CertificateSigner::generate(&OsRandomness).public_jwk();
    let client_key = json!({"kty": "EC", "crv": "P-256", "x": client["x"], "y": client["y"]});
    // The claim set as /certificate/sign issues it for an EC key.
    let claims = json!({
        "iss": "mobileid.example.com",
        "sub": "0123456789abcdef0123456789abcdef",
        "iat": 1_699_999_990_i64,
        "nbf": 1_699_999_990_i64,
        "exp": 1_700_003_600_i64,
        "phone_number": msisdn.e164(),
        "phone_number_verified": true,
        "verifiedMSISDN": msisdn.e164(),
        "lastVerifiedAt": 1_699_999_990_000_i64,
        "lastAuthAt": 1_700_000_000_000_i64,
        "public-key": client_key,
        "principal": {"email": "0123456789abcdef0123456789abcdef@mobileid.example.com"},
        "cnf": {"jwk": client_key},
    });
    let webhook_params = [
        ("msisdn", "33612345678"),
        ("to", "33757000001"),
        ("messageId", "0B00000053FB5C3E"),
        ("text", "/v1/msisdn/sms/momt/verify 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        ("type", "text"),
        ("message-timestamp", "2026-11-28 21:00:00"),
        ("timestamp", "1700000000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Fixture {
        session_key: ids.session_key(&id),
        sealed_auth_key: sealer.seal(&id, Sealed::AuthKey, key.as_bytes(), &OsRandomness),
        sealed_msisdn: sealer.seal(&id, Sealed::Msisdn, msisdn.e164().as_bytes(), &OsRandomness),
        sealer,
        code: VerificationCode::parse("123456").expect("a short code"),
        signer: secrets.signer().expect("generated key loads"),
        nexmo: NexmoSigner::new("0123456789abcdef", "md5hash").expect("a valid signer"),
        ids,
        token,
        id,
        key,
        msisdn,
        body,
        header,
        client_key,
        claims,
        webhook_params,
    }
});

#[divan::bench]
fn hkdf_session_token_to_credentials() -> (HawkId, AuthKey) {
    derive_credentials(black_box(&FIXTURE.token))
}

#[divan::bench]
fn hmac_session_key() -> SessionKey {
    FIXTURE.ids.session_key(black_box(&FIXTURE.id))
}

#[divan::bench]
fn hmac_code_mac() -> String {
    FIXTURE
        .ids
        .code_mac(black_box(&FIXTURE.session_key), black_box(&FIXTURE.code))
}

#[divan::bench]
fn hmac_msisdn_mac() -> String {
    FIXTURE.ids.msisdn_mac(black_box(&FIXTURE.msisdn))
}

#[divan::bench]
fn hawk_payload_hash() -> Vec<u8> {
    payload_hash("application/json", black_box(&FIXTURE.body))
}

/// Parse the header, check its MAC and the payload hash: the request side of every Hawk call.
#[divan::bench]
fn hawk_header_check() {
    let f = &*FIXTURE;
    let hawk = HawkHeader::parse(Some(black_box(&f.header))).expect("a valid header");
    hawk.verify(&f.key, &REQUEST, Some(("application/json", &f.body)), true)
        .expect("it verifies");
}

/// The `Server-Authorization` response MAC.
#[divan::bench]
fn hawk_server_authorization(bencher: Bencher) {
    let f = &*FIXTURE;
    let hawk = HawkHeader::parse(Some(&f.header)).expect("a valid header");
    bencher.bench(|| hawk.server_authorization(&f.key, black_box(&REQUEST)));
}

/// What a client does per request (the load test's cost, not the server's).
#[divan::bench]
fn hawk_client_header() -> String {
    let f = &*FIXTURE;
    client_authorization(
        &f.id,
        &f.key,
        &REQUEST,
        1_700_000_000,
        "b3c1e2f4",
        Some(("application/json", &f.body)),
    )
}

#[divan::bench]
fn seal_msisdn() -> Vec<u8> {
    let f = &*FIXTURE;
    FIXTURE.sealer.seal(
        &f.id,
        Sealed::Msisdn,
        black_box(f.msisdn.e164().as_bytes()),
        &OsRandomness,
    )
}

#[divan::bench]
fn open_auth_key() -> Vec<u8> {
    let f = &*FIXTURE;
    f.sealer
        .open(&f.id, Sealed::AuthKey, black_box(&f.sealed_auth_key))
        .expect("it opens")
}

#[divan::bench]
fn es256_sign_certificate() -> String {
    FIXTURE.signer.sign(black_box(&FIXTURE.claims))
}

/// For comparison only: the same key signing the same bytes with `ring`'s assembly P-256
/// (certificates are signed with `p256`, the design card's crate).
#[divan::bench]
fn es256_sign_ring_for_comparison(bencher: Bencher) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let jwk = FIXTURE.signer.public_jwk();
    let coordinate = |c: &str| URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
    let public = [vec![4], coordinate("x"), coordinate("y")].concat();
    let private = URL_SAFE_NO_PAD
        .decode(FIXTURE.signer.private_b64())
        .unwrap();
    let rng = ring::rand::SystemRandom::new();
    let pair = EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &private,
        &public,
        &rng,
    )
    .expect("the same key pair");
    let input = FIXTURE.claims.to_string();
    bencher.bench(|| pair.sign(&rng, black_box(input.as_bytes())).unwrap());
}

/// The client's public key: JSON shape and the point-on-curve check.
#[divan::bench]
fn p256_public_key_check() -> ClientPublicKey {
    ClientPublicKey::from_param(black_box(&FIXTURE.client_key)).expect("a valid key")
}

#[divan::bench(args = [CodeKind::Short, CodeKind::Long])]
fn code_generate(kind: CodeKind) -> VerificationCode {
    VerificationCode::generate(kind, &OsRandomness)
}

#[divan::bench]
fn nexmo_signature_md5hash() -> String {
    FIXTURE.nexmo.sign(black_box(&FIXTURE.webhook_params))
}

/// Not cryptography, but as unavoidable: libphonenumber's validation of a number (a French
/// mobile, and a North American one like the stages' test numbers).
#[divan::bench(args = ["+33612345678", "+12025550142"])]
fn msisdn_parse(number: &str) -> Msisdn {
    Msisdn::parse(black_box(number)).expect("a valid mobile")
}
