//! The inbound-SMS webhook's parameters and signature: Nexmo's `sig` check over arbitrary
//! parameter sets (any of the five methods), and the callback routes with arbitrary query
//! strings and bodies. The verifier never panics; a set signed with the right secret verifies
//! exactly when its `timestamp` is inside the window, and is refused once altered.

#![no_main]

#[path = "harness.rs"]
mod harness;

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use harness::{Auth, check, harness};
use http::Method;
use libfuzzer_sys::fuzz_target;
use mobileid::api::InboundVerifier;
use mobileid::sms::{NexmoSignature, NexmoSigner};

const METHODS: [&str; 5] = ["md5hash", "md5", "sha1", "sha256", "sha512"];

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    secret: String,
    params: BTreeMap<String, String>,
    timestamp: Option<String>,
    now: i64,
    window: u32,
    sig: Option<String>,
    /// The same parameters sent to the routes.
    post: bool,
    legacy: bool,
    content_type_form: bool,
}

fuzz_target!(|input: Input| {
    let method = METHODS[usize::from(input.method) % METHODS.len()];
    if let Ok(signer) = NexmoSigner::new(&input.secret, method) {
        let verifier = NexmoSignature::new(signer.clone(), i64::from(input.window));
        let mut params = input.params.clone();
        if let Some(ts) = &input.timestamp {
            params.insert("timestamp".into(), ts.clone());
        }
        if let Some(sig) = &input.sig {
            params.insert("sig".into(), sig.clone());
        }
        let _ = verifier.verify(&params, input.now);
        // Signed with the right secret: accepted exactly when the timestamp is in the window.
        let ts = input
            .timestamp
            .clone()
            .unwrap_or_else(|| input.now.to_string());
        params.insert("timestamp".into(), ts.clone());
        let pairs: Vec<(String, String)> = params.clone().into_iter().collect();
        params.insert("sig".into(), signer.sign(&pairs));
        let fresh = ts
            .trim()
            .parse::<i64>()
            .is_ok_and(|t| t.abs_diff(input.now) <= u64::from(input.window));
        assert_eq!(
            verifier.verify(&params, input.now).is_ok(),
            fresh,
            "{params:?} at {}",
            input.now
        );
        // Any other value of a signed parameter: refused.
        if let Some((k, v)) = params
            .iter()
            .find(|(k, _)| *k != "sig")
            .map(|(k, v)| (k.clone(), v.clone()))
        {
            params.insert(k, format!("{v}x"));
            assert!(verifier.verify(&params, input.now).is_err());
        }
    }

    let h = harness();
    let path = if input.legacy {
        "/sms/momt/?provider=nexmo"
    } else {
        "/v1/msisdn/sms/momt/nexmo"
    };
    let encoded = serde_urlencoded::to_string(&input.params).unwrap_or_default();
    let request = if input.post {
        let (ct, body) = if input.content_type_form {
            ("application/x-www-form-urlencoded", encoded.into_bytes())
        } else {
            (
                "application/json",
                serde_json::to_vec(&input.params).unwrap(),
            )
        };
        h.request(Method::POST, path, Some(ct), &[], body, Auth::None)
    } else {
        let sep = if path.contains('?') { '&' } else { '?' };
        h.request(
            Method::GET,
            &format!("{path}{sep}{encoded}"),
            None,
            &[],
            Vec::new(),
            Auth::None,
        )
    };
    if let Some(request) = request {
        check(&format!("{path} {input:?}"), &h.call(request));
    }
});
