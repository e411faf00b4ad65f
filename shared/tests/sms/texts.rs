//! The text that actually leaves for the provider (read back from a server speaking Nexmo),
//! through the router: short codes in the client's language (code first), long codes bare.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use mobileid::sms::NexmoSender;
use mobileid::testkit::TestApp;

use crate::support::{FormServer, Reply, ask_code};

/// (Accept-Language, the text after the code, whether it goes as unicode).
const CASES: [(Option<&str>, &str, bool); 8] = [
    (None, " is your verification code.", false),
    (Some("en-US"), " is your verification code.", false),
    (Some("fr"), " est votre code de vérification.", false),
    (
        Some("fr-FR,fr;q=0.9"),
        " est votre code de vérification.",
        false,
    ),
    (Some("de, fr;q=0.5"), " ist Ihr Bestätigungscode.", false),
    (
        Some("it, es;q=0.8, en;q=0.5"),
        " es tu clave para verificar tu teléfono.",
        false,
    ),
    (
        Some("fr;q=0, es-ES;q=0.1"),
        " es tu clave para verificar tu teléfono.",
        false,
    ),
    (Some("it-CH"), " is your verification code.", false),
];

#[tokio::test]
async fn short_codes_go_out_in_the_clients_language_and_long_codes_bare() {
    let server = FormServer::start(Reply::nexmo_ok()).await;
    let nexmo = NexmoSender::new(&server.url, "k", "s", Duration::from_secs(2)).unwrap();
    let app = TestApp::builder().sms(Arc::new(nexmo)).build().await;
    // One number per request: the per-number send interval is not what this test is about.
    for (i, (language, _, _)) in CASES.iter().enumerate() {
        let device = app.register().await;
        let number = format!("+336{i:02}345678");
        let res = ask_code(&app, &device, &number, "208", true, *language).await;
        assert_eq!(
            res.status,
            StatusCode::NO_CONTENT,
            "{language:?}: {:?}",
            res.json()
        );
    }
    let device = app.register().await;
    let res = ask_code(&app, &device, "+33699345678", "208", false, Some("fr")).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);

    let forms = server.received();
    assert_eq!(forms.len(), CASES.len() + 1);
    let field = |i: usize, name: &str| {
        forms[i]
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    for (i, (language, suffix, unicode)) in CASES.iter().enumerate() {
        let text = field(i, "text").unwrap();
        let code = text
            .strip_suffix(suffix)
            .unwrap_or_else(|| panic!("{language:?}: {text:?}"));
        assert!(
            code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
            "{language:?}: {text:?}"
        );
        assert_eq!(
            field(i, "type").as_deref(),
            unicode.then_some("unicode"),
            "{language:?}"
        );
        println!("sent for Accept-Language {language:?}: {text:?}");
    }
    let long = field(CASES.len(), "text").unwrap();
    assert!(
        long.len() == 32 && long.bytes().all(|b| b.is_ascii_hexdigit()),
        "{long:?}"
    );
    assert_eq!(field(CASES.len(), "type"), None);
    println!("sent for a long code (Accept-Language fr): {long:?}");
}
