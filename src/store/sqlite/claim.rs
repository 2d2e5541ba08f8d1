//! Claims and outcomes: a claim takes a short lease in one immediate transaction; outcomes are
//! written in a second one, which releases the lease. No transaction is ever open while a
//! request is in flight.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::decode;
use super::{Result, SqliteStore};
use crate::domain::delivery::{failing_too_long, waits_for_a_retry};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{
    Claim, Claimed, Disabled, Health, Job, Outcome, Sealed, StoreError, Target, Unreadable,
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
        "CAST(min(max(COALESCE((SELECT w.timeout_seconds FROM webhooks w WHERE w.id = {webhook}), 10), 1), 4294967295) AS INTEGER) * 2000 + 5000"
    )
}

/// Loads claimed deliveries with what sending them needs, in one query: one result per row,
/// [`Unreadable`] for a row that does not decode ([`row_error`]); any other failure fails the
/// load.
pub(super) fn load_jobs(
    tx: &rusqlite::Transaction<'_>,
    ids: &[i64],
) -> Result<Vec<std::result::Result<Job, Unreadable>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut load = tx.prepare_cached(&format!(
        "SELECT {}, {}, {}
         FROM deliveries d JOIN events e ON e.id = d.event_row
         LEFT JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.id IN (SELECT value FROM json_each(?1))
         ORDER BY d.next_attempt_at, d.id",
        decode::DELIVERY,
        decode::WEBHOOK,
        decode::SEALED
    ))?;
    let ids_json = serde_json::to_string(ids).unwrap_or_default();
    // A batch is mostly a few webhooks' deliveries: each webhook is decoded once (its URL
    // parsed, its headers read) and shared by its jobs.
    let mut targets = HashMap::new();
    let mut rows = load.query([ids_json])?;
    let mut jobs = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        jobs.push(match job(r, &mut targets) {
            Ok(job) => Ok(job),
            Err(e) => Err(Unreadable {
                delivery_id: id,
                error: row_error(e, r, id)?,
            }),
        });
    }
    Ok(jobs)
}

/// Whether `e`, met decoding the claimed row `r` (delivery `id`), is about that row's stored
/// values (edited by hand, damaged, or written by a newer webnet): `Ok` with the error to
/// report for it, a [`StoreError::Corrupt`] naming the table, row and column (the webhook's,
/// when the value is one of its columns); anything else (the database failing) is `Err`.
fn row_error(e: StoreError, r: &rusqlite::Row<'_>, id: i64) -> Result<StoreError> {
    use rusqlite::Error as E;
    let StoreError::Database { message, source } = e else {
        return match e {
            StoreError::Corrupt { .. } => Ok(e),
            e => Err(e),
        };
    };
    // A value of the wrong type (SQLite lets any column hold any type).
    let (at, what) = match source.downcast_ref::<E>() {
        Some(E::InvalidColumnType(at, _, ty)) => (*at, format!("is stored as {ty}")),
        Some(E::IntegralValueOutOfRange(at, v)) => (*at, format!("{v} is out of range")),
        Some(E::FromSqlConversionFailure(at, _, why)) => (*at, format!("does not decode: {why}")),
        _ => return Err(StoreError::Database { message, source }),
    };
    let column = r.as_ref().column_name(at).unwrap_or("?");
    let column = column.rsplit('.').next().unwrap_or(column);
    if at == decode::PAYLOAD_COLUMN {
        // The event's, named from the delivery (the event's id is not selected).
        return Ok(StoreError::corrupt(
            "deliveries",
            id,
            format!("its event's {column} {what}"),
        ));
    }
    if at < decode::DELIVERY_COLUMNS {
        return Ok(StoreError::corrupt(
            "deliveries",
            id,
            format!("{column} {what}"),
        ));
    }
    let webhook: i64 = r.get(decode::DELIVERY_COLUMNS)?;
    Ok(StoreError::corrupt(
        "webhooks",
        webhook,
        format!("{column} {what}"),
    ))
}

/// A claimed delivery: the deliveries row, its webhook (if not deleted) and the webhook's
/// sealed values, as [`load_jobs`] selects them.
fn job(r: &rusqlite::Row<'_>, targets: &mut HashMap<i64, Arc<Target>>) -> Result<Job> {
    let (d, lease_until) = decode::delivery(r)?;
    let at = decode::DELIVERY_COLUMNS;
    let sealed = at + decode::WEBHOOK_COLUMNS;
    let webhook: Option<i64> = r.get(at)?;
    let target = match webhook.and_then(|id| targets.get(&id)) {
        Some(t) => Some(Arc::clone(t)),
        None => match decode::webhook(r, at)? {
            None => None,
            Some(w) => {
                let t = Arc::new(w.into_target(Sealed {
                    secret: r.get(sealed)?,
                    previous_secret: r.get(sealed + 1)?,
                    routing_key: r.get(sealed + 2)?,
                }));
                targets.insert(t.id, Arc::clone(&t));
                Some(t)
            }
        },
    };
    Ok(d.into_job(lease_until, target))
}

impl SqliteStore {
    /// Leases deliveries to `owner` and returns them ready to send. One short immediate
    /// transaction; `scope` limits it to one customer.
    pub fn claim(
        &mut self,
        scope: Scope,
        how: Claim<'_>,
        owner: &str,
        now: Millis,
    ) -> Result<Claimed> {
        self.light(|store| store.claim_tx(scope, how, owner, now))
    }

    fn claim_tx(
        &mut self,
        scope: Scope,
        how: Claim<'_>,
        owner: &str,
        now: Millis,
    ) -> Result<Claimed> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids: Vec<i64> = {
            let (filter, ids_json, limit) = match how {
                Claim::Due { limit, exclude } => (
                    "q.next_attempt_at <= ?1
                       AND (q.webhook_id IS NULL OR q.webhook_id NOT IN (SELECT value FROM json_each(?3)))
                     ORDER BY q.next_attempt_at, q.id LIMIT ?4",
                    serde_json::to_string(exclude).unwrap_or_default(),
                    limit as i64,
                ),
                Claim::DueFor { webhook } => (
                    "q.next_attempt_at <= ?1 AND q.webhook_id = ?3 ORDER BY q.next_attempt_at, q.id LIMIT 1",
                    webhook.to_string(),
                    1,
                ),
                Claim::DueIds(ids) => (
                    "q.next_attempt_at <= ?1 AND q.id IN (SELECT value FROM json_each(?3))",
                    serde_json::to_string(ids).unwrap_or_default(),
                    -1,
                ),
                Claim::RetryIds(ids) => (
                    "q.status IN ('failed', 'retrying') AND q.id IN (SELECT value FROM json_each(?3))
                       AND EXISTS (SELECT 1 FROM webhooks w WHERE w.id = q.webhook_id AND w.enabled)",
                    serde_json::to_string(ids).unwrap_or_default(),
                    -1,
                ),
            };
            let lease = lease_sql("d.webhook_id");
            let sql = format!(
                "UPDATE deliveries AS d SET lease_until = ?1 + {lease}, lease_owner = ?2
                 WHERE d.id IN (SELECT q.id FROM deliveries q
                     WHERE (q.lease_until IS NULL OR q.lease_until <= ?1)
                       AND (?5 IS NULL OR q.customer_id = ?5)
                       AND {filter})
                 RETURNING id"
            );
            let mut stmt = tx.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                params![now, owner, ids_json, limit, scope.customer()],
                |r| r.get(0),
            )?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        // A row that does not decode stays leased, for a hold of its own: it is not sent, and
        // the next claims pass over it until that runs out.
        let claimed = Claimed::from_loaded(&ids, load_jobs(&tx, &ids)?);
        if !claimed.unreadable.is_empty() {
            let held: Vec<i64> = claimed.unreadable.iter().map(|u| u.delivery_id).collect();
            tx.execute(
                "UPDATE deliveries SET lease_until = ?1
                 WHERE id IN (SELECT value FROM json_each(?2)) AND lease_owner = ?3",
                params![
                    now + UNREADABLE_HOLD.as_millis() as i64,
                    serde_json::to_string(&held).unwrap_or_default(),
                    owner
                ],
            )?;
        }
        tx.commit()?;
        Ok(claimed)
    }

    /// Writes outcomes (attempt log rows and delivery state) in one transaction and releases
    /// the leases. A delivery whose lease another process took over keeps that process's state;
    /// the attempt is still logged. Returns the webhooks these outcomes disabled (410 Gone, or
    /// failing for longer than `auto_disable_after`), each once.
    pub fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        self.light(|store| store.record_outcomes_tx(outcomes, owner, now))
    }

    fn record_outcomes_tx(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>> {
        let mut disabled = Vec::new();
        let mut written: std::collections::HashMap<i64, Health> = std::collections::HashMap::new();
        // The outcomes this process still held the lease of (and so wrote).
        let mut mine: Vec<&Outcome> = Vec::new();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut log = tx.prepare_cached(
                "INSERT INTO attempts (delivery_id, attempt, started_at, request_headers,
                    http_status, response_body, duration_ms, error_message, request_body)
                 SELECT ?1, attempts + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM deliveries WHERE id = ?1",
            )?;
            let mut update = tx.prepare_cached(
                // Closed without a request (?4 = 0: its webhook deleted or disabled, or out of
                // retries), a delivery keeps what its last attempt got back.
                "UPDATE deliveries SET status = ?3, attempts = attempts + ?4,
                    http_status = CASE WHEN ?4 THEN ?5 ELSE http_status END,
                    response_body = CASE WHEN ?4 THEN ?6 ELSE response_body END,
                    error_message = ?7,
                    duration_ms = CASE WHEN ?4 THEN ?8 ELSE duration_ms END,
                    next_attempt_at = ?9, lease_until = NULL, lease_owner = NULL, updated_at = ?10
                 WHERE id = ?1 AND lease_owner = ?2",
            )?;
            let mut count_only = tx.prepare_cached(
                "UPDATE deliveries SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
            )?;
            let mut up = tx.prepare_cached(
                "UPDATE webhooks SET failing_since = NULL WHERE id = ?1 AND failing_since IS NOT NULL",
            )?;
            let mut failing = tx.prepare_cached(
                "UPDATE webhooks SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
            )?;
            // Failing without a break for longer than its auto_disable_after: disabled, and why
            // (the reason is worded here, the duration in human form).
            let mut too_long = tx.prepare_cached(
                "SELECT name, failing_since, auto_disable_after FROM webhooks
                 WHERE id = ?1 AND enabled AND auto_disable_after > 0
                   AND failing_since <= ?2 - auto_disable_after * 1000",
            )?;
            let mut disable = tx.prepare_cached(
                "UPDATE webhooks SET enabled = 0, updated_at = ?2, disabled_reason = ?3
                 WHERE id = ?1 AND enabled",
            )?;
            let mut gone = tx.prepare_cached(
                "UPDATE webhooks SET enabled = 0, updated_at = ?2,
                    disabled_reason = 'the receiver answered 410 Gone at ' || strftime('%Y-%m-%dT%H:%M:%SZ', ?2 / 1000, 'unixepoch')
                 WHERE id = ?1 AND enabled
                 RETURNING name, disabled_reason",
            )?;
            for o in outcomes {
                if let Some(a) = &o.attempt {
                    log.execute(params![
                        o.delivery_id,
                        a.started_at,
                        serde_json::to_string(&a.request_headers).unwrap_or_default(),
                        a.http_status,
                        a.response_body,
                        a.duration_ms,
                        a.error_message,
                        a.request_body
                    ])?;
                }
                let a = o.attempt.as_ref();
                let n = update.execute(params![
                    o.delivery_id,
                    owner,
                    o.status.as_str(),
                    a.is_some() as i64,
                    a.and_then(|a| a.http_status),
                    a.and_then(|a| a.response_body.as_deref()),
                    o.error_message,
                    a.map(|a| a.duration_ms),
                    o.next_attempt_at,
                    now
                ])?;
                if n == 0 && a.is_some() {
                    count_only.execute(params![o.delivery_id, now])?;
                }
                if n > 0 {
                    mine.push(o);
                }
                // A webhook's health written again with what this batch last wrote for it
                // changes nothing (same `now`, same transaction): one statement per webhook per
                // run of equal answers, not one per delivery.
                if let Some((w, h)) = o.health {
                    if matches!(h, Health::Up | Health::Failing) && written.insert(w, h) == Some(h)
                    {
                        continue;
                    }
                }
                match o.health {
                    Some((w, Health::Up)) => {
                        up.execute([w])?;
                    }
                    Some((w, Health::Failing)) => {
                        failing.execute(params![w, now])?;
                        let due: Option<(String, Millis, u64)> = too_long
                            .query_row(params![w, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()?;
                        if let Some((name, since, after)) = due {
                            let reason = failing_too_long(since, after);
                            if disable.execute(params![w, now, reason])? > 0 {
                                disabled.push(Disabled {
                                    webhook: w,
                                    name,
                                    reason,
                                });
                            }
                        }
                    }
                    Some((w, Health::Gone)) => {
                        let row: Option<(String, String)> = gone
                            .query_row(params![w, now], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()?;
                        if let Some((name, reason)) = row {
                            disabled.push(Disabled {
                                webhook: w,
                                name,
                                reason,
                            });
                        }
                    }
                    None => {}
                }
            }
            // Waiting for a retry its disabled (or deleted) webhook will not get: ended now.
            // (Disabled by this batch, or by anything before it while the attempt was made.)
            let mut end = tx.prepare_cached(
                "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL
                 WHERE id = ?1 AND status = 'retrying'
                   AND NOT EXISTS (SELECT 1 FROM webhooks w
                                   WHERE w.id = deliveries.webhook_id AND w.enabled)",
            )?;
            for o in mine.iter().filter(|o| waits_for_a_retry(o)) {
                end.execute([o.delivery_id])?;
            }
        }
        tx.commit()?;
        Ok(disabled)
    }

    /// Gives back leases of claimed deliveries that were not sent: due again at once.
    pub fn release(&mut self, ids: &[i64], owner: &str) -> Result<()> {
        self.light(|store| {
            store.conn.execute(
                "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL
                 WHERE lease_owner = ?2 AND id IN (SELECT value FROM json_each(?1))",
                params![serde_json::to_string(ids).unwrap_or_default(), owner],
            )?;
            Ok(())
        })
    }
}
