//! STUB: to be ported from ../sqlite/prune.rs
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
    pub fn count_prunable(&self, scope: Scope, rule: PruneRule, now: Millis) -> Result<PruneCount> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn prune(
        &mut self,
        scope: Scope,
        rule: PruneRule,
        now: Millis,
        opts: &PruneOptions,
    ) -> Result<PruneReport> {
        Err(crate::store::StoreError::NoKey)
    }
}
