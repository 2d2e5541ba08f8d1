//! Pruning history (`deliveries prune`, `drain --retain`) in SQLite: deletes final deliveries that
//! became final before a cutoff, with their attempt log and the events no delivery refers to any
//! more, then hands the freed pages back to the file system.
//!
//! Invariants: never a `pending` or `retrying` delivery, nor one leased to a sender (a manual
//! retry in flight); never outside the caller's scope; and never a long write transaction.
//! SQLite has one writer, so work goes in short batches (about 40 ms each) with a pause after
//! each, long enough for a waiting `emit` or `drain` to take the lock: they wait for one batch,
//! not for the whole prune.

use std::time::{Duration, Instant};

use rusqlite::{named_params, ToSql, TransactionBehavior};

use super::pacer::Pacer;
use super::{DeliveryStatus, Result, SqliteStore};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{PruneCount, PruneOptions, PruneReport, PruneRule};

/// A file made before incremental reclaim is switched to it (one `VACUUM`, which holds the write
/// lock throughout) only when what is left after pruning is this small: a few hundred
/// milliseconds. Bigger ones keep their size (freed pages are reused for new deliveries) unless
/// `deliveries prune --vacuum` is asked for.
const AUTO_SWITCH_MAX_BYTES: u64 = 8 << 20;

/// `PRAGMA auto_vacuum = INCREMENTAL`.
const INCREMENTAL: i64 = 2;

/// A final delivery the rule selects, for a delivery table aliased `d`. Named parameters:
/// `:before`, `:status`, `:customer`, `:now` (see [`Bind`]).
const PRUNABLE: &str =
    "d.status IN ('success', 'failed') AND (:status IS NULL OR d.status = :status)
    AND d.updated_at < :before AND (:customer IS NULL OR d.customer_id = :customer)
    AND (d.lease_until IS NULL OR d.lease_until <= :now)";

/// The values of [`PRUNABLE`]'s parameters.
struct Bind {
    before: Millis,
    status: Option<&'static str>,
    customer: Option<i64>,
    now: Millis,
}

impl Bind {
    fn new(scope: Scope, rule: PruneRule, now: Millis) -> Bind {
        Bind {
            before: rule.before,
            status: rule.status.map(DeliveryStatus::as_str),
            customer: scope.customer(),
            now,
        }
    }

    /// [`PRUNABLE`]'s parameters, then a statement's own.
    fn with<'a>(&'a self, own: &[(&'a str, &'a dyn ToSql)]) -> Vec<(&'a str, &'a dyn ToSql)> {
        let mut all: Vec<(&str, &dyn ToSql)> = vec![
            (":before", &self.before),
            (":status", &self.status),
            (":customer", &self.customer),
            (":now", &self.now),
        ];
        all.extend_from_slice(own);
        all
    }
}

impl SqliteStore {
    /// Counts what [`SqliteStore::prune`] would delete now; changes nothing.
    pub fn count_prunable(&self, scope: Scope, rule: PruneRule, now: Millis) -> Result<PruneCount> {
        let bind = Bind::new(scope, rule, now);
        let (deliveries, attempts): (i64, i64) = self
            .conn
            .prepare(&format!(
                "SELECT count(*), COALESCE(sum((SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id)), 0)
                 FROM deliveries AS d INDEXED BY deliveries_created
                 WHERE d.created_at < :before AND {PRUNABLE}"
            ))?
            .query_row(&*bind.with(&[]), |r| Ok((r.get(0)?, r.get(1)?)))?;
        // An event goes when none of its deliveries stays (or it never had any).
        let events: i64 = self
            .conn
            .prepare(&format!(
                "SELECT count(*) FROM events AS e INDEXED BY events_created
                 WHERE e.created_at < :before AND (:customer IS NULL OR e.customer_id = :customer)
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_row = e.id AND NOT ({PRUNABLE}))"
            ))?
            .query_row(&*bind.with(&[]), |r| r.get(0))?;
        Ok(PruneCount {
            deliveries: deliveries as u64,
            attempts: attempts as u64,
            events: events as u64,
        })
    }

    /// Deletes the final deliveries `rule` selects in `scope`, their attempts and the events no
    /// delivery refers to any more (created before the cutoff), in short batches; then reclaims
    /// the space. `now` is the time leases are judged against.
    pub fn prune(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        opts: &PruneOptions,
    ) -> Result<PruneReport> {
        let deadline = opts.budget.map(|b| Instant::now() + b);
        let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
        let pages_before = self.pragma_i64("page_count")?;
        let mut report = PruneReport::default();
        let mut pacer = Pacer::new(500, 50, 5000, now);

        // 1. Deliveries and their attempt log, oldest first. Candidates are read outside any
        // write transaction; the delete checks them again under the write lock.
        let mut cursor = (i64::MIN, i64::MIN);
        let mut deliveries_done = false;
        while !out_of_time() {
            let batch = self.prunable_deliveries(scope, rule, now, cursor, pacer.batch)?;
            let Some(&last) = batch.last() else {
                deliveries_done = true;
                break;
            };
            cursor = last;
            let ids: Vec<i64> = batch.iter().map(|&(_, id)| id).collect();
            let (deliveries, attempts, held) =
                self.light(|s| s.delete_deliveries(scope, rule, now, &ids))?;
            report.deleted.deliveries += deliveries;
            report.deleted.attempts += attempts;
            pacer.rest(held);
        }

        // 2. Events no delivery refers to: those that just lost their last one, and those that
        // never had one (no webhook subscribed), created before the cutoff.
        let mut events_done = false;
        let mut cursor = (i64::MIN, i64::MIN);
        while deliveries_done && !out_of_time() {
            let batch = self.orphan_events(scope, rule.before, cursor, pacer.batch)?;
            let Some(&last) = batch.last() else {
                events_done = true;
                break;
            };
            cursor = last;
            let ids: Vec<i64> = batch.iter().map(|&(_, id)| id).collect();
            let (events, held) = self.light(|s| s.delete_orphan_events(&ids))?;
            report.deleted.events += events;
            pacer.rest(held);
        }
        report.complete = events_done;

        // 3. Space: hand free pages back in bounded steps, or rewrite the file once.
        let incremental = self.pragma_i64("auto_vacuum")? == INCREMENTAL;
        let live_bytes = (self.pragma_i64("page_count")? - self.pragma_i64("freelist_count")?)
            .max(0) as u64
            * self.pragma_i64("page_size")?.max(0) as u64;
        if opts.full_vacuum
            || (!incremental && report.complete && live_bytes <= AUTO_SWITCH_MAX_BYTES)
        {
            self.conn
                .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            self.conn.execute_batch("VACUUM")?;
            report.vacuumed = true;
        } else if incremental {
            self.reclaim(pacer.seed as i64, &out_of_time)?;
        }
        if report.deleted != PruneCount::default() || report.vacuumed {
            // Lets the file shrink now rather than at the next automatic checkpoint. PASSIVE:
            // never waits for, nor holds up, other connections.
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        let pages_after = self.pragma_i64("page_count")?;
        report.reclaimed_bytes = (pages_before - pages_after).max(0) as u64
            * self.pragma_i64("page_size")?.max(0) as u64;
        Ok(report)
    }

    fn pragma_i64(&self, name: &str) -> Result<i64> {
        Ok(self.conn.pragma_query_value(None, name, |r| r.get(0))?)
    }

    /// The next `limit` prunable deliveries after `cursor` (created_at, id), oldest first.
    fn prunable_deliveries(
        &self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        cursor: (Millis, i64),
        limit: usize,
    ) -> Result<Vec<(Millis, i64)>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT d.created_at, d.id FROM deliveries AS d INDEXED BY deliveries_created
             WHERE d.created_at >= :after_time AND d.created_at < :before
               AND (d.created_at > :after_time OR d.id > :after_id)
               AND {PRUNABLE}
             ORDER BY d.created_at, d.id LIMIT :limit"
        ))?;
        let bind = Bind::new(scope, rule, now);
        let limit = limit as i64;
        let own: [(&str, &dyn ToSql); 3] = [
            (":after_time", &cursor.0),
            (":after_id", &cursor.1),
            (":limit", &limit),
        ];
        let rows = stmt.query_map(&*bind.with(&own), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes those of `ids` that are still prunable, with their attempts, in one short
    /// transaction. Returns (deliveries, attempts) deleted and how long it held the write lock.
    fn delete_deliveries(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        ids: &[i64],
    ) -> Result<(u64, u64, Duration)> {
        let ids = serde_json::to_string(ids).unwrap_or_default();
        let bind = Bind::new(scope, rule, now);
        let params = bind.with(&[(":ids", &ids)]);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Waiting for the lock does not count: only holding it holds others up.
        let locked = Instant::now();
        // The attempt log first: it refers to the deliveries.
        let attempts = tx
            .prepare_cached(&format!(
                "DELETE FROM attempts WHERE delivery_id IN (
                     SELECT d.id FROM deliveries AS d
                     WHERE d.id IN (SELECT value FROM json_each(:ids)) AND {PRUNABLE})"
            ))?
            .execute(&*params)?;
        let deliveries = tx
            .prepare_cached(&format!(
                "DELETE FROM deliveries AS d
                 WHERE d.id IN (SELECT value FROM json_each(:ids)) AND {PRUNABLE}"
            ))?
            .execute(&*params)?;
        tx.commit()?;
        Ok((deliveries as u64, attempts as u64, locked.elapsed()))
    }

    /// The next `limit` events created before `before` that no delivery refers to.
    fn orphan_events(
        &self,
        scope: Scope,
        before: Millis,
        cursor: (Millis, i64),
        limit: usize,
    ) -> Result<Vec<(Millis, i64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.created_at, e.id FROM events AS e INDEXED BY events_created
             WHERE e.created_at >= :after_time AND e.created_at < :before
               AND (e.created_at > :after_time OR e.id > :after_id)
               AND (:customer IS NULL OR e.customer_id = :customer)
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_row = e.id)
             ORDER BY e.created_at, e.id LIMIT :limit",
        )?;
        let rows = stmt.query_map(
            named_params! {
                ":after_time": cursor.0,
                ":after_id": cursor.1,
                ":before": before,
                ":customer": scope.customer(),
                ":limit": limit as i64,
            },
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Deletes those of `ids` that still have no delivery (an event never gains one after it
    /// is recorded, but the check is cheap). Returns how many, and how long it held the lock.
    fn delete_orphan_events(&mut self, ids: &[i64]) -> Result<(u64, Duration)> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let locked = Instant::now();
        let n = tx
            .prepare_cached(
                "DELETE FROM events AS e WHERE e.id IN (SELECT value FROM json_each(?1))
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_row = e.id)",
            )?
            .execute([serde_json::to_string(ids).unwrap_or_default()])?;
        tx.commit()?;
        Ok((n as u64, locked.elapsed()))
    }

    /// Returns free pages to the file system, a bounded number per transaction.
    fn reclaim(&mut self, seed: i64, out_of_time: &dyn Fn() -> bool) -> Result<()> {
        let mut pages = Pacer::new(1000, 100, 20_000, seed);
        while !out_of_time() && self.pragma_i64("freelist_count")? > 0 {
            let step = pages.batch;
            let held = self.light(|s| {
                let tx = s
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)?;
                let locked = Instant::now();
                {
                    // One page per row: step through them all.
                    let mut stmt = tx.prepare(&format!("PRAGMA incremental_vacuum({step})"))?;
                    let mut rows = stmt.query([])?;
                    while rows.next()?.is_some() {}
                }
                tx.commit()?;
                Ok(locked.elapsed())
            })?;
            pages.rest(held);
        }
        Ok(())
    }
}
