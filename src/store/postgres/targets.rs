//! STUB: to be ported from ../sqlite/targets.rs
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
    pub fn allow_target(
        &self,
        target: &AllowedTarget,
        note: Option<&str>,
        now: Millis,
    ) -> Result<(AllowedTargetRow, bool)> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn allowed_targets(&self) -> Result<Vec<AllowedTargetRow>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn remove_target(&self, target: &AllowedTarget) -> Result<()> {
        Err(crate::store::StoreError::NoKey)
    }
}
