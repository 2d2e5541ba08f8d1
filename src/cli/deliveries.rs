//! `webnet deliveries list|show|retry|prune`, and the pruning `drain --retain` does.

use std::time::Duration;

use super::args::DeliveriesCommand;
use super::output::{self, delivery_json, Format, DELIVERY_COLUMNS};
use super::{CliError, Context};
use crate::delivery::service::{self, RetryError};
use crate::domain::time::rfc3339;
use crate::store::{
    cutoff, DeliveryFilter, DeliveryStatus, PruneOptions, PruneRule, Retention, Store,
};

const DEFAULT_RETRY_SINCE: Duration = Duration::from_secs(24 * 3600);

pub fn run(ctx: &Context, cmd: DeliveriesCommand) -> Result<(), CliError> {
    match cmd {
        DeliveriesCommand::List {
            webhook,
            status,
            event_type,
            since,
            limit,
        } => {
            let filter = DeliveryFilter {
                webhook,
                status: status.as_deref().and_then(DeliveryStatus::parse),
                event_type,
                since: since.map(|s| ctx.now() - Duration::from(s).as_millis() as i64),
                limit: Some(limit),
            };
            let store = ctx.store()?;
            if let Some(id) = webhook {
                store.webhook_known(ctx.scope, id)?;
            }
            let list: Vec<_> = store
                .deliveries(ctx.scope, &filter)?
                .iter()
                .map(|d| {
                    let mut v = delivery_json(d, None);
                    if ctx.format == Format::Table {
                        output::mark_deleted_webhook(&mut v);
                    }
                    v
                })
                .collect();
            output::print_list(ctx.format, &list, DELIVERY_COLUMNS, "no deliveries");
            if ctx.format == Format::Table && list.len() as u64 == u64::from(limit) {
                eprintln!("(the newest {limit} shown; more with --limit N)");
            }
            Ok(())
        }
        DeliveriesCommand::Show { id } => {
            let store = ctx.store()?;
            let d = store.delivery(ctx.scope, id)?;
            let attempts = store.attempts(id)?;
            output::print_delivery(ctx.format, &d, &attempts);
            Ok(())
        }
        DeliveriesCommand::Retry {
            id: Some(id),
            concurrency,
            webhook,
            since,
            dry_run,
            ..
        } => {
            // clap's `requires` does not hold these back when a delivery id is given.
            if dry_run || webhook.is_some() || since.is_some() {
                return Err(CliError::usage(
                    "--failed",
                    "--dry-run, --webhook and --since go with --failed, not with a delivery id",
                ));
            }
            let mut store = ctx.store()?;
            let outcome = {
                let mut engine = ctx.engine(&mut store, concurrency)?;
                match service::retry_one(&mut engine, id) {
                    Ok(o) => o,
                    Err(e @ RetryError::NotRetryable { .. }) => {
                        return Err(CliError::usage("ID", e))
                    }
                    Err(RetryError::Store(e)) => return Err(e.into()),
                    // Nowhere to send it: refused, nothing changed.
                    Err(
                        e
                        @ (RetryError::WebhookDeleted { .. } | RetryError::WebhookDisabled { .. }),
                    ) => return Err(CliError::failure(e)),
                    Err(e) => return Err(CliError::failure(e)),
                }
            };
            let d = store.delivery(ctx.scope, id)?;
            let attempts = store.attempts(id)?;
            output::print_delivery(ctx.format, &d, &attempts);
            if outcome.status != DeliveryStatus::Success {
                return Err(CliError::failure(format!(
                    "delivery {id}: the attempt failed: {}",
                    outcome.error_message.unwrap_or_default()
                )));
            }
            Ok(())
        }
        DeliveriesCommand::Retry {
            id: None,
            webhook,
            since,
            concurrency,
            dry_run,
            ..
        } => {
            let since: Duration = since.map(Into::into).unwrap_or(DEFAULT_RETRY_SINCE);
            let filter = DeliveryFilter {
                webhook,
                since: Some(ctx.now() - since.as_millis() as i64),
                ..DeliveryFilter::default()
            };
            let mut store = ctx.store()?;
            if let Some(id) = webhook {
                store.webhook_known(ctx.scope, id)?;
            }
            let plan = service::plan_retry_failed(&store, ctx.scope, &filter)?;
            let skipped = plan.skipped();
            let skipped_line = if skipped == 0 {
                String::new()
            } else {
                format!(
                    "; {skipped} skipped ({} of deleted webhooks, {} of disabled ones: enable those first)",
                    plan.skipped_deleted, plan.skipped_disabled
                )
            };
            if dry_run {
                let n = plan.ids.len();
                match ctx.format {
                    Format::Json => output::print_json(
                        &serde_json::json!({"would_retry": n, "skipped": skipped}),
                    ),
                    Format::Table => output::print_line(&format!(
                        "{n} failed delivery(ies) would be retried{skipped_line} (nothing was sent)"
                    )),
                }
                return Ok(());
            }
            let mut engine = ctx.engine(&mut store, concurrency)?;
            let summary = service::retry_failed(&mut engine, &plan)?;
            match ctx.format {
                Format::Json => {
                    let mut value = serde_json::to_value(summary).unwrap_or_default();
                    if let Some(map) = value.as_object_mut() {
                        map.insert("skipped".into(), skipped.into());
                    }
                    output::print_json(&value)
                }
                Format::Table => output::print_line(&format!(
                    "{} retried: {} succeeded, {} still failing{skipped_line}",
                    summary.attempted, summary.succeeded, summary.failed
                )),
            }
            Ok(())
        }
        DeliveriesCommand::Prune {
            older_than,
            status,
            dry_run,
            vacuum,
        } => prune(ctx, older_than, status.as_deref(), dry_run, vacuum),
    }
}

/// `deliveries prune`: runs to the end (in short batches), or with `dry_run` only counts.
fn prune(
    ctx: &Context,
    older_than: Duration,
    status: Option<&str>,
    dry_run: bool,
    vacuum: bool,
) -> Result<(), CliError> {
    let now = ctx.now();
    let rule = PruneRule {
        before: cutoff(now, older_than),
        status: status.and_then(DeliveryStatus::parse),
    };
    let before = rfc3339(rule.before);
    let mut store = ctx.store()?;
    if dry_run {
        let n = store.count_prunable(ctx.scope, rule, now)?;
        match ctx.format {
            Format::Json => output::print_json(&serde_json::json!({
                "would_delete": n.deliveries,
                "attempts": n.attempts,
                "events": n.events,
                "before": before,
            })),
            Format::Table => output::print_line(&format!(
                "{} deliveries that ended before {before} would be deleted, with {} attempts and {} events (nothing was deleted)",
                n.deliveries, n.attempts, n.events
            )),
        }
        return Ok(());
    }
    let opts = PruneOptions {
        budget: None,
        full_vacuum: vacuum,
    };
    let report = store.prune(ctx.scope, rule, now, &opts)?;
    let n = report.deleted;
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "deleted": n.deliveries,
            "attempts": n.attempts,
            "events": n.events,
            "reclaimed_bytes": report.reclaimed_bytes,
            "before": before,
        })),
        Format::Table => output::print_line(&format!(
            "deleted {} deliveries that ended before {before}, with {} attempts and {} events; the database is {} smaller",
            n.deliveries,
            n.attempts,
            n.events,
            bytes(report.reclaimed_bytes)
        )),
    }
    Ok(())
}

/// A size for people: KiB below 1 MiB, else MiB.
fn bytes(n: u64) -> String {
    if n < 1 << 20 {
        format!("{} KiB", n.div_ceil(1024))
    } else {
        format!("{:.1} MiB", n as f64 / 1_048_576.0)
    }
}

/// `drain --retain`: prunes what ended longer ago than `older_than` in the command's scope, for
/// at most [`Retention::RUN_BUDGET`] (the rest goes next run). Returns the deliveries deleted.
pub(super) fn retain(
    ctx: &Context,
    store: &mut Store,
    older_than: Duration,
) -> Result<u64, CliError> {
    let mut retention = Retention::new(older_than, Retention::RUN_BUDGET);
    let report = retention.run_if_due(store, ctx.scope, ctx.now())?;
    Ok(report.map_or(0, |r| r.deleted.deliveries))
}
