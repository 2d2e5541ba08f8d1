//! STUB: to be ported from ../sqlite/customers.rs
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
    pub fn create_customer(&self, name: &str, now: Millis) -> Result<Customer> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn customers(&self, scope: Scope) -> Result<Vec<Customer>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn customer(&self, scope: Scope, id: CustomerId) -> Result<Customer> {
        Err(crate::store::StoreError::NoKey)
    }
}
