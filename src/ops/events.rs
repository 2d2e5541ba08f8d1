//! Events given over the API (`POST /api/v1/events/`): already validated, recorded with their
//! deliveries in one transaction — all of them or none. (`emit` records through the delivery
//! engine, which also makes the first attempts; the server's worker makes those.)

use super::error::{during, Action, Result};
use crate::domain::payload::Event;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, ValidationError};
use crate::store::{NewEvent, Recorded, Store, StoreError};

/// Records `events` (each with its customer, who must exist) and their deliveries.
pub fn record(
    store: &mut Store,
    events: &[(CustomerId, Event)],
    now: Millis,
) -> Result<Vec<Recorded>> {
    during(Action::Emit, || {
        let mut known = Vec::new();
        for (c, _) in events {
            if known.contains(c) {
                continue;
            }
            match store.customer(crate::domain::Scope::All, *c) {
                Ok(_) => known.push(*c),
                Err(StoreError::NotFound { .. }) => {
                    return Err(ValidationError::new("customer", format!("no customer {c}")).into())
                }
                Err(e) => return Err(e.into()),
            }
        }
        let new: Vec<NewEvent<'_>> = events
            .iter()
            .map(|(c, e)| NewEvent {
                customer: *c,
                event_type: e.event_type,
                event_id: e.event_id,
                payload: &e.payload,
            })
            .collect();
        Ok(store.record_events(&new, now)?)
    })
}
