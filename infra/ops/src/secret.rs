//! `secret generate` and `jwks`: the stage secret and the public keys derived from it.

use mobileid::config::{ServiceSecrets, StageTable};
use mobileid::random::{OsRandomness, random_array};
use serde_json::json;

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
         start; docs/deployment.md says how to make running ones pick up a new value.\n\
         Replacing the signing key makes certificates signed with the old one fail to verify."
    )
}

/// Prints `{"keys": [<public JWK with kid>]}` for the secret at `source`.
pub fn jwks(source: &str) -> Result<(), String> {
    let text = read_text(source, "secret")?;
    let secrets = ServiceSecrets::from_json(&text).map_err(|e| e.to_string())?;
    let signer = secrets.signer().map_err(|e| e.to_string())?;
    let jwks = json!({"keys": [signer.public_jwk()]});
    println!(
        "{}",
        serde_json::to_string_pretty(&jwks).expect("JSON values serialise")
    );
    Ok(())
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
