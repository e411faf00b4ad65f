//! Extracts the verification snippets of docs/relying-parties.md (each fenced block after a
//! `<!-- verify: LANG -->` line) into OUT_DIR, where tests/relying_parties.rs runs them: the
//! code relying parties copy is the code CI runs.

use std::path::Path;

const DOC: &str = "../../docs/relying-parties.md";

fn main() {
    println!("cargo:rerun-if-changed={DOC}");
    let doc = std::fs::read_to_string(DOC).expect("docs/relying-parties.md is readable");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (lang, file) in [
        ("rust", "verify.rs"),
        ("python", "verify.py"),
        ("node", "verify.mjs"),
    ] {
        let code = snippet(&doc, lang)
            .unwrap_or_else(|| panic!("{DOC} has no fenced block after `<!-- verify: {lang} -->`"));
        std::fs::write(Path::new(&out).join(file), code).expect("OUT_DIR is writable");
    }
}

/// The body of the first fenced block after the marker line.
fn snippet(doc: &str, lang: &str) -> Option<String> {
    let marker = format!("<!-- verify: {lang} -->");
    let mut lines = doc.lines().skip_while(|l| l.trim() != marker).skip(1);
    lines.find(|l| l.starts_with("```"))?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    Some(body.join("\n") + "\n")
}
