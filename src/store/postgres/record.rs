//! STUB: to be ported from ../sqlite/record.rs
#![allow(unused_imports, unused_variables)]

use super::PgStore;
use crate::domain::allowlist::AllowedTarget;
use crate::domain::format::RoutingKey;
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope, Secret, WebhookSettings};
use crate::store::{
    AllowedTargetRow, AttemptLog, AttemptStat, Backlog, Claim, Customer, Delivery, DeliveryCounts,
    DeliveryFilter, Disabled, Job, NewEvent, NewKey, Outcome, PruneCount, PruneOptions,
    PruneReport, PruneRule, Recorded, Reset, Result, Rotated, SecretChange, Webhook, WebhookFilter,
};

impl PgStore {
    pub fn record_events(&mut self, events: &[NewEvent<'_>], now: Millis) -> Result<Vec<Recorded>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn record_test(
        &mut self,
        scope: Scope,
        webhook: i64,
        payload: &[u8],
        owner: &str,
        now: Millis,
    ) -> Result<Job> {
        Err(crate::store::StoreError::NoKey)
    }
}
