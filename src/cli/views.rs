//! The contract's objects as JSON values (DESIGN §4), built once and rendered by `output` as
//! JSON or as a table with the same field names: webhooks, customers, deliveries and their
//! attempts, with the columns list tables show.

use serde_json::{json, Map, Value};

use super::output::{print_json, print_list, print_object, Column, Format};
use crate::domain::headers;
use crate::domain::time::rfc3339;
use crate::store::{ApiToken, AttemptLog, Customer, Delivery, Webhook};

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
        "url": s.url.shown(),
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
        "url": s.url.shown(),
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

/// An API token as `tokens` commands show it: never the token, only its last four characters
/// (`token_hint`, `wnt_…abcd`). `customer_name` is the name of its customer, if it has one.
pub fn token_json(t: &ApiToken, customer_name: Option<&str>) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "scope": if t.customer.is_some() { "customer" } else { "admin" },
        "customer": t.customer.map(|c| c.0),
        "customer_name": customer_name,
        "read_only": t.read_only,
        "token_hint": format!("{}…{}", crate::ops::tokens::PREFIX, t.hint),
        "created_at": rfc3339(t.created_at),
        "last_used_at": t.last_used_at.map(rfc3339),
        "revoked_at": t.revoked_at.map(rfc3339),
    })
}

pub const TOKEN_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("SCOPE", "scope"),
    ("CUSTOMER", "customer"),
    ("READ-ONLY", "read_only"),
    ("TOKEN", "token_hint"),
    ("CREATED", "created_at"),
    ("LAST USED", "last_used_at"),
    ("REVOKED", "revoked_at"),
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
        "event_type": d.event_type.as_str(),
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

/// `columns` as a list shows them in `scope`: pinned to one customer, its id in every row
/// says nothing, so the customer column is left out.
pub fn scoped_columns(columns: &[Column], scope: crate::domain::Scope) -> Vec<Column> {
    columns
        .iter()
        .filter(|(_, key)| *key != "customer" || scope == crate::domain::Scope::All)
        .copied()
        .collect()
}

pub const DELIVERY_COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("CUSTOMER", "customer"),
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

/// Prints a delivery: JSON, or for people its fields: its fields (payload pretty-printed), then its attempts.
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
    // The headers the last attempt sent, one line each (JSON has every attempt's).
    if let (Value::Object(map), Some(Value::Object(headers))) =
        (&mut fields, attempts.last().map(|a| &a.request_headers))
    {
        let lines = headers
            .iter()
            .map(|(k, v)| Value::String(format!("{k}: {}", v.as_str().unwrap_or_default())))
            .collect();
        map.insert("request_headers".into(), Value::Array(lines));
    }
    print_object(format, &fields);
    let list: Vec<Value> = attempts.iter().map(attempt_json).collect();
    print_list(format, &list, ATTEMPT_COLUMNS, "no attempts yet");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event_type::Subscription;
    use crate::domain::{CustomerId, EventType, WebhookSettings};

    #[test]
    fn the_list_row_shows_the_same_values_as_the_full_webhook() {
        let w = Webhook {
            id: 7,
            customer: CustomerId(2),
            settings: WebhookSettings {
                name: "ops".into(),
                event_types: vec![Subscription::Exact(EventType::JobFailed), Subscription::All],
                enabled: false,
                ..WebhookSettings::example("https://ops.example.com/x")
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
