//! `webnet deliveries list|show|retry|prune`.

use std::time::Duration;

use super::args::DeliveriesCommand;
use super::output::{self, Format};
use super::views::{self, delivery_json, DELIVERY_COLUMNS};
use super::{CliError, Context};
use crate::domain::time::rfc3339;
use crate::ops;
use crate::store::{DeliveryFilter, DeliveryStatus};

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
                status,
                event_type,
                since: since.map(|s| ctx.now() - Duration::from(s).as_millis() as i64),
                limit: Some(limit),
                offset: 0,
            };
            let store = ctx.store()?;
            let list: Vec<_> = ops::deliveries::list(&store, ctx.scope, &filter)?
                .iter()
                .map(|d| {
                    let mut v = delivery_json(d, None);
                    if ctx.format == Format::Table {
                        views::mark_deleted_webhook(&mut v);
                    }
                    v
                })
                .collect();
            let columns = views::scoped_columns(DELIVERY_COLUMNS, ctx.scope);
            output::print_list(ctx.format, &list, &columns, "no deliveries");
            if ctx.format == Format::Table && list.len() as u64 == u64::from(limit) {
                eprintln!("(the newest {limit} shown; more with --limit N)");
            }
            Ok(())
        }
        DeliveriesCommand::Show { id } => {
            let store = ctx.store()?;
            let (d, attempts) = ops::deliveries::show(&store, ctx.scope, id)?;
            views::print_delivery(ctx.format, &d, &attempts);
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
            let sending = ctx.sending(concurrency)?;
            let r = ops::delivery::retry_one(&mut store, &sending, id)?;
            views::print_delivery(ctx.format, &r.delivery, &r.attempts);
            if r.outcome.status != DeliveryStatus::Success {
                return Err(CliError::failure(format!(
                    "delivery {id}: the attempt failed: {}",
                    r.outcome.error_message.unwrap_or_default()
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
        } => retry_failed(ctx, webhook, since, concurrency, dry_run),
        DeliveriesCommand::Prune {
            older_than,
            status,
            dry_run,
            vacuum,
        } => prune(ctx, older_than, status, dry_run, vacuum),
    }
}

/// `deliveries retry --failed`: what would be retried (`dry_run`), or one attempt each now.
fn retry_failed(
    ctx: &Context,
    webhook: Option<i64>,
    since: Option<humantime::Duration>,
    concurrency: usize,
    dry_run: bool,
) -> Result<(), CliError> {
    let since: Duration = since.map(Into::into).unwrap_or(DEFAULT_RETRY_SINCE);
    let filter = DeliveryFilter {
        webhook,
        since: Some(ctx.now() - since.as_millis() as i64),
        ..DeliveryFilter::default()
    };
    let mut store = ctx.store()?;
    let plan = ops::delivery::plan_retry_failed(&store, ctx.scope, &filter)?;
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
            Format::Json => {
                output::print_json(&serde_json::json!({"would_retry": n, "skipped": skipped}))
            }
            Format::Table => output::print_line(&format!(
                "{n} failed delivery(ies) would be retried{skipped_line} (nothing was sent)"
            )),
        }
        return Ok(());
    }
    let sending = ctx.sending(concurrency)?;
    let (summary, unreadable) = ops::delivery::retry_failed(&mut store, &sending, &plan)?;
    for line in super::emit::unreadable_lines(&unreadable, "left unchanged") {
        eprintln!("warning: {line}");
    }
    match ctx.format {
        Format::Json => {
            let mut value = serde_json::to_value(summary).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("skipped".into(), skipped.into());
            }
            output::print_json(&value)
        }
        Format::Table => output::print_line(&format!(
            "{} retried: {} succeeded, {} still failing{skipped_line}{}",
            summary.attempted,
            summary.succeeded,
            summary.failed,
            super::emit::unsent_counts(&summary)
        )),
    }
    if summary.unreadable > 0 {
        return Err(CliError::failure(format!(
            "{} delivery(ies) not retried: their stored rows cannot be read (see above)",
            summary.unreadable
        )));
    }
    if summary.not_signed > 0 {
        return Err(super::drain::not_signed_error(summary.not_signed));
    }
    Ok(())
}

/// `deliveries prune`: runs to the end (in short batches), or with `dry_run` only counts.
fn prune(
    ctx: &Context,
    older_than: Duration,
    status: Option<DeliveryStatus>,
    dry_run: bool,
    vacuum: bool,
) -> Result<(), CliError> {
    let now = ctx.now();
    let rule = ops::deliveries::prune_rule(now, older_than, status);
    let before = rfc3339(rule.before);
    let mut store = ctx.store()?;
    if dry_run {
        let n = ops::deliveries::count_prunable(&store, ctx.scope, rule, now)?;
        match ctx.format {
            Format::Json => output::print_json(&serde_json::json!({
                "would_delete": n.deliveries,
                "attempts": n.attempts,
                "events": n.events,
                "before": before,
            })),
            Format::Table => output::print_line(&format!(
                "{} that ended before {before} would be deleted, with {} and {} (nothing was deleted)",
                counted(n.deliveries, "delivery", "deliveries"),
                counted(n.attempts, "attempt", "attempts"),
                counted(n.events, "event", "events")
            )),
        }
        return Ok(());
    }
    let report = ops::deliveries::prune(&mut store, ctx.scope, rule, now, vacuum)?;
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
            "deleted {} that ended before {before}, with {} and {}; {}",
            counted(n.deliveries, "delivery", "deliveries"),
            counted(n.attempts, "attempt", "attempts"),
            counted(n.events, "event", "events"),
            match report.reclaimed_bytes {
                0 => "the database is no smaller (the space freed is reused for new deliveries)"
                    .to_string(),
                b => format!("the database is {} smaller", bytes(b)),
            }
        )),
    }
    Ok(())
}

/// `n` and what it counts, in the singular for one.
fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A size for people: KiB below 1 MiB, else MiB.
fn bytes(n: u64) -> String {
    if n < 1 << 20 {
        format!("{} KiB", n.div_ceil(1024))
    } else {
        format!("{:.1} MiB", n as f64 / 1_048_576.0)
    }
}
