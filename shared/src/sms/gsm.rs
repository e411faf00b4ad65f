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

/// How a text travels: GSM 7-bit (160 septets in one segment, 153 a segment when split) or
/// UCS-2 (70 UTF-16 units, 67 when split).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// The encoding a text needs and the number of segments (SMS) it costs.
pub fn segments(text: &str) -> (Encoding, usize) {
    let (encoding, units, single, part) = if is_gsm(text) {
        let septets: usize = text
            .chars()
            .map(|c| if EXTENSION.contains(c) { 2 } else { 1 })
            .sum();
        (Encoding::Gsm7, septets, 160, 153)
    } else {
        (Encoding::Ucs2, text.encode_utf16().count(), 70, 67)
    };
    let count = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    (encoding, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_encoding() {
        assert_eq!(segments(&"a".repeat(160)), (Encoding::Gsm7, 1));
        assert_eq!(segments(&"a".repeat(161)), (Encoding::Gsm7, 2));
        assert_eq!(segments(&"€".repeat(80)), (Encoding::Gsm7, 1));
        assert_eq!(segments(&"€".repeat(81)), (Encoding::Gsm7, 2));
        assert_eq!(segments(&"ó".repeat(70)), (Encoding::Ucs2, 1));
        assert_eq!(segments(&"ó".repeat(71)), (Encoding::Ucs2, 2));
        assert_eq!(
            segments(&format!("{}ó", "a".repeat(69))),
            (Encoding::Ucs2, 1)
        );
        assert_eq!(segments(&"a".repeat(306)), (Encoding::Gsm7, 2));
        assert_eq!(segments(&"a".repeat(307)), (Encoding::Gsm7, 3));
    }

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
