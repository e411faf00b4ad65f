//! The text of a short-code SMS, localised from `Accept-Language`.
//!
//! Translations are data files (`shared/locales/<lang>.json`, one `short_code` template with a
//! `{code}` placeholder), compiled in so that a Lambda needs no file system. Long codes are
//! sent bare: the client app reads them.

use std::collections::HashMap;
use std::sync::LazyLock;

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

/// The SMS text for a short code in the client's language.
pub fn short_code_text(code: &str, accept_language: Option<&str>) -> String {
    TEMPLATES[negotiate(accept_language)].replace("{code}", code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_has_the_placeholder() {
        assert_eq!(supported_languages(), ["de", "en", "es", "fr"]);
        for lang in supported_languages() {
            assert!(TEMPLATES[lang].contains("{code}"), "{lang}");
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

    #[test]
    fn texts_carry_the_code() {
        assert_eq!(
            short_code_text("123456", None),
            "Your verification code is: 123456"
        );
        assert_eq!(
            short_code_text("123456", Some("fr-FR")),
            "Votre code de vérification est : 123456"
        );
        assert!(short_code_text("123456", Some("de")).ends_with("123456"));
        assert!(short_code_text("123456", Some("es")).ends_with("123456"));
    }
}
