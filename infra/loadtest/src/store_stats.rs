//! Store cost per flow, from the server's own request counters (`GET /__store__/stats`, served
//! by the local server when it runs on DynamoDB: `{"reads", "writes", "operations": {…}}`).
//!
//! The counters are server-wide, so a per-flow figure is only exact while nothing else talks
//! to the server; that is why the per-kind phases run one flow at a time before the load.
//! Every numeric field is diffed, so new counters show up without a change here.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Numeric leaves of a JSON document, keyed by their dotted path.
fn flatten(value: &Value, prefix: &str, out: &mut BTreeMap<String, f64>) {
    match value {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(prefix.to_owned(), x);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &key, out);
            }
        }
        _ => {}
    }
}

/// `(after - before) / flows` for every numeric field, rounded to 2 decimals.
pub fn per_flow(before: &Value, after: &Value, flows: u64) -> Map<String, Value> {
    let (mut b, mut a) = (BTreeMap::new(), BTreeMap::new());
    flatten(before, "", &mut b);
    flatten(after, "", &mut a);
    a.into_iter()
        .map(|(k, after)| {
            let delta = after - b.get(&k).copied().unwrap_or(0.0);
            let per = (delta / flows.max(1) as f64 * 100.0).round() / 100.0;
            (k, json!(per))
        })
        .collect()
}

/// One measured phase, as it goes into the summary.
pub fn phase(name: &str, flows: u64, failed: u64, per_flow: Map<String, Value>) -> Value {
    json!({"phase": name, "flows": flows, "failed": failed, "per_flow": per_flow})
}

/// The text lines of the summary's store section.
pub fn render(store: &Value) -> String {
    let mut out = String::new();
    for phase in store.as_array().into_iter().flatten() {
        let fields = phase["per_flow"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<44} ({} flows, {} failed): {}\n",
            phase["phase"].as_str().unwrap_or("?"),
            phase["flows"],
            phase["failed"],
            fields
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_numeric_field_is_diffed_per_flow() {
        let before = json!({"reads": 10, "writes": 4, "operations": {"GetItem": 10, "PutItem": 4}, "table": "x"});
        let after = json!({"reads": 30, "writes": 34, "operations": {"GetItem": 30, "PutItem": 34}, "table": "x"});
        let per = per_flow(&before, &after, 10);
        assert_eq!(per["reads"], json!(2.0));
        assert_eq!(per["writes"], json!(3.0));
        assert_eq!(per["operations.PutItem"], json!(3.0));
        assert!(!per.contains_key("table"));
        let text = render(&json!([phase("sms-mt", 10, 0, per)]));
        assert!(
            text.contains("sms-mt") && text.contains("reads 2.0"),
            "{text}"
        );
    }
}
