//! Rotating the stage secret's keys without breaking anything: add a version (`next`: honoured
//! and published, not used for new records), promote it (`current`; the old current becomes
//! `previous`), and retire the previous one once everything made with it has expired.
//!
//! Two steps before a version is used, because each Lambda instance reads the secret once: an
//! instance still on the old secret must already know a version before any instance uses it
//! (a certificate's kid, a session stored under a new key). The ops tool calls these; the rules
//! live here so that the tool and the service agree on them.

use super::secrets::{
    KeyState, SECRET_NAMES, SecretEntry, ServiceSecrets, SigningKeyEntry, fresh_secret,
};
use super::{ConfigError, Limits};
use crate::random::Randomness;

/// What is rotated: the signing keys or one of the versioned secrets.
pub const SIGNING_KEYS: &str = "signingKeys";

/// Slack added to every hold time: clock skew between the operator's machine and verifiers,
/// verifiers' own leeway (60–120 s), and the minutes a deployment takes to reach every instance.
pub const ROTATION_MARGIN_SECS: i64 = 900;

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError::new(msg)
}

fn check_name(name: &str) -> Result<(), ConfigError> {
    if name == SIGNING_KEYS || SECRET_NAMES.contains(&name) {
        Ok(())
    } else {
        Err(err(format!(
            "unknown key name {name:?} (one of {SIGNING_KEYS}, {})",
            SECRET_NAMES.join(", ")
        )))
    }
}

/// How long a previous version must stay honoured after it stopped being current: until the
/// longest-lived thing made with it has expired.
pub fn hold_secs(name: &str, limits: &Limits) -> Result<i64, ConfigError> {
    check_name(name)?;
    let sessions = limits
        .session_ttl_secs
        .max(limits.verified_session_ttl_secs);
    Ok(match name {
        // Certificates it signed.
        SIGNING_KEYS => limits.max_certificate_secs,
        // Sessions are stored under the id's HMAC and sealed with it: they live this long.
        "hawkIdSecret" | "sealSecret" => sessions,
        // A session's bound number, and the limit windows (one day at most) keyed by it.
        "msisdnSecret" => sessions.max(86_400),
        // A pending code.
        "codeSecret" => limits.code_ttl_secs,
        // Only the current version is ever used.
        _ => 0,
    } + ROTATION_MARGIN_SECS)
}

/// What a rotation step did, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    /// The kid or version concerned.
    pub id: String,
    pub summary: String,
}

/// Adds a new version of `name`. It is `next` (published and honoured, not used) when the
/// name already has a current version; the first version of a name (a seal secret added to a
/// secret made before it existed) is current at once.
pub fn add(
    secrets: &mut ServiceSecrets,
    name: &str,
    rng: &dyn Randomness,
) -> Result<Step, ConfigError> {
    check_name(name)?;
    if name == SIGNING_KEYS {
        if secrets
            .signing_keys
            .iter()
            .any(|k| k.state == KeyState::Next)
        {
            return Err(err("signingKeys already has a next key: promote it first"));
        }
        let entry = SigningKeyEntry::fresh(rng, KeyState::Next);
        let id = entry.kid.clone();
        secrets.signing_keys.push(entry);
        return Ok(Step {
            name: name.into(),
            summary: format!(
                "added signing key {id} as next: it is published in the JWKS but signs nothing yet"
            ),
            id,
        });
    }
    let entries = secrets.entries_mut(name).expect("checked");
    if entries.iter().any(|e| e.state == KeyState::Next) {
        return Err(err(format!(
            "{name} already has a next version: promote it first"
        )));
    }
    let version = entries.iter().map(|e| e.version).max().unwrap_or(0) + 1;
    if name == "sealSecret" && version > 255 {
        return Err(err("sealSecret versions end at 255"));
    }
    let state = if entries.is_empty() {
        KeyState::Current
    } else {
        KeyState::Next
    };
    entries.push(SecretEntry {
        version,
        secret: fresh_secret(rng),
        state,
        demoted_at: None,
    });
    let what = match state {
        KeyState::Current => "as current (the first version)",
        _ => "as next: honoured for reading, not used for new records yet",
    };
    Ok(Step {
        name: name.into(),
        id: version.to_string(),
        summary: format!("added {name} version {version} {what}"),
    })
}

/// Makes the `next` version `id` (a kid, or a version number) current; the current one becomes
/// `previous` as of `now` (epoch seconds).
pub fn promote(
    secrets: &mut ServiceSecrets,
    name: &str,
    id: &str,
    now: i64,
) -> Result<Step, ConfigError> {
    check_name(name)?;
    let mut states: Vec<(String, &mut KeyState, &mut Option<i64>)> = states_of(secrets, name);
    let target = states
        .iter()
        .position(|(i, _, _)| i == id)
        .ok_or_else(|| err(format!("{name} has no version {id}")))?;
    if *states[target].1 != KeyState::Next {
        return Err(err(format!(
            "{name} {id} is {:?}, not next: only a next version can be promoted",
            states[target].1
        )));
    }
    let mut demoted = String::new();
    for (i, state, demoted_at) in states.iter_mut() {
        if **state == KeyState::Current {
            **state = KeyState::Previous;
            **demoted_at = Some(now);
            demoted = i.clone();
        }
    }
    *states[target].1 = KeyState::Current;
    Ok(Step {
        name: name.into(),
        id: id.into(),
        summary: format!("{name} {id} is now current; {demoted} is previous as of {now}"),
    })
}

/// Removes the `previous` version `id` once its hold time (see [`hold_secs`]) has passed since
/// it was demoted; `force` removes it anyway (a leaked key: what it made stops verifying).
pub fn retire(
    secrets: &mut ServiceSecrets,
    name: &str,
    id: &str,
    now: i64,
    limits: &Limits,
    force: bool,
) -> Result<Step, ConfigError> {
    let hold = hold_secs(name, limits)?;
    let states = states_of(secrets, name);
    let (_, state, demoted_at) = states
        .iter()
        .find(|(i, _, _)| i == id)
        .ok_or_else(|| err(format!("{name} has no version {id}")))?;
    if **state != KeyState::Previous {
        return Err(err(format!(
            "{name} {id} is {:?}: only a previous version can be retired (promote another first)",
            state
        )));
    }
    let since = demoted_at.unwrap_or(i64::MIN);
    let ready_at = since.saturating_add(hold);
    if now < ready_at && !force {
        return Err(err(format!(
            "{name} {id} must stay until {ready_at} (demoted at {since}, plus {hold} s: what it \
             made may still be in use); retry then, or pass --force if it leaked"
        )));
    }
    drop(states);
    if name == SIGNING_KEYS {
        secrets.signing_keys.retain(|k| k.kid != id);
    } else {
        secrets
            .entries_mut(name)
            .expect("checked")
            .retain(|e| e.version.to_string() != id);
    }
    Ok(Step {
        name: name.into(),
        id: id.into(),
        summary: format!("retired {name} {id}"),
    })
}

/// `(id, state, demotedAt)` of every version of `name`.
fn states_of<'a>(
    secrets: &'a mut ServiceSecrets,
    name: &str,
) -> Vec<(String, &'a mut KeyState, &'a mut Option<i64>)> {
    if name == SIGNING_KEYS {
        secrets
            .signing_keys
            .iter_mut()
            .map(|k| (k.kid.clone(), &mut k.state, &mut k.demoted_at))
            .collect()
    } else {
        secrets
            .entries_mut(name)
            .map(|entries| {
                entries
                    .iter_mut()
                    .map(|e| (e.version.to_string(), &mut e.state, &mut e.demoted_at))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StageTable;
    use crate::random::OsRandomness;

    fn limits() -> Limits {
        StageTable::load("dev").unwrap().limits
    }

    #[test]
    fn a_signing_key_goes_next_current_previous_retired() {
        let mut s = ServiceSecrets::generate(&OsRandomness);
        let old = s.signer().unwrap().kid().to_owned();
        let added = add(&mut s, SIGNING_KEYS, &OsRandomness).unwrap();
        let keys = s.signing_keys().unwrap();
        assert_eq!(keys.kid(), old, "a next key signs nothing");
        assert_eq!(
            keys.jwks()["keys"].as_array().unwrap().len(),
            2,
            "but is published"
        );
        assert!(
            add(&mut s, SIGNING_KEYS, &OsRandomness).is_err(),
            "one next at a time"
        );
        assert!(retire(&mut s, SIGNING_KEYS, &old, 0, &limits(), false).is_err());

        promote(&mut s, SIGNING_KEYS, &added.id, 1_000).unwrap();
        let keys = s.signing_keys().unwrap();
        assert_eq!(keys.kid(), added.id);
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
        let hold = hold_secs(SIGNING_KEYS, &limits()).unwrap();
        assert_eq!(hold, limits().max_certificate_secs + ROTATION_MARGIN_SECS);
        let early = retire(
            &mut s,
            SIGNING_KEYS,
            &old,
            1_000 + hold - 1,
            &limits(),
            false,
        );
        assert!(early.unwrap_err().0.contains("must stay until"));
        retire(&mut s, SIGNING_KEYS, &old, 1_000 + hold, &limits(), false).unwrap();
        let keys = s.signing_keys().unwrap();
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 1);
        // What is left loads as a secret.
        ServiceSecrets::from_json(&s.to_json_pretty()).unwrap();
    }

    #[test]
    fn secrets_rotate_the_same_way_and_force_retires_a_leak() {
        let mut s = ServiceSecrets::generate(&OsRandomness);
        let step = add(&mut s, "msisdnSecret", &OsRandomness).unwrap();
        assert_eq!(step.id, "2");
        assert!(
            promote(&mut s, "msisdnSecret", "1", 5).is_err(),
            "1 is current, not next"
        );
        promote(&mut s, "msisdnSecret", "2", 5).unwrap();
        assert_eq!(s.msisdn_secret[0].state, KeyState::Previous);
        assert_eq!(s.msisdn_secret[0].demoted_at, Some(5));
        assert!(retire(&mut s, "msisdnSecret", "1", 6, &limits(), false).is_err());
        retire(&mut s, "msisdnSecret", "1", 6, &limits(), true).unwrap();
        assert_eq!(s.msisdn_secret.len(), 1);
        assert!(add(&mut s, "nope", &OsRandomness).is_err());
        // A secret without a seal secret gets its first version as current.
        s.seal_secret.clear();
        add(&mut s, "sealSecret", &OsRandomness).unwrap();
        assert_eq!(s.seal_secret[0].state, KeyState::Current);
        s.sealer().unwrap();
    }
}
