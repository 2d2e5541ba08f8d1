//! Delivery history: list, show, stats, and deleting old history (`deliveries prune`, and the
//! pruning `drain --retain` does after a run). Sending lives in [`super::delivery`].

use std::time::Duration;

use super::error::{during, Action, Result};
use crate::domain::time::Millis;
use crate::domain::Scope;
use crate::store::{
    cutoff, AttemptLog, AttemptStat, Delivery, DeliveryCounts, DeliveryFilter, DeliveryStatus,
    PruneCount, PruneOptions, PruneReport, PruneRule, Retention, Store,
};

/// The deliveries `filter` selects, newest first. A webhook named in the filter must be one
/// `scope` may see (or a deleted one's history), else "not found".
pub fn list(store: &Store, scope: Scope, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
    during(Action::ListDeliveries, || {
        if let Some(id) = filter.webhook {
            store.webhook_known(scope, id)?;
        }
        Ok(store.deliveries(scope, filter)?)
    })
}

/// One delivery and its attempt log.
/// One page of the deliveries `filter` selects (its `limit` and `offset`), and how many it
/// selects in all (the API's `count`).
pub fn page(store: &Store, scope: Scope, filter: &DeliveryFilter) -> Result<(u64, Vec<Delivery>)> {
    during(Action::ListDeliveries, || {
        if let Some(id) = filter.webhook {
            store.webhook_known(scope, id)?;
        }
        Ok((
            store.count_deliveries(scope, filter)?,
            store.deliveries(scope, filter)?,
        ))
    })
}

pub fn show(store: &Store, scope: Scope, id: i64) -> Result<(Delivery, Vec<AttemptLog>)> {
    during(Action::ShowDelivery, || {
        let d = store.delivery(scope, id)?;
        Ok((d, store.attempts(id)?))
    })
}

/// `stats`' data: deliveries counted per webhook and their attempts, created since `since`.
pub fn stats(
    store: &Store,
    scope: Scope,
    since: Millis,
    webhook: Option<i64>,
) -> Result<(Vec<DeliveryCounts>, Vec<AttemptStat>)> {
    during(Action::Stats, || {
        if let Some(id) = webhook {
            store.webhook_known(scope, id)?;
        }
        Ok(store.stats(scope, since, webhook)?)
    })
}

/// What `deliveries prune` deletes: deliveries that ended (with `status`, or either) longer
/// ago than `older_than`.
pub fn prune_rule(now: Millis, older_than: Duration, status: Option<DeliveryStatus>) -> PruneRule {
    PruneRule {
        before: cutoff(now, older_than),
        status,
    }
}

/// Counts what [`prune`] would delete now; changes nothing.
pub fn count_prunable(
    store: &Store,
    scope: Scope,
    rule: PruneRule,
    now: Millis,
) -> Result<PruneCount> {
    during(
        Action::Prune,
        || Ok(store.count_prunable(scope, rule, now)?),
    )
}

/// Deletes what `rule` selects, to the end (in short batches); `vacuum` then rewrites the file.
pub fn prune(
    store: &mut Store,
    scope: Scope,
    rule: PruneRule,
    now: Millis,
    vacuum: bool,
) -> Result<PruneReport> {
    let opts = PruneOptions {
        budget: None,
        full_vacuum: vacuum,
    };
    during(Action::Prune, || Ok(store.prune(scope, rule, now, &opts)?))
}

/// `drain --retain` after a single run: prunes what ended longer ago than `older_than`, for at
/// most [`Retention::RUN_BUDGET`] (the rest goes next run). Returns the deliveries deleted.
pub fn retain(store: &mut Store, scope: Scope, older_than: Duration, now: Millis) -> Result<u64> {
    during(Action::Prune, || {
        let mut retention = Retention::new(older_than, Retention::RUN_BUDGET);
        let report = retention.run_if_due(store, scope, now)?;
        Ok(report.map_or(0, |r| r.deleted.deliveries))
    })
}
