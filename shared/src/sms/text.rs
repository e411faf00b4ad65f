//! The text of a code SMS.
//!
//! The code comes first, so that it survives a truncated preview and reads the same in every
//! language. Short codes are worded in the client's language (`Accept-Language`); long codes
//! are sent bare for the client app to read. When the stage names its web app's domain, the
//! text ends with the origin-bound line `@<domain> #<code>` (WICG sms-one-time-codes: Safari's
//! and Chrome's autofill read it), and with the Android app hash the SMS Retriever hands the
//! message to that app.
//!
//! Translations are data files (`shared/locales/<lang>.json`, one `short_code` template with a
//! `{code}` placeholder), compiled in so that a Lambda needs no file system. Each must stay in
//! the GSM 7-bit alphabet: one character outside it makes the whole SMS UCS-2, whose single
//! segment holds 70 characters instead of 160 (the Spanish wording avoids "código" for that).

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::config::{AppHash, OtpDomain, StageTable};
use crate::domain::{CodeKind, VerificationCode};

const FALLBACK: &str = "en";

static TEMPLATES: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    let files: [(&str, &str); 4] = [
        ("en", include_str!("../../locales/en.json")),
        ("fr", include_str!("../../locales/fr.json")),
        ("es", include_str!("../../locales/es.json")),
        ("de", include_str!("../../locales/de.json")),
    ];
    files
        .into_iter()
        .map(|(lang, json)| {
            let parsed: HashMap<String, String> =
                serde_json::from_str(json).expect("locale files are valid JSON (tested)");
            let template = parsed
                .get("short_code")
                .expect("every locale has short_code (tested)")
                .clone();
            (lang, template)
        })
        .collect()
});

/// The languages with a translation.
pub fn supported_languages() -> Vec<&'static str> {
    let mut langs: Vec<_> = TEMPLATES.keys().copied().collect();
    langs.sort_unstable();
    langs
}

/// Picks the best supported language from an `Accept-Language` value: highest q first, ties in
/// header order; a region (`fr-CA`) falls back to its language; `q=0` means "not this one".
pub fn negotiate(accept_language: Option<&str>) -> &'static str {
    let Some(header) = accept_language else {
        return FALLBACK;
    };
    let mut ranges: Vec<(f32, usize, String)> = header
        .split(',')
        .take(32)
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim().to_ascii_lowercase();
            if tag.is_empty() || tag.len() > 35 {
                return None;
            }
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(|v| v.trim().parse::<f32>()))
                .unwrap_or(Ok(1.0))
                .ok()
                .filter(|q| (0.0..=1.0).contains(q))?;
            (q > 0.0).then_some((q, i, tag))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, tag) in ranges {
        let primary = tag.split('-').next().unwrap_or("");
        if let Some((lang, _)) = TEMPLATES.get_key_value(primary) {
            return lang;
        }
    }
    FALLBACK
}

/// What a stage adds to every code SMS so that the phone fills the code in by itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Autofill<'a> {
    pub domain: Option<&'a OtpDomain>,
    pub app_hash: Option<&'a AppHash>,
}

impl<'a> Autofill<'a> {
    pub fn of_stage(stage: &'a StageTable) -> Self {
        Autofill {
            domain: stage.otp_domain.as_ref(),
            app_hash: stage.android_app_hash.as_ref(),
        }
    }
}

/// The SMS that carries `code`: the code first; then the app hash on a line of its own; then,
/// last, the origin-bound line.
pub fn code_text(
    code: &VerificationCode,
    accept_language: Option<&str>,
    autofill: Autofill<'_>,
) -> String {
    let mut text = match code.kind() {
        CodeKind::Short => TEMPLATES[negotiate(accept_language)].replace("{code}", code.as_str()),
        CodeKind::Long => code.as_str().to_owned(),
    };
    if let Some(hash) = autofill.app_hash {
        text.push('\n');
        text.push_str(hash.as_str());
    }
    if let Some(domain) = autofill.domain {
        text.push_str("\n\n@");
        text.push_str(domain.as_str());
        text.push_str(" #");
        text.push_str(code.as_str());
    }
    text
}

/// The code in a text this module wrote: its first word (for test tools reading the fake
/// gateway; a device reads the origin-bound line or the whole text).
pub fn code_in(text: &str) -> Option<&str> {
    text.split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OTP_DOMAIN_MAX_LEN;
    use crate::random::OsRandomness;
    use crate::sms::gsm::{Encoding, segments};

    #[test]
    fn every_locale_has_the_placeholder_first() {
        assert_eq!(supported_languages(), ["de", "en", "es", "fr"]);
        for lang in supported_languages() {
            assert!(TEMPLATES[lang].starts_with("{code} "), "{lang}");
        }
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(negotiate(None), "en");
        assert_eq!(negotiate(Some("fr")), "fr");
        assert_eq!(negotiate(Some("fr-FR,fr;q=0.9")), "fr");
        assert_eq!(negotiate(Some("de;q=0.5, es")), "es");
        assert_eq!(negotiate(Some("it, de;q=0.4, fr;q=0.5")), "fr");
        assert_eq!(negotiate(Some("es;q=0, de;q=0.1")), "de");
        assert_eq!(negotiate(Some("ja, zh")), "en");
        assert_eq!(negotiate(Some(";;;,q=,fr;q=abc")), "en");
    }

    fn short(code: &str) -> VerificationCode {
        VerificationCode::parse(code).unwrap()
    }

    #[test]
    fn without_autofill_texts_are_the_code_first_or_bare() {
        let none = Autofill::default();
        assert_eq!(
            code_text(&short("123456"), None, none),
            "123456 is your verification code."
        );
        assert_eq!(
            code_text(&short("123456"), Some("fr-FR"), none),
            "123456 est votre code de vérification."
        );
        let long = VerificationCode::generate(CodeKind::Long, &OsRandomness);
        assert_eq!(code_text(&long, Some("de"), none), long.as_str());
        assert_eq!(code_in("123456 ist Ihr Bestätigungscode."), Some("123456"));
    }

    #[test]
    fn the_origin_bound_line_is_last_and_the_hash_before_it() {
        let domain = OtpDomain::parse("app.example.com").unwrap();
        let hash = AppHash::parse("FA+9qCX9VSu").unwrap();
        let autofill = Autofill {
            domain: Some(&domain),
            app_hash: Some(&hash),
        };
        assert_eq!(
            code_text(&short("123456"), None, autofill),
            "123456 is your verification code.\nFA+9qCX9VSu\n\n@app.example.com #123456"
        );
        let only_domain = Autofill {
            domain: Some(&domain),
            app_hash: None,
        };
        assert_eq!(
            code_text(&short("654321"), Some("de"), only_domain),
            "654321 ist Ihr Bestätigungscode.\n\n@app.example.com #654321"
        );
    }

    /// Chromium's parser (sms_parser.cc) and the WICG format: every locale and both code kinds,
    /// with the longest allowed domain, read back to that domain and code, in one segment.
    #[test]
    fn every_text_parses_back_with_chromes_expression_and_fits_one_segment() {
        let chrome = regex::Regex::new(r"(?:^|\s)@([a-zA-Z0-9.-]+) #([^#\s]+)").unwrap();
        let longest = format!("{}.example.com", "a".repeat(OTP_DOMAIN_MAX_LEN - 12));
        let domain = OtpDomain::parse(&longest).unwrap();
        assert_eq!(domain.as_str().len(), OTP_DOMAIN_MAX_LEN);
        let hash = AppHash::parse("FA+9qCX9VSu").unwrap();
        let codes = [
            short("999999"),
            VerificationCode::generate(CodeKind::Long, &OsRandomness),
        ];
        for lang in supported_languages() {
            for code in &codes {
                for app_hash in [None, Some(&hash)] {
                    let autofill = Autofill {
                        domain: Some(&domain),
                        app_hash,
                    };
                    let text = code_text(code, Some(lang), autofill);
                    let what = format!(
                        "{lang} {:?} hash {}: {text:?}",
                        code.kind(),
                        app_hash.is_some()
                    );
                    let caps = chrome.captures(&text).unwrap_or_else(|| panic!("{what}"));
                    assert_eq!(&caps[1], domain.as_str(), "{what}");
                    assert_eq!(&caps[2], code.as_str(), "{what}");
                    let last_line = text.lines().last().unwrap();
                    assert_eq!(
                        last_line,
                        format!("@{} #{}", domain.as_str(), code.as_str())
                    );
                    assert_eq!(code_in(&text), Some(code.as_str()), "{what}");
                    assert_eq!(segments(&text), (Encoding::Gsm7, 1), "{what}");
                    if app_hash.is_some() {
                        assert!(text.contains(hash.as_str()), "{what}");
                        // Google's 140-byte rule, read strictly: UTF-8 bytes, not septets.
                        assert!(text.len() <= 140, "{what}: {} bytes", text.len());
                    }
                }
            }
        }
    }

    /// One character more in the domain would break the 140-byte rule for long codes: the
    /// limit is as large as it can be, not a guess.
    #[test]
    fn the_domain_limit_is_the_largest_that_fits() {
        let long = VerificationCode::generate(CodeKind::Long, &OsRandomness);
        let hash = AppHash::parse("FA+9qCX9VSu").unwrap();
        let text = |len: usize| {
            let name = format!("{}.example.com", "a".repeat(len - 12));
            let domain = OtpDomain::unchecked(name);
            code_text(
                &long,
                None,
                Autofill {
                    domain: Some(&domain),
                    app_hash: Some(&hash),
                },
            )
        };
        assert!(text(OTP_DOMAIN_MAX_LEN).len() <= 140);
        assert!(text(OTP_DOMAIN_MAX_LEN + 1).len() > 140);
    }
}
