//! Payload formats. `json` is the spec's payload, byte for byte. `slack` and `teams` turn the
//! same event into a chat message (Slack `text` + `blocks`; a Teams MessageCard) with a readable
//! summary, for incoming-webhook URLs. Pure and deterministic: every attempt sends the same bytes.

use std::fmt;

use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadFormat {
    #[default]
    Json,
    Slack,
    Teams,
}

impl PayloadFormat {
    pub fn parse(s: &str) -> Option<PayloadFormat> {
        match s {
            "json" => Some(PayloadFormat::Json),
            "slack" => Some(PayloadFormat::Slack),
            "teams" => Some(PayloadFormat::Teams),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PayloadFormat::Json => "json",
            PayloadFormat::Slack => "slack",
            PayloadFormat::Teams => "teams",
        }
    }

    /// The format an incoming-webhook URL expects: Slack's and Teams' are recognised.
    pub fn detect(host: &str, path: &str) -> PayloadFormat {
        let host = host.to_ascii_lowercase();
        if host == "hooks.slack.com" && path.starts_with("/services/") {
            PayloadFormat::Slack
        } else if (host.ends_with(".webhook.office.com") && path.starts_with("/webhookb2/"))
            || (host == "outlook.office.com" && path.starts_with("/webhook/"))
        {
            PayloadFormat::Teams
        } else {
            PayloadFormat::Json
        }
    }

    /// The body to send for a stored spec payload.
    pub fn render(self, payload: &[u8]) -> Vec<u8> {
        if self == PayloadFormat::Json {
            return payload.to_vec();
        }
        let Ok(event) = serde_json::from_slice::<Value>(payload) else {
            return payload.to_vec();
        };
        let summary = summary(&event);
        let event_type = event["event_type"].as_str().unwrap_or("event");
        let when = event["event_timestamp"].as_str().unwrap_or("");
        let actor = event["actor"]["username"].as_str();
        let context = match actor {
            Some(a) => format!("{event_type} · {when} · by {a}"),
            None => format!("{event_type} · {when}"),
        };
        let body = match self {
            PayloadFormat::Slack => json!({
                "text": summary,
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", escape_slack(&summary))}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_slack(&context)}]},
                ],
            }),
            PayloadFormat::Teams => json!({
                "@type": "MessageCard",
                "@context": "https://schema.org/extensions",
                "summary": summary,
                "themeColor": color(event_type),
                "title": summary,
                "sections": [{"facts": facts(&event)}],
                "text": context,
            }),
            PayloadFormat::Json => event,
        };
        serde_json::to_vec(&body).unwrap_or_else(|_| payload.to_vec())
    }
}

impl fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The device an event is about, by the names webnet objects use.
fn device_name(obj: &Value) -> Option<String> {
    ["hostname", "device_name", "name", "device"]
        .iter()
        .find_map(|k| match &obj[*k] {
            Value::Object(_) => device_name(&obj[*k]),
            v => text(v),
        })
}

/// One readable line: "job 123 config_backup failed on 5 devices",
/// "compliance violation on core-sw-1".
pub fn summary(event: &Value) -> String {
    let event_type = event["event_type"].as_str().unwrap_or("event");
    let (family, what) = event_type.split_once('.').unwrap_or((event_type, ""));
    let obj = &event[family];
    let on = device_name(obj)
        .map(|d| format!(" on {d}"))
        .unwrap_or_default();
    match family {
        "job" => {
            let id = text(&obj["id"])
                .map(|i| format!(" {i}"))
                .unwrap_or_default();
            let kind = text(&obj["type"])
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            let verb = what;
            let devices = obj["target_summary"]["device_count"]
                .as_u64()
                .map(|n| format!(" on {n} device{}", if n == 1 { "" } else { "s" }))
                .unwrap_or(on);
            format!("job{id}{kind} {verb}{devices}")
        }
        "device" => match what {
            "status_changed" => {
                let status = text(&obj["status"])
                    .map(|s| format!(" to {s}"))
                    .unwrap_or_default();
                format!(
                    "device{} status changed{status}",
                    device_name(obj)
                        .map(|d| format!(" {d}"))
                        .unwrap_or_default()
                )
            }
            other => format!(
                "device{} {other}",
                device_name(obj)
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default()
            ),
        },
        "config" => match what {
            "backup_created" => format!("configuration backup taken{on}"),
            "changed" => format!("configuration drift detected{on}"),
            "deployed" => format!("configuration deployed{on}"),
            other => format!("config {other}{on}"),
        },
        "compliance" => match what {
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

/// Teams facts: the event object's plain fields, up to ten.
fn facts(event: &Value) -> Vec<Value> {
    let event_type = event["event_type"].as_str().unwrap_or("");
    let family = event_type.split('.').next().unwrap_or("");
    let mut out = vec![json!({"name": "event", "value": event_type})];
    if let Value::Object(map) = &event[family] {
        for (k, v) in map
            .iter()
            .filter_map(|(k, v)| text(v).map(|t| (k, t)))
            .take(9)
        {
            out.push(json!({"name": k, "value": v}));
        }
    }
    out
}

fn color(event_type: &str) -> &'static str {
    if event_type.ends_with("failed") || event_type.ends_with("violation_detected") {
        "D13438"
    } else {
        "2F7ED8"
    }
}

/// Slack mrkdwn treats &, < and > specially.
fn escape_slack(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(t: &str, family: &str, obj: Value) -> Value {
        let mut e =
            json!({"event_timestamp": "2025-12-02T01:00:00Z", "event_type": t, "actor": null});
        e[family] = obj;
        e
    }

    #[test]
    fn readable_summaries() {
        let job = event(
            "job.failed",
            "job",
            json!({"id": 123, "type": "config_backup", "target_summary": {"device_count": 5}}),
        );
        assert_eq!(summary(&job), "job 123 config_backup failed on 5 devices");
        let v = event(
            "compliance.violation_detected",
            "compliance",
            json!({"device": "core-sw-1"}),
        );
        assert_eq!(summary(&v), "compliance violation on core-sw-1");
        let d = event(
            "device.status_changed",
            "device",
            json!({"hostname": "edge-2", "status": "unreachable"}),
        );
        assert_eq!(summary(&d), "device edge-2 status changed to unreachable");
        assert_eq!(
            summary(&event("config.changed", "config", json!({}))),
            "configuration drift detected"
        );
    }

    #[test]
    fn detects_incoming_webhook_urls() {
        assert_eq!(
            PayloadFormat::detect("hooks.slack.com", "/services/T/B/X"),
            PayloadFormat::Slack
        );
        assert_eq!(
            PayloadFormat::detect("acme.webhook.office.com", "/webhookb2/abc"),
            PayloadFormat::Teams
        );
        assert_eq!(
            PayloadFormat::detect("outlook.office.com", "/webhook/abc"),
            PayloadFormat::Teams
        );
        assert_eq!(
            PayloadFormat::detect("example.com", "/services/x"),
            PayloadFormat::Json
        );
    }

    #[test]
    fn renders_are_deterministic_and_json_is_untouched() {
        let e = serde_json::to_vec(&event("job.completed", "job", json!({"id": 1}))).unwrap();
        assert_eq!(PayloadFormat::Json.render(&e), e);
        let slack = PayloadFormat::Slack.render(&e);
        assert_eq!(slack, PayloadFormat::Slack.render(&e));
        let v: Value = serde_json::from_slice(&slack).unwrap();
        assert_eq!(v["text"], "job 1 completed");
        let teams: Value = serde_json::from_slice(&PayloadFormat::Teams.render(&e)).unwrap();
        assert_eq!(teams["@type"], "MessageCard");
    }
}
