//! STUB: to be ported from ../sqlite/rekey.rs
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
    pub fn rotate_key(&self, new: NewKey) -> Result<Rotated> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn check_key_lost(&self) -> Result<()> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn reset_key(&self, now: Millis) -> Result<Reset> {
        Err(crate::store::StoreError::NoKey)
    }
}
