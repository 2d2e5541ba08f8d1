//! The `pagerduty` format: a PagerDuty Events API v2 event (DESIGN §8) — `routing_key`,
//! `event_action`, `dedup_key`, `payload{summary, source, severity, timestamp, component,
//! group, class, custom_details}`, `client`.
//!
//! What it decides:
//! - **trigger or resolve.** A recovery resolves: `job.completed` and `device.status_changed`
//!   when the event reads good (a job that did not end badly, a device whose new status is not
//!   down, unreachable, failed, …). Everything else triggers. A recovery without a `dedup_key`
//!   cannot name the alert it ends, so it triggers (at its severity, `info`) rather than be a
//!   `resolve` PagerDuty refuses.
//! - **dedup_key** `webnet:<customer>:<family>:<event_id>` (so `job.failed` and a later
//!   `job.completed` with the same `--event-id` are one alert, opened then resolved); without an
//!   `event_id` there is none, and PagerDuty makes every trigger its own alert. `webhook.test`
//!   uses the webhook's id, so repeated tests are one alert.
//! - Limits (PagerDuty's documented ones, in characters): `summary` ≤ 1,024, `dedup_key` ≤ 255;
//!   `source`, `component`, `group` and `class` are cut to 255 too. `custom_details` holds the
//!   details, each value at most 16 KiB and all of them at most 256 KiB as JSON (then
//!   `"more": "+N more"`), so the body stays far below PagerDuty's 512 KB.
//! - Nothing is escaped (PagerDuty shows plain text); in one-line fields line breaks and tabs
//!   become spaces, other control characters and bidirectional overrides U+FFFD
//!   ([`super::fit::visible`]), so a summary reads as sent.

use serde_json::{Map, Value};

use super::cut::{cut_bytes, cut_chars};
use super::event::{device_name, Tone};
use super::fit::one_line;
use super::{EventView, Render};
use crate::domain::ValidationError;

/// `payload.summary`, in characters.
pub const SUMMARY_MAX: usize = 1024;
/// `dedup_key`, in characters.
pub const DEDUP_KEY_MAX: usize = 255;
/// `source`, `component`, `group`, `class` (PagerDuty names no limit: a margin of our own).
const FIELD_MAX: usize = 255;
/// A `custom_details` label, in characters.
const LABEL_MAX: usize = 255;
/// One `custom_details` value, in bytes.
const VALUE_MAX_BYTES: usize = 16 * 1024;
/// All of `custom_details`, in bytes of JSON.
pub const DETAILS_MAX_BYTES: usize = 256 * 1024;
/// `custom_details` entries at most (then `"more": "+N more"`).
const DETAILS_MAX_COUNT: usize = 100;

/// A PagerDuty integration (routing) key: a credential, so its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RoutingKey(String);

impl RoutingKey {
    /// The form PagerDuty's keys have: printable ASCII without spaces (PagerDuty's are 32
    /// characters; other lengths are accepted, see [`RoutingKey::unusual_length`]), at most
    /// 128. Messages never repeat the value.
    pub fn new(value: &str) -> Result<RoutingKey, ValidationError> {
        let err = |m: &str| ValidationError::new("routing_key", m);
        if value.is_empty() {
            return Err(err("the routing key is empty"));
        }
        if value.len() > 128 {
            return Err(err(
                "the routing key is longer than 128 characters (PagerDuty's integration keys have 32)",
            ));
        }
        if !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(err(
                "the routing key holds spaces, control or non-ASCII characters (PagerDuty's integration keys are 32 letters and digits)",
            ));
        }
        Ok(RoutingKey(value.to_string()))
    }

    /// PagerDuty's integration keys have 32 characters: another length is likely a typo.
    pub fn unusual_length(&self) -> Option<usize> {
        (self.0.len() != 32).then_some(self.0.len())
    }

    /// The key, for sealing and for the body sent to PagerDuty only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoutingKey([redacted])")
    }
}

/// What `routing_key` becomes in a body kept for the record (`deliveries show`).
pub const REDACTED: &str = "[redacted]";

/// The body as kept for the record: the same JSON with `routing_key` replaced by
/// [`REDACTED`], so the key is never in the database or any output. Anything else is kept as
/// it is.
pub fn for_the_record(body: &[u8]) -> Vec<u8> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    match map.get_mut("routing_key") {
        Some(v) => *v = Value::String(REDACTED.into()),
        None => return body.to_vec(),
    }
    serde_json::to_vec(&Value::Object(map)).unwrap_or_else(|_| body.to_vec())
}

pub fn render(view: &EventView<'_>, ctx: &Render<'_>) -> Value {
    let dedup_key = dedup_key(view, ctx);
    let action = if is_recovery(view) && dedup_key.is_some() {
        "resolve"
    } else {
        "trigger"
    };
    let mut payload = Map::new();
    payload.insert(
        "summary".into(),
        cut_chars(&one_line(&view.summary), SUMMARY_MAX).into(),
    );
    let source = match view.family {
        // A job runs on many devices, a test on none: the source is webnet itself.
        "job" | "webhook" => None,
        _ => device_name(view.object),
    };
    payload.insert(
        "source".into(),
        field(source.as_deref().unwrap_or("webnet")),
    );
    payload.insert("severity".into(), view.severity.as_str().into());
    if let Some(t) = timestamp(view.timestamp) {
        payload.insert("timestamp".into(), t.into());
    }
    let component = match view.family {
        "job" => view.detail("Type"),
        "compliance" => view.detail("Rule"),
        "device" => view.detail("Platform"),
        _ => None,
    };
    if let Some(c) = component {
        payload.insert("component".into(), field(c));
    }
    let group = match view.family {
        "device" => view.detail("Site"),
        "compliance" => view.detail("Policy"),
        _ => None,
    };
    if let Some(g) = group {
        payload.insert("group".into(), field(g));
    }
    payload.insert("class".into(), field(view.event_type));
    payload.insert("custom_details".into(), custom_details(view));

    let mut body = Map::new();
    body.insert(
        "routing_key".into(),
        ctx.routing_key.unwrap_or_default().into(),
    );
    body.insert("event_action".into(), action.into());
    if let Some(k) = dedup_key {
        body.insert("dedup_key".into(), k.into());
    }
    body.insert("payload".into(), Value::Object(payload));
    body.insert("client".into(), "webnet".into());
    Value::Object(body)
}

/// Whether the event ends what an earlier one of the same `dedup_key` opened.
fn is_recovery(view: &EventView<'_>) -> bool {
    matches!(
        (view.family, view.action),
        ("job", "completed") | ("device", "status_changed")
    ) && view.tone == Tone::Good
}

fn dedup_key(view: &EventView<'_>, ctx: &Render<'_>) -> Option<String> {
    let customer = ctx.customer?;
    let id = if view.family == "webhook" {
        match &view.object["id"] {
            Value::Number(n) => n.to_string(),
            _ => "test".into(),
        }
    } else {
        ctx.event_id?.to_string()
    };
    // The family comes from the catalog; cut anyway, the limit is PagerDuty's.
    let key = format!("webnet:{customer}:{}:{id}", view.family);
    Some(cut_chars(&key, DEDUP_KEY_MAX).into_owned())
}

/// The event's time as ISO 8601 in UTC (`2025-12-02T01:00:00Z`), when it is one.
fn timestamp(text: &str) -> Option<String> {
    humantime::parse_rfc3339_weak(text)
        .ok()
        .map(|t| humantime::format_rfc3339(t).to_string())
}

/// A one-line field: control characters folded, cut to [`FIELD_MAX`] characters.
fn field(text: &str) -> Value {
    cut_chars(&one_line(text), FIELD_MAX).into_owned().into()
}

/// The details as an object (label → value, important first), the actor last; labels made
/// unique, values cut, bounded in count and size with `"more": "+N more"` for what did not fit.
fn custom_details(view: &EventView<'_>) -> Value {
    let mut out = Map::new();
    let mut size = 2usize;
    let actor = view
        .actor
        .as_ref()
        .map(|a| ("Actor".to_string(), a.clone()));
    let all: Vec<&(String, String)> = view.details.iter().chain(actor.as_ref()).collect();
    for (i, (label, value)) in all.iter().enumerate() {
        let label = unique(&out, &cut_chars(&one_line(label), LABEL_MAX));
        let value = cut_bytes(value, VALUE_MAX_BYTES).into_owned();
        let entry = json_len(&label) + json_len(&value) + 2;
        // Room for this entry and for the "more" one after it.
        if out.len() == DETAILS_MAX_COUNT || size + entry + 40 > DETAILS_MAX_BYTES {
            out.insert("more".into(), format!("+{} more", all.len() - i).into());
            break;
        }
        size += entry;
        out.insert(label, value.into());
    }
    Value::Object(out)
}

/// `label`, or `label (2)`, `label (3)`, … when taken.
fn unique(map: &Map<String, Value>, label: &str) -> String {
    if !map.contains_key(label) && label != "more" {
        return label.to_string();
    }
    (2..)
        .map(|n| format!("{label} ({n})"))
        .find(|l| !map.contains_key(l))
        .unwrap_or_default()
}

/// The length of `s` as a JSON string, quotes included.
fn json_len(s: &str) -> usize {
    serde_json::to_string(s).map_or(s.len() * 6 + 2, |j| j.len())
}

#[cfg(test)]
mod tests;
