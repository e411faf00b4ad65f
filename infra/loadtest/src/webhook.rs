//! The inbound-SMS callback the provider (Nexmo) would post when a device texts the service
//! `"/v1/msisdn/sms/momt/verify <hawkId>"`: its parameters, and their signature.

use std::time::{SystemTime, UNIX_EPOCH};

use mobileid::domain::{HawkId, Msisdn};
use mobileid::sms::NexmoSigner;

/// The text a device sends in the SMS-MO+MT flow: `<command> <hawkId>`.
pub fn verify_text(command: &str, id: &HawkId) -> String {
    format!("{command} {}", id.to_hex())
}

/// Signs callbacks the way the provider does (the shared crate's Nexmo signer, the same code
/// the server verifies with).
pub type Signer = NexmoSigner;

/// The form body of one inbound SMS from `from` to the service's number `to`.
pub fn inbound_form(from: &Msisdn, to: &str, text: &str, signer: Option<&Signer>) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut params: Vec<(String, String)> = vec![
        ("msisdn".into(), from.digits().to_owned()),
        ("to".into(), to.trim_start_matches('+').to_owned()),
        ("messageId".into(), hex::encode(rand::random::<[u8; 8]>())),
        ("text".into(), text.to_owned()),
        ("type".into(), "text".into()),
        (
            "message-timestamp".into(),
            mobileid::clock::utc_datetime(now as i64),
        ),
        ("timestamp".into(), now.to_string()),
    ];
    if let Some(signer) = signer {
        let sig = signer.sign(&params);
        params.push(("sig".into(), sig));
    }
    serde_urlencoded::to_string(&params).expect("string pairs encode")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_carries_the_sender_and_the_hawk_id() {
        let from = Msisdn::parse("+33612345678").unwrap();
        let id = HawkId::from_bytes([0xab; 32]);
        let text = verify_text("/v1/msisdn/sms/momt/verify", &id);
        let form = inbound_form(&from, "+33757000001", &text, None);
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("msisdn"), "33612345678");
        assert_eq!(get("to"), "33757000001");
        assert_eq!(
            get("text"),
            format!("/v1/msisdn/sms/momt/verify {}", "ab".repeat(32))
        );
        assert!(pairs.iter().all(|(k, _)| k != "sig"));
    }

    #[test]
    fn a_signed_form_verifies_with_the_servers_check() {
        use mobileid::api::InboundVerifier;
        use mobileid::sms::NexmoSignature;
        use std::collections::BTreeMap;

        let from = Msisdn::parse("+33612345678").unwrap();
        let id = HawkId::from_bytes([0x01; 32]);
        let signer = Signer::new("s3cret", "sha256").unwrap();
        let text = verify_text("/sms/momt/verify", &id);
        let form = inbound_form(&from, "+33757000001", &text, Some(&signer));
        let params: BTreeMap<String, String> = serde_urlencoded::from_str(&form).unwrap();
        let now: i64 = params["timestamp"].parse().unwrap();
        let check = NexmoSignature::new(signer, 300);
        assert_eq!(check.verify(&params, now), Ok(()));
    }
}
