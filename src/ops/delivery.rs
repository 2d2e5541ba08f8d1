//! Actions that send: `emit`, `drain`, `deliveries retry` (one, or the failed ones) and
//! `webhooks test`, over `delivery::service`. Each builds its engine from a [`Sending`], so
//! callers never hold one.

use std::time::Duration;

use super::error::{during, Action, Error, Result};
use crate::delivery::service::{
    self, DrainOptions, DrainReport, EmitReport, EmitSummary, Input, RetryPlan,
};
use crate::delivery::{Clock, Engine, Summary};
use crate::domain::proxy::Proxies;
use crate::domain::Scope;
use crate::store::StoreError;
use crate::store::{AttemptLog, Delivery, DeliveryFilter, Outcome, Store, Unreadable};

/// How an action sends: whose deliveries, through which proxies, how many at once, and
/// whether every destination is allowed (`--allow-private-targets`).
#[derive(Debug, Clone)]
pub struct Sending {
    pub scope: Scope,
    pub allow_private: bool,
    pub proxies: Proxies,
    pub concurrency: usize,
}

/// The delivery engine for an action, starting from [`super::target_policy`]: an allow list
/// that cannot be read fails the action (as its first claim would), rather than sending under
/// a list never read.
fn engine<'s>(store: &'s mut Store, sending: &Sending) -> Result<Engine<'s>> {
    let policy = super::target_policy(store, sending.allow_private)?;
    let mut engine = Engine::new(
        store,
        sending.scope,
        policy,
        sending.concurrency,
        Clock::System,
    );
    engine.set_proxies(sending.proxies.clone());
    Ok(engine)
}

/// `emit`: records the events of `input` and, unless `queue`, makes their first attempts now.
/// Refused lines are reported (and counted), not errors.
pub fn emit(
    store: &mut Store,
    sending: &Sending,
    input: Input,
    queue: bool,
    report: &mut dyn EmitReport,
) -> Result<EmitSummary> {
    during(Action::Emit, || {
        let mut engine = engine(store, sending)?;
        Ok(service::emit(&mut engine, input, queue, report)?)
    })
}

/// `drain`: sends what is due (see [`service::drain`]). A single run that meets a database
/// locked past the busy timeout fails with [`Error::Locked`].
pub fn drain(
    store: &mut Store,
    sending: &Sending,
    opts: &DrainOptions,
    report: &mut dyn DrainReport,
) -> Result<Summary> {
    let waited: Duration = store.busy_timeout();
    during(Action::Drain, || {
        let mut engine = engine(store, sending)?;
        service::drain(&mut engine, opts, report).map_err(|source| {
            if matches!(source, StoreError::Busy { .. }) {
                Error::Locked { waited, source }
            } else {
                source.into()
            }
        })
    })
}

/// What `deliveries retry ID` did: the attempt's outcome and the delivery as it is now.
pub struct Retried {
    pub outcome: Outcome,
    pub delivery: Delivery,
    pub attempts: Vec<AttemptLog>,
}

/// `deliveries retry ID`: one attempt now on a failed or retrying delivery whose webhook
/// exists and is enabled ([`Error::Retry`] otherwise, nothing changed).
pub fn retry_one(store: &mut Store, sending: &Sending, id: i64) -> Result<Retried> {
    during(Action::RetryDelivery, || {
        let outcome = {
            let mut engine = engine(store, sending)?;
            service::retry_one(&mut engine, id)?
        };
        Ok(Retried {
            outcome,
            delivery: store.delivery(sending.scope, id)?,
            attempts: store.attempts(id)?,
        })
    })
}

/// What `deliveries retry --failed` would send (`filter` narrows by webhook and age).
pub fn plan_retry_failed(
    store: &Store,
    scope: Scope,
    filter: &DeliveryFilter,
) -> Result<RetryPlan> {
    during(Action::RetryFailed, || {
        if let Some(id) = filter.webhook {
            store.webhook_known(scope, id)?;
        }
        Ok(service::plan_retry_failed(store, scope, filter)?)
    })
}

/// `deliveries retry --failed`: one attempt now for every delivery of `plan`; and those whose
/// rows could not be read (not sent).
pub fn retry_failed(
    store: &mut Store,
    sending: &Sending,
    plan: &RetryPlan,
) -> Result<(Summary, Vec<Unreadable>)> {
    during(Action::RetryFailed, || {
        let mut engine = engine(store, sending)?;
        Ok(service::retry_failed(&mut engine, plan)?)
    })
}

/// `webhooks test ID`: a signed `webhook.test`, recorded and sent now.
pub fn test_webhook(store: &mut Store, sending: &Sending, webhook: i64) -> Result<Outcome> {
    during(Action::TestWebhook, || {
        let mut engine = engine(store, sending)?;
        Ok(service::test_webhook(&mut engine, webhook)?)
    })
}
