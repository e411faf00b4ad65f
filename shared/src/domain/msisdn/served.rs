//! The served territories' numbers, judged without the phonenumber crate's machinery.
//!
//! The crate builds a territory's metadata with an XML parser and compiles each number
//! pattern as a full `regex` (forward and reverse automata, DFAs, literal prefilters): about
//! 35 million instructions for the first North American number, most of a cold start. The
//! patterns are small and the inputs are at most 17 ASCII digits, so here each pattern is a
//! PikeVM of its NFA alone, compiled the first time a number needs it, and the metadata is
//! read by plain string scanning of the vendored file (`shared/data/phone-metadata.xml`).
//!
//! The rules are the crate's, step for step (its `parse_with`, `source_for`, `number_type`
//! and `Descriptor::is_match`), quirks included: a number's territory is found from its
//! digits without leading zeros, its national prefix is stripped twice, its validity is
//! checked on the digits with their zeros, and its type on the digits without them. The
//! test `the_served_set_answers_as_the_whole_world_does` holds this module to the crate's
//! answers on random numbers of every served calling code.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use phonenumber::Type;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use super::Found;

/// The vendored metadata, split by calling code, each code's territories read when a number
/// of that code first comes.
static SERVED: LazyLock<ServedCodes> =
    LazyLock::new(|| ServedCodes::split(include_str!("../../../data/phone-metadata.xml")));

/// The crate's bounds on a national significant number.
const MIN_NATIONAL_LEN: usize = 2;
const MAX_NATIONAL_LEN: usize = 17;

/// How the served set judges `international` (`+` and ASCII digits): `None` when its calling
/// code is not served, `Some(None)` when it is but the number is not valid there.
pub(super) fn judge(international: &str) -> Option<Option<Found>> {
    let digits = international.strip_prefix('+')?;
    let (code, territories) = SERVED.for_digits(digits)?;
    Some(judge_in(code, territories, &digits[code.len()..]))
}

/// Whether the served set holds `region` (a stage's regions must all be there).
#[cfg(test)]
pub(super) fn holds(region: &str) -> bool {
    SERVED.holds(region)
}

/// The served calling codes (for tests that draw numbers from them).
#[cfg(test)]
pub(super) fn codes() -> Vec<&'static str> {
    let mut codes: Vec<&str> = SERVED.by_code.keys().copied().collect();
    codes.sort_unstable();
    codes
}

fn judge_in(code: &str, territories: &[Territory], national: &str) -> Option<Found> {
    // The crate's country-code step refuses a number of three digits or fewer in all, and one
    // whose digits start with 0 (no calling code does); neither reaches a served code here
    // except through these bounds.
    if code.len() + national.len() <= MIN_NATIONAL_LEN {
        return None;
    }
    let mut national = national.to_owned();
    // The territory the national prefix is looked up in: from the digits without zeros.
    if let Some(t) = source_for(territories, national.trim_start_matches('0')) {
        // No served territory has a national-prefix-for-parsing pattern (checked by a test):
        // the crate then strips the national prefix, and strips it once more after.
        for _ in 0..2 {
            if let Some(prefix) = &t.national_prefix
                && national.starts_with(prefix)
            {
                national.drain(..prefix.len());
            }
        }
    }
    if !(MIN_NATIONAL_LEN..=MAX_NATIONAL_LEN).contains(&national.len()) {
        return None;
    }
    // The crate keeps the national number as leading zeros + an integer below 2^56.
    let significant = national.trim_start_matches('0');
    let value: u64 = significant.parse().ok()?;
    if value >= 1 << 56 {
        return None;
    }
    // Valid: a type in the territory found from the digits, zeros included...
    let valid = source_for(territories, &national)
        .is_some_and(|t| t.number_type(&national) != Type::Unknown);
    if !valid {
        return None;
    }
    // ...and the region and type come from the digits without their zeros.
    let territory = source_for(territories, significant)?;
    Some(Found {
        region: territory.id.to_owned(),
        kind: territory.number_type(significant),
        e164: format!("+{code}{national}"),
    })
}

/// The crate's `source_for`: a code's only territory, or the first (main one first) where the
/// number has a type. No served territory has `leadingDigits` (checked by a test).
fn source_for<'a>(territories: &'a [Territory], national: &str) -> Option<&'a Territory> {
    match territories {
        [only] => Some(only),
        _ => territories
            .iter()
            .find(|t| t.number_type(national) != Type::Unknown),
    }
}

struct ServedCodes {
    /// Calling code → the vendored text of its territories, read on first use.
    by_code: HashMap<&'static str, (Vec<&'static str>, OnceLock<Vec<Territory>>)>,
}

impl ServedCodes {
    fn split(xml: &'static str) -> Self {
        let mut by_code: HashMap<&'static str, (Vec<&'static str>, OnceLock<Vec<Territory>>)> =
            HashMap::new();
        let mut rest = xml;
        while let Some(start) = rest.find("<territory ") {
            let len = rest[start..]
                .find("</territory>")
                .expect("territories are closed")
                + "</territory>".len();
            let text = &rest[start..start + len];
            let code = attribute(text, "countryCode").expect("territories have a code");
            by_code.entry(code).or_default().0.push(text);
            rest = &rest[start + len..];
        }
        ServedCodes { by_code }
    }

    /// The served calling code `digits` start with, and its territories (calling codes are
    /// prefix-free, and the crate takes the shortest match).
    fn for_digits(&self, digits: &str) -> Option<(&'static str, &[Territory])> {
        (1..=3.min(digits.len())).find_map(|n| {
            let (&code, (texts, territories)) = self.by_code.get_key_value(&digits[..n])?;
            Some((code, territories.get_or_init(|| read(texts)).as_slice()))
        })
    }

    #[cfg(test)]
    fn holds(&self, region: &str) -> bool {
        self.by_code
            .values()
            .any(|(texts, _)| texts.iter().any(|t| attribute(t, "id") == Some(region)))
    }
}

/// A code's territories in the crate's order: the main one first, then the others as listed.
fn read(texts: &[&'static str]) -> Vec<Territory> {
    let mut territories: Vec<Territory> = texts.iter().map(|t| Territory::read(t)).collect();
    if let Some(main) = territories.iter().position(|t| t.main) {
        let main = territories.remove(main);
        territories.insert(0, main);
    }
    territories
}

struct Territory {
    id: &'static str,
    main: bool,
    national_prefix: Option<&'static str>,
    general: Descriptor,
    /// The typed descriptors in the order the crate tries them.
    types: Vec<(Type, Descriptor)>,
    /// Fixed-line and mobile have the same pattern text: a fixed-line match is then
    /// fixed-line-or-mobile without looking at the mobile descriptor.
    same_fixed_and_mobile: bool,
}

/// The typed descriptors, in the order of the crate's `number_type`.
const TYPE_ORDER: [(&str, Type); 10] = [
    ("premiumRate", Type::PremiumRate),
    ("tollFree", Type::TollFree),
    ("sharedCost", Type::SharedCost),
    ("voip", Type::Voip),
    ("personalNumber", Type::PersonalNumber),
    ("pager", Type::Pager),
    ("uan", Type::Uan),
    ("voicemail", Type::Voicemail),
    ("fixedLine", Type::FixedLine),
    ("mobile", Type::Mobile),
];

impl Territory {
    fn read(text: &'static str) -> Self {
        let element = |name: &str| element(text, name).map(Descriptor::read);
        let types: Vec<(Type, Descriptor)> = TYPE_ORDER
            .iter()
            .filter_map(|&(name, kind)| Some((kind, element(name)?)))
            .collect();
        let pattern_of = |kind| {
            types
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, d)| d.pattern)
        };
        Territory {
            id: attribute(text, "id").expect("territories have an id"),
            main: attribute(text, "mainCountryForCode") == Some("true"),
            national_prefix: attribute(text, "nationalPrefix"),
            general: element("generalDesc").expect("territories have a generalDesc"),
            same_fixed_and_mobile: pattern_of(Type::FixedLine).is_some()
                && pattern_of(Type::FixedLine) == pattern_of(Type::Mobile),
            types,
        }
    }

    /// The crate's `number_type`.
    fn number_type(&self, national: &str) -> Type {
        if !self.general.is_match(national) {
            return Type::Unknown;
        }
        let matches = |kind: Type| {
            self.types
                .iter()
                .any(|(k, d)| *k == kind && d.is_match(national))
        };
        for &(_, kind) in &TYPE_ORDER[..8] {
            if matches(kind) {
                return kind;
            }
        }
        if matches(Type::FixedLine) {
            return if self.same_fixed_and_mobile || matches(Type::Mobile) {
                Type::FixedLineOrMobile
            } else {
                Type::FixedLine
            };
        }
        if matches(Type::Mobile) {
            Type::Mobile
        } else {
            Type::Unknown
        }
    }
}

struct Descriptor {
    /// The pattern's text as the file has it (whitespace is not part of the pattern).
    pattern: &'static str,
    /// National lengths a number of this type can have (none listed: any).
    lengths: Vec<usize>,
    regex: OnceLock<Regex>,
}

impl Descriptor {
    fn read(text: &'static str) -> Self {
        let pattern = element(text, "nationalNumberPattern")
            .expect("descriptors have a nationalNumberPattern")
            .trim();
        let lengths = text
            .find("<possibleLengths ")
            .and_then(|at| attribute(&text[at..], "national"))
            .map(lengths)
            .unwrap_or_default();
        Descriptor {
            pattern,
            lengths,
            regex: OnceLock::new(),
        }
    }

    /// The crate's `Descriptor::is_match`: a listed length, and a match that starts at the
    /// first digit (it need not reach the last one).
    fn is_match(&self, national: &str) -> bool {
        if !self.lengths.is_empty() && !self.lengths.contains(&national.len()) {
            return false;
        }
        let regex = self.regex.get_or_init(|| compile(self.pattern));
        regex.is_match(Input::new(national).anchored(Anchored::Yes))
    }
}

/// A pattern as the smallest engine that answers "does it match from the start": an NFA run
/// by the PikeVM, no DFA, no prefilter, no capture groups. ASCII only (the input is digits;
/// `\d` is written `[0-9]` in the vendored file), whitespace ignored as the crate does.
fn compile(pattern: &str) -> Regex {
    Regex::builder()
        .syntax(
            syntax::Config::new()
                .unicode(false)
                .utf8(false)
                .ignore_whitespace(true),
        )
        .configure(
            // `regex` in the same build turns on the DFA engines; building one per pattern
            // would be most of the cost again.
            meta::Config::new()
                .dfa(false)
                .hybrid(false)
                .onepass(false)
                .utf8_empty(false)
                .auto_prefilter(false)
                .which_captures(regex_automata::nfa::thompson::WhichCaptures::None),
        )
        .build(pattern)
        .expect("the vendored number patterns compile (checked by a test)")
}

/// `9`, `8,9`, `[8-10]`, `[6-8],10`: the crate's reading of a `national` lengths attribute.
fn lengths(value: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim) {
        if let Some(range) = part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            if let Some((start, end)) = range.split_once('-')
                && let (Ok(start), Ok(end)) = (start.parse::<usize>(), end.parse::<usize>())
            {
                out.extend(start..=end);
            }
        } else if let Ok(n) = part.parse() {
            out.push(n);
        }
    }
    out
}

/// The content of the first `<name>…</name>` element in `text`.
fn element<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&format!("</{name}>"))?;
    Some(&text[start..start + len])
}

/// The value of `name="…"` in an element's opening tag.
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let tag = &element[..element.find('>')?];
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_pattern_compiles_and_the_file_has_no_rule_this_module_skips() {
        for code in codes() {
            let (_, territories) = SERVED.for_digits(code).expect("a served code");
            for t in territories {
                let _ = compile(t.general.pattern);
                for (_, d) in &t.types {
                    let _ = compile(d.pattern);
                }
                assert!(
                    t.general.lengths.is_empty(),
                    "{}: generalDesc lengths",
                    t.id
                );
            }
            let (texts, _) = &SERVED.by_code[code];
            for text in texts {
                let head = &text[..text.find('>').unwrap()];
                for skipped in [
                    "nationalPrefixForParsing",
                    "leadingDigits",
                    "nationalPrefixTransformRule",
                ] {
                    assert!(
                        !head.contains(skipped),
                        "{code}: {skipped} is not implemented"
                    );
                }
                assert!(!text.contains("\\d"), "{code}: \\d should be written [0-9]");
            }
        }
    }

    #[test]
    fn lengths_read_as_the_crate_reads_them() {
        assert_eq!(lengths("9"), [9]);
        assert_eq!(lengths("8,9"), [8, 9]);
        assert_eq!(lengths("[8-10]"), [8, 9, 10]);
        assert_eq!(lengths("[6-8],10"), [6, 7, 8, 10]);
    }
}
