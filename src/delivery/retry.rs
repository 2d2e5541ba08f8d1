//! Manual retries (`deliveries retry`) and tests (`webhooks test`): one attempt now, recorded
//! like any other.

use std::collections::HashMap;

use super::engine::Engine;
use super::summary::Summary;
use crate::domain::Scope;
use crate::store::{
    Claim, Delivery, DeliveryFilter, DeliveryStatus, Outcome, Store, StoreError, Unreadable,
    Webhook,
};

/// Why a manual retry was refused.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("delivery {id} is {status}: only failed or retrying deliveries can be retried")]
    NotRetryable { id: i64, status: &'static str },
    #[error("delivery {id}: its webhook{} was deleted; there is nowhere to send it", webhook.map(|w| format!(" {w}")).unwrap_or_default())]
    WebhookDeleted { id: i64, webhook: Option<i64> },
    #[error("delivery {id}: its webhook {webhook} is disabled; enable it first (webnet webhooks enable {webhook})")]
    WebhookDisabled { id: i64, webhook: i64 },
    #[error("delivery {0} is being sent by another process right now; try again shortly")]
    Busy(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a delivery's webhook stands for a manual retry: `None` when it can be sent.
fn unsendable(
    webhook_of: impl Fn(i64) -> Result<Webhook, StoreError>,
    d: &Delivery,
) -> Result<Option<RetryError>, StoreError> {
    let deleted = RetryError::WebhookDeleted {
        id: d.id,
        webhook: d.webhook,
    };
    let Some(webhook) = d.webhook.filter(|_| !d.webhook_deleted) else {
        return Ok(Some(deleted));
    };
    match webhook_of(webhook) {
        Ok(w) if w.settings.enabled => Ok(None),
        Ok(_) => Ok(Some(RetryError::WebhookDisabled { id: d.id, webhook })),
        // Deleted since the delivery was read.
        Err(StoreError::NotFound { .. }) => Ok(Some(deleted)),
        Err(e) => Err(e),
    }
}

/// `deliveries retry ID`: one attempt now, on a failed or retrying delivery whose webhook
/// exists and is enabled. A refusal changes nothing (the claim itself skips a delivery whose
/// webhook was deleted or disabled meanwhile).
pub fn retry_one(engine: &mut Engine<'_>, id: i64) -> Result<Outcome, RetryError> {
    let d = engine.delivery(id)?;
    if !matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Retrying) {
        return Err(RetryError::NotRetryable {
            id,
            status: d.status.as_str(),
        });
    }
    if let Some(refused) = unsendable(|w| engine.webhook(w), &d)? {
        return Err(refused);
    }
    let jobs = engine.claim(Claim::RetryIds(&[id]))?;
    if let Some(u) = engine.take_unreadable().pop() {
        // Given back (its lease released), it stays as it was. What the user needs to hear is
        // the row's problem; a release that fails leaves the hold to run out.
        let _ = engine.settle();
        return Err(u.error.into());
    }
    if jobs.is_empty() {
        // Leased by another process, or its webhook went away in between.
        if let Some(refused) = unsendable(|w| engine.webhook(w), &d)? {
            return Err(refused);
        }
        return Err(RetryError::Busy(id));
    }
    engine.keep_outcomes();
    engine.send_claimed(jobs)?;
    engine.take_outcomes().pop().ok_or(RetryError::Busy(id))
}

/// What `deliveries retry --failed` would send, and what it leaves alone.
#[derive(Debug, Clone, Default)]
pub struct RetryPlan {
    /// Failed deliveries whose webhook exists and is enabled.
    pub ids: Vec<i64>,
    /// Failed deliveries skipped because their webhook was deleted.
    pub skipped_deleted: usize,
    /// Failed deliveries skipped because their webhook is disabled.
    pub skipped_disabled: usize,
}

impl RetryPlan {
    pub fn skipped(&self) -> usize {
        self.skipped_deleted + self.skipped_disabled
    }
}

/// The failed deliveries `filter` selects, split into those `retry --failed` sends and those it
/// skips (webhook deleted or disabled: nowhere to send them, and their history stays as it is).
pub fn plan_retry_failed(
    store: &Store,
    scope: Scope,
    filter: &DeliveryFilter,
) -> Result<RetryPlan, StoreError> {
    let filter = DeliveryFilter {
        status: Some(DeliveryStatus::Failed),
        ..filter.clone()
    };
    let mut plan = RetryPlan::default();
    // Webhook id → sendable, looked up once each.
    let mut sendable: HashMap<Option<i64>, Option<bool>> = HashMap::new();
    for d in store.deliveries(scope, &filter)? {
        let state = match sendable.get(&d.webhook) {
            Some(s) => *s,
            None => {
                let s = match unsendable(|w| store.webhook(scope, w), &d)? {
                    None => Some(true),
                    Some(RetryError::WebhookDisabled { .. }) => Some(false),
                    Some(_) => None,
                };
                sendable.insert(d.webhook, s);
                s
            }
        };
        match state {
            Some(true) => plan.ids.push(d.id),
            Some(false) => plan.skipped_disabled += 1,
            None => plan.skipped_deleted += 1,
        }
    }
    Ok(plan)
}

/// `deliveries retry --failed`: one attempt now for every delivery of `plan`; and those whose
/// rows could not be read (not sent, given back as they were).
pub fn retry_failed(
    engine: &mut Engine<'_>,
    plan: &RetryPlan,
) -> Result<(Summary, Vec<Unreadable>), StoreError> {
    let mut unreadable = Vec::new();
    for chunk in plan.ids.chunks(256) {
        let jobs = engine.claim(Claim::RetryIds(chunk))?;
        unreadable.extend(engine.take_unreadable());
        engine.send_claimed(jobs)?;
    }
    Ok((engine.summary(), unreadable))
}

/// `webhooks test ID`: a signed `webhook.test`, recorded and sent now.
pub fn test_webhook(engine: &mut Engine<'_>, webhook: i64) -> Result<Outcome, StoreError> {
    let now = engine.now();
    let hook = engine.webhook(webhook)?;
    let payload = crate::domain::payload::test_payload(hook.id, &hook.settings.name, now);
    let job = engine.record_test(webhook, &payload)?;
    let id = job.delivery_id;
    engine.keep_outcomes();
    engine.send_claimed(vec![job])?;
    engine
        .take_outcomes()
        .pop()
        .ok_or_else(|| StoreError::not_found("delivery", id))
}
