//! One decoder per table: the only code that turns a stored `deliveries`, `webhooks` or
//! `attempts` row into its type. Every query on those tables selects the table's columns
//! ([`DELIVERY`], [`WEBHOOK`], [`ATTEMPT`]) and decodes them here.
//!
//! Invariant: a value that does not decode is [`StoreError::Corrupt`], naming the table, the row
//! and the value; never a default. (Corrupt headers read as `{}` would send a delivery without
//! its `Authorization` header; an unknown status read as `pending` would send it again.)

use crate::store::columns::event_types;
pub(super) use crate::store::columns::headers;
use rusqlite::Row;

use super::{DeliveryStatus, Result, StoreError};
use crate::domain::format::PayloadFormat;
use crate::domain::text::quote;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, WebhookSettings, WebhookUrl};
use crate::store::{AttemptLog, Delivery, Webhook};

/// Every row of `rows`, decoded by `f`.
pub(super) fn all<T>(
    mut rows: rusqlite::Rows<'_>,
    mut f: impl FnMut(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// The first row of `rows`, decoded by `f`, if there is one.
pub(super) fn first<T>(
    mut rows: rusqlite::Rows<'_>,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    rows.next()?.map(f).transpose()
}

// ── deliveries ──────────────────────────────────────────────────────────────────────────────

/// The columns [`delivery`] decodes, for `deliveries d JOIN events e ON e.id = d.event_row
/// LEFT JOIN webhooks w ON w.id = d.webhook_id` (ids are never reused, so a delivery whose
/// webhook has no row any more is a deleted one's).
pub(super) const DELIVERY: &str = "d.id, d.customer_id, d.webhook_id, d.webhook_name,
    d.event_type, d.event_id, e.payload, d.status, d.attempts, d.http_status, d.response_body,
    d.error_message, d.duration_ms, d.next_attempt_at, d.created_at, d.updated_at,
    w.id IS NULL, d.lease_until";

/// Where [`DELIVERY`] has the event's payload (`e.payload`).
pub(super) const PAYLOAD_COLUMN: usize = 6;

/// How many columns [`DELIVERY`] is.
pub(super) const DELIVERY_COLUMNS: usize = 18;

/// A `deliveries` row as [`DELIVERY`] selects it, and its lease (until when, if leased).
pub(super) fn delivery(r: &Row<'_>) -> Result<(Delivery, Option<Millis>)> {
    let id: i64 = r.get(0)?;
    let bad = |what: String| StoreError::corrupt("deliveries", id, what);
    let event_type: String = r.get(4)?;
    let event_type = event_type.parse::<EventType>().map_err(|_| {
        bad(format!(
            "event_type {} is not an event type",
            quote(&event_type)
        ))
    })?;
    let status: String = r.get(7)?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| bad(format!("status {} is not a status", quote(&status))))?;
    let delivery = Delivery {
        id,
        customer: CustomerId(r.get(1)?),
        webhook: r.get(2)?,
        webhook_name: r.get(3)?,
        event_type,
        event_id: r.get(5)?,
        payload: r.get(6)?,
        status,
        attempts: r.get(8)?,
        http_status: r.get(9)?,
        response_body: r.get(10)?,
        error_message: r.get(11)?,
        duration_ms: r.get(12)?,
        next_attempt_at: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        webhook_deleted: r.get(16)?,
    };
    Ok((delivery, r.get(17)?))
}

// ── webhooks ────────────────────────────────────────────────────────────────────────────────

/// The columns [`webhook`] decodes, for `webhooks w`. Sealed values are not among them (see
/// [`SEALED`]).
pub(super) const WEBHOOK: &str = "w.id, w.customer_id, w.name, w.url, w.event_types,
    w.secret IS NOT NULL, w.enabled, w.verify_ssl, w.timeout_seconds, w.max_retries,
    w.retry_backoff, w.headers, w.created_at, w.updated_at, w.auto_disable_after,
    w.disabled_reason, w.failing_since,
    CASE WHEN w.previous_secret IS NOT NULL THEN w.previous_until END AS previous_until,
    w.payload_format,
    w.routing_key IS NOT NULL";

/// How many columns [`WEBHOOK`] is.
pub(super) const WEBHOOK_COLUMNS: usize = 20;

/// The sealed values of `webhooks w`, for sending: secret, previous secret, routing key.
pub(super) const SEALED: &str = "w.secret, w.previous_secret, w.routing_key";

/// A `webhooks` row as [`WEBHOOK`] selects it from column `at` on; `None` when its id is NULL
/// (the far side of a LEFT JOIN that found no webhook).
pub(super) fn webhook(r: &Row<'_>, at: usize) -> Result<Option<Webhook>> {
    let Some(id) = r.get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    let bad = |what: String| StoreError::corrupt("webhooks", id, what);
    let url: String = r.get(at + 3)?;
    let url = WebhookUrl::parse_form(&url).map_err(|e| bad(format!("url: {}", e.message)))?;
    let format: String = r.get(at + 18)?;
    let payload_format = PayloadFormat::parse(&format).ok_or_else(|| {
        bad(format!(
            "payload_format {} is not a payload format",
            quote(&format)
        ))
    })?;
    Ok(Some(Webhook {
        id,
        customer: CustomerId(r.get(at + 1)?),
        settings: WebhookSettings {
            name: r.get(at + 2)?,
            // Stored URLs were checked when written; private ones only if allowed then.
            url,
            event_types: event_types(id, &r.get::<_, String>(at + 4)?)?,
            enabled: r.get(at + 6)?,
            verify_ssl: r.get(at + 7)?,
            timeout_seconds: r.get(at + 8)?,
            max_retries: r.get(at + 9)?,
            retry_backoff: r.get(at + 10)?,
            headers: headers(id, &r.get::<_, String>(at + 11)?)?,
            auto_disable_after: r.get(at + 14)?,
            payload_format,
        },
        has_secret: r.get(at + 5)?,
        disabled_reason: r.get(at + 15)?,
        failing_since: r.get(at + 16)?,
        previous_secret_until: r.get(at + 17)?,
        has_routing_key: r.get(at + 19)?,
        created_at: r.get(at + 12)?,
        updated_at: r.get(at + 13)?,
    }))
}

// ── attempts ────────────────────────────────────────────────────────────────────────────────

/// The columns [`attempt`] decodes, for `attempts a`.
pub(super) const ATTEMPT: &str = "a.id, a.attempt, a.started_at, a.request_headers, a.http_status,
    a.response_body, a.duration_ms, a.error_message, a.request_body";

/// An `attempts` row as [`ATTEMPT`] selects it.
pub(super) fn attempt(r: &Row<'_>) -> Result<AttemptLog> {
    let id: i64 = r.get(0)?;
    let headers: String = r.get(3)?;
    let request_headers = serde_json::from_str::<serde_json::Value>(&headers)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| {
            StoreError::corrupt(
                "attempts",
                id,
                "request_headers is not a JSON object of names and values",
            )
        })?;
    Ok(AttemptLog {
        attempt: r.get(1)?,
        started_at: r.get(2)?,
        request_headers,
        http_status: r.get(4)?,
        response_body: r.get(5)?,
        duration_ms: r.get(6)?,
        error_message: r.get(7)?,
        request_body: r.get(8)?,
    })
}
