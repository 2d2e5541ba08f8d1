//! The details of an event as labelled facts: the keys each family shows first, then the
//! object's other plain fields in its order, small nested objects on one line.

use serde_json::{Map, Value};

use super::{device_name, text};

/// The keys shown first, per family, with their labels.
fn first_keys(family: &str) -> &'static [(&'static str, &'static str)] {
    match family {
        "job" => &[
            ("id", "Job"),
            ("type", "Type"),
            ("status", "Status"),
            ("error", "Error"),
            ("message", "Message"),
            ("requested_at", "Requested"),
            ("started_at", "Started"),
            ("finished_at", "Finished"),
        ],
        "device" => &[
            ("hostname", "Device"),
            ("name", "Device"),
            ("device", "Device"),
            ("status", "Status"),
            ("previous_status", "Previous status"),
            ("ip_address", "Address"),
            ("management_ip", "Address"),
            ("platform", "Platform"),
            ("site", "Site"),
        ],
        "config" => &[
            ("device", "Device"),
            ("hostname", "Device"),
            ("backup_id", "Backup"),
            ("job_id", "Job"),
            ("lines_added", "Lines added"),
            ("lines_removed", "Lines removed"),
            ("diff_summary", "Change"),
        ],
        "compliance" => &[
            ("device", "Device"),
            ("hostname", "Device"),
            ("rule", "Rule"),
            ("severity", "Severity"),
            ("description", "Description"),
            ("policy", "Policy"),
            ("violations", "Violations"),
            ("passed", "Passed"),
            ("failed", "Failed"),
        ],
        "webhook" => &[
            ("name", "Webhook"),
            ("id", "Webhook id"),
            ("message", "Message"),
        ],
        _ => &[],
    }
}

/// A key as a label: `device_count` → `Device count`.
fn label(key: &str) -> String {
    let spaced = key.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A small object as one line: `backed_up: 5, failed: 0`.
fn inline(map: &Map<String, Value>) -> Option<String> {
    let parts: Vec<String> = map
        .iter()
        .filter_map(|(k, v)| text(v).map(|t| format!("{k}: {t}")))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

pub(super) fn details(family: &str, obj: &Value) -> Vec<(String, String)> {
    let Value::Object(map) = obj else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut used: Vec<&str> = Vec::new();
    for (key, lbl) in first_keys(family) {
        if out.iter().any(|(l, _)| l == lbl) {
            continue;
        }
        let value = match map.get(*key) {
            Some(Value::Object(inner)) if *key == "device" => {
                device_name(&Value::Object(inner.clone()))
            }
            Some(v) => text(v),
            None => None,
        };
        if let Some(v) = value {
            out.push((lbl.to_string(), v));
            used.push(key);
        }
    }
    if family == "job" {
        if let Some(n) = obj["target_summary"]["device_count"].as_u64() {
            out.push(("Devices".into(), n.to_string()));
        }
        if let Value::Object(r) = &obj["result_summary"] {
            if let Some(line) = inline(r) {
                out.push(("Result".into(), line));
            }
        }
        used.extend(["target_summary", "result_summary"]);
    }
    // The object's other plain fields, in its order, and small nested objects on one line.
    for (k, v) in map {
        if used.contains(&k.as_str()) {
            continue;
        }
        let value = match v {
            Value::Object(inner) => inline(inner),
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().filter_map(text).collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }
            other => text(other),
        };
        if let Some(value) = value {
            out.push((label(k), value));
        }
    }
    out
}
