//! Delivery history for people and scripts: `deliveries list/show`, attempt logs, and when
//! the next delivery falls due. Read-only queries, each scoped to the caller's customer.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::Value;

use super::{DeliveryStatus, Result, Store, StoreError};
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};

/// A delivery as `deliveries list/show` present it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub customer: CustomerId,
    /// The webhook's id, kept after it is deleted (`None` only for deliveries of webhooks
    /// deleted before schema version 5).
    pub webhook: Option<i64>,
    pub webhook_name: String,
    /// The webhook was deleted (its history is kept).
    pub webhook_deleted: bool,
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
    /// The body sent when it was not the payload (a chat or alerting format); `None`: the payload.
    pub request_body: Option<Vec<u8>>,
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

/// Ids are never reused, so a delivery whose webhook has no row any more is a deleted one's.
const DELIVERY_SELECT: &str = "SELECT d.id, d.customer_id, d.webhook_id, d.webhook_name,
        d.event_type, d.event_id, e.payload, d.status, d.attempts, d.http_status, d.response_body,
        d.error_message, d.duration_ms, d.next_attempt_at, d.created_at, d.updated_at,
        w.id IS NULL
    FROM deliveries d JOIN events e ON e.id = d.event_row
    LEFT JOIN webhooks w ON w.id = d.webhook_id";

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let status: String = r.get(7)?;
    Ok(Delivery {
        id: r.get(0)?,
        customer: CustomerId(r.get(1)?),
        webhook: r.get(2)?,
        webhook_name: r.get(3)?,
        webhook_deleted: r.get(16)?,
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

    /// Whether a webhook id means anything to `scope`: a webhook it may see, or a deleted one
    /// whose deliveries it may see. Otherwise "webhook ID not found" (never existed here).
    pub fn webhook_known(&self, scope: Scope, id: i64) -> Result<()> {
        let known: bool = self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM webhooks
                                WHERE id = ?1 AND (?2 IS NULL OR customer_id = ?2))
                     OR EXISTS (SELECT 1 FROM deliveries
                                WHERE webhook_id = ?1 AND (?2 IS NULL OR customer_id = ?2))",
            )?
            .query_row(params![id, scope.customer()], |r| r.get(0))?;
        if known {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                what: "webhook",
                id: id.to_string(),
            })
        }
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
                    error_message, request_body
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
                request_body: r.get(7)?,
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
    /// `None` only for deliveries of webhooks deleted before schema version 5: those are
    /// grouped by `webhook_name`.
    pub webhook: Option<i64>,
    /// The webhook's current name (the last one recorded once it is deleted).
    pub webhook_name: String,
    pub webhook_deleted: bool,
    pub total: i64,
    pub success: i64,
    pub failed: i64,
    pub open: i64,
}

/// Which deliveries `stats` counts: created since `since` (ms), in scope, maybe of one
/// webhook. Test deliveries count like any other: they are real requests to the receiver.
const STATS_DELIVERIES: &str = "d.created_at >= ?1 AND (?2 IS NULL OR d.customer_id = ?2)
    AND (?3 IS NULL OR d.webhook_id = ?3)";

impl Store {
    /// `stats`' two views of one moment: [`Store::delivery_counts`] and
    /// [`Store::attempt_stats`], read in one transaction so they agree.
    pub fn stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        let counts = self.delivery_counts(scope, since, webhook)?;
        let attempts = self.attempt_stats(scope, since, webhook)?;
        tx.commit()?;
        Ok((counts, attempts))
    }

    /// Every attempt of the deliveries [`Store::delivery_counts`] counts, oldest first: so no
    /// webhook shows attempts its deliveries cannot explain.
    pub fn attempt_stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<Vec<AttemptStat>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT d.webhook_id, d.webhook_name, a.started_at,
                    a.http_status BETWEEN 200 AND 299, a.duration_ms
             FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
             WHERE {STATS_DELIVERIES}
             ORDER BY a.started_at"
        ))?;
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

    /// Deliveries created since `since` (ms), counted by status per webhook (by id: one row
    /// even if it was renamed; a deleted webhook keeps its row).
    pub fn delivery_counts(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<Vec<DeliveryCounts>> {
        // With one max() aggregate, SQLite takes the bare d.webhook_name from that row: the
        // name last recorded for a deleted webhook.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT d.webhook_id, COALESCE(w.name, d.webhook_name), w.id IS NULL, count(*),
                    sum(d.status = 'success'), sum(d.status = 'failed'),
                    sum(d.status IN ('pending', 'retrying')), max(d.id)
             FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id
             WHERE {STATS_DELIVERIES}
             GROUP BY d.webhook_id, CASE WHEN d.webhook_id IS NULL THEN d.webhook_name END
             ORDER BY d.webhook_id IS NULL, d.webhook_id, 2"
        ))?;
        let rows = stmt.query_map(params![since, scope.customer(), webhook], |r| {
            Ok(DeliveryCounts {
                webhook: r.get(0)?,
                webhook_name: r.get(1)?,
                webhook_deleted: r.get(2)?,
                total: r.get(3)?,
                success: r.get(4)?,
                failed: r.get(5)?,
                open: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
