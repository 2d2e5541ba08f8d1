//! What every chat and alerting format reads from an event: a one-line summary, the important
//! details as labelled facts, and how good or bad the event is. Built from the spec payload
//! (`event_timestamp`, `event_type`, `actor`, the family object), whatever its strings hold;
//! nothing here escapes or cuts (each format does, for its destination).

mod details;

use serde_json::Value;

use details::details;

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
mod tests;
