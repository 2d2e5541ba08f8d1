//! Output is data first: commands build JSON values with the contract's field names; this module
//! renders them as JSON for scripts or as tables (comfy-table) for people.

use std::io::Write;

use comfy_table::{presets, ContentArrangement, Table};
use serde_json::{json, Map, Value};

use crate::domain::headers;
use crate::domain::text::escape_controls;
use crate::domain::time::rfc3339;
use crate::store::{AttemptLog, Customer, Delivery, Webhook};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    /// Tables for a terminal, JSON for pipes and files.
    pub fn detect(stdout_is_terminal: bool) -> Format {
        if stdout_is_terminal {
            Format::Table
        } else {
            Format::Json
        }
    }
}

/// A column of a list table: heading and the field it shows.
pub type Column = (&'static str, &'static str);

/// Prints one object: a JSON document, or a two-column table of its fields.
pub fn print_object(format: Format, value: &Value) {
    match format {
        Format::Json => print_json(value),
        Format::Table => {
            let mut table = new_table();
            if let Value::Object(map) = value {
                for (k, v) in map {
                    table.add_row(vec![k.clone(), cell(v)]);
                }
            }
            print_line(&table.to_string());
        }
    }
}

/// Prints a list: a JSON array, or a table of `columns` (`empty` on stderr when there are none).
pub fn print_list(format: Format, values: &[Value], columns: &[Column], empty: &str) {
    match format {
        Format::Json => print_line(&serde_json::to_string(values).unwrap_or_default()),
        Format::Table if values.is_empty() => eprintln!("{empty}"),
        Format::Table => {
            let mut table = new_table();
            table.set_header(columns.iter().map(|(h, _)| *h));
            for v in values {
                table.add_row(columns.iter().map(|(_, key)| cell(&v[*key])));
            }
            print_line(&table.to_string());
        }
    }
}

/// Prints one JSON document on its own line.
pub fn print_json(value: &Value) {
    print_line(&value.to_string());
}

/// Writes a line to stdout; a closed pipe (`| head`) ends output quietly instead of panicking.
pub fn print_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

fn new_table() -> Table {
    let mut t = Table::new();
    // Fitting columns to the terminal's width costs time; without a terminal there is no width.
    let arrangement = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        ContentArrangement::Dynamic
    } else {
        ContentArrangement::Disabled
    };
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .apply_modifier(comfy_table::modifiers::UTF8_ROUND_CORNERS)
        .set_content_arrangement(arrangement);
    t
}

/// Multi-line text for a table or a terminal: its lines kept, each with its control characters
/// escaped.
pub fn safe_lines(text: &str) -> String {
    text.lines()
        .map(escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON value as table text: arrays one item per line, objects `key: value` per line. Text
/// (response bodies and errors come from receivers) has every control character escaped, line
/// breaks included: the only line breaks in a cell are the ones the table puts there.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => escape_controls(s).into_owned(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("\n"),
        Value::Object(map) if map.is_empty() => "-".into(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: {}", escape_controls(k), cell(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// A webhook as the contract shows it (DESIGN §4): the secret only as `has_secret`, credential
/// headers redacted.
pub fn webhook_json(w: &Webhook) -> Value {
    let s = &w.settings;
    let headers: Map<String, Value> = headers::redacted(&s.headers)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({
        "id": w.id,
        "customer": w.customer.0,
        "name": s.name,
        "url": s.url.as_str(),
        "event_types": s.event_types.iter().map(|t| t.as_string()).collect::<Vec<_>>(),
        "has_secret": w.has_secret,
        "enabled": s.enabled,
        "verify_ssl": s.verify_ssl,
        "timeout_seconds": s.timeout_seconds,
        "max_retries": s.max_retries,
        "retry_backoff": s.retry_backoff,
        "headers": headers,
        "auto_disable_after": s.auto_disable_after,
        "disabled_reason": w.disabled_reason,
        "failing_since": w.failing_since.map(rfc3339),
        "previous_secret_until": w.previous_secret_until.map(rfc3339),
        "payload_format": s.payload_format.as_str(),
        "created_at": rfc3339(w.created_at),
        "updated_at": rfc3339(w.updated_at),
    })
}

/// The fields of [`webhook_json`] that `webhooks list` shows as a table.
pub fn webhook_row_json(w: &Webhook) -> Value {
    let s = &w.settings;
    json!({
        "id": w.id,
        "customer": w.customer.0,
        "name": s.name,
        "url": s.url.as_str(),
        "event_types": s.event_types.iter().map(|t| t.as_string()).collect::<Vec<_>>(),
        "enabled": s.enabled,
        "has_secret": w.has_secret,
        "disabled_reason": w.disabled_reason,
    })
}

pub const WEBHOOK_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("CUSTOMER", "customer"),
    ("NAME", "name"),
    ("URL", "url"),
    ("EVENTS", "event_types"),
    ("ENABLED", "enabled"),
    ("SECRET", "has_secret"),
    ("DISABLED BECAUSE", "disabled_reason"),
];

pub fn customer_json(c: &Customer) -> Value {
    json!({
        "id": c.id.0,
        "name": c.name,
        "webhooks": c.webhooks,
        "created_at": rfc3339(c.created_at),
    })
}

pub const CUSTOMER_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("WEBHOOKS", "webhooks"),
    ("CREATED", "created_at"),
];

/// A delivery as the contract shows it (DESIGN §4); with `attempts`, `show`'s `attempt_log`.
pub fn delivery_json(d: &Delivery, attempts: Option<&[AttemptLog]>) -> Value {
    let payload: Value = serde_json::from_slice(&d.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&d.payload).into_owned()));
    let mut v = json!({
        "id": d.id,
        "customer": d.customer.0,
        "webhook": d.webhook,
        "webhook_name": d.webhook_name,
        "event_type": d.event_type,
        "event_id": d.event_id,
        "payload": payload,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "http_status": d.http_status,
        "response_body": d.response_body,
        "error_message": d.error_message,
        "duration_ms": d.duration_ms,
        "next_retry_at": d.next_attempt_at.map(rfc3339),
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.updated_at),
    });
    if let (Some(list), Value::Object(map)) = (attempts, &mut v) {
        map.insert(
            "attempt_log".into(),
            Value::Array(list.iter().map(attempt_json).collect()),
        );
    }
    v
}

pub fn attempt_json(a: &AttemptLog) -> Value {
    json!({
        "attempt": a.attempt,
        "started_at": rfc3339(a.started_at),
        "request_headers": a.request_headers,
        "http_status": a.http_status,
        "response_body": a.response_body,
        "duration_ms": a.duration_ms,
        "error_message": a.error_message,
    })
}

pub const DELIVERY_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("WEBHOOK", "webhook_name"),
    ("EVENT", "event_type"),
    ("STATUS", "status"),
    ("ATTEMPTS", "attempts"),
    ("HTTP", "http_status"),
    ("ERROR", "error_message"),
    ("NEXT RETRY", "next_retry_at"),
    ("CREATED", "created_at"),
];

pub const ATTEMPT_COLUMNS: &[Column] = &[
    ("#", "attempt"),
    ("STARTED", "started_at"),
    ("HTTP", "http_status"),
    ("MS", "duration_ms"),
    ("ERROR", "error_message"),
];

/// Prints a delivery for people: its fields (payload pretty-printed), then its attempts.
pub fn print_delivery(format: Format, d: &Delivery, attempts: &[AttemptLog]) {
    let value = delivery_json(d, Some(attempts));
    if format == Format::Json {
        return print_json(&value);
    }
    let mut fields = value.clone();
    if let Value::Object(map) = &mut fields {
        map.remove("attempt_log");
        if let Some(p) = map.get_mut("payload") {
            // Pretty-printed, one table line per line of JSON.
            let pretty = serde_json::to_string_pretty(p).unwrap_or_default();
            *p = Value::Array(pretty.lines().map(|l| Value::String(l.into())).collect());
        }
    }
    print_object(format, &fields);
    let list: Vec<Value> = attempts.iter().map(attempt_json).collect();
    print_list(format, &list, ATTEMPT_COLUMNS, "no attempts yet");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event_type::Subscription;
    use crate::domain::{CustomerId, EventType, WebhookSettings, WebhookUrl};

    #[test]
    fn the_list_row_shows_the_same_values_as_the_full_webhook() {
        let w = Webhook {
            id: 7,
            customer: CustomerId(2),
            settings: WebhookSettings {
                name: "ops".into(),
                url: WebhookUrl::parse("https://ops.example.com/x", false).unwrap(),
                event_types: vec![Subscription::Exact(EventType::JobFailed), Subscription::All],
                enabled: false,
                verify_ssl: true,
                timeout_seconds: 10,
                max_retries: 3,
                retry_backoff: 60,
                headers: Default::default(),
                auto_disable_after: 0,
                payload_format: Default::default(),
            },
            has_secret: true,
            disabled_reason: Some("the receiver answered 410 Gone".into()),
            failing_since: None,
            previous_secret_until: None,
            created_at: 0,
            updated_at: 0,
        };
        let (row, full) = (webhook_row_json(&w), webhook_json(&w));
        for (_, key) in WEBHOOK_COLUMNS {
            assert_eq!(row[*key], full[*key], "{key}");
            assert!(!row[*key].is_null() || full[*key].is_null(), "{key}");
        }
    }
}
