//! The `Authorization: Hawk …` parser and every check made with what it parsed: any string
//! must give a header or a refusal, never a panic; and a header the client side makes must
//! parse back to the same attributes and verify.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mobileid::crypto::AuthKey;
use mobileid::crypto::hawk_auth::{
    ClientOptions, HawkHeader, SignedRequest, client_authorization_with, max_value_bytes,
    payload_hash,
};
use mobileid::domain::HawkId;

/// The attribute names of a Hawk header (and one it does not know).
const ATTRIBUTES: [&str; 9] = [
    "id", "ts", "nonce", "mac", "hash", "ext", "app", "dlg", "bewit",
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    authorization: &'a str,
    /// A header made of attributes with arbitrary values: the parser's paths past the syntax.
    attributes: Vec<(u8, &'a str)>,
    method: &'a str,
    host: &'a str,
    port: u16,
    path: &'a str,
    content_type: &'a str,
    body: &'a [u8],
    app: Option<&'a str>,
    dlg: Option<&'a str>,
    now: i64,
    skew: u16,
    ts: i64,
    nonce: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let key = AuthKey::from_bytes([7; 32]);
    let request = SignedRequest {
        method: input.method,
        host: input.host,
        port: input.port,
        path: input.path,
    };
    let made: Vec<String> = input
        .attributes
        .iter()
        .map(|(i, v)| format!("{}=\"{v}\"", ATTRIBUTES[usize::from(*i) % ATTRIBUTES.len()]))
        .collect();
    for authorization in [
        input.authorization.to_owned(),
        format!("Hawk {}", made.join(", ")),
    ] {
        // Whatever bytes arrive (a header value need not be UTF-8).
        let _ = HawkHeader::parse_bytes(Some(input.body));
        if let Ok(header) = HawkHeader::parse(Some(&authorization)) {
            let _ = header.hawk_id();
            let _ = header.verify(
                &key,
                &request,
                Some((input.content_type, input.body)),
                false,
            );
            let _ = header.verify(&key, &request, None, true);
            let _ = header.check_timestamp(&key, input.now, i64::from(input.skew));
            let _ = header.server_authorization(&key, &request);
        }
    }
    let _ = payload_hash(input.content_type, input.body);

    // What a client makes, the server reads back and accepts (when the parts are header-safe
    // and within the bounds).
    let printable = |s: &str, name: &str| {
        !s.is_empty()
            && s.len() <= max_value_bytes(name)
            && s.chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    };
    let app = input.app.filter(|a| printable(a, "app"));
    let dlg = input.dlg.filter(|d| printable(d, "dlg"));
    if printable(input.nonce, "nonce") && input.ts >= 0 {
        let id = HawkId::from_bytes([9; 32]);
        let made = client_authorization_with(
            &id,
            &key,
            &request,
            input.ts,
            input.nonce,
            Some((input.content_type, input.body)),
            ClientOptions {
                ext: None,
                app,
                dlg,
            },
        );
        let parsed = HawkHeader::parse(Some(&made)).expect("a header we made parses");
        assert_eq!(parsed.hawk_id(), Some(id));
        assert_eq!(parsed.ts, input.ts);
        assert_eq!(parsed.nonce, input.nonce);
        assert_eq!(parsed.app.as_deref(), app);
        assert_eq!(parsed.dlg.as_deref(), app.and(dlg), "dlg only with app");
        assert_eq!(
            parsed.verify(&key, &request, Some((input.content_type, input.body)), true),
            Ok(())
        );
        assert_eq!(parsed.check_timestamp(&key, input.ts, 0), Ok(()));
    }
});
