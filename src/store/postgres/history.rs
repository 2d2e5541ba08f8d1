//! STUB: to be ported from ../sqlite/history.rs
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
    pub fn webhook_known(&self, scope: Scope, id: i64) -> Result<()> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn deliveries(&self, scope: Scope, f: &DeliveryFilter) -> Result<Vec<Delivery>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn delivery(&self, scope: Scope, id: i64) -> Result<Delivery> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn attempts(&self, delivery: i64) -> Result<Vec<AttemptLog>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn next_due(&self, scope: Scope) -> Result<Option<Millis>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn backlog(&self, scope: Scope, now: Millis) -> Result<Backlog> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn stats(
        &self,
        scope: Scope,
        since: Millis,
        webhook: Option<i64>,
    ) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)> {
        Err(crate::store::StoreError::NoKey)
    }
}
