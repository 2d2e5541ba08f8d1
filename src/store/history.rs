//! Delivery history for people and scripts: `deliveries list/show`, attempt logs, and when
//! the next delivery falls due. Read-only queries, each scoped to the caller's customer.

use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use super::{DeliveryStatus, Result, Store, StoreError};
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};

/// A delivery as `deliveries list/show` present it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub customer: CustomerId,
    pub webhook: Option<i64>,
    pub webhook_name: String,
    pub event_type: String,
    pub event_id: Option<i64>,
    pub payload: Vec<u8>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub response_body: Option<String>,
    pub error_message: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One logged attempt, for `deliveries show`.
#[derive(Debug, Clone)]
pub struct AttemptLog {
    pub attempt: u32,
    pub started_at: Millis,
    pub request_headers: Value,
    pub http_status: Option<u16>,
    pub response_body: Option<String>,
    pub duration_ms: i64,
    pub error_message: Option<String>,
}

/// Which deliveries `deliveries list` and `retry --failed` take.
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    pub webhook: Option<i64>,
    pub status: Option<DeliveryStatus>,
    pub event_type: Option<String>,
    pub since: Option<Millis>,
    pub limit: Option<u32>,
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.customer_id, d.webhook_id, d.webhook_name,
        d.event_type, d.event_id, e.payload, d.status, d.attempts, d.http_status, d.response_body,
        d.error_message, d.duration_ms, d.next_attempt_at, d.created_at, d.updated_at
    FROM deliveries d JOIN events e ON e.id = d.event_row";

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let status: String = r.get(7)?;
    Ok(Delivery {
        id: r.get(0)?,
        customer: CustomerId(r.get(1)?),
        webhook: r.get(2)?,
        webhook_name: r.get(3)?,
        event_type: r.get(4)?,
        event_id: r.get(5)?,
        payload: r.get(6)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: r.get(8)?,
        http_status: r.get(9)?,
        response_body: r.get(10)?,
        error_message: r.get(11)?,
        duration_ms: r.get(12)?,
        next_attempt_at: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

impl Store {
    pub fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{DELIVERY_SELECT}
             WHERE (?1 IS NULL OR d.customer_id = ?1) AND (?2 IS NULL OR d.webhook_id = ?2)
               AND (?3 IS NULL OR d.status = ?3) AND (?4 IS NULL OR d.event_type = ?4)
               AND (?5 IS NULL OR d.created_at >= ?5)
             ORDER BY d.id DESC LIMIT ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                scope.customer(),
                f.webhook,
                f.status.map(|s| s.as_str()),
                f.event_type,
                f.since,
                f.limit.map_or(-1, i64::from)
            ],
            delivery_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One delivery, if `scope` may see it.
    pub fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery> {
        self.conn
            .prepare_cached(&format!(
                "{DELIVERY_SELECT} WHERE d.id = ?1 AND (?2 IS NULL OR d.customer_id = ?2)"
            ))?
            .query_row(params![id, scope.customer()], delivery_row)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "delivery",
                id: id.to_string(),
            })
    }

    /// Every attempt of a delivery, oldest first.
    pub fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT attempt, started_at, request_headers, http_status, response_body, duration_ms,
                    error_message
             FROM attempts WHERE delivery_id = ?1 ORDER BY attempt",
        )?;
        let rows = stmt.query_map([delivery], |r| {
            let headers: String = r.get(2)?;
            Ok(AttemptLog {
                attempt: r.get(0)?,
                started_at: r.get(1)?,
                request_headers: serde_json::from_str(&headers).unwrap_or(Value::Null),
                http_status: r.get(3)?,
                response_body: r.get(4)?,
                duration_ms: r.get(5)?,
                error_message: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// When the next delivery falls due or a lease runs out (for `drain --watch`).
    pub fn next_due(&self, scope: Scope) -> Result<Option<Millis>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT min(max(next_attempt_at, COALESCE(lease_until, 0))) FROM deliveries
                 WHERE next_attempt_at IS NOT NULL AND (?1 IS NULL OR customer_id = ?1)",
            )?
            .query_row([scope.customer()], |r| r.get(0))?)
    }
}

/// What is due now: how many deliveries, and since when the oldest has been waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub due: u64,
    pub oldest_due_at: Option<Millis>,
}

impl Store {
    /// Deliveries due at `now` (leased ones included: they are being sent), for progress and
    /// `drain`'s periodic log line.
    pub fn backlog(&self, scope: Scope, now: Millis) -> Result<Backlog> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count(*), min(next_attempt_at) FROM deliveries
                 WHERE next_attempt_at <= ?1 AND (?2 IS NULL OR customer_id = ?2)",
            )?
            .query_row(params![now, scope.customer()], |r| {
                Ok(Backlog {
                    due: r.get::<_, i64>(0)?.max(0) as u64,
                    oldest_due_at: r.get(1)?,
                })
            })?)
    }
}

/// One attempt, for `stats`.
#[derive(Debug, Clone)]
pub struct AttemptStat {
    pub webhook: Option<i64>,
    pub webhook_name: String,
    pub started_at: Millis,
    pub ok: bool,
    pub duration_ms: i64,
}

/// Deliveries of one webhook by status, for `stats`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryCounts {
    pub webhook: Option<i64>,
    pub webhook_name: String,
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    pub open: i64,
}

impl Store {
    /// Every attempt since `since` (ms), oldest first, optionally of one webhook.
    pub fn attempt_stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<Vec<AttemptStat>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.webhook_id, d.webhook_name, a.started_at,
                    a.http_status BETWEEN 200 AND 299, a.duration_ms
             FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE a.started_at >= ?1 AND (?2 IS NULL OR d.customer_id = ?2)
               AND (?3 IS NULL OR d.webhook_id = ?3)
             ORDER BY a.started_at",
        )?;
        let rows = stmt.query_map(params![since, scope.customer(), webhook], |r| {
            Ok(AttemptStat {
                webhook: r.get(0)?,
                webhook_name: r.get(1)?,
                started_at: r.get(2)?,
                ok: r.get::<_, Option<bool>>(3)?.unwrap_or(false),
                duration_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deliveries created since `since` (ms), counted by status per webhook.
    pub fn delivery_counts(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<Vec<DeliveryCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT webhook_id, webhook_name, count(*),
                    sum(status = 'success'), sum(status = 'failed'),
                    sum(status IN ('pending', 'retrying'))
             FROM deliveries
             WHERE created_at >= ?1 AND (?2 IS NULL OR customer_id = ?2)
               AND (?3 IS NULL OR webhook_id = ?3) AND event_type != 'webhook.test'
             GROUP BY webhook_id, webhook_name ORDER BY webhook_id",
        )?;
        let rows = stmt.query_map(params![since, scope.customer(), webhook], |r| {
            Ok(DeliveryCounts {
                webhook: r.get(0)?,
                webhook_name: r.get(1)?,
                total: r.get(2)?,
                success: r.get(3)?,
                failed: r.get(4)?,
                open: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
