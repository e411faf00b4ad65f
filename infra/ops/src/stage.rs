//! `stage check`: loads a stage table exactly as the functions do and summarises it, so that a
//! reviewer sees what a change to `infra/stages/*.toml` means before it ships.

use std::fmt::Write;
use std::path::Path;

use mobileid::config::StageTable;

pub fn check(arg: &str) -> Result<(), String> {
    let table = load(arg)?;
    print!("{}", summary(&table));
    Ok(())
}

/// A shipped stage by name (the copy compiled into this build, as the functions load it),
/// otherwise a file.
fn load(arg: &str) -> Result<StageTable, String> {
    let is_file = Path::new(arg).is_file();
    if !is_file && StageTable::known_stages().any(|s| s == arg) {
        return StageTable::load(arg).map_err(|e| e.to_string());
    }
    if !is_file {
        let known: Vec<_> = StageTable::known_stages().collect();
        return Err(format!(
            "{arg} is neither a stage ({}) nor a file",
            known.join(", ")
        ));
    }
    let text = std::fs::read_to_string(arg).map_err(|e| format!("cannot read {arg}: {e}"))?;
    let table = StageTable::parse(&text).map_err(|e| format!("{arg}: {e}"))?;
    // A shipped file must describe its own stage (the functions refuse it otherwise).
    let stem = Path::new(arg)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("");
    if StageTable::known_stages().any(|s| s == stem) && table.stage != stem {
        return Err(format!(
            "{arg}: the file of stage {stem} says stage = {:?}",
            table.stage
        ));
    }
    Ok(table)
}

fn summary(t: &StageTable) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "stage {}: OK", t.stage);
    let _ = writeln!(
        w,
        "SMS providers (in failover order): {}",
        t.sms_providers.join(", ")
    );
    let mo = t
        .senders
        .mo_default
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("(SMS-MO flow off)");
    let _ = writeln!(
        w,
        "senders: MT default {}, {} MT overrides; MO default {mo}, {} MO overrides",
        t.senders.mt_default,
        t.senders.mt.len(),
        t.senders.mo.len()
    );
    let mcc_count: usize = t.countries.iter().map(|c| c.mccs.len()).sum();
    let _ = writeln!(w, "countries: {} ({mcc_count} MCCs)", t.countries.len());
    for c in &t.countries {
        let _ = writeln!(
            w,
            "  {:<16} regions {:<28} MCCs {}  (daily SMS cap {})",
            c.name,
            c.regions.join(" "),
            c.mccs.join(" "),
            t.daily_cap(c)
        );
    }
    match &t.others {
        Some(o) => {
            let _ = writeln!(
                w,
                "  {:<16} every other country, through {} (daily SMS cap {} per country, {} in all)",
                "Others",
                o.sms_providers.join(", "),
                o.daily_sms_cap,
                o.daily_sms_cap_total
            );
        }
        None => {
            let _ = writeln!(
                w,
                "  (no catch-all: numbers of other countries are refused)"
            );
        }
    }
    let _ = writeln!(
        w,
        "test numbers (fixed codes, never sent): {}",
        t.test_numbers.len()
    );
    let _ = writeln!(w, "limits:");
    for line in limit_lines(t) {
        let _ = writeln!(w, "  {line}");
    }
    out
}

/// `name = value` per limit, from the Debug form so that a newly added limit shows up here
/// without anyone remembering to list it.
fn limit_lines(t: &StageTable) -> Vec<String> {
    format!("{:#?}", t.limits)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').split_once(": "))
        .map(|(name, value)| format!("{name} = {value}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_countries_and_every_limit() {
        let dev = StageTable::load("dev").unwrap();
        let text = summary(&dev);
        assert!(text.starts_with("stage dev: OK\n"), "{text}");
        assert!(
            text.contains("Spain") && text.contains("MCCs 214"),
            "{text}"
        );
        assert!(text.contains("code_ttl_secs = 600"), "{text}");
        assert!(text.contains("sms_per_country_per_day = "), "{text}");
    }

    #[test]
    fn unknown_names_are_explained() {
        let err = load("no-such-stage").unwrap_err();
        assert!(
            err.contains("neither a stage") && err.contains("production"),
            "{err}"
        );
    }
}
