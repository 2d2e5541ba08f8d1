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
            print_table(&mut table);
        }
    }
}

/// Prints a list: a JSON array, or a table of `columns` (`empty` on stderr when there are none).
pub fn print_list(format: Format, values: &[Value], columns: &[Column], empty: &str) {
    match format {
        Format::Json => print_line(&serde_json::to_string(values).unwrap_or_default()),
        Format::Table if values.is_empty() => eprintln!("{empty}"),
        Format::Table => {
            // A column empty in every row (no errors, nothing disabled) only takes room.
            let shown: Vec<&Column> = columns
                .iter()
                .filter(|(_, key)| values.iter().any(|v| !v[*key].is_null()))
                .collect();
            let headers: Vec<&str> = shown.iter().map(|(h, _)| *h).collect();
            let now = std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(crate::delivery::system_clock().max(0) as u64);
            let mut rows: Vec<Vec<String>> = values
                .iter()
                .map(|v| {
                    shown
                        .iter()
                        .map(|(_, key)| list_cell(key, &v[*key], now))
                        .collect()
                })
                .collect();
            // One line per row: cells too wide for the terminal are cut with `…` (JSON and
            // `show` have them in full), never wrapped mid-word.
            if let Some(width) = table_width(
                std::env::var("COLUMNS").ok().as_deref(),
                Table::new().width(),
            ) {
                let whole: Vec<bool> = shown
                    .iter()
                    .map(|(_, key)| NEVER_CUT.contains(key))
                    .collect();
                fit(&headers, &mut rows, &whole, usize::from(width));
            }
            let mut table = Table::new();
            table
                .load_preset(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(headers);
            for row in rows {
                table.add_row(row);
            }
            print_table(&mut table);
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

/// Prints a table flush left, two spaces between columns, no trailing blanks.
fn print_table(table: &mut Table) {
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let text = table.to_string();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    print_line(&lines.join("\n"));
}

/// Narrower than this, a width is taken for a mistake (a pseudo-terminal with no size reports 0).
const MIN_WIDTH: u16 = 40;

fn new_table() -> Table {
    let mut t = Table::new();
    // No borders, as gh and kubectl print lists: narrow, and each row stays one greppable line.
    t.load_preset(presets::NOTHING);
    // Fit the terminal (or `COLUMNS`); with no usable width, do not wrap at all.
    match table_width(std::env::var("COLUMNS").ok().as_deref(), t.width()) {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// The width to fit tables to: `COLUMNS` when it is a sensible number, else the terminal's,
/// else none.
fn table_width(columns: Option<&str>, terminal: Option<u16>) -> Option<u16> {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|w| *w >= MIN_WIDTH)
        .or(terminal.filter(|w| *w >= MIN_WIDTH))
}

/// List columns never cut to fit: a sparkline cut short loses its time axis.
const NEVER_CUT: &[&str] = &["activity", "failures"];

/// Columns between them in a list table.
const GAP: usize = 2;

/// Narrows the widest cuttable columns, one character at a time, until the table fits `width`
/// (or nothing more can go: a column keeps at least its heading's width), then cuts the cells
/// of narrowed columns with `…`.
fn fit(headers: &[&str], rows: &mut [Vec<String>], whole: &[bool], width: usize) {
    use unicode_width::UnicodeWidthStr;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows.iter() {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    let floor: Vec<usize> = headers.iter().map(|h| h.width().max(4)).collect();
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
    while total(&widths) > width {
        let widest = (0..widths.len())
            .filter(|&i| !whole[i] && widths[i] > floor[i])
            .max_by_key(|&i| widths[i]);
        let Some(i) = widest else { break };
        widths[i] -= 1;
    }
    for row in rows.iter_mut() {
        for (c, w) in row.iter_mut().zip(&widths) {
            if c.width() > *w {
                *c = cut_to(c, *w);
            }
        }
    }
}

/// `text` cut to `width` display columns, its last one `…`.
fn cut_to(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

/// A list cell, on one line: times (`…_at` fields) relative to now ("3m ago", "in 2m"; a
/// next attempt already due is "due now"), lists comma-separated, everything else as [`cell`].
/// JSON output keeps the full values.
fn list_cell(key: &str, v: &Value, now: std::time::SystemTime) -> String {
    if key.ends_with("_at") {
        if let Some(t) = v.as_str().and_then(|s| humantime::parse_rfc3339(s).ok()) {
            if key == "next_retry_at" && t <= now {
                return "due now".into();
            }
            return relative(t, now);
        }
    }
    match v {
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => cell(other).replace('\n', " "),
    }
}

/// `t` as a short distance from `now`: "12s ago", "3m ago", "5h ago", "2d ago", "in 2m".
fn relative(t: std::time::SystemTime, now: std::time::SystemTime) -> String {
    let (secs, future) = match now.duration_since(t) {
        Ok(d) => (d.as_secs(), false),
        Err(e) => (e.duration().as_secs(), true),
    };
    let amount = match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
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
        "has_routing_key": w.has_routing_key,
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
    let payload = body_json(&d.payload);
    let mut v = json!({
        "id": d.id,
        "customer": d.customer.0,
        "webhook": d.webhook,
        "webhook_name": d.webhook_name,
        "webhook_deleted": d.webhook_deleted,
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
        // What the receiver got on the latest attempt: the payload, or its rendering for a
        // chat or alerting destination (DESIGN §8).
        let sent = list.last().map(|a| match &a.request_body {
            Some(body) => body_json(body),
            None => map.get("payload").cloned().unwrap_or(Value::Null),
        });
        map.insert("request_body".into(), sent.unwrap_or(Value::Null));
        map.insert(
            "attempt_log".into(),
            Value::Array(list.iter().map(attempt_json).collect()),
        );
    }
    v
}

/// A stored body as JSON when it is JSON, else as text.
fn body_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
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

/// For a table: a deleted webhook's name marked `(deleted)` (JSON keeps the name as recorded
/// and says `webhook_deleted: true`).
pub fn mark_deleted_webhook(v: &mut Value) {
    if v["webhook_deleted"] == Value::Bool(true) {
        if let Some(Value::String(name)) = v.get_mut("webhook_name") {
            name.push_str(" (deleted)");
        }
    }
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
    mark_deleted_webhook(&mut fields);
    if let Value::Object(map) = &mut fields {
        map.remove("attempt_log");
        // The body sent, when it is not the payload itself (a chat or alerting format).
        if map.get("request_body") == map.get("payload") || map["request_body"].is_null() {
            map.remove("request_body");
        }
        for key in ["payload", "request_body"] {
            if let Some(p) = map.get_mut(key) {
                // Pretty-printed, one table line per line of JSON.
                let pretty = serde_json::to_string_pretty(p).unwrap_or_default();
                *p = Value::Array(pretty.lines().map(|l| Value::String(l.into())).collect());
            }
        }
    }
    print_object(format, &fields);
    let list: Vec<Value> = attempts.iter().map(attempt_json).collect();
    print_list(format, &list, ATTEMPT_COLUMNS, "no attempts yet");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_fit_columns_or_the_terminal_and_never_collapse() {
        assert_eq!(table_width(Some("120"), Some(80)), Some(120));
        assert_eq!(table_width(Some("junk"), Some(80)), Some(80));
        assert_eq!(table_width(None, Some(0)), None, "a pty with no size");
        assert_eq!(table_width(Some("0"), None), None);
        assert_eq!(table_width(None, None), None);
    }

    #[test]
    fn wide_columns_are_narrowed_first_and_sparklines_never() {
        let headers = ["ID", "URL", "ACTIVITY"];
        let mut rows = vec![vec![
            "1".to_string(),
            "https://example.com/a/long/path".to_string(),
            "   ▁█".to_string(),
        ]];
        fit(&headers, &mut rows, &[false, false, true], 24);
        assert_eq!(rows[0][0], "1");
        // 2 + 2 + 10 + 2 + 8 = 24 columns: only the URL gave way.
        assert_eq!(rows[0][1], "https://e…");
        assert_eq!(rows[0][2], "   ▁█", "kept whole, leading blanks too");
    }

    #[test]
    fn list_times_are_relative() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_637_200);
        let at = |s: &str| list_cell("created_at", &json!(s), now);
        assert_eq!(at("2025-12-02T01:00:00Z"), "0s ago");
        assert_eq!(at("2025-12-02T00:57:00Z"), "3m ago");
        assert_eq!(at("2025-11-30T01:00:00Z"), "2d ago");
        assert_eq!(at("2025-12-02T01:02:00Z"), "in 2m");
        assert_eq!(list_cell("created_at", &Value::Null, now), "-");
        assert_eq!(
            list_cell("name", &json!("2025-12-02T01:00:00Z"), now),
            "2025-12-02T01:00:00Z"
        );
    }
    use crate::domain::event_type::Subscription;
    use crate::domain::{CustomerId, EventType, WebhookSettings, WebhookUrl};

    #[test]
    fn the_list_row_shows_the_same_values_as_the_full_webhook() {
        let w = Webhook {
            id: 7,
            customer: CustomerId(2),
            settings: WebhookSettings {
                name: "ops".into(),
                url: WebhookUrl::parse_form("https://ops.example.com/x").unwrap(),
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
            has_routing_key: false,
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
