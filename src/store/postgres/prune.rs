//! Pruning history (`deliveries prune`, `drain --retain`) on PostgreSQL: deletes final
//! deliveries that became final before a cutoff, with their attempt log and the events no
//! delivery refers to any more. The rules are SQLite's; space is PostgreSQL's business
//! (autovacuum makes the freed room reusable), except that `--vacuum` rewrites the tables.
//!
//! Invariants: never a `pending` or `retrying` delivery, nor one held by a sender (a lease in
//! `queue`, judged by the server's clock, [`SERVER_NOW`]); never outside the caller's scope;
//! and never a long transaction: work goes in short batches, each delivery batch locking its
//! rows and checking them again (their holds in a statement of its own) before deleting, so a
//! retry or a claim that took one meanwhile keeps it.

use std::time::Instant;

use postgres::types::ToSql;

use super::{PgStore, SERVER_NOW};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{DeliveryStatus, PruneCount, PruneOptions, PruneReport, PruneRule, Result};

/// Rows per batch: a few milliseconds of work each.
const BATCH: i64 = 500;

/// The tables whose size the report compares (with their indexes and TOAST): those `--vacuum`
/// rewrites.
pub(super) const SIZE_SQL: &str = "SELECT (pg_total_relation_size('deliveries') + \
     pg_total_relation_size('attempts') + pg_total_relation_size('events') + \
     pg_total_relation_size('queue'))::bigint";

/// A final delivery the rule selects, for a delivery table aliased `d`. Parameters: `$1` the
/// cutoff, `$2` the status (or NULL), `$3` the customer (or NULL) (see [`Bind`]).
fn prunable() -> String {
    format!(
        "d.status IN ('success', 'failed') AND ($2::text IS NULL OR d.status = $2::text)
         AND d.updated_at < $1::bigint AND ($3::bigint IS NULL OR d.customer_id = $3::bigint)
         AND {}",
        not_held("d.id")
    )
}

/// The delivery `id` (an SQL expression) is held by no sender: no live lease in `queue`, by
/// the server's clock.
fn not_held(id: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM queue l WHERE l.delivery_id = {id} AND l.lease_until > {SERVER_NOW})"
    )
}

/// The values of [`prunable`]'s parameters.
struct Bind {
    before: Millis,
    status: Option<&'static str>,
    customer: Option<i64>,
}

impl Bind {
    fn new(scope: Scope, rule: PruneRule) -> Bind {
        Bind {
            before: rule.before,
            status: rule.status.map(DeliveryStatus::as_str),
            customer: scope.customer(),
        }
    }

    /// [`prunable`]'s parameters (`$1`–`$3`), then a statement's own (`$4`…).
    fn with<'a>(&'a self, own: &[&'a (dyn ToSql + Sync)]) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&self.before, &self.status, &self.customer];
        all.extend_from_slice(own);
        all
    }
}

impl PgStore {
    /// Counts what [`PgStore::prune`] would delete now; changes nothing.
    pub fn count_prunable(&self, scope: Scope, rule: PruneRule, now: Millis) -> Result<PruneCount> {
        let _ = now; // Leases are judged by the server's clock.
        let bind = Bind::new(scope, rule);
        let prunable = prunable();
        let mut client = self.client()?;
        let row = client.query_one(
            &format!(
                "SELECT count(*), COALESCE(sum((SELECT count(*) FROM attempts a
                                                 WHERE a.delivery_id = d.id)), 0)::bigint
                 FROM deliveries AS d
                 WHERE d.created_at < $1::bigint AND {prunable}"
            ),
            &bind.with(&[]),
        )?;
        let (deliveries, attempts): (i64, i64) = (row.get(0), row.get(1));
        // An event goes when none of its deliveries stays (or it never had any).
        let events: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM events AS e
                     WHERE e.created_at < $1::bigint
                       AND ($3::bigint IS NULL OR e.customer_id = $3::bigint)
                       AND NOT EXISTS (SELECT 1 FROM deliveries d
                                       WHERE d.event_row = e.id AND NOT ({prunable}))"
                ),
                &bind.with(&[]),
            )?
            .get(0);
        Ok(PruneCount {
            deliveries: deliveries as u64,
            attempts: attempts as u64,
            events: events as u64,
        })
    }

    /// Deletes the final deliveries `rule` selects in `scope`, their attempts and the events no
    /// delivery refers to any more (created before the cutoff), in short batches. `now` is
    /// unused: leases are judged by the server's clock. `reclaimed_bytes` is how much smaller
    /// the tables (the queue too) became: 0 unless `opts.full_vacuum` rewrote them (`VACUUM
    /// FULL`, which holds them locked meanwhile), since PostgreSQL keeps freed room for reuse.
    pub fn prune(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        opts: &PruneOptions,
    ) -> Result<PruneReport> {
        let _ = now;
        let deadline = opts.budget.map(|b| Instant::now() + b);
        let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
        let size_before: i64 = self.client()?.query_one(SIZE_SQL, &[])?.get(0);
        let mut report = PruneReport::default();

        // 1. Deliveries and their attempt log, oldest first. Candidates are read outside any
        // transaction; the delete locks them and checks them again.
        let mut cursor = (i64::MIN, i64::MIN);
        let mut deliveries_done = false;
        while !out_of_time() {
            let batch = self.prunable_deliveries(scope, rule, cursor)?;
            let Some(&last) = batch.last() else {
                deliveries_done = true;
                break;
            };
            cursor = last;
            let ids: Vec<i64> = batch.iter().map(|&(_, id)| id).collect();
            let (deliveries, attempts) = self.delete_deliveries(scope, rule, &ids)?;
            report.deleted.deliveries += deliveries;
            report.deleted.attempts += attempts;
        }

        // 2. Events no delivery refers to: those that just lost their last one, and those that
        // never had one (no webhook subscribed), created before the cutoff.
        let mut events_done = false;
        let mut cursor = (i64::MIN, i64::MIN);
        while deliveries_done && !out_of_time() {
            let batch = self.orphan_events(scope, rule.before, cursor)?;
            let Some(&last) = batch.last() else {
                events_done = true;
                break;
            };
            cursor = last;
            let ids: Vec<i64> = batch.iter().map(|&(_, id)| id).collect();
            report.deleted.events += self.delete_orphan_events(&ids)?;
        }
        report.complete = events_done;

        // 3. Space: autovacuum makes the room reusable; a full rewrite only when asked. The
        // queue too: small, but every claim and outcome leaves a dead row version in it.
        if opts.full_vacuum {
            self.client()?
                .batch_execute("VACUUM (FULL, ANALYZE) deliveries, attempts, events, queue")?;
            report.vacuumed = true;
        }
        let size_after: i64 = self.client()?.query_one(SIZE_SQL, &[])?.get(0);
        report.reclaimed_bytes = (size_before - size_after).max(0) as u64;
        Ok(report)
    }

    /// The next [`BATCH`] prunable deliveries after `cursor` (created_at, id), oldest first.
    fn prunable_deliveries(
        &self,
        scope: Scope,
        rule: PruneRule,
        cursor: (Millis, i64),
    ) -> Result<Vec<(Millis, i64)>> {
        let bind = Bind::new(scope, rule);
        let rows = self.client()?.query(
            &format!(
                "SELECT d.created_at, d.id FROM deliveries AS d
                 WHERE d.created_at >= $4::bigint AND d.created_at < $1::bigint
                   AND (d.created_at > $4::bigint OR d.id > $5::bigint)
                   AND {}
                 ORDER BY d.created_at, d.id LIMIT $6::bigint",
                prunable()
            ),
            &bind.with(&[&cursor.0, &cursor.1, &BATCH]),
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Deletes those of `ids` that are still prunable, with their attempts, in one short
    /// transaction: they are locked first (waiting for a writer that holds one, then checked
    /// again), so none changes between the two deletes. Returns (deliveries, attempts).
    fn delete_deliveries(&self, scope: Scope, rule: PruneRule, ids: &[i64]) -> Result<(u64, u64)> {
        let bind = Bind::new(scope, rule);
        let ids = ids.to_vec();
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let locked: Vec<i64> = tx
            .query(
                &format!(
                    "SELECT d.id FROM deliveries AS d
                     WHERE d.id = ANY($4) AND {}
                     ORDER BY d.id FOR UPDATE",
                    prunable()
                ),
                &bind.with(&[&ids]),
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // A `deliveries retry` holds a delivery in `queue` without changing its row, so the
        // lock above does not see a hold taken while it waited: look again now that the rows
        // are locked (a statement of its own sees what committed meanwhile; a retry takes the
        // delivery's row lock first, so none can start now).
        let locked: Vec<i64> = tx
            .query(
                &format!(
                    "SELECT id FROM unnest($1::bigint[]) AS id WHERE {}",
                    not_held("id")
                ),
                &[&locked],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // The attempt log first: it refers to the deliveries.
        let attempts = tx.execute(
            "DELETE FROM attempts WHERE delivery_id = ANY($1)",
            &[&locked],
        )?;
        let deliveries = tx.execute("DELETE FROM deliveries WHERE id = ANY($1)", &[&locked])?;
        tx.commit()?;
        Ok((deliveries, attempts))
    }

    /// The next [`BATCH`] events created before `before` that no delivery refers to.
    fn orphan_events(
        &self,
        scope: Scope,
        before: Millis,
        cursor: (Millis, i64),
    ) -> Result<Vec<(Millis, i64)>> {
        let rows = self.client()?.query(
            "SELECT e.created_at, e.id FROM events AS e
             WHERE e.created_at >= $1 AND e.created_at < $3
               AND (e.created_at > $1 OR e.id > $2)
               AND ($4::bigint IS NULL OR e.customer_id = $4::bigint)
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_row = e.id)
             ORDER BY e.created_at, e.id LIMIT $5",
            &[&cursor.0, &cursor.1, &before, &scope.customer(), &BATCH],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Deletes those of `ids` that still have no delivery (an event never gains one after it
    /// is recorded, but the check is cheap). Returns how many.
    fn delete_orphan_events(&self, ids: &[i64]) -> Result<u64> {
        let ids = ids.to_vec();
        Ok(self.client()?.execute(
            "DELETE FROM events AS e WHERE e.id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_row = e.id)",
            &[&ids],
        )?)
    }
}
