//! STUB: to be ported from ../sqlite/claim.rs
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
    pub fn claim(
        &mut self,
        scope: Scope,
        how: Claim<'_>,
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Job>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn record_outcomes(
        &mut self,
        outcomes: &[Outcome],
        owner: &str,
        now: Millis,
    ) -> Result<Vec<Disabled>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn release(&mut self, ids: &[i64], owner: &str) -> Result<()> {
        Err(crate::store::StoreError::NoKey)
    }
}
