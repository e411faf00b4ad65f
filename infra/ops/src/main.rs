//! `mobileid`: the operator's tool for a Mobile-ID stage. It creates the stage secret, derives
//! the public JWKS from it, checks stage tables before they ship, and verifies certificates.
//! Everything it knows comes from the shared crate (`mobileid::config`, `mobileid::crypto`), so
//! it accepts exactly what the functions accept.

mod cert;
mod hawk;
mod input;
mod secret;
mod stage;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Each example runs as printed from the repository (`mobileid` is this tool's binary name,
/// but it is not on PATH from a checkout). The certificate ones need `infra/run-local.sh`
/// running; `$TOKEN` and `$CERT` come from the README's walk-through.
const EXAMPLES: &str = "\
Examples (from the repository; `cargo install --path infra/ops` puts `mobileid` on PATH):
  # A fresh secret for the dev stack, then its public keys
  cargo run -q -p mobileid-ops -- secret generate --stage dev > secret.json
  cargo run -q -p mobileid-ops -- jwks --secret secret.json

  # A local server whose inbound-SMS webhook checks signatures
  MOBILEID_SECRET_JSON=$(cargo run -q -p mobileid-ops -- secret generate --stage dev --signature-secret s3cret) infra/run-local.sh

  # Rotate the signing key: publish a new one, make it sign, retire the old one a day later
  # (NEW_KID and OLD_KID: the kids `jwks --secret secret.json` lists)
  cargo run -q -p mobileid-ops -- secret add secret.json signingKeys
  cargo run -q -p mobileid-ops -- secret promote secret.json signingKeys \"$NEW_KID\"
  cargo run -q -p mobileid-ops -- secret retire secret.json signingKeys \"$OLD_KID\" --stage production

  # Check a stage table before committing it (a shipped stage by name, or any file)
  cargo run -q -p mobileid-ops -- stage check production
  cargo run -q -p mobileid-ops -- stage check infra/stages/dev.toml

  # Verify a certificate against the keys a stage publishes ($CERT: the answer of
  # /certificate/sign, as is, or the bare token; a file or - works too)
  cargo run -q -p mobileid-ops -- cert verify --jwks http://127.0.0.1:8080/.well-known/jwks.json \"$CERT\"

Exit status: 0 on success, 1 when a check or verification fails, 2 on a usage error.
See docs/deployment.md for where each of these fits in a deployment.";

/// Operates a Mobile-ID stage: its secret, its keys, its stage table, its certificates.
#[derive(Parser, Debug)]
#[command(name = "mobileid", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The stage secret kept in Secrets Manager (signing key, HMAC secrets, Nexmo credentials).
    #[command(subcommand)]
    Secret(SecretCommand),

    /// Prints the public JWKS (every signing key's public half with its kid) of a stage secret.
    ///
    /// This is what the stage serves at /.well-known/jwks.json once the secret is in place.
    #[command(
        after_help = "Example:\n  cargo run -q -p mobileid-ops -- jwks --secret secret.json > jwks.json"
    )]
    Jwks {
        /// The secret JSON: a file, or `-` for standard input.
        #[arg(long, value_name = "FILE|-")]
        secret: String,
    },

    /// Stage tables (infra/stages/*.toml): countries, SMS providers, limits.
    #[command(subcommand)]
    Stage(StageCommand),

    /// Identity certificates issued by POST /v1/certificate/sign.
    #[command(subcommand)]
    Cert(CertCommand),

    /// Prints the Hawk Authorization header a device would send, to try the API with curl.
    #[command(
        after_help = "Example (TOKEN from POST /v1/msisdn/register):\n  curl -X POST http://127.0.0.1:8080/v1/msisdn/unregister -H \"Authorization: $(cargo run -q -p mobileid-ops -- hawk-header --token $TOKEN --url http://127.0.0.1:8080/v1/msisdn/unregister)\""
    )]
    HawkHeader {
        /// The msisdnSessionToken returned by POST /v1/msisdn/register (64 hex characters).
        #[arg(long)]
        token: String,
        /// The request's HTTP method.
        #[arg(long, default_value = "POST")]
        method: String,
        /// The request's full URL (scheme, host, port, path and query are signed).
        #[arg(long)]
        url: Option<String>,
        /// The JSON body, bound into the header as a payload hash (send exactly these bytes).
        #[arg(long)]
        body: Option<String>,
        /// Print the Hawk id instead (the device texts "/v1/msisdn/sms/momt/verify <id>").
        #[arg(long)]
        print_id: bool,
    },
}

#[derive(Subcommand, Debug)]
enum SecretCommand {
    /// Prints a fresh stage secret (JSON) on standard output; what to do next goes to stderr.
    ///
    /// The secret holds a new P-256 signing key and new random HMAC secrets. The Nexmo
    /// credentials are left empty for the operator to fill in from the Nexmo dashboard.
    #[command(
        after_help = "Examples:\n  cargo run -q -p mobileid-ops -- secret generate --stage dev > secret.json\n  MOBILEID_SECRET_JSON=$(cargo run -q -p mobileid-ops -- secret generate --stage dev --signature-secret s3cret) infra/run-local.sh"
    )]
    Generate {
        /// The stage the secret is for: dev, load-stage, production or real-stage.
        #[arg(long)]
        stage: String,
        /// The webhook signature secret (nexmo.signatureSecret) to put in, e.g. to try signed
        /// callbacks on a local server; otherwise left for the operator to fill in.
        #[arg(long)]
        signature_secret: Option<String>,
        /// Its method (nexmo.signatureMethod): md5hash, md5, sha1, sha256 or sha512.
        #[arg(long, default_value = "sha256", requires = "signature_secret")]
        signature_method: String,
    },

    /// Adds a new version of a key as `next`: published and honoured, not used yet (a name
    /// with no version yet, such as sealSecret in an old secret, gets it as current).
    ///
    /// NAME is signingKeys, hawkIdSecret, msisdnSecret, codeSecret, principalSecret or
    /// sealSecret. The file is rewritten in place.
    #[command(
        after_help = "Example:\n  cargo run -q -p mobileid-ops -- secret add secret.json signingKeys"
    )]
    Add {
        #[arg(value_name = "FILE")]
        secret: String,
        #[arg(value_name = "NAME")]
        name: String,
    },

    /// Makes the next version current; the current one becomes previous (still honoured).
    #[command(
        after_help = "Example:\n  cargo run -q -p mobileid-ops -- secret promote secret.json msisdnSecret 2"
    )]
    Promote {
        #[arg(value_name = "FILE")]
        secret: String,
        #[arg(value_name = "NAME")]
        name: String,
        /// The kid (signingKeys) or version number to promote.
        #[arg(value_name = "KID|VERSION")]
        id: String,
    },

    /// Removes a previous version once everything made with it has expired (the stage's
    /// limits say how long: certificates for signingKeys, sessions for hawkIdSecret, …).
    #[command(
        after_help = "Example:\n  cargo run -q -p mobileid-ops -- secret retire secret.json signingKeys \"$OLD_KID\" --stage production"
    )]
    Retire {
        #[arg(value_name = "FILE")]
        secret: String,
        #[arg(value_name = "NAME")]
        name: String,
        #[arg(value_name = "KID|VERSION")]
        id: String,
        /// The stage whose limits (certificate and session lifetimes) decide the wait.
        #[arg(long)]
        stage: String,
        /// Retire it now: for a leaked key (what it signed or sealed stops verifying or opening).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
enum StageCommand {
    /// Loads and validates a stage table and prints a summary; fails with the reason otherwise.
    #[command(
        after_help = "Examples:\n  cargo run -q -p mobileid-ops -- stage check dev\n  cargo run -q -p mobileid-ops -- stage check infra/stages/dev.toml"
    )]
    Check {
        /// A shipped stage's name (dev, load-stage, production, real-stage) or a .toml file.
        #[arg(value_name = "NAME|FILE")]
        stage: String,
    },
}

#[derive(Subcommand, Debug)]
enum CertCommand {
    /// Verifies an ES256 certificate's signature against a JWKS and prints its header and claims.
    ///
    /// Fails (exit 1) when the signature does not verify, no key has the certificate's kid, or the
    /// certificate has expired (unless --ignore-expiry).
    #[command(
        after_help = "Example (CERT: the answer of /certificate/sign, as is):\n  cargo run -q -p mobileid-ops -- cert verify --jwks http://127.0.0.1:8080/.well-known/jwks.json \"$CERT\""
    )]
    Verify {
        /// The keys: a JWKS file ({"keys": [...]}), a /.well-known/browserid document, or an
        /// https:// URL serving either (plain http:// only to a loopback address).
        #[arg(long, value_name = "FILE|URL")]
        jwks: String,
        /// The certificate (JWS compact form, or the {"cert": ...} answer of /certificate/sign,
        /// a trailing HTTP status allowed): the text itself, a file, or `-` for standard input.
        #[arg(value_name = "CERT|FILE|-")]
        cert: String,
        /// Accept a certificate whose `exp` has passed (to inspect old certificates).
        #[arg(long)]
        ignore_expiry: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Secret(SecretCommand::Generate {
            stage,
            signature_secret,
            signature_method,
        }) => secret::generate(&stage, signature_secret.map(|s| (s, signature_method))),
        Command::Secret(SecretCommand::Add { secret, name }) => {
            secret::rotate(&secret, &name, secret::Rotation::Add)
        }
        Command::Secret(SecretCommand::Promote { secret, name, id }) => {
            secret::rotate(&secret, &name, secret::Rotation::Promote(&id))
        }
        Command::Secret(SecretCommand::Retire {
            secret,
            name,
            id,
            stage,
            force,
        }) => secret::rotate(
            &secret,
            &name,
            secret::Rotation::Retire {
                id: &id,
                stage: &stage,
                force,
            },
        ),
        Command::Jwks { secret } => secret::jwks(&secret),
        Command::Stage(StageCommand::Check { stage }) => stage::check(&stage),
        Command::Cert(CertCommand::Verify {
            jwks,
            cert,
            ignore_expiry,
        }) => cert::verify(&jwks, &cert, ignore_expiry),
        Command::HawkHeader {
            token,
            method,
            url,
            body,
            print_id,
        } => hawk::header(&token, &method, url.as_deref(), body.as_deref(), print_id),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mobileid: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every example line of every help text parses as this tool's command line: an example
    /// that names a removed flag or the wrong binary fails here.
    #[test]
    fn the_examples_run_as_printed() {
        let mut texts = vec![EXAMPLES.to_owned()];
        let cli = Cli::command();
        let mut stack = vec![cli];
        while let Some(cmd) = stack.pop() {
            if let Some(help) = cmd.get_after_help() {
                texts.push(help.to_string());
            }
            stack.extend(cmd.get_subcommands().cloned());
        }
        let prefix = "cargo run -q -p mobileid-ops -- ";
        let mut checked = 0;
        for text in &texts {
            assert!(
                !text.contains("\n  mobileid "),
                "an example calls `mobileid`: {text}"
            );
            for line in text.lines() {
                let Some(start) = line.find(prefix) else {
                    continue;
                };
                let rest = &line[start + prefix.len()..];
                let rest = rest.split([')', '>', '<']).next().unwrap();
                let args: Vec<String> = rest
                    .split_whitespace()
                    .map(|a| a.trim_matches('"').to_owned())
                    .filter(|a| !a.is_empty() && a != "\\")
                    .collect();
                let parsed =
                    Cli::try_parse_from(std::iter::once("mobileid".to_owned()).chain(args));
                assert!(parsed.is_ok(), "{line}: {:?}", parsed.err());
                checked += 1;
            }
        }
        assert!(checked >= 9, "only {checked} examples found");
    }
}
