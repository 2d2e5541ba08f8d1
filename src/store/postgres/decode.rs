//! One decoder per table: the only code that turns a stored `deliveries`, `webhooks` or
//! `attempts` row into its type. Every query on those tables selects the table's columns
//! ([`DELIVERY`], [`WEBHOOK`], [`ATTEMPT`]) and decodes them here.
//!
//! Invariant: a value that does not decode is [`StoreError::Corrupt`], naming the table, the row
//! and the value; never a default. (Corrupt headers read as `{}` would send a delivery without
//! its `Authorization` header; an unknown status read as `pending` would send it again.)

use crate::store::columns::event_types;
pub(super) use crate::store::columns::headers;
use postgres::Row;

use crate::domain::format::PayloadFormat;
use crate::domain::text::quote;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, WebhookSettings, WebhookUrl};
use crate::store::{AttemptLog, Delivery, Webhook};
use crate::store::{DeliveryStatus, Result, StoreError};

/// Every row of `rows`, decoded by `f`.
pub(super) fn all<T>(rows: &[Row], mut f: impl FnMut(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(&mut f).collect()
}

/// Column `i` of `r` (a `bigint`) as a `u32`, or [`StoreError::Corrupt`] naming it.
pub(super) fn small(r: &Row, table: &'static str, id: i64, i: usize) -> Result<u32> {
    let v: i64 = r.try_get(i)?;
    u32::try_from(v).map_err(|_| {
        StoreError::corrupt(
            table,
            id,
            format!("{} {v} is out of range", r.columns()[i].name()),
        )
    })
}

/// As [`small`], for a column that may be NULL.
pub(super) fn small_opt<T: TryFrom<i64>>(
    r: &Row,
    table: &'static str,
    id: i64,
    i: usize,
) -> Result<Option<T>> {
    let v: Option<i64> = r.try_get(i)?;
    v.map(|v| {
        T::try_from(v).map_err(|_| {
            StoreError::corrupt(
                table,
                id,
                format!("{} {v} is out of range", r.columns()[i].name()),
            )
        })
    })
    .transpose()
}

// ── deliveries ──────────────────────────────────────────────────────────────────────────────

/// The columns [`delivery`] decodes, for `deliveries d JOIN events e ON e.id = d.event_row
/// LEFT JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN queue q ON q.delivery_id = d.id`
/// (ids are never reused, so a delivery whose webhook has no row any more is a deleted one's).
pub(super) const DELIVERY: &str = "d.id, d.customer_id, d.webhook_id, d.webhook_name,
    d.event_type, d.event_id, e.payload, d.status, d.attempts, d.http_status, d.response_body,
    d.error_message, d.duration_ms, d.next_attempt_at, d.created_at, d.updated_at,
    w.id IS NULL, q.lease_until";

/// A `deliveries` row as [`DELIVERY`] selects it, and its lease (until when, if leased).
pub(super) fn delivery(r: &Row) -> Result<(Delivery, Option<Millis>)> {
    let id: i64 = r.try_get(0)?;
    let bad = |what: String| StoreError::corrupt("deliveries", id, what);
    let event_type: String = r.try_get(4)?;
    let event_type = event_type.parse::<EventType>().map_err(|_| {
        bad(format!(
            "event_type {} is not an event type",
            quote(&event_type)
        ))
    })?;
    let status: String = r.try_get(7)?;
    let status = DeliveryStatus::parse(&status)
        .ok_or_else(|| bad(format!("status {} is not a status", quote(&status))))?;
    let delivery = Delivery {
        id,
        customer: CustomerId(r.try_get(1)?),
        webhook: r.try_get(2)?,
        webhook_name: r.try_get(3)?,
        event_type,
        event_id: r.try_get(5)?,
        payload: r.try_get(6)?,
        status,
        attempts: small(r, "deliveries", id, 8)?,
        http_status: small_opt(r, "deliveries", id, 9)?,
        response_body: r.try_get(10)?,
        error_message: r.try_get(11)?,
        duration_ms: r.try_get(12)?,
        next_attempt_at: r.try_get(13)?,
        created_at: r.try_get(14)?,
        updated_at: r.try_get(15)?,
        webhook_deleted: r.try_get(16)?,
    };
    Ok((delivery, r.try_get(17)?))
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
pub(super) fn webhook(r: &Row, at: usize) -> Result<Option<Webhook>> {
    let Some(id) = r.try_get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    let bad = |what: String| StoreError::corrupt("webhooks", id, what);
    let url: String = r.try_get(at + 3)?;
    let url = WebhookUrl::parse_form(&url).map_err(|e| bad(format!("url: {}", e.message)))?;
    let format: String = r.try_get(at + 18)?;
    let payload_format = PayloadFormat::parse(&format).ok_or_else(|| {
        bad(format!(
            "payload_format {} is not a payload format",
            quote(&format)
        ))
    })?;
    Ok(Some(Webhook {
        id,
        customer: CustomerId(r.try_get(at + 1)?),
        settings: WebhookSettings {
            name: r.try_get(at + 2)?,
            // Stored URLs were checked when written; private ones only if allowed then.
            url,
            event_types: event_types(id, &r.try_get::<_, String>(at + 4)?)?,
            enabled: r.try_get(at + 6)?,
            verify_ssl: r.try_get(at + 7)?,
            timeout_seconds: small(r, "webhooks", id, at + 8)?,
            max_retries: small(r, "webhooks", id, at + 9)?,
            retry_backoff: small(r, "webhooks", id, at + 10)?,
            headers: headers(id, &r.try_get::<_, String>(at + 11)?)?,
            auto_disable_after: small(r, "webhooks", id, at + 14)?,
            payload_format,
        },
        has_secret: r.try_get(at + 5)?,
        disabled_reason: r.try_get(at + 15)?,
        failing_since: r.try_get(at + 16)?,
        previous_secret_until: r.try_get(at + 17)?,
        has_routing_key: r.try_get(at + 19)?,
        created_at: r.try_get(at + 12)?,
        updated_at: r.try_get(at + 13)?,
    }))
}

// ── attempts ────────────────────────────────────────────────────────────────────────────────

/// The columns [`attempt`] decodes, for `attempts a`.
pub(super) const ATTEMPT: &str = "a.id, a.attempt, a.started_at, a.request_headers, a.http_status,
    a.response_body, a.duration_ms, a.error_message, a.request_body";

/// An `attempts` row as [`ATTEMPT`] selects it.
pub(super) fn attempt(r: &Row) -> Result<AttemptLog> {
    let id: i64 = r.try_get(0)?;
    let headers: String = r.try_get(3)?;
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
        attempt: small(r, "attempts", id, 1)?,
        started_at: r.try_get(2)?,
        request_headers,
        http_status: small_opt(r, "attempts", id, 4)?,
        response_body: r.try_get(5)?,
        duration_ms: r.try_get(6)?,
        error_message: r.try_get(7)?,
        request_body: r.try_get(8)?,
    })
}
