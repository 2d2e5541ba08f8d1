//! `/metrics` and `webnet metrics` on SQLite: four grouped reads in one read transaction, so
//! every figure describes the same moment.
//!
//! Cost: the deliveries and attempts reads visit every delivery and every attempt the database
//! still holds in scope, once each, and return one row per webhook and status (or result):
//! nothing is loaded per row, the histogram's buckets are `sum(duration_ms <= bound)` columns of
//! the same pass: a scan of the attempts table and a primary-key lookup of each one's delivery.
//! Measured once (release build, 2 shared cores, warm cache): 1.5 s for a million attempts of
//! half a million deliveries. Keep history bounded (`drain --retain`) where `/metrics` is
//! scraped often. What is due is read through the `deliveries_due` index; the webhooks table is
//! small.

use rusqlite::{params, Row, Transaction, TransactionBehavior};

use super::{Result, SqliteStore, StoreError};
use crate::domain::text::quote;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};
use crate::store::{
    DeliveryStatus, DurationHistogram, MetricsAttempts, MetricsDeliveries, MetricsFailing,
    MetricsSnapshot, MetricsWebhook, MetricsWebhooks, DURATION_BUCKETS_MS,
};

/// A group's webhook name: the webhook's current one; for a deleted webhook, the one its latest
/// delivery recorded (by the `deliveries_webhook` index); for deliveries of webhooks deleted
/// before ids were kept, the name they are grouped by.
const GROUP_NAME: &str = "COALESCE(w.name,
    (SELECT x.webhook_name FROM deliveries x WHERE x.webhook_id = g.webhook_id
     ORDER BY x.id DESC LIMIT 1),
    g.bare_name)";

/// `customer_id, webhook_id, bare_name`: how deliveries are grouped by webhook (by id: one
/// group even if it was renamed; by name only where the id is lost).
const GROUP_KEY: &str =
    "d.customer_id, d.webhook_id, CASE WHEN d.webhook_id IS NULL THEN d.webhook_name END AS bare_name";

impl SqliteStore {
    pub fn metrics(&self, scope: Scope, now: Millis) -> Result<MetricsSnapshot> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)?;
        let deliveries = self.metrics_deliveries(scope)?;
        let (attempts, durations) = self.metrics_attempts(scope)?;
        let backlog = self.backlog(scope, now)?;
        let (webhooks, failing) = self.metrics_webhooks(scope)?;
        tx.commit()?;
        Ok(MetricsSnapshot {
            deliveries,
            attempts,
            backlog,
            webhooks,
            failing,
            durations,
        })
    }

    fn metrics_deliveries(&self, scope: Scope) -> Result<Vec<MetricsDeliveries>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT g.customer_id, g.webhook_id, {GROUP_NAME}, g.status, g.n
             FROM (SELECT {GROUP_KEY}, d.status, count(*) AS n FROM deliveries d
                   WHERE ?1 IS NULL OR d.customer_id = ?1
                   GROUP BY 1, 2, 3, 4) g
             LEFT JOIN webhooks w ON w.id = g.webhook_id
             ORDER BY g.customer_id, g.webhook_id IS NULL, g.webhook_id, 3, g.status"
        ))?;
        let mut rows = stmt.query([scope.customer()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let webhook = group(r)?;
            let status: String = r.get(3)?;
            let status = DeliveryStatus::parse(&status).ok_or_else(|| {
                StoreError::corrupt(
                    "deliveries",
                    webhook.webhook.unwrap_or(0),
                    format!("status {} is not a status", quote(&status)),
                )
            })?;
            out.push(MetricsDeliveries {
                webhook,
                status,
                count: r.get::<_, i64>(4)?.max(0) as u64,
            });
        }
        Ok(out)
    }

    /// Attempts by webhook and result, each group's durations bucketed in the same pass; the
    /// histogram is their sum.
    fn metrics_attempts(&self, scope: Scope) -> Result<(Vec<MetricsAttempts>, DurationHistogram)> {
        let buckets: Vec<String> = DURATION_BUCKETS_MS
            .iter()
            .enumerate()
            .map(|(i, ms)| format!("sum(a.duration_ms <= {ms}) AS b{i}"))
            .collect();
        let bucket_cols: Vec<String> = (0..DURATION_BUCKETS_MS.len())
            .map(|i| format!("g.b{i}"))
            .collect();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT g.customer_id, g.webhook_id, {GROUP_NAME}, g.ok, g.n, g.sum_ms, {}
             FROM (SELECT {GROUP_KEY}, COALESCE(a.http_status BETWEEN 200 AND 299, 0) AS ok,
                          count(*) AS n, sum(a.duration_ms) AS sum_ms, {}
                   FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                   WHERE ?1 IS NULL OR d.customer_id = ?1
                   GROUP BY 1, 2, 3, 4) g
             LEFT JOIN webhooks w ON w.id = g.webhook_id
             ORDER BY g.customer_id, g.webhook_id IS NULL, g.webhook_id, 3, g.ok DESC",
            bucket_cols.join(", "),
            buckets.join(", ")
        ))?;
        let mut rows = stmt.query([scope.customer()])?;
        let mut out = Vec::new();
        let mut total = DurationHistogram::default();
        while let Some(r) = rows.next()? {
            let count = r.get::<_, i64>(4)?.max(0) as u64;
            let mut h = DurationHistogram {
                count,
                sum_ms: r.get(5)?,
                ..DurationHistogram::default()
            };
            for (i, b) in h.cumulative.iter_mut().enumerate() {
                *b = r.get::<_, i64>(6 + i)?.max(0) as u64;
            }
            total.add(&h);
            out.push(MetricsAttempts {
                webhook: group(r)?,
                success: r.get(3)?,
                count,
            });
        }
        Ok((out, total))
    }

    /// Webhooks per customer, and the enabled ones that are failing.
    fn metrics_webhooks(
        &self,
        scope: Scope,
    ) -> Result<(Vec<MetricsWebhooks>, Vec<MetricsFailing>)> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT customer_id, sum(enabled <> 0), sum(enabled = 0),
                    sum(enabled <> 0 AND failing_since IS NOT NULL)
             FROM webhooks WHERE ?1 IS NULL OR customer_id = ?1
             GROUP BY customer_id ORDER BY customer_id",
        )?;
        let counts = stmt
            .query_map([scope.customer()], |r| {
                Ok(MetricsWebhooks {
                    customer: CustomerId(r.get(0)?),
                    enabled: r.get::<_, i64>(1)?.max(0) as u64,
                    disabled: r.get::<_, i64>(2)?.max(0) as u64,
                    failing: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT customer_id, id, name, failing_since FROM webhooks
             WHERE enabled <> 0 AND failing_since IS NOT NULL
               AND (?1 IS NULL OR customer_id = ?1)
             ORDER BY customer_id, id",
        )?;
        let failing = stmt
            .query_map(params![scope.customer()], |r| {
                Ok(MetricsFailing {
                    webhook: MetricsWebhook {
                        customer: CustomerId(r.get(0)?),
                        webhook: Some(r.get(1)?),
                        name: r.get(2)?,
                    },
                    since: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((counts, failing))
    }
}

/// The webhook of a grouped row: its first three columns.
fn group(r: &Row<'_>) -> Result<MetricsWebhook> {
    Ok(MetricsWebhook {
        customer: CustomerId(r.get(0)?),
        webhook: r.get(1)?,
        name: r.get(2)?,
    })
}
