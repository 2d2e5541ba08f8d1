//! Delivery history for people and scripts: `deliveries list/show`, attempt logs, and when
//! the next delivery falls due. Read-only queries, each scoped to the caller's customer.

use rusqlite::{params, Transaction, TransactionBehavior};

use super::decode;
use super::{Result, SqliteStore, StoreError};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{AttemptLog, AttemptStat, Backlog, Delivery, DeliveryCounts, DeliveryFilter};

/// `deliveries list/show`: each delivery with its payload and whether its webhook is deleted.
fn delivery_select() -> String {
    format!(
        "SELECT {} FROM deliveries d JOIN events e ON e.id = d.event_row
         LEFT JOIN webhooks w ON w.id = d.webhook_id",
        decode::DELIVERY
    )
}

fn delivery(r: &rusqlite::Row<'_>) -> Result<Delivery> {
    decode::delivery(r).map(|(d, _)| d)
}

impl SqliteStore {
    pub fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{}
             WHERE (?1 IS NULL OR d.customer_id = ?1) AND (?2 IS NULL OR d.webhook_id = ?2)
               AND (?3 IS NULL OR d.status = ?3) AND (?4 IS NULL OR d.event_type = ?4)
               AND (?5 IS NULL OR d.created_at >= ?5) AND (?8 IS NULL OR d.event_type LIKE ?8)
             ORDER BY d.id DESC LIMIT ?6 OFFSET ?7",
            delivery_select()
        ))?;
        let [event_type, family] = f.event_params();
        let rows = stmt.query(params![
            scope.customer(),
            f.webhook,
            f.status.map(|s| s.as_str()),
            event_type,
            f.since,
            f.limit.map_or(-1, i64::from),
            i64::from(f.offset),
            family
        ])?;
        decode::all(rows, delivery)
    }

    /// How many deliveries `f` selects (its limit and offset aside).
    pub fn count_deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<u64> {
        let [event_type, family] = f.event_params();
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM deliveries d
                 WHERE (?1 IS NULL OR d.customer_id = ?1) AND (?2 IS NULL OR d.webhook_id = ?2)
                   AND (?3 IS NULL OR d.status = ?3) AND (?4 IS NULL OR d.event_type = ?4)
                   AND (?5 IS NULL OR d.created_at >= ?5) AND (?6 IS NULL OR d.event_type LIKE ?6)",
            )?
            .query_row(
                params![
                    scope.customer(),
                    f.webhook,
                    f.status.map(|s| s.as_str()),
                    event_type,
                    f.since,
                    family,
                ],
                |r| r.get(0),
            )?;
        Ok(n.max(0) as u64)
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
            Err(StoreError::not_found("webhook", id))
        }
    }

    /// One delivery, if `scope` may see it.
    pub fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{} WHERE d.id = ?1 AND (?2 IS NULL OR d.customer_id = ?2)",
            delivery_select()
        ))?;
        let found = decode::first(stmt.query(params![id, scope.customer()])?, delivery)?;
        found.ok_or_else(|| StoreError::not_found("delivery", id))
    }

    /// Every attempt of a delivery, oldest first.
    pub fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM attempts a WHERE a.delivery_id = ?1 ORDER BY a.attempt",
            decode::ATTEMPT
        ))?;
        let attempts = decode::all(stmt.query([delivery])?, decode::attempt)?;
        Ok(attempts)
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

impl SqliteStore {
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

/// Which deliveries `stats` counts: created since `since` (ms), in scope, maybe of one
/// webhook. Test deliveries count like any other: they are real requests to the receiver.
const STATS_DELIVERIES: &str = "d.created_at >= ?1 AND (?2 IS NULL OR d.customer_id = ?2)
    AND (?3 IS NULL OR d.webhook_id = ?3)";

impl SqliteStore {
    /// `stats`' two views of one moment: [`SqliteStore::delivery_counts`] and
    /// [`SqliteStore::attempt_stats`], read in one transaction so they agree.
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

    /// Every attempt of the deliveries [`SqliteStore::delivery_counts`] counts, oldest first: so no
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
