//! `infra/run-local.sh --help` answers without compiling, from its own copy of the options:
//! this keeps that copy in step with mobileid-local's command line.

use std::process::Command;

use clap::CommandFactory;
use mobileid_local::Args;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../run-local.sh");

#[test]
fn run_local_help_lists_every_option_and_needs_no_cargo() {
    // No cargo on PATH: the help must not need it (a fresh clone would compile for minutes).
    let out = Command::new("bash")
        .arg(SCRIPT)
        .arg("--help")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("bash runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(help.starts_with("Usage: infra/run-local.sh"), "{help}");
    let command = Args::command();
    let mut checked = 0;
    for arg in command.get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                help.contains(&format!("--{long}")),
                "--{long} missing from:\n{help}"
            );
            checked += 1;
        }
        if let Some(env) = arg.get_env() {
            let env = env.to_string_lossy();
            assert!(help.contains(&*env), "{env} missing from:\n{help}");
        }
    }
    assert!(checked >= 2, "{checked}");
}
