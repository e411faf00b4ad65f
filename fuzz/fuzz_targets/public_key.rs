//! `publicKey` of `/v1/certificate/sign`: any JSON value (and any string, since a string
//! holds the key's JSON) is a key or a refusal, never a panic; an accepted key's claim is
//! itself an accepted key, the same one.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mobileid::domain::ClientPublicKey;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = ClientPublicKey::from_param(&Value::String(text.into_owned()));
    if let Ok(value) = serde_json::from_slice::<Value>(data)
        && let Ok(key) = ClientPublicKey::from_param(&value)
    {
        let claim = key.to_claim();
        assert_eq!(
            ClientPublicKey::from_param(&claim).as_ref(),
            Ok(&key),
            "claim {claim}"
        );
        assert_eq!(
            ClientPublicKey::from_param(&Value::String(claim.to_string())),
            Ok(key)
        );
    }
});
