//! `webnet drain`: send what is due, for cron (`--max-time`) or systemd (`--watch`).

use std::time::Duration;

use super::args::DrainArgs;
use super::output::{self, Format};
use super::{deliveries, CliError, Context};
use crate::delivery::service::{self, DrainOptions};

/// Without `--watch`, a run stops claiming after this long, so runs a minute apart from cron
/// rarely overlap (and are safe when they do).
const DEFAULT_MAX_TIME: Duration = Duration::from_secs(50);

pub fn run(ctx: &Context, args: DrainArgs) -> Result<(), CliError> {
    let max_time = match (args.max_time, args.watch) {
        (Some(t), _) => Some(t.into()),
        (None, true) => None,
        (None, false) => Some(DEFAULT_MAX_TIME),
    };
    let mut store = ctx.store()?;
    // `--retain`: a cron or timer run prunes when it has sent what was due; `--watch` prunes
    // once as it starts (in idle moments too, once the drain loop calls `Retention`).
    let pruned_first = match args.retain {
        Some(older_than) if args.watch => Some(deliveries::retain(ctx, &mut store, older_than)),
        _ => None,
    };
    let summary = {
        let mut engine = ctx.engine(&mut store, args.concurrency);
        service::drain(
            &mut engine,
            &DrainOptions {
                watch: args.watch,
                max_time,
                limit: args.limit,
            },
        )?
    };
    let pruned = match (pruned_first, args.retain) {
        (Some(first), _) => Some(first),
        (None, Some(older_than)) => Some(deliveries::retain(ctx, &mut store, older_than)),
        (None, None) => None,
    };
    let pruned_count = pruned.as_ref().and_then(|p| p.as_ref().ok()).copied();
    match ctx.format {
        Format::Json => {
            let mut value = serde_json::to_value(summary).unwrap_or_default();
            if let (Some(n), Some(map)) = (pruned_count, value.as_object_mut()) {
                map.insert("pruned".into(), n.into());
            }
            output::print_json(&value)
        }
        Format::Table => output::print_line(&format!(
            "{} attempted: {} succeeded, {} to retry, {} failed{}",
            summary.attempted,
            summary.succeeded,
            summary.retrying,
            summary.failed,
            pruned_count.map_or(String::new(), |n| format!("; {n} old deliveries pruned"))
        )),
    }
    // A failed prune is reported after what was sent.
    if let Some(Err(e)) = pruned {
        return Err(e);
    }
    Ok(())
}
