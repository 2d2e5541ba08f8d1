//! Claims and outcomes: a claim takes a short lease in one short transaction, passing over rows
//! another claimer holds (`FOR UPDATE SKIP LOCKED`); outcomes are written in a second one,
//! which releases the lease. No transaction is ever open while a request is in flight.
//!
//! What is due and who holds it lives in the narrow `queue` table (a row per pending or
//! retrying delivery, and one with no due time while a manual retry holds a failed one); a
//! delivery's result lives in `deliveries`. Claims touch only `queue`; an outcome deletes its
//! `queue` row (or sets the next attempt) and updates `deliveries` without changing an
//! indexed column there.
//!
//! Leases are judged and set by the server's clock ([`SERVER_NOW`]); whether a delivery is due
//! (`next_attempt_at <= now`) by the caller's `now`, as in SQLite.

use std::collections::HashMap;
use std::sync::Arc;

use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row};

use super::{decode, text, PgStore, CHANNEL, SERVER_NOW};
use crate::domain::delivery::{failing_too_long, waits_for_a_retry};
use crate::domain::time::{rfc3339, Millis};
use crate::domain::Scope;
use crate::store::{
    Claim, Claimed, Disabled, Health, Job, Outcome, Result, Sealed, StoreError, Target, Unreadable,
    UNREADABLE_HOLD,
};

/// How long a claim holds a delivery to the webhook `webhook` (an SQL expression): twice its
/// timeout (one send, plus waiting for a free worker) and a margin. A sender killed mid-send
/// frees it when this runs out. A timeout edited out of range by hand is taken within what a
/// `u32` holds (as it decodes): never a lease that has run out already, nor an overflow, and
/// always one a request of that timeout fits in; a row whose timeout does not decode is held
/// for [`crate::store::UNREADABLE_HOLD`].
pub(super) fn lease_sql(webhook: &str) -> String {
    format!(
        "LEAST(GREATEST(COALESCE((SELECT w.timeout_seconds FROM webhooks w \
         WHERE w.id = {webhook}), 10), 1), 4294967295) * 2000 + 5000"
    )
}

/// Announces due work to `drain --watch` when the caller's transaction commits.
pub(super) fn notify(tx: &mut impl GenericClient) -> Result<()> {
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    Ok(())
}

/// Loads claimed deliveries with what sending them needs: the deliveries with their payloads
/// in one query, then each of their webhooks once (a batch is mostly a few webhooks'
/// deliveries: their settings and sealed values are not sent again with every row). One
/// result per delivery: [`Unreadable`] when its row, or its webhook's, does not decode; any
/// other failure fails the load.
pub(super) fn load_jobs(
    store: &PgStore,
    tx: &mut impl GenericClient,
    ids: &[i64],
) -> Result<Vec<std::result::Result<Job, Unreadable>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {}
             FROM deliveries d JOIN events e ON e.id = d.event_row
             LEFT JOIN webhooks w ON w.id = d.webhook_id
             LEFT JOIN queue q ON q.delivery_id = d.id
             WHERE d.id = ANY($1)
             ORDER BY d.next_attempt_at, d.id",
        decode::DELIVERY
    );
    let load = store.stmt(tx, &sql)?;
    let rows = tx.query(&load, &[&ids])?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for r in &rows {
        deliveries.push(match decode::delivery(r) {
            Ok(d) => Ok(d),
            Err(e @ StoreError::Corrupt { .. }) => Err(Unreadable {
                delivery_id: r.try_get(0)?,
                error: e,
            }),
            Err(e) => return Err(e),
        });
    }
    let mut webhooks: Vec<i64> = deliveries
        .iter()
        .flatten()
        .filter(|(d, _)| !d.webhook_deleted)
        .filter_map(|(d, _)| d.webhook)
        .collect();
    webhooks.sort_unstable();
    webhooks.dedup();
    let rows = if webhooks.is_empty() {
        Vec::new()
    } else {
        let sql = format!(
            "SELECT {}, {} FROM webhooks w WHERE w.id = ANY($1)",
            decode::WEBHOOK,
            decode::SEALED
        );
        let load = store.stmt(tx, &sql)?;
        tx.query(&load, &[&webhooks])?
    };
    // A webhook row that does not decode: why, for each of its deliveries.
    let mut targets: HashMap<i64, std::result::Result<Arc<Target>, String>> = HashMap::new();
    for r in &rows {
        match target(r) {
            Ok(t) => {
                targets.insert(t.id, Ok(Arc::new(t)));
            }
            Err(StoreError::Corrupt { id, what, .. }) => {
                targets.insert(id, Err(what));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(deliveries
        .into_iter()
        .map(|loaded| {
            let (d, lease_until) = loaded?;
            // A webhook deleted since the claim has no row: the job has nowhere to go.
            let target = match d.webhook.and_then(|w| targets.get(&w).map(|t| (w, t))) {
                None => None,
                Some((_, Ok(t))) => Some(Arc::clone(t)),
                Some((w, Err(what))) => {
                    return Err(Unreadable {
                        delivery_id: d.id,
                        error: StoreError::corrupt("webhooks", w, what.clone()),
                    })
                }
            };
            Ok(d.into_job(lease_until, target))
        })
        .collect())
}

/// A webhook as sending to it needs it: [`decode::WEBHOOK`] then [`decode::SEALED`].
fn target(r: &Row) -> Result<Target> {
    let sealed = decode::WEBHOOK_COLUMNS;
    let w = decode::webhook(r, 0)?.ok_or_else(|| {
        crate::store::StoreError::corrupt("webhooks", 0, "a webhook row without an id")
    })?;
    Ok(w.into_target(Sealed {
        secret: r.try_get(sealed)?,
        previous_secret: r.try_get(sealed + 1)?,
        routing_key: r.try_get(sealed + 2)?,
    }))
}

/// A claim of due rows `filter` selects (it follows `WHERE`, on `queue q`), leasing them by the
/// server's clock for [`lease_sql`] of their webhook. `$1` is the owner, `$2` the customer
/// (NULL: any); the filter's parameters follow.
fn lease_due(filter: &str) -> String {
    let lease = lease_sql("l.webhook_id");
    format!(
        "WITH picked AS MATERIALIZED (
             SELECT q.delivery_id FROM queue q
             WHERE (q.lease_until IS NULL OR q.lease_until <= {SERVER_NOW})
               AND ($2::bigint IS NULL OR q.customer_id = $2)
               AND {filter}
             FOR UPDATE SKIP LOCKED)
         UPDATE queue AS l SET lease_until = {SERVER_NOW} + {lease}, lease_owner = $1
         FROM picked WHERE l.delivery_id = picked.delivery_id
         RETURNING l.delivery_id"
    )
}

impl PgStore {
    /// Leases deliveries to `owner` and returns them ready to send. One short transaction;
    /// `scope` limits it to one customer. Rows another claimer has locked are passed over,
    /// so any number of claimers never lease one delivery twice at once.
    pub fn claim(
        &mut self,
        scope: Scope,
        how: Claim<'_>,
        owner: &str,
        now: Millis,
    ) -> Result<Claimed> {
        let customer = scope.customer();
        type P<'a> = (&'a (dyn ToSql + Sync), Type);
        let mut params: Vec<P<'_>> = vec![(&owner, Type::TEXT), (&customer, Type::INT8)];
        let (limit, webhook, list): (i64, i64, &[i64]);
        let sql = match how {
            Claim::Due { limit: n, exclude } => {
                limit = i64::try_from(n).unwrap_or(i64::MAX);
                list = exclude;
                params.extend::<[P<'_>; 3]>([
                    (&now, Type::INT8),
                    (&list, Type::INT8_ARRAY),
                    (&limit, Type::INT8),
                ]);
                lease_due(
                    "q.next_attempt_at <= $3
                       AND (q.webhook_id IS NULL OR q.webhook_id <> ALL($4))
                     ORDER BY q.next_attempt_at, q.delivery_id LIMIT $5",
                )
            }
            Claim::DueFor { webhook: w } => {
                webhook = w;
                params.extend::<[P<'_>; 2]>([(&now, Type::INT8), (&webhook, Type::INT8)]);
                lease_due(
                    "q.next_attempt_at <= $3 AND q.webhook_id = $4
                     ORDER BY q.next_attempt_at, q.delivery_id LIMIT 1",
                )
            }
            Claim::DueIds(ids) => {
                list = ids;
                params.extend::<[P<'_>; 2]>([(&now, Type::INT8), (&list, Type::INT8_ARRAY)]);
                lease_due(
                    "q.next_attempt_at <= $3 AND q.delivery_id = ANY($4) ORDER BY q.delivery_id",
                )
            }
            Claim::RetryIds(ids) => {
                // A failed delivery has no queue row: one is made to hold it (not due, so
                // nobody else takes it up if this process dies); a retrying one's is leased
                // unless another process holds it (made again, with its due time, if
                // missing). Rows are taken in id order, deliveries then queue, as outcomes
                // take them.
                list = ids;
                params.push((&list, Type::INT8_ARRAY));
                format!(
                    "WITH picked AS MATERIALIZED (
                         SELECT d.id, d.customer_id, d.webhook_id, d.next_attempt_at
                         FROM deliveries d
                         WHERE d.status IN ('failed', 'retrying') AND d.id = ANY($3)
                           AND ($2::bigint IS NULL OR d.customer_id = $2)
                           AND EXISTS (SELECT 1 FROM webhooks w
                                       WHERE w.id = d.webhook_id AND w.enabled)
                         ORDER BY d.id FOR UPDATE SKIP LOCKED)
                     INSERT INTO queue AS l (delivery_id, customer_id, webhook_id,
                         next_attempt_at, lease_until, lease_owner)
                     SELECT id, customer_id, webhook_id, next_attempt_at,
                         {SERVER_NOW} + {}, $1 FROM picked ORDER BY id
                     ON CONFLICT (delivery_id) DO UPDATE
                         SET lease_until = EXCLUDED.lease_until, lease_owner = $1
                         WHERE l.lease_until IS NULL OR l.lease_until <= {SERVER_NOW}
                     RETURNING l.delivery_id",
                    lease_sql("picked.webhook_id")
                )
            }
        };
        // The lease is one statement, so its own short transaction (no BEGIN/COMMIT round
        // trips); the jobs are loaded after it commits: the rows are leased to `owner`, so no
        // other claimer can take them meanwhile.
        //
        // Not a prepared statement: an unnamed one, planned with this claim's values every
        // time. After five runs PostgreSQL may keep a generic plan of a prepared statement,
        // and for this `ORDER BY … LIMIT` over optional filters that plan can be to read and
        // sort every due row rather than walk `queue_due` (seen with 100,000 due rows and
        // stale statistics: each claim 50 ms instead of 2). Planning costs ~0.1 ms a claim.
        let mut client = self.client()?;
        let ids: Vec<i64> = client
            .query_typed(&sql, &params)?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        // A row that does not decode stays leased, for a hold of its own: it is not sent, and
        // claims pass over it until that runs out.
        let claimed = Claimed::from_loaded(&ids, load_jobs(self, &mut *client, &ids)?);
        if !claimed.unreadable.is_empty() {
            let held: Vec<i64> = claimed.unreadable.iter().map(|u| u.delivery_id).collect();
            let hold = UNREADABLE_HOLD.as_millis() as i64;
            // Best effort: the claim has committed, and the jobs are to be sent whatever
            // happens here; without the hold those rows keep their lease, and are held when
            // claimed next.
            let _ = client.execute(
                &format!(
                    "UPDATE queue SET lease_until = {SERVER_NOW} + $3
                     WHERE delivery_id = ANY($1) AND lease_owner = $2"
                ),
                &[&held, &owner, &hold],
            );
        }
        Ok(claimed)
    }

    /// Writes outcomes (attempt log rows and delivery state) in one transaction and releases
    /// the leases. A delivery whose lease another process took over keeps that process's state;
    /// the attempt is still logged. Returns the webhooks these outcomes disabled (410 Gone, or
    /// failing for longer than `auto_disable_after`), each once. The rows written are locked
    /// first, deliveries, their queue rows, then webhooks, each in id order: concurrent drains
    /// never deadlock.
    pub fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let mut disabled = Vec::new();
        let mut written: HashMap<i64, Health> = HashMap::new();
        let deliveries: Vec<i64> = outcomes.iter().map(|o| o.delivery_id).collect();
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute(
            "SELECT 1 FROM deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&deliveries],
        )?;
        // The deliveries this process still holds (a lease that ran out may have been taken
        // over by another process, whose state then stays).
        let held = self.stmt(
            &mut tx,
            "SELECT delivery_id FROM queue WHERE delivery_id = ANY($1) AND lease_owner = $2
             ORDER BY delivery_id FOR UPDATE",
        )?;
        let mine: Vec<i64> = tx
            .query(&held, &[&deliveries, &owner])?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        // One statement for every attempt's log row and one for every delivery's new state,
        // whatever the batch's size (a statement is a round trip to the server).
        let log = self.stmt(
            &mut tx,
            "INSERT INTO attempts (delivery_id, attempt, started_at, request_headers,
                http_status, response_body, duration_ms, error_message, request_body)
             SELECT d.id, d.attempts + 1, u.started_at, u.headers, u.http_status, u.body,
                u.duration_ms, u.error, u.request_body
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[],
                    $6::bigint[], $7::text[], $8::bytea[])
                  AS u(id, started_at, headers, http_status, body, duration_ms, error,
                    request_body)
             JOIN deliveries d ON d.id = u.id",
        )?;
        let update = self.stmt(
            &mut tx,
            // Closed without a request (no attempt: its webhook deleted or disabled, or out of
            // retries), a delivery keeps what its last attempt got back.
            "UPDATE deliveries d SET status = u.status, attempts = d.attempts + u.inc,
                http_status = CASE WHEN u.inc > 0 THEN u.http_status ELSE d.http_status END,
                response_body = CASE WHEN u.inc > 0 THEN u.body ELSE d.response_body END,
                error_message = u.error,
                duration_ms = CASE WHEN u.inc > 0 THEN u.duration_ms ELSE d.duration_ms END,
                next_attempt_at = u.next_attempt_at, updated_at = $9
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                    $6::text[], $7::bigint[], $8::bigint[])
                  AS u(id, status, inc, http_status, body, error, duration_ms, next_attempt_at)
             WHERE d.id = u.id AND d.id = ANY($10)",
        )?;
        // Leases released: a final delivery leaves the queue, one to retry waits for its time.
        let dequeue = self.stmt(&mut tx, "DELETE FROM queue WHERE delivery_id = ANY($1)")?;
        let requeue = self.stmt(
            &mut tx,
            "UPDATE queue q SET next_attempt_at = u.next_attempt_at, lease_until = NULL,
                lease_owner = NULL
             FROM unnest($1::bigint[], $2::bigint[]) AS u(id, next_attempt_at)
             WHERE q.delivery_id = u.id",
        )?;
        let count_only = self.stmt(
            &mut tx,
            "UPDATE deliveries SET attempts = attempts + 1, updated_at = $2 WHERE id = ANY($1)",
        )?;
        let up = self.stmt(
            &mut tx,
            "UPDATE webhooks SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
        )?;
        let failing = self.stmt(
            &mut tx,
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2) WHERE id = $1",
        )?;
        // Failing without a break for longer than its auto_disable_after: disabled, and why
        // (the reason is worded here, the duration in human form).
        let too_long = self.stmt(
            &mut tx,
            "SELECT name, failing_since, auto_disable_after FROM webhooks
             WHERE id = $1 AND enabled AND auto_disable_after > 0
               AND failing_since <= $2 - auto_disable_after * 1000",
        )?;
        let disable = self.stmt(
            &mut tx,
            "UPDATE webhooks SET enabled = false, updated_at = $2, disabled_reason = $3
             WHERE id = $1 AND enabled
             RETURNING name, disabled_reason",
        )?;
        let texts = |f: &dyn Fn(&Outcome) -> Option<String>| -> Vec<Option<String>> {
            outcomes
                .iter()
                .map(|o| f(o).map(|t| text(&t).into_owned()))
                .collect()
        };
        let http_status: Vec<Option<i64>> = outcomes
            .iter()
            .map(|o| {
                o.attempt
                    .as_ref()
                    .and_then(|a| a.http_status)
                    .map(i64::from)
            })
            .collect();
        let bodies = texts(&|o| o.attempt.as_ref()?.response_body.clone());
        let attempted: Vec<&Outcome> = outcomes.iter().filter(|o| o.attempt.is_some()).collect();
        if !attempted.is_empty() {
            let mut ids = Vec::new();
            let mut started = Vec::new();
            let mut headers = Vec::new();
            let mut statuses = Vec::new();
            let mut log_bodies = Vec::new();
            let mut durations = Vec::new();
            let mut errors = Vec::new();
            let mut sent_bodies = Vec::new();
            for o in &attempted {
                let Some(a) = o.attempt.as_ref() else {
                    continue;
                };
                ids.push(o.delivery_id);
                started.push(a.started_at);
                let h = serde_json::to_string(&a.request_headers).unwrap_or_default();
                headers.push(text(&h).into_owned());
                statuses.push(a.http_status.map(i64::from));
                log_bodies.push(a.response_body.as_deref().map(|b| text(b).into_owned()));
                durations.push(a.duration_ms);
                errors.push(a.error_message.as_deref().map(|e| text(e).into_owned()));
                sent_bodies.push(a.request_body.clone());
            }
            tx.execute(
                &log,
                &[
                    &ids,
                    &started,
                    &headers,
                    &statuses,
                    &log_bodies,
                    &durations,
                    &errors,
                    &sent_bodies,
                ],
            )?;
        }
        let states: Vec<&str> = outcomes.iter().map(|o| o.status.as_str()).collect();
        let incs: Vec<i64> = outcomes
            .iter()
            .map(|o| i64::from(o.attempt.is_some()))
            .collect();
        let errors = texts(&|o| o.error_message.clone());
        let durations: Vec<Option<i64>> = outcomes
            .iter()
            .map(|o| o.attempt.as_ref().map(|a| a.duration_ms))
            .collect();
        let next: Vec<Option<Millis>> = outcomes.iter().map(|o| o.next_attempt_at).collect();
        tx.execute(
            &update,
            &[
                &deliveries,
                &states,
                &incs,
                &http_status,
                &bodies,
                &errors,
                &durations,
                &next,
                &now,
                &mine,
            ],
        )?;
        // Every delivery still held is one the update wrote.
        let updated: std::collections::HashSet<i64> = mine.iter().copied().collect();
        let (mut done, mut again, mut again_at) = (Vec::new(), Vec::new(), Vec::new());
        for o in outcomes.iter().filter(|o| updated.contains(&o.delivery_id)) {
            match o.next_attempt_at {
                None => done.push(o.delivery_id),
                Some(t) => {
                    again.push(o.delivery_id);
                    again_at.push(t);
                }
            }
        }
        if !done.is_empty() {
            tx.execute(&dequeue, &[&done])?;
        }
        if !again.is_empty() {
            tx.execute(&requeue, &[&again, &again_at])?;
        }
        // Another owner took the lease over: its state stays, the attempt is still counted.
        let taken: Vec<i64> = attempted
            .iter()
            .map(|o| o.delivery_id)
            .filter(|id| !updated.contains(id))
            .collect();
        if !taken.is_empty() {
            tx.execute(&count_only, &[&taken, &now])?;
        }
        let due_again = outcomes.iter().any(|o| {
            updated.contains(&o.delivery_id) && o.next_attempt_at.is_some_and(|t| t <= now)
        });
        // Health is written webhook by webhook in id order (each webhook's answers in their
        // order), so concurrent drains take webhook row locks in one order and never deadlock;
        // an answer that changes nothing (a healthy webhook answering again) locks nothing, so
        // drains sending to one webhook do not queue behind each other's outcomes.
        let mut health: Vec<(usize, &Outcome)> = outcomes.iter().enumerate().collect();
        health.sort_by_key(|(i, o)| (o.health.map(|(w, _)| w), *i));
        for (_, o) in health {
            // A webhook's health written again with what this batch last wrote for it
            // changes nothing (same `now`, same transaction): one statement per webhook per
            // run of equal answers, not one per delivery.
            if let Some((w, h)) = o.health {
                if matches!(h, Health::Up | Health::Failing) && written.insert(w, h) == Some(h) {
                    continue;
                }
            }
            match o.health {
                Some((w, Health::Up)) => {
                    tx.execute(&up, &[&w])?;
                }
                Some((w, Health::Failing)) => {
                    tx.execute(&failing, &[&w, &now])?;
                    if let Some(r) = tx.query_opt(&too_long, &[&w, &now])? {
                        let name: String = r.try_get(0)?;
                        let since: Millis = r.try_get(1)?;
                        let after: i64 = r.try_get(2)?;
                        let reason = failing_too_long(since, after.max(0) as u64);
                        if tx.query_opt(&disable, &[&w, &now, &reason])?.is_some() {
                            disabled.push(Disabled {
                                webhook: w,
                                name,
                                reason,
                            });
                        }
                    }
                }
                Some((w, Health::Gone)) => {
                    let reason = format!("the receiver answered 410 Gone at {}", rfc3339(now));
                    if let Some(r) = tx.query_opt(&disable, &[&w, &now, &reason])? {
                        disabled.push(Disabled {
                            webhook: w,
                            name: r.try_get(0)?,
                            reason: r.try_get(1)?,
                        });
                    }
                }
                None => {}
            }
        }
        // Waiting for a retry its disabled (or deleted) webhook will not get: ended now.
        // (Disabled by this batch, or by anything before it while the attempt was made.)
        let waiting: Vec<i64> = outcomes
            .iter()
            .filter(|o| updated.contains(&o.delivery_id) && waits_for_a_retry(o))
            .map(|o| o.delivery_id)
            .collect();
        if !waiting.is_empty() {
            let ended: Vec<i64> = tx
                .query(
                    "UPDATE deliveries d SET status = 'failed', next_attempt_at = NULL
                     WHERE d.id = ANY($1) AND d.status = 'retrying'
                       AND NOT EXISTS (SELECT 1 FROM webhooks w
                                       WHERE w.id = d.webhook_id AND w.enabled)
                     RETURNING d.id",
                    &[&waiting],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            if !ended.is_empty() {
                tx.execute(&dequeue, &[&ended])?;
            }
        }
        if due_again {
            notify(&mut tx)?;
        }
        tx.commit()?;
        Ok(disabled)
    }

    /// Gives back leases of claimed deliveries that were not sent: due again at once (and
    /// announced, so a `drain --watch` elsewhere takes them); a failed one held for a retry
    /// stays failed. Rows are locked in id order, as [`PgStore::record_outcomes`] locks them.
    pub fn release(&mut self, ids: &[i64], owner: &str) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // All of them locked at once, in id order; a failed delivery held for a retry leaves
        // the queue, the rest are due again.
        let n = tx.execute(
            "WITH mine AS MATERIALIZED (
                 SELECT delivery_id FROM queue WHERE lease_owner = $2 AND delivery_id = ANY($1)
                 ORDER BY delivery_id FOR UPDATE),
             held AS (
                 DELETE FROM queue q USING mine
                 WHERE q.delivery_id = mine.delivery_id AND q.next_attempt_at IS NULL)
             UPDATE queue q SET lease_until = NULL, lease_owner = NULL
             FROM mine
             WHERE q.delivery_id = mine.delivery_id AND q.lease_owner = $2
               AND q.next_attempt_at IS NOT NULL",
            &[&ids, &owner],
        )?;
        if n > 0 {
            notify(&mut tx)?;
        }
        tx.commit()?;
        Ok(())
    }
}
