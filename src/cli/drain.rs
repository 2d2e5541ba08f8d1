//! `webnet drain`: send what is due, for cron (`--max-time`) or systemd (`--watch`).

use std::time::Duration;

use super::args::DrainArgs;
use super::output::{self, Format};
use super::{CliError, Context};
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
    let mut engine = ctx.engine(&mut store, args.concurrency);
    let summary = service::drain(
        &mut engine,
        &DrainOptions {
            watch: args.watch,
            max_time,
            limit: args.limit,
        },
    )?;
    match ctx.format {
        Format::Json => output::print_json(&serde_json::to_value(summary).unwrap_or_default()),
        Format::Table => output::print_line(&format!(
            "{} attempted: {} succeeded, {} to retry, {} failed",
            summary.attempted, summary.succeeded, summary.retrying, summary.failed
        )),
    }
    Ok(())
}
