//! `webnet deliveries …`.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Subcommand;

use super::super::examples;
use super::super::values::{delivery_id, duration, positive_count, positive_duration, webhook_id};
use super::{concurrency_parser, delivery_event_type_parser};
use crate::domain::event_type::Subscription;
use crate::store::DeliveryStatus;

/// A delivery status, by name (`statuses` offered to completion).
fn status_parser(
    statuses: &'static [&'static str],
) -> impl TypedValueParser<Value = DeliveryStatus> {
    PossibleValuesParser::new(statuses)
        .try_map(|s| DeliveryStatus::parse(&s).ok_or_else(|| format!("{s:?} is not a status")))
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first
    #[command(after_help = examples::DELIVERIES_LIST)]
    List {
        /// Only deliveries to this webhook (a deleted one's history too)
        #[arg(long, value_name = "ID", value_parser = webhook_id, allow_hyphen_values = true)]
        webhook: Option<i64>,
        /// Only deliveries with this status
        #[arg(long, value_name = "S", value_parser = status_parser(&["pending", "retrying", "success", "failed"]))]
        status: Option<DeliveryStatus>,
        /// Only deliveries of this event type (from the catalog, or webhook.test), or of a family (job.*)
        #[arg(long, value_name = "T", value_parser = delivery_event_type_parser())]
        event_type: Option<Subscription>,
        /// Only deliveries created this recently (e.g. 1h, 2days)
        #[arg(long, value_name = "DURATION", value_parser = duration, allow_hyphen_values = true)]
        since: Option<humantime::Duration>,
        /// At most this many
        #[arg(long, value_name = "N", default_value_t = 50, value_parser = positive_count::<u32>, allow_hyphen_values = true)]
        limit: u32,
    },
    /// Show one delivery: its payload and every attempt
    #[command(after_help = examples::DELIVERIES_SHOW)]
    Show {
        /// Delivery id
        #[arg(value_parser = delivery_id, allow_negative_numbers = true)]
        id: i64,
    },
    /// Make one attempt now: on one failed or retrying delivery (exit 1 unless it succeeded),
    /// or with --failed on many (exit 0, with counts, like `drain`)
    #[command(
        after_help = examples::DELIVERIES_RETRY,
        group(clap::ArgGroup::new("which").args(["id", "failed"]).required(true))
    )]
    Retry {
        /// Delivery id
        #[arg(
            conflicts_with = "failed",
            value_parser = delivery_id,
            allow_negative_numbers = true
        )]
        id: Option<i64>,
        /// Every failed delivery (narrow with --webhook and --since); exits 0 and reports how
        /// many succeeded, are retrying or failed again, as `drain` does: retries failing is
        /// what they are for, not an error of the command
        #[arg(long)]
        failed: bool,
        /// With --failed: only deliveries to this webhook
        #[arg(long, value_name = "ID", requires = "failed", value_parser = webhook_id, allow_hyphen_values = true)]
        webhook: Option<i64>,
        /// With --failed: only deliveries created this recently [default: 24h]
        #[arg(long, value_name = "DURATION", requires = "failed", value_parser = duration, allow_hyphen_values = true)]
        since: Option<humantime::Duration>,
        /// With --failed: only count what would be retried; send nothing
        #[arg(long, requires = "failed")]
        dry_run: bool,
        /// Deliveries sent in parallel
        #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser(), allow_hyphen_values = true)]
        concurrency: usize,
    },
    /// Delete old history: deliveries that ended (success or failed) before a cutoff, with their
    /// attempts and the events nothing refers to any more; never pending or retrying ones
    #[command(after_help = examples::DELIVERIES_PRUNE)]
    Prune {
        /// Delete deliveries that ended longer ago than this (e.g. 90d, 2weeks)
        #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
        older_than: std::time::Duration,
        /// Only deliveries that ended with this status
        #[arg(long, value_name = "S", value_parser = status_parser(&["success", "failed"]))]
        status: Option<DeliveryStatus>,
        /// Only count what would be deleted; delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Then rewrite the whole file to its smallest size; other writers wait meanwhile (needed
        /// once to shrink a large database made before webnet reclaimed space by itself)
        #[arg(long, conflicts_with = "dry_run")]
        vacuum: bool,
    },
}
