//! The GSM 03.38 default alphabet: a text made only of these characters travels as 7-bit
//! "text" SMS (160 characters a part); anything else needs a "unicode" (UCS-2) SMS, which
//! the provider must be told about or it replaces the other characters with `?`.

/// The basic character set (the escape code 0x1B excluded: it is not a character of a text).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table (each costs two septets, but needs no unicode).
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Whether `text` can be sent as a GSM 7-bit SMS.
pub fn is_gsm(text: &str) -> bool {
    text.chars()
        .all(|c| BASIC.contains(c) || EXTENSION.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_has_127_characters_and_the_extension_table_10() {
        assert_eq!(BASIC.chars().count(), 127);
        assert_eq!(EXTENSION.chars().count(), 10);
    }

    #[test]
    fn english_french_and_german_texts_are_gsm_spanish_accents_are_not() {
        assert!(is_gsm("Your verification code is: 123456"));
        assert!(is_gsm("Votre code de vérification est : 123456"));
        assert!(is_gsm("Ihr Bestätigungscode lautet: 123456"));
        assert!(is_gsm("0123456789abcdef0123456789abcdef"));
        assert!(is_gsm("{[€]} ^~|\\"));
        assert!(!is_gsm("Tu código de verificación es: 123456"));
        assert!(!is_gsm("`backtick`"));
        assert!(!is_gsm("Ваш код 123456"));
        assert!(!is_gsm("\u{1b}"));
    }
}
