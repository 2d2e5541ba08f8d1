//! STUB: to be ported from ../sqlite/webhooks.rs
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
    pub fn create_webhook_with(
        &self,
        customer: CustomerId,
        s: &WebhookSettings,
        secret: Option<&Secret>,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn webhook(&self, scope: Scope, id: i64) -> Result<Webhook> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn webhooks(&self, scope: Scope, filter: &WebhookFilter) -> Result<Vec<Webhook>> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn update_webhook_with(
        &self,
        scope: Scope,
        id: i64,
        s: &WebhookSettings,
        secret: SecretChange,
        routing_key: Option<&RoutingKey>,
        now: Millis,
    ) -> Result<Webhook> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn rotate_secret(
        &self,
        scope: Scope,
        id: i64,
        secret: &Secret,
        grace_ms: Millis,
        now: Millis,
    ) -> Result<Webhook> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn delete_webhook(&mut self, scope: Scope, id: i64, now: Millis) -> Result<Webhook> {
        Err(crate::store::StoreError::NoKey)
    }

    pub fn webhook_secret(&self, scope: Scope, id: i64) -> Result<Option<Vec<u8>>> {
        Err(crate::store::StoreError::NoKey)
    }
}
