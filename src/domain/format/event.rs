//! What every chat and alerting format reads from an event: a one-line summary, the important
//! details as labelled facts, and how good or bad the event is. Built from the spec payload
//! (`event_timestamp`, `event_type`, `actor`, the family object), whatever its strings hold;
//! nothing here escapes or cuts (each format does, for its destination).

use serde_json::{Map, Value};

/// How an event reads at a glance: colour of a card, severity of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Something finished well: a job completed, a check passed.
    Good,
    /// Worth a look: a change, drift, a check with findings.
    Warning,
    /// Something failed or is in violation.
    Bad,
    /// Neither: created, started, updated, a test.
    Neutral,
}

impl Tone {
    /// The colour chat cards use for it (Slack's palette): green, amber, red, blue.
    pub fn rgb(self) -> u32 {
        match self {
            Tone::Good => 0x2EB67D,
            Tone::Warning => 0xECB22E,
            Tone::Bad => 0xE01E5A,
            Tone::Neutral => 0x36C5F0,
        }
    }

    /// A sign for text-only messages, so the tone reads at a glance without colour.
    pub fn emoji(self) -> &'static str {
        match self {
            Tone::Good => "✅",
            Tone::Warning => "⚠️",
            Tone::Bad => "🔴",
            Tone::Neutral => "ℹ️",
        }
    }
}

/// PagerDuty's severities, also used to order how loud a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// A severity as platforms name it (`critical`, `high`, `major`, `warning`, `low`, …).
    pub fn from_word(word: &str) -> Option<Severity> {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" | "crit" | "emergency" | "fatal" | "p1" => Some(Severity::Critical),
            "error" | "high" | "major" | "err" | "p2" => Some(Severity::Error),
            "warning" | "warn" | "medium" | "moderate" | "minor" | "p3" => Some(Severity::Warning),
            "info" | "low" | "informational" | "notice" | "p4" | "p5" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// An event as the formats see it.
#[derive(Debug, Clone)]
pub struct EventView<'a> {
    pub event: &'a Value,
    /// `job.failed`; `event` when missing.
    pub event_type: &'a str,
    /// `job`, `device`, `config`, `compliance`, `webhook`.
    pub family: &'a str,
    /// What happened: `failed`, `status_changed`, …
    pub action: &'a str,
    pub timestamp: &'a str,
    /// The actor's username (or id), when the event has one.
    pub actor: Option<String>,
    /// The family object (`{}` when missing).
    pub object: &'a Value,
    /// One readable line: "job 123 config_backup failed on 5 devices".
    pub summary: String,
    /// The important details first (job id/type/status, device, rule, severity,
    /// description, …), then the object's other plain fields: (label, value).
    pub details: Vec<(String, String)>,
    pub tone: Tone,
    pub severity: Severity,
}

static EMPTY: Value = Value::Null;

impl<'a> EventView<'a> {
    pub fn new(event: &'a Value) -> EventView<'a> {
        let event_type = event["event_type"].as_str().unwrap_or("event");
        let (family, action) = event_type.split_once('.').unwrap_or((event_type, ""));
        let object = match &event[family] {
            v @ Value::Object(_) => v,
            _ => &EMPTY,
        };
        let actor = match &event["actor"] {
            Value::Object(a) => text(&a.get("username").cloned().unwrap_or(Value::Null))
                .or_else(|| a.get("id").and_then(text_ref)),
            _ => None,
        };
        let tone = tone(family, action, object);
        EventView {
            event,
            event_type,
            family,
            action,
            timestamp: event["event_timestamp"].as_str().unwrap_or(""),
            actor,
            object,
            summary: summary(event_type, family, action, object),
            details: details(family, object),
            tone,
            severity: severity(family, action, object, tone),
        }
    }

    /// A detail's value by its label, for formats that place some details apart.
    pub fn detail(&self, label: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }

    /// "job.failed · 2025-12-02T01:00:00Z · by admin": what, when, who.
    pub fn context_line(&self) -> String {
        let mut parts = vec![self.event_type.to_string()];
        if !self.timestamp.is_empty() {
            parts.push(self.timestamp.to_string());
        }
        if let Some(a) = &self.actor {
            parts.push(format!("by {a}"));
        }
        parts.join(" · ")
    }
}

/// A plain value as text: strings (non-empty), numbers, booleans.
fn text_ref(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    text_ref(v)
}

/// The device an event is about, by the names webnet objects use (also inside a `device`
/// object).
pub fn device_name(obj: &Value) -> Option<String> {
    ["hostname", "device_name", "name", "device"]
        .iter()
        .find_map(|k| match &obj[*k] {
            Value::Object(_) => device_name(&obj[*k]),
            v => text(v),
        })
}

fn summary(event_type: &str, family: &str, action: &str, obj: &Value) -> String {
    let on = device_name(obj)
        .map(|d| format!(" on {d}"))
        .unwrap_or_default();
    let named = |prefix: &str| {
        device_name(obj)
            .map(|d| format!("{prefix} {d}"))
            .unwrap_or_else(|| prefix.to_string())
    };
    match family {
        "job" => {
            let id = text(&obj["id"])
                .map(|i| format!(" {i}"))
                .unwrap_or_default();
            let kind = text(&obj["type"])
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            let devices = obj["target_summary"]["device_count"]
                .as_u64()
                .map(|n| format!(" on {n} device{}", if n == 1 { "" } else { "s" }))
                .unwrap_or(on);
            format!("job{id}{kind} {action}{devices}")
        }
        "device" => match action {
            "status_changed" => {
                let status = text(&obj["status"])
                    .map(|s| format!(" to {s}"))
                    .unwrap_or_default();
                format!("{} status changed{status}", named("device"))
            }
            other => format!("{} {other}", named("device")),
        },
        "config" => match action {
            "backup_created" => format!("configuration backup taken{on}"),
            "changed" => format!("configuration drift detected{on}"),
            "deployed" => format!("configuration deployed{on}"),
            other => format!("config {other}{on}"),
        },
        "compliance" => match action {
            "violation_detected" => {
                let rule = text(&obj["rule"])
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                format!("compliance violation{on}{rule}")
            }
            "check_completed" => format!("compliance check completed{on}"),
            other => format!("compliance {other}{on}"),
        },
        "webhook" => format!(
            "test event from webnet{}: this webhook works",
            text(&obj["name"])
                .map(|n| format!(" for {n}"))
                .unwrap_or_default()
        ),
        _ => event_type.to_string(),
    }
}

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

fn details(family: &str, obj: &Value) -> Vec<(String, String)> {
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

fn status_is_bad(status: &str) -> bool {
    matches!(
        status.to_ascii_lowercase().as_str(),
        "down" | "unreachable" | "offline" | "failed" | "failure" | "error" | "critical" | "lost"
    )
}

fn tone(family: &str, action: &str, obj: &Value) -> Tone {
    let status = obj["status"].as_str().unwrap_or("");
    match (family, action) {
        ("job", "failed") | ("compliance", "violation_detected") => Tone::Bad,
        ("job", "completed") if status_is_bad(status) => Tone::Bad,
        ("job", "completed") => Tone::Good,
        ("device", "status_changed") if status_is_bad(status) => Tone::Bad,
        ("device", "status_changed") => Tone::Good,
        ("device", "deleted") | ("config", "changed") => Tone::Warning,
        ("config", "deployed") | ("config", "backup_created") => Tone::Good,
        ("compliance", "check_completed") => {
            let found = obj["violations"].as_u64().or(obj["failed"].as_u64());
            if found.is_some_and(|n| n > 0) {
                Tone::Warning
            } else {
                Tone::Good
            }
        }
        _ => Tone::Neutral,
    }
}

fn severity(family: &str, action: &str, obj: &Value, tone: Tone) -> Severity {
    if let Some(s) = obj["severity"].as_str().and_then(Severity::from_word) {
        return s;
    }
    match (family, action, tone) {
        ("device", "status_changed", Tone::Bad) => Severity::Critical,
        (_, _, Tone::Bad) => Severity::Error,
        (_, _, Tone::Warning) => Severity::Warning,
        _ => Severity::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(t: &str, obj: Value) -> Value {
        let family = t.split('.').next().unwrap();
        let mut e = json!({"event_timestamp": "2025-12-02T01:00:00Z", "event_type": t,
            "actor": {"id": 1, "username": "admin"}});
        e[family] = obj;
        e
    }

    #[test]
    fn summaries_details_and_tone() {
        let e = event(
            "job.failed",
            json!({"id": 123, "type": "config_backup", "status": "failed",
                   "target_summary": {"device_count": 5}, "result_summary": {"backed_up": 3, "failed": 2}}),
        );
        let v = EventView::new(&e);
        assert_eq!(v.summary, "job 123 config_backup failed on 5 devices");
        assert_eq!(v.tone, Tone::Bad);
        assert_eq!(v.severity, Severity::Error);
        assert_eq!(v.detail("Job"), Some("123"));
        assert_eq!(v.detail("Devices"), Some("5"));
        assert_eq!(v.detail("Result"), Some("backed_up: 3, failed: 2"));
        assert_eq!(
            v.context_line(),
            "job.failed · 2025-12-02T01:00:00Z · by admin"
        );

        let e = event(
            "compliance.violation_detected",
            json!({"device": "core-sw-1", "rule": "ntp-server", "severity": "high",
                   "description": "NTP server not configured"}),
        );
        let v = EventView::new(&e);
        assert_eq!(v.summary, "compliance violation on core-sw-1 (ntp-server)");
        assert_eq!(v.severity, Severity::Error, "high reads as error");
        assert_eq!(v.detail("Description"), Some("NTP server not configured"));
        assert_eq!(v.detail("Severity"), Some("high"));

        let e = event(
            "device.status_changed",
            json!({"hostname": "edge-2", "status": "unreachable"}),
        );
        let v = EventView::new(&e);
        assert_eq!(v.summary, "device edge-2 status changed to unreachable");
        assert_eq!((v.tone, v.severity), (Tone::Bad, Severity::Critical));
    }

    #[test]
    fn odd_events_still_have_a_summary() {
        for e in [
            json!({}),
            json!({"event_type": 5}),
            json!({"event_type": "job.failed", "job": [1]}),
        ] {
            let v = EventView::new(&e);
            assert!(!v.summary.is_empty());
        }
    }
}
