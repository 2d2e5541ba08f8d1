//! Recording: events and their deliveries, one transaction per batch of events, before
//! anything is sent.

use rusqlite::{params, TransactionBehavior};

use super::claim::{lease_sql, load_jobs};
use super::{Result, SqliteStore, StoreError};
use crate::domain::time::Millis;
use crate::domain::{EventType, Scope};
use crate::store::columns::{route, Subscriber};
use crate::store::{Job, NewEvent, Recorded};

impl SqliteStore {
    /// Records events and one `pending` delivery per enabled webhook of the event's customer
    /// subscribed to its type — all in one transaction, before anything is sent. A webhook
    /// whose subscription does not read is passed over and named ([`Recorded::passed_over`]).
    pub fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(events.len());
        {
            // Read in this (immediate) transaction: what is routed is what is enabled now.
            let mut subscribers = Vec::new();
            let mut customers: Vec<i64> = events.iter().map(|e| e.customer.0).collect();
            customers.sort_unstable();
            customers.dedup();
            let mut enabled = tx.prepare_cached(
                "SELECT id, customer_id, CAST(event_types AS TEXT) FROM webhooks
                 WHERE customer_id = ?1 AND enabled ORDER BY id",
            )?;
            for c in customers {
                let mut rows = enabled.query([c])?;
                while let Some(r) = rows.next()? {
                    let types: Option<String> = r.get(2)?;
                    subscribers.push(Subscriber::read(
                        r.get(0)?,
                        r.get(1)?,
                        types.as_deref().unwrap_or_default(),
                    ));
                }
            }
            let mut insert_event = tx.prepare_cached(
                "INSERT INTO events (customer_id, event_type, source_event_id, payload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut insert_delivery = tx.prepare_cached(
                "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name, event_type,
                    event_id, status, next_attempt_at, created_at, updated_at)
                 SELECT ?1, w.customer_id, w.id, w.name, ?2, ?3, 'pending', ?4, ?4, ?4
                 FROM webhooks w WHERE w.id = ?5
                 RETURNING id",
            )?;
            for (e, (to, passed_over)) in events.iter().zip(route(events, &subscribers)) {
                insert_event.execute(params![
                    e.customer.0,
                    e.event_type.as_str(),
                    e.event_id,
                    e.payload,
                    now
                ])?;
                let event_row = tx.last_insert_rowid();
                let mut deliveries = Vec::with_capacity(to.len());
                for webhook in to {
                    let id: i64 = insert_delivery.query_row(
                        params![event_row, e.event_type.as_str(), e.event_id, now, webhook],
                        |r| r.get(0),
                    )?;
                    deliveries.push((id, webhook));
                }
                out.push(Recorded {
                    event_row,
                    deliveries,
                    passed_over,
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
             VALUES (?1, ?2, ?3, ?4)",
            params![hook.customer.0, EventType::TEST.as_str(), payload, now],
        )?;
        let event_row = tx.last_insert_rowid();
        tx.execute(
            &format!(
                "INSERT INTO deliveries AS d (event_row, customer_id, webhook_id, webhook_name,
                    event_type, status, next_attempt_at, lease_until, lease_owner, created_at,
                    updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?7, 'pending', ?5,
                    ?5 + {}, ?6, ?5, ?5)",
                lease_sql("?3")
            ),
            params![
                event_row,
                hook.customer.0,
                hook.id,
                hook.settings.name,
                now,
                owner,
                EventType::TEST.as_str()
            ],
        )?;
        let id = tx.last_insert_rowid();
        let job = load_jobs(&tx, &[id])?
            .pop()
            .ok_or_else(|| StoreError::not_found("delivery", id))?
            .map_err(|u| u.error)?;
        tx.commit()?;
        Ok(job)
    }
}
