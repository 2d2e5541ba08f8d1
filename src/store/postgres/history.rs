//! Delivery history for people and scripts: `deliveries list/show`, attempt logs, and when
//! the next delivery falls due. Read-only queries, each scoped to the caller's customer.

use postgres::{IsolationLevel, Row};

use super::{decode, PgStore};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{
    AttemptLog, AttemptStat, Backlog, Delivery, DeliveryCounts, DeliveryFilter, Result, StoreError,
};

/// `deliveries list/show`: each delivery with its payload and whether its webhook is deleted.
fn delivery_select() -> String {
    format!(
        "SELECT {} FROM deliveries d JOIN events e ON e.id = d.event_row
         LEFT JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN queue q ON q.delivery_id = d.id",
        decode::DELIVERY
    )
}

fn delivery(r: &Row) -> Result<Delivery> {
    decode::delivery(r).map(|(d, _)| d)
}

impl PgStore {
    pub fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>> {
        let [event_type, family] = f.event_params();
        let rows = self.client()?.query(
            &format!(
                "{}
                 WHERE ($1::bigint IS NULL OR d.customer_id = $1)
                   AND ($2::bigint IS NULL OR d.webhook_id = $2)
                   AND ($3::text IS NULL OR d.status = $3)
                   AND ($4::text IS NULL OR d.event_type = $4)
                   AND ($5::bigint IS NULL OR d.created_at >= $5)
                   AND ($8::text IS NULL OR d.event_type LIKE $8)
                 ORDER BY d.id DESC LIMIT $6 OFFSET $7",
                delivery_select()
            ),
            &[
                &scope.customer(),
                &f.webhook,
                &f.status.map(|s| s.as_str()),
                &event_type,
                &f.since,
                &f.limit.map(i64::from),
                &i64::from(f.offset),
                &family,
            ],
        )?;
        decode::all(&rows, delivery)
    }

    /// How many deliveries `f` selects (its limit and offset aside).
    pub fn count_deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<u64> {
        let [event_type, family] = f.event_params();
        let n: i64 = self
            .client()?
            .query_one(
                "SELECT count(*) FROM deliveries d
                 WHERE ($1::bigint IS NULL OR d.customer_id = $1)
                   AND ($2::bigint IS NULL OR d.webhook_id = $2)
                   AND ($3::text IS NULL OR d.status = $3)
                   AND ($4::text IS NULL OR d.event_type = $4)
                   AND ($5::bigint IS NULL OR d.created_at >= $5)
                   AND ($6::text IS NULL OR d.event_type LIKE $6)",
                &[
                    &scope.customer(),
                    &f.webhook,
                    &f.status.map(|s| s.as_str()),
                    &event_type,
                    &f.since,
                    &family,
                ],
            )?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    /// Whether a webhook id means anything to `scope`: a webhook it may see, or a deleted one
    /// whose deliveries it may see. Otherwise "webhook ID not found" (never existed here).
    pub fn webhook_known(&self, scope: Scope, id: i64) -> Result<()> {
        let known: bool = self
            .client()?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM webhooks
                                WHERE id = $1 AND ($2::bigint IS NULL OR customer_id = $2))
                     OR EXISTS (SELECT 1 FROM deliveries
                                WHERE webhook_id = $1 AND ($2::bigint IS NULL OR customer_id = $2))",
                &[&id, &scope.customer()],
            )?
            .try_get(0)?;
        if known {
            Ok(())
        } else {
            Err(StoreError::not_found("webhook", id))
        }
    }

    /// One delivery, if `scope` may see it.
    pub fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery> {
        let row = self.client()?.query_opt(
            &format!(
                "{} WHERE d.id = $1 AND ($2::bigint IS NULL OR d.customer_id = $2)",
                delivery_select()
            ),
            &[&id, &scope.customer()],
        )?;
        let row = row.ok_or_else(|| StoreError::not_found("delivery", id))?;
        delivery(&row)
    }

    /// Every attempt of a delivery, oldest first.
    pub fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>> {
        let rows = self.client()?.query(
            &format!(
                "SELECT {} FROM attempts a WHERE a.delivery_id = $1 ORDER BY a.attempt",
                decode::ATTEMPT
            ),
            &[&delivery],
        )?;
        decode::all(&rows, decode::attempt)
    }

    /// When the next delivery falls due or a lease runs out (for `drain --watch`).
    pub fn next_due(&self, scope: Scope) -> Result<Option<Millis>> {
        Ok(self
            .client()?
            .query_one(
                "SELECT min(GREATEST(next_attempt_at, COALESCE(lease_until, 0))) FROM queue
                 WHERE next_attempt_at IS NOT NULL AND ($1::bigint IS NULL OR customer_id = $1)",
                &[&scope.customer()],
            )?
            .try_get(0)?)
    }

    /// Deliveries due at `now` (leased ones included: they are being sent), for progress and
    /// `drain`'s periodic log line.
    pub fn backlog(&self, scope: Scope, now: Millis) -> Result<Backlog> {
        let r = self.client()?.query_one(
            "SELECT count(*), min(next_attempt_at) FROM queue
             WHERE next_attempt_at <= $1 AND ($2::bigint IS NULL OR customer_id = $2)",
            &[&now, &scope.customer()],
        )?;
        Ok(Backlog {
            due: r.try_get::<_, i64>(0)?.max(0) as u64,
            oldest_due_at: r.try_get(1)?,
        })
    }
}

/// Which deliveries `stats` counts: created since `since` (ms), in scope, maybe of one
/// webhook. Test deliveries count like any other: they are real requests to the receiver.
const STATS_DELIVERIES: &str = "d.created_at >= $1 AND ($2::bigint IS NULL OR d.customer_id = $2)
    AND ($3::bigint IS NULL OR d.webhook_id = $3)";

impl PgStore {
    /// `stats`' two views of one moment: deliveries counted by status per webhook, and every
    /// attempt of those deliveries, read in one repeatable-read transaction so they agree.
    pub fn stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)> {
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let params: [&(dyn postgres::types::ToSql + Sync); 3] =
            [&since, &scope.customer(), &webhook];
        // Deliveries by status per webhook (by id: one row even if it was renamed; a deleted
        // webhook keeps its row, named as its last delivery recorded it).
        let counts = tx.query(
            &format!(
                "SELECT d.webhook_id,
                        COALESCE(max(w.name), (array_agg(d.webhook_name ORDER BY d.id DESC))[1]),
                        bool_and(w.id IS NULL), count(*),
                        count(*) FILTER (WHERE d.status = 'success'),
                        count(*) FILTER (WHERE d.status = 'failed'),
                        count(*) FILTER (WHERE d.status IN ('pending', 'retrying'))
                 FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id
                 WHERE {STATS_DELIVERIES}
                 GROUP BY d.webhook_id, CASE WHEN d.webhook_id IS NULL THEN d.webhook_name END
                 ORDER BY d.webhook_id IS NULL, d.webhook_id, 2"
            ),
            &params,
        )?;
        let counts = decode::all(&counts, |r| {
            Ok(DeliveryCounts {
                webhook: r.try_get(0)?,
                webhook_name: r.try_get(1)?,
                webhook_deleted: r.try_get(2)?,
                total: r.try_get(3)?,
                success: r.try_get(4)?,
                failed: r.try_get(5)?,
                open: r.try_get(6)?,
            })
        })?;
        // Every attempt of the deliveries counted, oldest first: so no webhook shows attempts
        // its deliveries cannot explain.
        let attempts = tx.query(
            &format!(
                "SELECT d.webhook_id, d.webhook_name, a.started_at,
                        a.http_status BETWEEN 200 AND 299, a.duration_ms
                 FROM deliveries d JOIN attempts a ON a.delivery_id = d.id
                 WHERE {STATS_DELIVERIES}
                 ORDER BY a.started_at, a.id"
            ),
            &params,
        )?;
        let attempts = decode::all(&attempts, |r| {
            Ok(AttemptStat {
                webhook: r.try_get(0)?,
                webhook_name: r.try_get(1)?,
                started_at: r.try_get(2)?,
                ok: r.try_get::<_, Option<bool>>(3)?.unwrap_or(false),
                duration_ms: r.try_get(4)?,
            })
        })?;
        tx.commit()?;
        Ok((counts, attempts))
    }
}
