//! `secret generate`, `secret add|promote|retire` and `jwks`: the stage secret, the rotation of
//! its keys, and the public keys derived from it.

use std::time::{SystemTime, UNIX_EPOCH};

use mobileid::config::rotation::{self, Step};
use mobileid::config::{ServiceSecrets, StageTable};
use mobileid::random::{OsRandomness, random_array};

use crate::input::read_text;

/// Prints a fresh secret for `stage` on stdout and the operator's next steps on stderr (so that
/// `> secret.json` captures only the JSON).
/// With `signature`, the webhook signature secret and method are set to it (a local server
/// then checks callbacks the way a Lambda does).
pub fn generate(stage: &str, signature: Option<(String, String)>) -> Result<(), String> {
    // The stage table says whether the operator has Nexmo credentials to add.
    let table = StageTable::load(stage).map_err(|e| e.to_string())?;
    let uses_nexmo = table.sms_providers.iter().any(|p| p == "nexmo");
    let mut secrets = ServiceSecrets::generate(&OsRandomness);
    if let Some((secret, method)) = signature {
        if secret.trim().is_empty() {
            return Err("--signature-secret must not be empty".into());
        }
        secrets.nexmo.signature_secret = secret;
        secrets.nexmo.signature_method = method;
    } else if !uses_nexmo {
        // Every function refuses to start without a webhook signature secret. Where Nexmo is
        // not used nobody legitimately signs callbacks, so a random one locks the webhook; a
        // load test that simulates Nexmo reads it from the stored secret.
        secrets.nexmo.signature_secret = hex::encode(random_array::<32>(&OsRandomness));
        secrets.nexmo.signature_method = "sha256".into();
    }
    let kid = secrets
        .signer()
        .map_err(|e| e.to_string())?
        .kid()
        .to_owned();
    println!("{}", secrets.to_json_pretty());
    eprintln!("{}", next_steps(stage, &kid, uses_nexmo));
    Ok(())
}

fn next_steps(stage: &str, kid: &str, uses_nexmo: bool) -> String {
    let stack = format!("mobileid-{stage}");
    let nexmo = if uses_nexmo {
        format!(
            "  1. Fill in nexmo.apiKey, nexmo.apiSecret, nexmo.signatureSecret and\n     \
             nexmo.signatureMethod (md5hash, md5, sha1, sha256 or sha512, as set for the account)\n     \
             from the account's API settings in the Nexmo/Vonage dashboard: stage {stage} sends\n     \
             SMS through Nexmo.\n"
        )
    } else {
        format!(
            "  1. Stage {stage} sends no SMS through Nexmo: the API key stays empty, and the webhook\n     \
             signature secret is a random one (sha256) that only a simulated Nexmo uses.\n"
        )
    };
    format!(
        "Generated a secret for stage {stage}; its signing key has kid {kid}.\n\
         Next:\n\
         {nexmo}  \
         2. Store it as the value of the stage's secret (stack output ServiceSecretArn):\n       \
         arn=$(aws cloudformation describe-stacks --stack-name {stack} \\\n         \
         --query \"Stacks[0].Outputs[?OutputKey=='ServiceSecretArn'].OutputValue\" --output text)\n       \
         aws secretsmanager put-secret-value --secret-id \"$arn\" --secret-string file://secret.json\n  \
         3. Delete the local copy (shred -u secret.json). Functions read the secret once per cold\n     \
         start; docs/deployment.md says how to make running ones pick up a new value, and how\n     \
         to rotate a key (secret add, promote, retire) without breaking sessions or certificates."
    )
}

/// Prints `{"keys": [...]}` for the secret at `source`: every key not yet retired, the current
/// one first (what the stage serves at /.well-known/jwks.json).
pub fn jwks(source: &str) -> Result<(), String> {
    let text = read_text(source, "secret")?;
    let secrets = ServiceSecrets::from_json(&text).map_err(|e| e.to_string())?;
    let keys = secrets.signing_keys().map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::to_string_pretty(&keys.jwks()).expect("JSON values serialise")
    );
    Ok(())
}

/// One rotation step on the secret file at `path`, written back in place.
pub enum Rotation<'a> {
    Add,
    Promote(&'a str),
    Retire {
        id: &'a str,
        stage: &'a str,
        force: bool,
    },
}

pub fn rotate(path: &str, name: &str, step: Rotation<'_>) -> Result<(), String> {
    let text = read_text(path, "secret")?;
    let mut secrets = ServiceSecrets::from_json(&text).map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let done: Step = match step {
        Rotation::Add => rotation::add(&mut secrets, name, &OsRandomness),
        Rotation::Promote(id) => rotation::promote(&mut secrets, name, id, now),
        Rotation::Retire { id, stage, force } => {
            let limits = StageTable::load(stage).map_err(|e| e.to_string())?.limits;
            rotation::retire(&mut secrets, name, id, now, &limits, force)
        }
    }
    .map_err(|e| e.to_string())?;
    // What is written must load: the functions would refuse to start otherwise.
    let json = secrets.to_json_pretty();
    ServiceSecrets::from_json(&json).map_err(|e| format!("refusing to write: {e}"))?;
    write_in_place(path, &json)?;
    eprintln!("{}; {path} updated.", done.summary);
    eprintln!(
        "Next: put it in Secrets Manager and refresh every function (docs/deployment.md, \
         \"Rotating keys\"), then shred {path}."
    );
    Ok(())
}

/// Replaces `path` with `contents` (owner-only permissions, renamed into place).
fn write_in_place(path: &str, contents: &str) -> Result<(), String> {
    if path == "-" {
        return Err("a rotation rewrites its secret file: give a path, not -".into());
    }
    let tmp = format!("{path}.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = |file: &mut std::fs::File| {
        std::io::Write::write_all(file, contents.as_bytes())
            .and_then(|()| std::io::Write::write_all(file, b"\n"))
    };
    options
        .open(&tmp)
        .and_then(|mut file| write(&mut file))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {path}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_mention_nexmo_only_where_it_is_used() {
        let dev = next_steps("dev", "KID", true);
        assert!(
            dev.contains("nexmo.signatureSecret") && dev.contains("mobileid-dev"),
            "{dev}"
        );
        let load = next_steps("load-stage", "KID", false);
        assert!(
            load.contains("random one") && !load.contains("nexmo.signatureSecret"),
            "{load}"
        );
    }
}
