//! Recording: events and their deliveries, one transaction per batch of events, before
//! anything is sent.

use super::claim::{lease_sql, load_jobs, notify};
use super::{PgStore, SERVER_NOW};
use crate::domain::time::Millis;
use crate::domain::{EventType, Scope};
use crate::store::{Job, NewEvent, Recorded, Result, StoreError};

impl PgStore {
    /// Records events and one `pending` delivery per enabled webhook of the event's customer
    /// subscribed to its type — all in one transaction, before anything is sent. When it
    /// created any delivery, the commit announces new work (`NOTIFY`) to `drain --watch`.
    pub fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let insert_event = self.stmt(
            &mut tx,
            "INSERT INTO events (customer_id, event_type, source_event_id, payload, created_at)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
        )?;
        let insert_deliveries = self.stmt(
            &mut tx,
            // Each delivery's `queue` row is written by the table's trigger (schema 4).
            "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name, event_type,
                event_id, status, next_attempt_at, created_at, updated_at)
             SELECT $1, w.customer_id, w.id, w.name, $2, $3, 'pending', $4, $4, $4
             FROM webhooks w
             WHERE w.customer_id = $5 AND w.enabled AND w.event_types::jsonb ?| $6::text[]
             ORDER BY w.id
             RETURNING id, webhook_id",
        )?;
        let mut out = Vec::with_capacity(events.len());
        for e in events {
            let event_row: i64 = tx
                .query_one(
                    &insert_event,
                    &[
                        &e.customer.0,
                        &e.event_type.as_str(),
                        &e.event_id,
                        &e.payload,
                        &now,
                    ],
                )?
                .try_get(0)?;
            // Subscribed to the type itself, its family or everything.
            let family = format!("{}.*", e.event_type.family());
            let subscriptions = [e.event_type.as_str(), family.as_str(), "*"];
            let rows = tx.query(
                &insert_deliveries,
                &[
                    &event_row,
                    &e.event_type.as_str(),
                    &e.event_id,
                    &now,
                    &e.customer.0,
                    &&subscriptions[..],
                ],
            )?;
            let mut deliveries = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<Vec<(i64, i64)>>>()?;
            deliveries.sort_unstable();
            out.push(Recorded {
                event_row,
                deliveries,
            });
        }
        if out.iter().any(|r| !r.deliveries.is_empty()) {
            notify(&mut tx)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records a `webhook.test` event and its one delivery to `webhook` (even if disabled),
    /// already leased to `owner` (by the server's clock), and returns it ready to send.
    pub fn record_test(
        &mut self,
        scope: Scope,
        webhook: i64,
        payload: &[u8],
        owner: &str,
        now: Millis,
    ) -> Result<Job> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let hook = tx
            .query_opt(
                "SELECT customer_id, name FROM webhooks
                 WHERE id = $1 AND ($2::bigint IS NULL OR customer_id = $2)",
                &[&webhook, &scope.customer()],
            )?
            .ok_or_else(|| StoreError::not_found("webhook", webhook))?;
        let customer: i64 = hook.try_get(0)?;
        let name: String = hook.try_get(1)?;
        let event_row: i64 = tx
            .query_one(
                "INSERT INTO events (customer_id, event_type, payload, created_at)
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[&customer, &EventType::TEST.as_str(), &payload, &now],
            )?
            .try_get(0)?;
        let id: i64 = tx
            .query_one(
                &format!(
                    "WITH made AS (
                         INSERT INTO deliveries (event_row, customer_id, webhook_id,
                             webhook_name, event_type, status, next_attempt_at, created_at,
                             updated_at)
                         VALUES ($1, $2, $3, $4, $7, 'pending', $5, $5, $5)
                         RETURNING id),
                     queued AS (
                         INSERT INTO queue (delivery_id, customer_id, webhook_id,
                             next_attempt_at, lease_until, lease_owner)
                         SELECT id, $2, $3, $5, {SERVER_NOW} + {}, $6 FROM made)
                     SELECT id FROM made",
                    lease_sql("$3")
                ),
                &[
                    &event_row,
                    &customer,
                    &webhook,
                    &name,
                    &now,
                    &owner,
                    &EventType::TEST.as_str(),
                ],
            )?
            .try_get(0)?;
        let mut jobs = load_jobs(self, &mut tx, &[id])?;
        tx.commit()?;
        jobs.pop()
            .ok_or_else(|| StoreError::not_found("delivery", id))
    }
}
