//! `/metrics` and `webnet metrics` on PostgreSQL: four grouped reads in one read-only
//! repeatable-read transaction, so every figure describes the same moment.
//!
//! Cost: the deliveries and attempts reads visit every delivery and every attempt the database
//! still holds in scope, once each (a sequential scan, the attempts hash-joined to their
//! deliveries), and return one row per webhook and status (or result): nothing is loaded per
//! row, the histogram's buckets are `count(*) FILTER (WHERE duration_ms <= bound)` columns of
//! the same pass. Not measured here; SQLite takes 1.5 s for a million attempts, and a server
//! should be of that order: keep history bounded (`drain --retain`) where `/metrics` is scraped
//! often. What is due is read from the narrow `queue` table (its due index); the webhooks
//! table is small.

use postgres::{IsolationLevel, Row};

use super::{decode, PgStore};
use crate::domain::text::quote;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};
use crate::store::{
    Backlog, DeliveryStatus, DurationHistogram, MetricsAttempts, MetricsDeliveries, MetricsFailing,
    MetricsSnapshot, MetricsWebhook, MetricsWebhooks, Result, StoreError, DURATION_BUCKETS_MS,
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

impl PgStore {
    pub fn metrics(&self, scope: Scope, now: Millis) -> Result<MetricsSnapshot> {
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let customer = scope.customer();
        let rows = tx.query(
            &format!(
                "SELECT g.customer_id, g.webhook_id, {GROUP_NAME}, g.status, g.n
                 FROM (SELECT {GROUP_KEY}, d.status, count(*) AS n FROM deliveries d
                       WHERE $1::bigint IS NULL OR d.customer_id = $1
                       GROUP BY 1, 2, 3, 4) g
                 LEFT JOIN webhooks w ON w.id = g.webhook_id
                 ORDER BY g.customer_id, g.webhook_id IS NULL, g.webhook_id, 3, g.status"
            ),
            &[&customer],
        )?;
        let deliveries = decode::all(&rows, delivery_group)?;

        let buckets: Vec<String> = DURATION_BUCKETS_MS
            .iter()
            .enumerate()
            .map(|(i, ms)| format!("count(*) FILTER (WHERE a.duration_ms <= {ms}) AS b{i}"))
            .collect();
        let bucket_cols: Vec<String> = (0..DURATION_BUCKETS_MS.len())
            .map(|i| format!("g.b{i}"))
            .collect();
        let rows = tx.query(
            &format!(
                "SELECT g.customer_id, g.webhook_id, {GROUP_NAME}, g.ok, g.n, g.sum_ms, {}
                 FROM (SELECT {GROUP_KEY},
                              COALESCE(a.http_status BETWEEN 200 AND 299, false) AS ok,
                              count(*) AS n, sum(a.duration_ms)::bigint AS sum_ms, {}
                       FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                       WHERE $1::bigint IS NULL OR d.customer_id = $1
                       GROUP BY 1, 2, 3, 4) g
                 LEFT JOIN webhooks w ON w.id = g.webhook_id
                 ORDER BY g.customer_id, g.webhook_id IS NULL, g.webhook_id, 3, g.ok DESC",
                bucket_cols.join(", "),
                buckets.join(", ")
            ),
            &[&customer],
        )?;
        let grouped = decode::all(&rows, attempt_group)?;
        let mut durations = DurationHistogram::default();
        for (_, h) in &grouped {
            durations.add(h);
        }
        let attempts = grouped.into_iter().map(|(a, _)| a).collect();

        let r = tx.query_one(
            "SELECT count(*), min(next_attempt_at) FROM queue
             WHERE next_attempt_at <= $1 AND ($2::bigint IS NULL OR customer_id = $2)",
            &[&now, &customer],
        )?;
        let backlog = Backlog {
            due: r.try_get::<_, i64>(0)?.max(0) as u64,
            oldest_due_at: r.try_get(1)?,
        };

        let rows = tx.query(
            "SELECT customer_id, count(*) FILTER (WHERE enabled),
                    count(*) FILTER (WHERE NOT enabled),
                    count(*) FILTER (WHERE enabled AND failing_since IS NOT NULL)
             FROM webhooks WHERE $1::bigint IS NULL OR customer_id = $1
             GROUP BY customer_id ORDER BY customer_id",
            &[&customer],
        )?;
        let webhooks = decode::all(&rows, |r| {
            Ok(MetricsWebhooks {
                customer: CustomerId(r.try_get(0)?),
                enabled: count(r, 1)?,
                disabled: count(r, 2)?,
                failing: count(r, 3)?,
            })
        })?;
        let rows = tx.query(
            "SELECT customer_id, id, name, failing_since FROM webhooks
             WHERE enabled AND failing_since IS NOT NULL
               AND ($1::bigint IS NULL OR customer_id = $1)
             ORDER BY customer_id, id",
            &[&customer],
        )?;
        let failing = decode::all(&rows, |r| {
            Ok(MetricsFailing {
                webhook: MetricsWebhook {
                    customer: CustomerId(r.try_get(0)?),
                    webhook: Some(r.try_get(1)?),
                    name: r.try_get(2)?,
                },
                since: r.try_get(3)?,
            })
        })?;
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
}

fn count(r: &Row, i: usize) -> Result<u64> {
    Ok(r.try_get::<_, i64>(i)?.max(0) as u64)
}

/// The webhook of a grouped row: its first three columns.
fn group(r: &Row) -> Result<MetricsWebhook> {
    Ok(MetricsWebhook {
        customer: CustomerId(r.try_get(0)?),
        webhook: r.try_get(1)?,
        name: r.try_get(2)?,
    })
}

fn delivery_group(r: &Row) -> Result<MetricsDeliveries> {
    let webhook = group(r)?;
    let status: String = r.try_get(3)?;
    let status = DeliveryStatus::parse(&status).ok_or_else(|| {
        StoreError::corrupt(
            "deliveries",
            webhook.webhook.unwrap_or(0),
            format!("status {} is not a status", quote(&status)),
        )
    })?;
    Ok(MetricsDeliveries {
        webhook,
        status,
        count: count(r, 4)?,
    })
}

fn attempt_group(r: &Row) -> Result<(MetricsAttempts, DurationHistogram)> {
    let mut h = DurationHistogram {
        count: count(r, 4)?,
        sum_ms: r.try_get(5)?,
        ..DurationHistogram::default()
    };
    for (i, b) in h.cumulative.iter_mut().enumerate() {
        *b = count(r, 6 + i)?;
    }
    let a = MetricsAttempts {
        webhook: group(r)?,
        success: r.try_get(3)?,
        count: h.count,
    };
    Ok((a, h))
}
