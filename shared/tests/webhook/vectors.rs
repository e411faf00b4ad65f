//! The signature algorithm against the SDKs' test vectors (peers-and-security.md §3.5), and
//! the verifier's rules on case, tampering and freshness.

use std::collections::BTreeMap;

use mobileid::sms::signature::InboundVerifier;
use mobileid::sms::{NexmoSignature, NexmoSigner};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The PHP SDK's `SignatureTest` parameters.
fn php_vector() -> Vec<(String, String)> {
    pairs(&[
        ("api_key", "fake_api_key"),
        ("to", "14155550100"),
        ("from", "AcmeInc"),
        ("text", "Test From Nexmo"),
        ("type", "text"),
        ("timestamp", "1540924779"),
    ])
}

const PHP_SECRET: &str = "71efab63122f1d179f51c46bac838fb5";

#[test]
fn md5hash_matches_the_python_and_ruby_sdks() {
    let signer = NexmoSigner::new("secret", "md5hash").unwrap();
    let params = pairs(&[("a", "1"), ("b", "2"), ("timestamp", "1461605396")]);
    assert_eq!(signer.sign(&params), "6af838ef94998832dbfc29020b564830");
    // The default method is md5hash; the order of the parameters does not matter.
    let reversed: Vec<_> = params.iter().rev().cloned().collect();
    assert_eq!(
        NexmoSigner::new("secret", "").unwrap().sign(&reversed),
        "6af838ef94998832dbfc29020b564830"
    );
}

#[test]
fn hmac_methods_match_the_php_sdk() {
    let sign = |method: &str| {
        NexmoSigner::new(PHP_SECRET, method)
            .unwrap()
            .sign(&php_vector())
    };
    assert_eq!(
        sign("md5"),
        "51CDAFEBB4BBCE9525B195C1617CB8D2".to_lowercase()
    );
    assert_eq!(
        sign("sha1"),
        "0162AEC64BC183B2E1256545951FE5639DC98020".to_lowercase()
    );
    // Re-computed with Python's hmac module over the same string.
    assert_eq!(
        sign("sha256"),
        "9fec5ef6d0f2b3d2bb7558b6e4042569823cab9ea0dd30503472b7b304601975"
    );
    assert_eq!(
        sign("sha512"),
        "40bd12b9a4b6000ad1138eefd24ffe9fbd72aee13c3fa04b32bb69dbc256ad0a04a463b1a9af6660d10f6e1e769ee14b9cff6a635502e93afcd0bfab29f38f87"
    );
}

#[test]
fn the_verifier_takes_either_case_and_refuses_anything_else() {
    let verifier = NexmoSignature::new(NexmoSigner::new(PHP_SECRET, "md5").unwrap(), 300);
    let now = 1_540_924_779;
    let with_sig = |sig: &str| -> BTreeMap<String, String> {
        let mut map: BTreeMap<_, _> = php_vector().into_iter().collect();
        map.insert("sig".into(), sig.into());
        map
    };
    assert_eq!(
        verifier.verify(&with_sig("51CDAFEBB4BBCE9525B195C1617CB8D2"), now),
        Ok(())
    );
    assert_eq!(
        verifier.verify(&with_sig("51cdafebb4bbce9525b195c1617cb8d2"), now),
        Ok(())
    );
    for bad in [
        "51CDAFEBB4BBCE9525B195C1617CB8D3",
        "51CDAFEBB4BBCE9525B195C1617CB8D",
        "",
        "0162AEC64BC183B2E1256545951FE5639DC98020",
    ] {
        assert_eq!(
            verifier.verify(&with_sig(bad), now),
            Err("the signature does not match".into()),
            "{bad}"
        );
    }
    let mut tampered = with_sig("51CDAFEBB4BBCE9525B195C1617CB8D2");
    tampered.insert("text".into(), "Test From Mallory".into());
    assert_eq!(
        verifier.verify(&tampered, now),
        Err("the signature does not match".into())
    );
    let mut unsigned = with_sig("");
    unsigned.remove("sig");
    assert_eq!(
        verifier.verify(&unsigned, now),
        Err("no sig parameter".into())
    );
    // Fresh within the window either side; stale (or from the future) beyond it.
    let good = with_sig("51CDAFEBB4BBCE9525B195C1617CB8D2");
    assert_eq!(verifier.verify(&good, now + 300), Ok(()));
    assert_eq!(verifier.verify(&good, now - 300), Ok(()));
    let stale = verifier.verify(&good, now + 301).unwrap_err();
    assert!(stale.contains("301 s away"), "{stale}");
    assert!(verifier.verify(&good, now - 301).is_err());
}

#[test]
fn a_signed_callback_without_timestamp_is_refused() {
    let signer = NexmoSigner::new("secret", "sha256").unwrap();
    let params = pairs(&[("msisdn", "33612345678"), ("text", "hi")]);
    let mut map: BTreeMap<String, String> = params.iter().cloned().collect();
    map.insert("sig".into(), signer.sign(&params));
    let verifier = NexmoSignature::new(signer, 300);
    assert_eq!(
        verifier.verify(&map, 0),
        Err("no timestamp parameter".into())
    );
}
