//! The engine's database calls for the services: writes under this run's scope and lease
//! owner, and the reads `drain`, `emit` and retries need.

use std::time::Duration;

use super::Engine;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};
use crate::store::{
    Backlog, Claim, Customer, Delivery, Job, NewEvent, PruneReport, Recorded, Retention,
    StoreError, Unreadable, Webhook,
};

impl Engine<'_> {
    /// Leases deliveries (`how`) to this run, in its scope, now. Those whose rows could not be
    /// read are not returned: they are counted in the summary (once each) and kept for
    /// [`Engine::take_unreadable`]. They stay leased, so the next claims pass over them (a
    /// drain would otherwise take them up again at once), except those of a manual retry.
    pub(in crate::delivery) fn claim(&mut self, how: Claim<'_>) -> Result<Vec<Job>, StoreError> {
        let now = self.clock.now();
        let retry = matches!(how, Claim::RetryIds(_));
        let claimed = self.store.claim(self.scope, how, &self.owner, now)?;
        if retry {
            // A manual retry holds what it claims (on PostgreSQL a failed delivery gets a queue
            // row for it): given back, the delivery stays as it was.
            self.released
                .extend(claimed.unreadable.iter().map(|u| u.delivery_id));
        }
        // Counted once each, however often a long run meets them again.
        self.unreadable_claimed += claimed.unreadable.len() as u64;
        for u in &claimed.unreadable {
            if self.unreadable_seen.insert(u.delivery_id) {
                self.summary.unreadable += 1;
            }
        }
        self.unreadable.extend(claimed.unreadable);
        Ok(claimed.jobs)
    }

    /// How many claimed deliveries could not be read, over all claims (a delivery met again
    /// counted again; the summary counts each once).
    pub(in crate::delivery) fn unreadable_claimed(&self) -> u64 {
        self.unreadable_claimed
    }

    /// The claimed deliveries that could not be read since the last call.
    pub(in crate::delivery) fn take_unreadable(&mut self) -> Vec<Unreadable> {
        std::mem::take(&mut self.unreadable)
    }

    /// Records events and their deliveries in one transaction (`emit`).
    pub(in crate::delivery) fn record_events(
        &mut self,
        events: &[NewEvent<'_>],
        now: Millis,
    ) -> Result<Vec<Recorded>, StoreError> {
        self.store.record_events(events, now)
    }

    /// Records a `webhook.test` of `webhook` with `payload`, leased to this run, ready to send.
    pub(in crate::delivery) fn record_test(
        &mut self,
        webhook: i64,
        payload: &[u8],
    ) -> Result<Job, StoreError> {
        let now = self.clock.now();
        self.store
            .record_test(self.scope, webhook, payload, &self.owner, now)
    }

    /// Prunes history when `retention` says it is due (`drain --watch --retain`, when idle).
    pub(in crate::delivery) fn prune_if_due(
        &mut self,
        retention: &mut Retention,
        now: Millis,
    ) -> Result<Option<PruneReport>, StoreError> {
        retention.run_if_due(self.store, self.scope, now)
    }

    /// What is due and waiting at `now`, in this run's scope.
    pub(in crate::delivery) fn backlog(&self, now: Millis) -> Result<Backlog, StoreError> {
        self.store.backlog(self.scope, now)
    }

    /// When the next delivery in scope is due (or its lease runs out).
    pub(in crate::delivery) fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        self.store.next_due(self.scope)
    }

    /// Waits up to `d` for news of work other processes recorded (PostgreSQL's `NOTIFY`);
    /// `Ok(true)` when some came. Without such news (SQLite) it sleeps.
    pub(in crate::delivery) fn wait_for_work(
        &self,
        d: std::time::Duration,
    ) -> Result<bool, StoreError> {
        self.store.wait_for_work(d)
    }

    /// Whether the database announces new work ([`Engine::wait_for_work`] wakes for it).
    pub(in crate::delivery) fn announces_work(&self) -> bool {
        self.store.announces_work()
    }

    pub(in crate::delivery) fn delivery(&self, id: i64) -> Result<Delivery, StoreError> {
        self.store.delivery(self.scope, id)
    }

    pub(in crate::delivery) fn webhook(&self, id: i64) -> Result<Webhook, StoreError> {
        self.store.webhook(self.scope, id)
    }

    /// Any customer (events name theirs; a pinned scope is checked by the caller).
    pub(in crate::delivery) fn customer(&self, id: CustomerId) -> Result<Customer, StoreError> {
        self.store.customer(Scope::All, id)
    }

    /// How long a write waits for another process's lock before it fails as busy.
    pub(in crate::delivery) fn busy_timeout(&self) -> Duration {
        self.store.busy_timeout()
    }
}
