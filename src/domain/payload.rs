//! Events as they come in (JSON on stdin or `emit` arguments) and the payload bytes delivered for
//! them (spec "Payload Format"): `event_timestamp`, `event_type`, `actor`, then the family object
//! and any other keys given — never `customer` or `event_id`.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::text::{cut, quote, quote_json, QUOTE_CHARS};
use super::time::{rfc3339, Millis};
use super::{CustomerId, EventType, ValidationError};

/// Largest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// A validated event, ready to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// As given; `None` means "the pinned customer".
    pub customer: Option<CustomerId>,
    pub event_type: EventType,
    pub event_id: Option<i64>,
    /// The exact bytes every attempt sends.
    pub payload: Vec<u8>,
}

fn err(field: &'static str, m: impl Into<String>) -> ValidationError {
    ValidationError::new(field, m)
}

/// Parses one event from JSON text (one stdin document or one NDJSON line); a key given twice
/// at its top level is refused.
pub fn parse_event(text: &str, now: Millis) -> Result<Event, ValidationError> {
    let value: Value = super::json_doc::parse(text).map_err(|e| err("event", e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(err("event", "must be a JSON object"));
    };
    from_document(map, Some(text), now)
}

/// Validates an event object and builds its payload.
pub fn from_object(map: Map<String, Value>, now: Millis) -> Result<Event, ValidationError> {
    from_document(map, None, now)
}

/// As [`from_object`], for an object parsed from `source`: a message about one of its members
/// quotes that member as it was written there ([`written`]), not as serde_json writes it back.
pub fn from_document(
    mut map: Map<String, Value>,
    source: Option<&str>,
    now: Millis,
) -> Result<Event, ValidationError> {
    let shown = |key: &str, value: &Value| {
        source
            .and_then(|s| written(s, key))
            .unwrap_or_else(|| quote_json(value))
    };
    let customer = match map.remove("customer") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|n| *n > 0)
                .map(CustomerId)
                .ok_or_else(|| {
                    err(
                        "customer",
                        format!(
                            "{} is not a customer id (a positive whole number)",
                            shown("customer", &v)
                        ),
                    )
                })?,
        ),
    };
    let event_type = match map.remove("event_type") {
        Some(Value::String(s)) => {
            EventType::parse_subscribable(&s).map_err(|m| err("event_type", m))?
        }
        Some(other) => {
            return Err(err(
                "event_type",
                format!("{} is not a string", shown("event_type", &other)),
            ))
        }
        None => return Err(err("event_type", "is missing")),
    };
    let event_id = match map.remove("event_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| {
            err(
                "event_id",
                format!("{} is not a whole number", shown("event_id", &v)),
            )
        })?),
    };
    let timestamp = match map.remove("event_timestamp") {
        None | Some(Value::Null) => rfc3339(now),
        // Any RFC 3339 time, sent as the spec's format shows it: UTC, with a `Z`.
        Some(Value::String(s)) => crate::domain::time::normalize_rfc3339(&s).ok_or_else(|| {
            err(
                "event_timestamp",
                format!(
                    "{} is not an RFC 3339 time such as 2025-12-02T01:00:00Z",
                    quote(&s)
                ),
            )
        })?,
        Some(other) => {
            return Err(err(
                "event_timestamp",
                format!("{} is not a string", shown("event_timestamp", &other)),
            ))
        }
    };
    let actor = match map.remove("actor") {
        None => Value::Null,
        Some(v @ (Value::Null | Value::Object(_))) => v,
        Some(other) => {
            return Err(err(
                "actor",
                format!("{} is not an object", shown("actor", &other)),
            ))
        }
    };
    let family = event_type.family();
    let object = match map.remove(family) {
        Some(v @ Value::Object(_)) => v,
        Some(other) => {
            return Err(err(
                "event",
                format!(
                    "\"{family}\" must be a JSON object, not {}",
                    shown(family, &other)
                ),
            ))
        }
        None => {
            return Err(err(
                "event",
                format!("a {} event needs a \"{family}\" object", event_type),
            ))
        }
    };
    let payload = build(event_type, &timestamp, actor, object, map)?;
    Ok(Event {
        customer,
        event_type,
        event_id,
        payload,
    })
}

/// Top-level member `key` of the JSON object `source` as it is written there, cut like
/// [`quote_json`]: a number keeps its form (`1e23`, `100000000000000000000000`) where
/// serde_json would write the float back (`1e+23`). `source` is read again only for a message.
fn written(source: &str, key: &str) -> Option<String> {
    let members: HashMap<String, &RawValue> = serde_json::from_str(source).ok()?;
    let raw = members.get(key)?.get().trim();
    Some(cut(raw, QUOTE_CHARS).into_owned())
}

/// The payload bytes in the spec's order.
pub fn build(
    event_type: EventType,
    timestamp: &str,
    actor: Value,
    object: Value,
    rest: Map<String, Value>,
) -> Result<Vec<u8>, ValidationError> {
    let mut out = Map::new();
    out.insert(
        "event_timestamp".into(),
        Value::String(timestamp.to_string()),
    );
    out.insert(
        "event_type".into(),
        Value::String(event_type.as_str().into()),
    );
    out.insert("actor".into(), actor);
    out.insert(event_type.family().into(), object);
    for (k, v) in rest {
        out.insert(k, v);
    }
    let bytes = serde_json::to_vec(&Value::Object(out))
        .map_err(|e| err("event", format!("cannot be serialised: {e}")))?;
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return Err(err(
            "event",
            format!(
                "payload is {} bytes; the limit is {MAX_PAYLOAD_BYTES}",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// The payload of a `webhook.test` event.
pub fn test_payload(webhook_id: i64, webhook_name: &str, now: Millis) -> Vec<u8> {
    let object = serde_json::json!({
        "id": webhook_id,
        "name": webhook_name,
        "message": "This is a test event from webnet. If you can read this, your webhook works.",
    });
    build(
        EventType::WebhookTest,
        &rfc3339(now),
        Value::Null,
        object,
        Map::new(),
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_764_637_200_000;

    #[test]
    fn builds_the_spec_payload_in_order_without_customer_or_event_id() {
        let e = parse_event(
            r#"{"customer": 1, "event_type": "job.completed", "event_id": 123,
                "actor": {"id": 1, "username": "admin"}, "job": {"id": 123, "status": "success"},
                "extra": true}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(e.customer, Some(CustomerId(1)));
        assert_eq!(e.event_id, Some(123));
        assert_eq!(
            String::from_utf8(e.payload).unwrap(),
            r#"{"event_timestamp":"2025-12-02T01:00:00Z","event_type":"job.completed","actor":{"id":1,"username":"admin"},"job":{"id":123,"status":"success"},"extra":true}"#
        );
    }

    #[test]
    fn actor_defaults_to_null_and_timestamp_is_kept() {
        let e = parse_event(
            r#"{"event_type": "device.created", "device": {}, "event_timestamp": "2024-01-01T00:00:00Z"}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(e.payload).unwrap(),
            r#"{"event_timestamp":"2024-01-01T00:00:00Z","event_type":"device.created","actor":null,"device":{}}"#
        );
        assert_eq!(e.customer, None);
    }

    #[test]
    fn rejects_bad_events() {
        for (text, field) in [
            ("not json", "event"),
            ("[1]", "event"),
            (r#"{"event_type": "job.nope", "job": {}}"#, "event_type"),
            (
                r#"{"event_type": "webhook.test", "webhook": {}}"#,
                "event_type",
            ),
            (r#"{"job": {}}"#, "event_type"),
            (
                r#"{"customer": 1, "event_type": "job.failed", "job": {}, "customer": 2}"#,
                "event",
            ),
            (r#"{"event_type": "job.failed"}"#, "event"),
            (r#"{"event_type": "job.failed", "job": [1]}"#, "event"),
            (
                r#"{"event_type": "job.failed", "job": {}, "customer": "one"}"#,
                "customer",
            ),
            (
                r#"{"event_type": "job.failed", "job": {}, "customer": 0}"#,
                "customer",
            ),
            (
                r#"{"event_type": "job.failed", "job": {}, "event_id": "x"}"#,
                "event_id",
            ),
            (
                r#"{"event_type": "job.failed", "job": {}, "actor": "me"}"#,
                "actor",
            ),
            (
                r#"{"event_type": "job.failed", "job": {}, "event_timestamp": "yesterday"}"#,
                "event_timestamp",
            ),
        ] {
            let e = parse_event(text, NOW).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
        }
    }

    #[test]
    fn messages_quote_members_as_they_were_written() {
        for (text, field, says) in [
            (
                r#"{"customer": 1e23, "event_type": "job.failed", "job": {}}"#,
                "customer",
                "1e23 is not a customer id",
            ),
            (
                r#"{"customer": 100000000000000000000000, "event_type": "job.failed", "job": {}}"#,
                "customer",
                "100000000000000000000000 is not a customer id",
            ),
            (
                r#"{"customer": 1.50, "event_type": "job.failed", "job": {}}"#,
                "customer",
                "1.50 is not a customer id",
            ),
            (
                r#"{"event_id": 2E3, "event_type": "job.failed", "job": {}}"#,
                "event_id",
                "2E3 is not a whole number",
            ),
        ] {
            let e = parse_event(text, NOW).unwrap_err();
            assert_eq!(e.field, field, "{text}");
            assert!(e.message.starts_with(says), "{text}: {}", e.message);
        }
        // Without the source, as serde_json writes it back.
        let Value::Object(map) = serde_json::json!({"customer": 1e23}) else {
            unreachable!()
        };
        let e = from_object(map, NOW).unwrap_err();
        assert!(e.message.starts_with("1e+23 is not"), "{}", e.message);
        // Long members are cut.
        let long = format!(
            r#"{{"customer": {}, "event_type": "job.failed", "job": {{}}}}"#,
            "9".repeat(500)
        );
        assert!(parse_event(&long, NOW).unwrap_err().message.len() < 200);
    }
}
