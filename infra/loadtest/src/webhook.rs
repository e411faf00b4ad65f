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
        ("message-timestamp".into(), utc_datetime(now)),
        ("timestamp".into(), now.to_string()),
    ];
    if let Some(signer) = signer {
        let sig = signer.sign(&params);
        params.push(("sig".into(), sig));
    }
    serde_urlencoded::to_string(&params).expect("string pairs encode")
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, as Nexmo writes `message-timestamp`.
fn utc_datetime(epoch_secs: u64) -> String {
    let days = (epoch_secs / 86_400) as i64;
    let secs = epoch_secs % 86_400;
    // Days since 1970-01-01 → civil date (H. Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_datetimes() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(utc_datetime(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_datetime(1_461_605_396), "2016-04-25 17:29:56");
    }

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
