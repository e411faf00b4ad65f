//! The release this build is: the tag and commit `GET /` and `/__version__` show.
//!
//! `MOBILEID_RELEASE` / `MOBILEID_COMMIT` / `MOBILEID_BUILD` / `MOBILEID_SOURCE` win when set (the release scripts
//! export them before `sam build`, whose `cargo lambda` may build from a copy of the sources
//! without `.git`); otherwise `git describe --tags` and `git rev-parse HEAD` of the checkout;
//! otherwise the crate version and "unknown". Cargo re-runs this when HEAD or a ref moves, so a
//! new commit or tag is never shown stale.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    for var in [
        "MOBILEID_RELEASE",
        "MOBILEID_COMMIT",
        "MOBILEID_BUILD",
        "MOBILEID_SOURCE",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    // The files that change when HEAD moves or a tag appears (in a worktree, HEAD is in the
    // worktree's git dir and the refs in the common one).
    for (flag, files) in [
        ("--git-dir", &["HEAD"][..]),
        ("--git-common-dir", &["refs", "packed-refs"][..]),
    ] {
        if let Some(dir) = git(&["rev-parse", flag]) {
            for f in files {
                let path = Path::new(&dir).join(f);
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
    let release = env("MOBILEID_RELEASE")
        .or_else(|| git(&["describe", "--tags", "--always"]))
        .unwrap_or_else(|| std::env::var("CARGO_PKG_VERSION").unwrap_or_default());
    let commit = env("MOBILEID_COMMIT")
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let build = env("MOBILEID_BUILD").unwrap_or_else(|| "local".into());
    let source = env("MOBILEID_SOURCE").unwrap_or_else(|| "mobileid".into());
    println!("cargo:rustc-env=MOBILEID_BUILD_SOURCE={source}");
    println!("cargo:rustc-env=MOBILEID_BUILD_RELEASE={release}");
    println!("cargo:rustc-env=MOBILEID_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=MOBILEID_BUILD_ID={build}");
}
