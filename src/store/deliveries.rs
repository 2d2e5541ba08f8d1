//! Events, deliveries and attempts. Recording is one transaction per batch of events; a claim
//! takes a short lease in one immediate transaction; outcomes are written in a second one. No
//! transaction is ever open while a request is in flight.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{Result, Store, StoreError};
use crate::domain::time::Millis;
use crate::domain::{CustomerId, EventType, Scope};

/// `pending → retrying → success | failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Retrying,
    Success,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Retrying,
        DeliveryStatus::Success,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Success => "success",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// An event to record.
pub struct NewEvent<'a> {
    pub customer: CustomerId,
    pub event_type: EventType,
    pub event_id: Option<i64>,
    pub payload: &'a [u8],
}

/// What recording one event produced.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event_row: i64,
    /// (delivery id, webhook id) for every matching enabled webhook.
    pub deliveries: Vec<(i64, i64)>,
}

/// A webhook's settings as a claimed delivery needs them.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: i64,
    pub url: String,
    pub enabled: bool,
    pub verify_ssl: bool,
    pub timeout_seconds: u32,
    pub max_retries: u32,
    pub retry_backoff: u32,
    pub headers: BTreeMap<String, String>,
    pub sealed_secret: Option<Vec<u8>>,
    /// During a secret rotation: the old secret, signed with until `previous_until` (ms).
    pub previous_secret: Option<Vec<u8>>,
    pub previous_until: Option<Millis>,
    pub payload_format: crate::domain::format::PayloadFormat,
    /// PagerDuty's routing key, sealed; opened only to render a `pagerduty` body.
    pub sealed_routing_key: Option<Vec<u8>>,
}

/// A delivery claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Job {
    pub delivery_id: i64,
    pub event_type: String,
    /// The webhook's name when the delivery was recorded (kept after a deletion).
    pub webhook_name: String,
    pub customer: i64,
    /// The `event_id` the platform gave the event, if any.
    pub event_id: Option<i64>,
    pub payload: Vec<u8>,
    /// The number this attempt will have (1 for the first).
    pub attempt: u32,
    pub status: DeliveryStatus,
    /// The lease ends then: past it another process may send this delivery.
    pub lease_until: Millis,
    /// `None` when the webhook was deleted.
    pub target: Option<Target>,
}

/// One attempt, for the append-only log.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub started_at: Millis,
    pub request_headers: BTreeMap<String, String>,
    pub http_status: Option<u16>,
    pub response_body: Option<String>,
    pub duration_ms: i64,
    pub error_message: Option<String>,
    /// The body sent, when it was not the stored payload itself (a chat or alerting format).
    pub request_body: Option<Vec<u8>>,
}

/// The result of handling a claimed delivery.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivery_id: i64,
    /// `None` when no request was made (webhook disabled or deleted).
    pub attempt: Option<AttemptRecord>,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<Millis>,
    pub error_message: Option<String>,
    /// What the attempt says about the webhook's receiver, with the webhook's id.
    pub health: Option<(i64, Health)>,
}

/// What an attempt says about a receiver (endpoint health).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// It answered 2xx: any run of failures is over.
    Up,
    /// It failed: a run of failures starts (or goes on).
    Failing,
    /// It answered `410 Gone`: the webhook is disabled at once.
    Gone,
}

/// A webhook that a batch of outcomes disabled, and why (as `disabled_reason` records it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disabled {
    pub webhook: i64,
    pub name: String,
    pub reason: String,
}

/// `disabled_reason` for a webhook failing since `since` (ms) for longer than its
/// `auto_disable_after` (seconds), in words: `failing since 2026-01-02T03:04:05Z (no successful
/// delivery for longer than 3days)`.
fn failing_too_long(since: Millis, auto_disable_after: u64) -> String {
    format!(
        "failing since {} (no successful delivery for longer than {})",
        crate::domain::time::rfc3339(since),
        humantime::format_duration(std::time::Duration::from_secs(auto_disable_after))
    )
}

/// How a claim picks deliveries.
pub enum Claim<'a> {
    /// Due ones, oldest due first, except those of the `exclude`d webhooks (drain).
    Due { limit: usize, exclude: &'a [i64] },
    /// The oldest due one of one webhook (a probe of a suspect receiver).
    DueFor { webhook: i64 },
    /// These ids if still due and free (the first attempts of `emit`).
    DueIds(&'a [i64]),
    /// These ids now, whatever their schedule, if `failed` or `retrying` and their webhook
    /// exists and is enabled (manual retry: anything else is refused untouched).
    RetryIds(&'a [i64]),
}

/// How long a claim holds a delivery to the webhook `webhook` (an SQL expression): twice its
/// timeout (one send, plus waiting for a free worker) and a margin. A sender killed mid-send
/// frees it when this runs out.
fn lease_sql(webhook: &str) -> String {
    format!("COALESCE((SELECT w.timeout_seconds FROM webhooks w WHERE w.id = {webhook}), 10) * 2000 + 5000")
}

/// Loads claimed deliveries with what sending them needs, in one query.
fn load_jobs(tx: &rusqlite::Transaction<'_>, ids: &[i64]) -> Result<Vec<Job>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut load = tx.prepare_cached(
        "SELECT d.id, d.event_type, e.payload, d.attempts, d.status,
                w.id, w.url, w.enabled, w.verify_ssl, w.timeout_seconds, w.max_retries,
                w.retry_backoff, w.headers, w.secret, d.lease_until, w.previous_secret,
                w.previous_until, w.payload_format, d.webhook_name, d.customer_id, d.event_id,
                w.routing_key
         FROM deliveries d JOIN events e ON e.id = d.event_row
         LEFT JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.id IN (SELECT value FROM json_each(?1))
         ORDER BY d.next_attempt_at, d.id",
    )?;
    let ids_json = serde_json::to_string(ids).unwrap_or_default();
    let jobs = load
        .query_map([ids_json], job_row)?
        .collect::<rusqlite::Result<Vec<Job>>>()?;
    Ok(jobs)
}

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let status: String = r.get(4)?;
    let attempts: u32 = r.get(3)?;
    let target = match r.get::<_, Option<i64>>(5)? {
        None => None,
        Some(wid) => {
            let headers: String = r.get(12)?;
            Some(Target {
                id: wid,
                url: r.get(6)?,
                enabled: r.get(7)?,
                verify_ssl: r.get(8)?,
                timeout_seconds: r.get(9)?,
                max_retries: r.get(10)?,
                retry_backoff: r.get(11)?,
                headers: serde_json::from_str(&headers).unwrap_or_default(),
                sealed_secret: r.get(13)?,
                previous_secret: r.get(15)?,
                previous_until: r.get(16)?,
                payload_format: crate::domain::format::PayloadFormat::parse(
                    &r.get::<_, String>(17)?,
                )
                .unwrap_or_default(),
                sealed_routing_key: r.get(21)?,
            })
        }
    };
    Ok(Job {
        delivery_id: r.get(0)?,
        event_type: r.get(1)?,
        webhook_name: r.get(18)?,
        customer: r.get(19)?,
        event_id: r.get(20)?,
        payload: r.get(2)?,
        attempt: attempts + 1,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Pending),
        lease_until: r.get::<_, Option<Millis>>(14)?.unwrap_or(0),
        target,
    })
}

impl Store {
    /// Records events and one `pending` delivery per enabled webhook of the event's customer
    /// subscribed to its type — all in one transaction, before anything is sent.
    pub fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(events.len());
        {
            let mut insert_event = tx.prepare_cached(
                "INSERT INTO events (customer_id, event_type, source_event_id, payload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut insert_deliveries = tx.prepare_cached(
                "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name, event_type,
                    event_id, status, next_attempt_at, created_at, updated_at)
                 SELECT ?1, w.customer_id, w.id, w.name, ?2, ?3, 'pending', ?4, ?4, ?4
                 FROM webhooks w
                 WHERE w.customer_id = ?5 AND w.enabled
                   AND EXISTS (SELECT 1 FROM json_each(w.event_types)
                               WHERE value IN (?2, ?6, '*'))
                 ORDER BY w.id
                 RETURNING id, webhook_id",
            )?;
            for e in events {
                insert_event.execute(params![
                    e.customer.0,
                    e.event_type.as_str(),
                    e.event_id,
                    e.payload,
                    now
                ])?;
                let event_row = tx.last_insert_rowid();
                let deliveries = insert_deliveries
                    .query_map(
                        params![
                            event_row,
                            e.event_type.as_str(),
                            e.event_id,
                            now,
                            e.customer.0,
                            format!("{}.*", e.event_type.family())
                        ],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .collect::<rusqlite::Result<Vec<(i64, i64)>>>()?;
                out.push(Recorded {
                    event_row,
                    deliveries,
                });
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records a `webhook.test` event and its one delivery to `webhook` (even if disabled),
    /// already leased to `owner`, and returns it ready to send.
    pub fn record_test(
        &mut self,
        scope: Scope,
        webhook: i64,
        payload: &[u8],
        owner: &str,
        now: Millis,
    ) -> Result<Job> {
        let hook = self.webhook(scope, webhook)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO events (customer_id, event_type, payload, created_at)
             VALUES (?1, 'webhook.test', ?2, ?3)",
            params![hook.customer.0, payload, now],
        )?;
        let event_row = tx.last_insert_rowid();
        tx.execute(
            &format!(
                "INSERT INTO deliveries AS d (event_row, customer_id, webhook_id, webhook_name,
                    event_type, status, next_attempt_at, lease_until, lease_owner, created_at,
                    updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'webhook.test', 'pending', ?5,
                    ?5 + {}, ?6, ?5, ?5)",
                lease_sql("?3")
            ),
            params![
                event_row,
                hook.customer.0,
                hook.id,
                hook.settings.name,
                now,
                owner
            ],
        )?;
        let id = tx.last_insert_rowid();
        let mut jobs = load_jobs(&tx, &[id])?;
        tx.commit()?;
        jobs.pop().ok_or(StoreError::NotFound {
            what: "delivery",
            id: id.to_string(),
        })
    }

    /// Leases deliveries to `owner` and returns them ready to send. One short immediate
    /// transaction; `scope` limits it to one customer.
    pub fn claim(
        &mut self,
        scope: Scope,
        how: Claim<'_>,
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Job>> {
        self.light(|store| store.claim_tx(scope, how, owner, now))
    }

    fn claim_tx(
        &mut self,
        scope: Scope,
        how: Claim<'_>,
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Job>> {
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
        let jobs = load_jobs(&tx, &ids)?;
        tx.commit()?;
        Ok(jobs)
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
                "UPDATE deliveries SET status = ?3, attempts = attempts + ?4, http_status = ?5,
                    response_body = ?6, error_message = ?7, duration_ms = ?8, next_attempt_at = ?9,
                    lease_until = NULL, lease_owner = NULL, updated_at = ?10
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
                    a.and_then(|a| a.response_body.clone()),
                    o.error_message,
                    a.map(|a| a.duration_ms),
                    o.next_attempt_at,
                    now
                ])?;
                if n == 0 && a.is_some() {
                    count_only.execute(params![o.delivery_id, now])?;
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

#[cfg(test)]
mod tests {
    use super::failing_too_long;

    #[test]
    fn the_auto_disable_reason_says_the_duration_in_human_form() {
        assert_eq!(
            failing_too_long(1_764_637_200_000, 2),
            "failing since 2025-12-02T01:00:00Z (no successful delivery for longer than 2s)"
        );
        assert_eq!(
            failing_too_long(0, 3 * 86400),
            "failing since 1970-01-01T00:00:00Z (no successful delivery for longer than 3days)"
        );
        assert!(failing_too_long(0, 90 * 60).ends_with("for longer than 1h 30m)"));
    }
}
