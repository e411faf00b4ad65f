//! What a Lambda refuses to start with, and what it starts with.

use mobileid::clock::ManualClock;
use mobileid::config::ServiceSecrets;
use mobileid::random::OsRandomness;

use mobileid::sms::build::Providers;

use crate::support::{lambda_services, lambda_services_linking, settings, signing_secrets};

fn with_nexmo(mut secrets: ServiceSecrets) -> ServiceSecrets {
    secrets.nexmo.api_key = "key".into();
    secrets.nexmo.api_secret = "secret".into();
    secrets
}

/// The start-up error for `vars` and `secrets` (fails if the Lambda would start).
async fn refusal(vars: &[(&str, &str)], secrets: &ServiceSecrets) -> String {
    match lambda_services(vars, secrets, &ManualClock::starting_now()).await {
        Ok(_) => panic!("{vars:?} should not start"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_lambda_refuses_to_start_with_an_unsigned_webhook() {
    let unsigned = with_nexmo(ServiceSecrets::generate(&OsRandomness));
    let err = refusal(&[("MOBILEID_SMS_PROVIDERS", "nexmo")], &unsigned).await;
    assert!(err.contains("nexmo.signatureSecret"), "{err}");
    let err = refusal(&[("MOBILEID_STAGE", "load-stage")], &unsigned).await;
    assert!(err.contains("nexmo.signatureSecret"), "{err}");
}

#[tokio::test]
async fn a_lambda_refuses_to_start_with_a_bad_sms_configuration() {
    let signed = signing_secrets("sig-secret", "sha512");
    let no_credentials = refusal(&[("MOBILEID_SMS_PROVIDERS", "nexmo")], &signed).await;
    assert!(no_credentials.contains("nexmo.apiKey"), "{no_credentials}");
    let signed = with_nexmo(signed);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("MOBILEID_STAGE", "production"),
                ("MOBILEID_SENDER_NANP_MT", "+12025550300"),
                ("MOBILEID_SENDER_NANP_MO", "+12025550301"),
                ("MOBILEID_SMS_PROVIDERS", "outbox"),
            ],
            "not allowed there",
        ),
        (
            &[("MOBILEID_SMS_PROVIDERS", "nexmo,outbox")],
            "cannot be mixed",
        ),
        (&[("MOBILEID_SMS_PROVIDERS", "pigeon")], "pigeon"),
        (
            &[
                ("MOBILEID_SMS_PROVIDERS", "nexmo"),
                ("MOBILEID_SMS_TIMEOUT_MS", "60000"),
            ],
            "MOBILEID_SMS_TIMEOUT_MS",
        ),
        (
            &[
                ("MOBILEID_SMS_PROVIDERS", "nexmo"),
                ("MOBILEID_SMS_ATTEMPTS", "0"),
            ],
            "MOBILEID_SMS_ATTEMPTS",
        ),
    ];
    for (vars, expected) in cases {
        let err = refusal(vars, &signed).await;
        assert!(err.contains(expected), "{vars:?}: {err}");
    }
    let bad_method = with_nexmo(signing_secrets("sig-secret", "sha3"));
    let err = refusal(&[("MOBILEID_SMS_PROVIDERS", "nexmo")], &bad_method).await;
    assert!(
        err.contains("nexmo.signatureMethod") && err.contains("sha3"),
        "{err}"
    );
}

#[tokio::test]
async fn a_lambda_starts_with_its_stages_providers_in_order() {
    let signed = with_nexmo(signing_secrets("sig-secret", "md5hash"));
    let clock = ManualClock::starting_now();
    let state = lambda_services(&[("MOBILEID_SMS_PROVIDERS", "nexmo")], &signed, &clock)
        .await
        .unwrap();
    assert_eq!(state.sms.name(), "nexmo");
    // The dev stage names nexmo and sns; this crate links only nexmo (SNS is in mobileid-aws).
    let err = refusal(&[], &signed).await;
    assert!(
        err.contains("\"sns\"") && err.contains("links nexmo"),
        "{err}"
    );
}

#[tokio::test]
async fn a_function_that_links_no_provider_sends_nothing() {
    let signed = with_nexmo(signing_secrets("sig-secret", "md5hash"));
    let clock = ManualClock::starting_now();
    let state = lambda_services_linking(&[], &signed, &clock, Providers::none())
        .await
        .unwrap();
    assert_eq!(state.sms.name(), "none");
    assert!(state.sms.check().await.is_ok());
}

/// The operator's senders of a real stage (the stage files name them `$MOBILEID_SENDER_NANP_*`).
const REAL_SENDERS: [(&str, &str); 2] = [
    ("MOBILEID_SENDER_NANP_MT", "+12025550300"),
    ("MOBILEID_SENDER_NANP_MO", "+12025550301"),
];

#[tokio::test]
async fn real_stages_accept_only_hmac_sha256_or_sha512_webhook_signatures() {
    for stage in ["production", "real-stage"] {
        for weak in ["md5hash", "", "md5", "sha1"] {
            let mut vars = vec![
                ("MOBILEID_STAGE", stage),
                ("MOBILEID_SMS_PROVIDERS", "nexmo"),
            ];
            vars.extend(REAL_SENDERS);
            let err = refusal(&vars, &with_nexmo(signing_secrets("sig-secret", weak))).await;
            assert!(
                err.contains("only sha256 or sha512") && err.contains(stage),
                "{stage} {weak:?}: {err}"
            );
        }
        for strong in ["sha256", "sha512"] {
            let mut vars = vec![
                ("MOBILEID_STAGE", stage),
                ("MOBILEID_SMS_PROVIDERS", "nexmo"),
            ];
            vars.extend(REAL_SENDERS);
            let secrets = with_nexmo(signing_secrets("sig-secret", strong));
            assert!(
                lambda_services(&vars, &secrets, &ManualClock::starting_now())
                    .await
                    .is_ok(),
                "{stage} {strong}"
            );
        }
    }
    // Other stages keep Nexmo's default.
    let secrets = with_nexmo(signing_secrets("sig-secret", "md5hash"));
    assert!(
        lambda_services(
            &[("MOBILEID_SMS_PROVIDERS", "nexmo")],
            &secrets,
            &ManualClock::starting_now()
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn a_real_stage_without_the_operators_senders_does_not_load() {
    for stage in ["production", "real-stage"] {
        let vars = |name: &str| match name {
            "MOBILEID_STAGE" => Some(stage.to_owned()),
            _ => None,
        };
        let err = mobileid::config::Settings::from_vars(vars)
            .unwrap_err()
            .to_string();
        assert!(err.contains("MOBILEID_SENDER_NANP_MT"), "{stage}: {err}");
        let fictional = |name: &str| match name {
            "MOBILEID_STAGE" => Some(stage.to_owned()),
            "MOBILEID_SENDER_NANP_MT" | "MOBILEID_SENDER_NANP_MO" => Some("+12025550180".into()),
            _ => None,
        };
        let err = mobileid::config::Settings::from_vars(fictional)
            .unwrap_err()
            .to_string();
        assert!(err.contains("reserved for fiction"), "{stage}: {err}");
    }
}

#[tokio::test]
async fn a_lambda_does_not_start_on_the_memory_store() {
    use mobileid::runtime::{Host, Overrides, build_services};
    let secrets = signing_secrets("sig-secret", "sha256");
    for vars in [
        &[][..],
        &[("MOBILEID_STORE", "memory")][..],
        &[
            ("MOBILEID_STORE", "memory"),
            ("MOBILEID_STAGE", "load-stage"),
        ][..],
        &[
            ("MOBILEID_STAGE", "production"),
            ("MOBILEID_STORE", "memory"),
            REAL_SENDERS[0],
            REAL_SENDERS[1],
        ][..],
    ] {
        let err = build_services(settings(vars), &secrets, Host::Lambda, Overrides::default())
            .await
            .err()
            .unwrap_or_else(|| panic!("{vars:?} started"))
            .to_string();
        assert!(err.contains("MOBILEID_STORE=dynamodb"), "{vars:?}: {err}");
    }
}
