//! Recording: events and their deliveries, one transaction per batch of events, before
//! anything is sent.

use super::claim::{lease_sql, load_jobs, notify};
use super::{PgStore, SERVER_NOW};
use crate::domain::time::Millis;
use crate::domain::{EventType, Scope};
use crate::store::columns::{route, Subscriber};
use crate::store::{Job, NewEvent, Recorded, Result, StoreError};

impl PgStore {
    /// Records events and one `pending` delivery per enabled webhook of the event's customer
    /// subscribed to its type — all in one transaction, before anything is sent. When it
    /// created any delivery, the commit announces new work (`NOTIFY`) to `drain --watch`.
    ///
    /// Two statements whatever the batch's size (each is a round trip to the server): the
    /// events (and the enabled webhooks of their customers), then every delivery. A webhook whose
    /// subscription does not read is passed over and named ([`Recorded::passed_over`]).
    pub fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        // The events are inserted in the batch's order, and an identity column numbers rows as
        // they are inserted, so the ids returned, sorted, are the events' in order (whatever
        // order RETURNING lists them in, and whatever other hosts insert meanwhile). That is
        // how PostgreSQL runs `INSERT … SELECT … ORDER BY` (the default is computed above the
        // sort, row by row), not a documented promise: a test checks every event's stored
        // columns against its place in a batch. No explicit `nextval`: that would need a
        // privilege on the sequence, where inserting needs only one on the table.
        // The same statement reads the enabled webhooks of the events' customers (as they are
        // when it starts), to route the events in Rust: one round trip for both.
        let insert_events = self.stmt(
            &mut tx,
            "WITH made AS (
                 INSERT INTO events (customer_id, event_type, source_event_id, payload,
                     created_at)
                 SELECT u.customer_id, u.event_type, u.event_id, u.payload, $5
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[])
                      WITH ORDINALITY AS u(customer_id, event_type, event_id, payload, n)
                 ORDER BY u.n
                 RETURNING id)
             SELECT id, NULL::bigint, NULL::text FROM made
             UNION ALL
             SELECT w.id, w.customer_id, w.event_types FROM webhooks w
             WHERE w.customer_id = ANY($1) AND w.enabled",
        )?;
        let insert_deliveries = self.stmt(
            &mut tx,
            // Each delivery's `queue` row is written by the table's trigger (schema 4). The
            // pairs are routed in Rust ([`route`]); the join leaves out a webhook deleted or
            // disabled since it was read.
            "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name, event_type,
                event_id, status, next_attempt_at, created_at, updated_at)
             SELECT u.event_row, w.customer_id, w.id, w.name, u.event_type, u.event_id,
                'pending', $5, $5, $5
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
                  WITH ORDINALITY AS u(event_row, webhook_id, event_type, event_id, n)
             JOIN webhooks w ON w.id = u.webhook_id AND w.enabled
             ORDER BY u.n
             RETURNING id, event_row, webhook_id",
        )?;
        let customers: Vec<i64> = events.iter().map(|e| e.customer.0).collect();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let event_ids: Vec<Option<i64>> = events.iter().map(|e| e.event_id).collect();
        let payloads: Vec<&[u8]> = events.iter().map(|e| e.payload).collect();
        let mut ids = Vec::with_capacity(events.len());
        let mut subscribers = Vec::new();
        for r in tx.query(
            &insert_events,
            &[&customers, &types, &event_ids, &payloads, &now],
        )? {
            match r.try_get::<_, Option<i64>>(1)? {
                None => ids.push(r.try_get(0)?),
                Some(customer) => {
                    subscribers.push(Subscriber::read(r.try_get(0)?, customer, r.try_get(2)?))
                }
            }
        }
        ids.sort_unstable();
        if ids.len() != events.len() {
            return Err(StoreError::corrupt(
                "events",
                ids.first().copied().unwrap_or_default(),
                format!(
                    "{} rows written for a batch of {} events",
                    ids.len(),
                    events.len()
                ),
            ));
        }
        subscribers.sort_unstable_by_key(|s| s.id);
        let routes = route(events, &subscribers);
        let (mut rows_of, mut hooks, mut row_types, mut row_ids) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, (to, _)) in routes.iter().enumerate() {
            for &webhook in to {
                rows_of.push(ids[i]);
                hooks.push(webhook);
                row_types.push(types[i]);
                row_ids.push(event_ids[i]);
            }
        }
        let rows = if hooks.is_empty() {
            Vec::new()
        } else {
            tx.query(
                &insert_deliveries,
                &[&rows_of, &hooks, &row_types, &row_ids, &now],
            )?
        };
        let mut out: Vec<Recorded> = ids
            .iter()
            .zip(routes)
            .map(|(&event_row, (_, passed_over))| Recorded {
                event_row,
                deliveries: Vec::new(),
                passed_over,
            })
            .collect();
        for r in &rows {
            let event_row: i64 = r.try_get(1)?;
            // `ids` is sorted: an event's place in the batch is its id's place there.
            let Ok(i) = ids.binary_search(&event_row) else {
                return Err(StoreError::corrupt(
                    "deliveries",
                    r.try_get(0)?,
                    "a delivery recorded for an event of another batch",
                ));
            };
            out[i].deliveries.push((r.try_get(0)?, r.try_get(2)?));
        }
        for r in &mut out {
            r.deliveries.sort_unstable();
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
        let job = load_jobs(self, &mut tx, &[id])?
            .pop()
            .ok_or_else(|| StoreError::not_found("delivery", id))?
            .map_err(|u| u.error)?;
        tx.commit()?;
        Ok(job)
    }
}
