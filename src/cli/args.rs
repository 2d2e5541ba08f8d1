//! Every command and option. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::builder::{FalseyValueParser, PossibleValuesParser};
use clap::{Args, Parser, Subcommand};

use super::output::Format;
use crate::domain::{CustomerId, EventType};

/// Webhooks for the webnet platform: subscriptions in a local SQLite file, events delivered as
/// signed HTTP POSTs, failures retried with exponential backoff.
#[derive(Debug, Parser)]
#[command(
    name = "webnet",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// SQLite database file [default: $XDG_DATA_HOME/webnet/webhooks.db or
    /// ~/.local/share/webnet/webhooks.db]
    #[arg(
        long,
        global = true,
        env = "WEBNET_DB",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub db: Option<PathBuf>,

    /// Output format [default: table on a terminal, json otherwise]
    #[arg(
        long,
        global = true,
        env = "WEBNET_OUTPUT",
        hide_env_values = true,
        value_enum
    )]
    pub output: Option<Format>,

    /// Pin this command to one customer: it sees and changes only that customer's webhooks and
    /// deliveries
    #[arg(
        long,
        global = true,
        env = "WEBNET_CUSTOMER",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub customer: Option<CustomerId>,

    /// Allow loopback, private, link-local and other non-public destinations
    #[arg(
        long,
        global = true,
        env = "WEBNET_ALLOW_PRIVATE_TARGETS",
        hide_env_values = true,
        value_parser = FalseyValueParser::new()
    )]
    pub allow_private_targets: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and list customers (tenants)
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Create, list, change and delete webhooks
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Record events and deliver them now: one from arguments, or JSON / NDJSON on stdin
    #[command(
        after_help = "Examples:\n  webnet emit job.completed --customer 1 --event-id 123 --data '{\"id\": 123, \"status\": \"success\"}'\n  tail -F events.ndjson | webnet emit\n  webnet emit --queue < backlog.ndjson   # record only; `webnet drain` sends"
    )]
    Emit(EmitArgs),
    /// Send every delivery that is due (retries, queued events); for cron or a systemd timer
    Drain(DrainArgs),
    /// Delivery history: list, show, retry
    #[command(subcommand)]
    Deliveries(DeliveriesCommand),
    /// Per webhook: deliveries, success rate, attempts and latency over a period, with sparklines
    Stats {
        /// The period, back from now
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        since: humantime::Duration,
        /// Only this webhook
        #[arg(long, value_name = "ID")]
        webhook: Option<i64>,
        /// Sparkline width (time buckets across the period)
        #[arg(long, value_name = "N", default_value_t = 24, value_parser = clap::value_parser!(u16).range(1..=200))]
        buckets: u16,
    },
    /// A local receiver for developing yours: prints each event as it arrives, checks signatures
    Listen {
        /// Port on 127.0.0.1 (0: any free port, printed on stderr)
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Check X-Webhook-Signature with this secret; a wrong one is answered 401
        #[arg(long, value_name = "S")]
        secret: Option<String>,
        /// Stop after this many events
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Run `drain` on a schedule: write the crontab line or the systemd units
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Create a customer; prints its id
    Create {
        /// The customer's name (unique)
        name: String,
    },
    /// List customers
    List,
}

/// Event type names for `--event` (and the wildcards), offered to shell completion.
pub(crate) fn event_type_parser() -> PossibleValuesParser {
    let exact = EventType::subscribable()
        .map(|t| clap::builder::PossibleValue::new(t.as_str()).help(t.about()));
    let wildcards = [
        ("job.*", "Every job event"),
        ("device.*", "Every device event"),
        ("config.*", "Every configuration event"),
        ("compliance.*", "Every compliance event"),
        ("*", "Every event"),
    ]
    .map(|(name, help)| clap::builder::PossibleValue::new(name).help(help));
    PossibleValuesParser::new(exact.chain(wildcards))
}

/// Event type names only (no wildcards), for one type.
pub(crate) fn exact_event_type_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(
        EventType::subscribable()
            .map(|t| clap::builder::PossibleValue::new(t.as_str()).help(t.about())),
    )
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Create a webhook; prints its id. On a terminal, asks for whatever required is missing
    #[command(
        after_help = "Examples:\n  webnet webhooks create --customer 1 --name ops --url https://ops.example.com/hook \\\n      --event job.failed --event compliance.violation_detected --secret-stdin < secret.txt"
    )]
    Create(WebhookOptions),
    /// List webhooks
    List {
        /// Only enabled webhooks
        #[arg(long, conflicts_with = "disabled")]
        enabled: bool,
        /// Only disabled webhooks
        #[arg(long)]
        disabled: bool,
        /// Only webhooks subscribed to this event type (directly or by a wildcard)
        #[arg(long, value_name = "TYPE", value_parser = exact_event_type_parser())]
        event: Option<String>,
    },
    /// Show one webhook
    Show {
        /// Webhook id
        id: i64,
    },
    /// Change a webhook; only what is given changes
    Update {
        /// Webhook id
        id: i64,
        #[command(flatten)]
        options: WebhookOptions,
        #[command(flatten)]
        extra: UpdateOnly,
    },
    /// Enable a webhook
    Enable {
        /// Webhook id
        id: i64,
    },
    /// Disable a webhook: it gets nothing new until enabled again
    Disable {
        /// Webhook id
        id: i64,
    },
    /// Send a signed `webhook.test` event now; prints status and time, exit 1 unless 2xx
    Test {
        /// Webhook id
        id: i64,
    },
    /// Replace the signing secret; during the grace period both old and new sign
    #[command(
        after_help = "During the grace period, X-Webhook-Signature keeps the old secret's signature and\nX-Webhook-Signature-Next carries the new one; webhook-signature lists both. Update the\nreceiver to accept the new secret, then let the grace period end."
    )]
    RotateSecret {
        /// Webhook id
        id: i64,
        /// How long the old secret keeps signing beside the new one (0s: switch at once)
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        grace: humantime::Duration,
        /// The new secret (visible in the process list: prefer --secret-stdin)
        #[arg(
            long,
            value_name = "S",
            conflicts_with = "secret_stdin",
            required_unless_present = "secret_stdin"
        )]
        secret: Option<String>,
        /// Read the new secret from standard input (first line)
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Delete a webhook (its delivery history is kept)
    Delete {
        /// Webhook id
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// The options of `webhooks create`, also accepted by `webhooks update`.
#[derive(Debug, Args, Default)]
pub struct WebhookOptions {
    /// Friendly name, unique per customer (1-100 characters)
    #[arg(long)]
    pub name: Option<String>,
    /// Destination URL (http or https)
    #[arg(long)]
    pub url: Option<String>,
    /// Event type to subscribe to; repeat, or separate with commas; `job.*` for a family, `*`
    /// for everything
    #[arg(long = "event", value_name = "TYPE", value_delimiter = ',', value_parser = event_type_parser())]
    pub events: Vec<String>,
    /// Signing secret (visible to other local users in the process list: prefer --secret-stdin)
    #[arg(long, value_name = "S", conflicts_with = "secret_stdin")]
    pub secret: Option<String>,
    /// Read the signing secret from standard input (first line)
    #[arg(long)]
    pub secret_stdin: bool,
    /// Create (or set) the webhook disabled
    #[arg(long)]
    pub disabled: bool,
    /// Accept any TLS certificate (self-signed, expired); for testing only
    #[arg(long)]
    pub no_verify_ssl: bool,
    /// Whole-request timeout, 1s to 120s [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Retries after the first attempt, 0 to 20 [default: 3]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_retries: Option<i64>,
    /// Wait before the first retry, doubled for each next one, 1s to 24h [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub retry_backoff: Option<String>,
    /// Body format: the spec's JSON, or a Slack or Teams message [default: slack for Slack
    /// incoming-webhook URLs, teams for Teams ones, json otherwise]
    #[arg(long, value_name = "FORMAT", value_parser = ["json", "slack", "teams"])]
    pub payload_format: Option<String>,
    /// Disable the webhook after failing this long without one success, 0s for never, up to
    /// 30 days [default: 3days]
    #[arg(long, value_name = "DURATION")]
    pub auto_disable_after: Option<String>,
    /// Custom header sent with every delivery, 'Name: value'; repeat for more (update: adds or
    /// replaces that header)
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
}

/// Options only `webhooks update` has: the way back from the create flags.
#[derive(Debug, Args, Default)]
pub struct UpdateOnly {
    /// Enable the webhook
    #[arg(long, conflicts_with = "disabled")]
    pub enabled: bool,
    /// Verify TLS certificates again
    #[arg(long, conflicts_with = "no_verify_ssl")]
    pub verify_ssl: bool,
    /// Remove the signing secret
    #[arg(long, conflicts_with_all = ["secret", "secret_stdin"])]
    pub clear_secret: bool,
    /// Remove every custom header (with --header: replace them all)
    #[arg(long)]
    pub clear_headers: bool,
}

fn concurrency_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256)
}

#[derive(Debug, Args)]
pub struct EmitArgs {
    /// Event type (argument form); without it, events are read from stdin
    #[arg(value_name = "TYPE", value_parser = exact_event_type_parser())]
    pub event_type: Option<String>,
    /// The event's id in webnet (argument form)
    #[arg(long, value_name = "N", requires = "event_type")]
    pub event_id: Option<i64>,
    /// Id of the user who caused the event (argument form)
    #[arg(long, value_name = "N", requires = "event_type")]
    pub actor_id: Option<i64>,
    /// Username of the user who caused the event (argument form)
    #[arg(long, value_name = "U", requires = "event_type")]
    pub actor_username: Option<String>,
    /// The event's object as JSON: the `job`, `device`, `config` or `compliance` of the payload
    /// [default: {}]
    #[arg(long, value_name = "JSON", requires = "event_type")]
    pub data: Option<String>,
    /// Only record the deliveries; `webnet drain` sends them
    #[arg(long)]
    pub queue: bool,
    /// Deliveries sent in parallel
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser())]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// Keep running: sleep until the next delivery is due (for a systemd service)
    #[arg(long)]
    pub watch: bool,
    /// Stop claiming new deliveries after this long [default: 50s, or none with --watch]
    #[arg(long, value_name = "DURATION")]
    pub max_time: Option<humantime::Duration>,
    /// Send at most this many deliveries
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Deliveries sent in parallel
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser())]
    pub concurrency: usize,
    /// Also delete history older than this (e.g. 90d): as `deliveries prune --older-than`, a
    /// few seconds per run [default: keep everything]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub retain: Option<std::time::Duration>,
}

/// A humantime duration longer than zero (`90d`, `2weeks`, `12h`).
pub(crate) fn positive_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{e}; use a duration such as 90d, 2weeks or 12h"))?;
    if d.is_zero() {
        return Err("must be longer than 0, e.g. 90d".into());
    }
    Ok(d)
}

/// As [`positive_duration`], kept as written (without spaces: `1h 30m` → `1h30m`), to pass on
/// to the scheduled `drain` as one word.
fn duration_word(s: &str) -> Result<String, String> {
    positive_duration(s)?;
    Ok(s.split_whitespace().collect())
}

fn status_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(["pending", "retrying", "success", "failed"])
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first
    List {
        /// Only deliveries to this webhook
        #[arg(long, value_name = "ID")]
        webhook: Option<i64>,
        /// Only deliveries with this status
        #[arg(long, value_name = "S", value_parser = status_parser())]
        status: Option<String>,
        /// Only deliveries of this event type
        #[arg(long, value_name = "T")]
        event_type: Option<String>,
        /// Only deliveries created this recently (e.g. 1h, 2days)
        #[arg(long, value_name = "DURATION")]
        since: Option<humantime::Duration>,
        /// At most this many
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: u32,
    },
    /// Show one delivery: its payload and every attempt
    Show {
        /// Delivery id
        id: i64,
    },
    /// Make one attempt now: on one failed or retrying delivery, or with --failed on many
    Retry {
        /// Delivery id
        #[arg(required_unless_present = "failed", conflicts_with = "failed")]
        id: Option<i64>,
        /// Every failed delivery (narrow with --webhook and --since)
        #[arg(long)]
        failed: bool,
        /// With --failed: only deliveries to this webhook
        #[arg(long, value_name = "ID", requires = "failed")]
        webhook: Option<i64>,
        /// With --failed: only deliveries created this recently [default: 24h]
        #[arg(long, value_name = "DURATION", requires = "failed")]
        since: Option<humantime::Duration>,
        /// With --failed: only count what would be retried; send nothing
        #[arg(long, requires = "failed")]
        dry_run: bool,
        /// Deliveries sent in parallel
        #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser())]
        concurrency: usize,
    },
    /// Delete old history: deliveries that ended (success or failed) before a cutoff, with their
    /// attempts and the events nothing refers to any more; never pending or retrying ones
    #[command(
        after_help = "Examples:\n  webnet deliveries prune --older-than 90d\n  webnet deliveries prune --older-than 2weeks --status success --dry-run\n\nWorks in short batches, so emit and drain running meanwhile wait well under a second."
    )]
    Prune {
        /// Delete deliveries that ended longer ago than this (e.g. 90d, 2weeks)
        #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
        older_than: std::time::Duration,
        /// Only deliveries that ended with this status
        #[arg(long, value_name = "S", value_parser = ["success", "failed"])]
        status: Option<String>,
        /// Only count what would be deleted; delete nothing
        #[arg(long)]
        dry_run: bool,
        /// Then rewrite the whole file to its smallest size; other writers wait meanwhile (needed
        /// once to shrink a large database made before webnet reclaimed space by itself)
        #[arg(long, conflicts_with = "dry_run")]
        vacuum: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Install `drain` for this database in cron (every minute) or systemd (a timer, or with
    /// --watch a service that sends each retry as it falls due)
    Install {
        /// Add a line to your crontab
        #[arg(long, conflicts_with = "systemd", required_unless_present = "systemd")]
        cron: bool,
        /// Write systemd user units (~/.config/systemd/user)
        #[arg(long)]
        systemd: bool,
        /// Print instead of installing
        #[arg(long)]
        print: bool,
        /// With --systemd: a long-running `drain --watch` service instead of a timer
        #[arg(long)]
        watch: bool,
        /// The scheduled drain also deletes history older than this (`drain --retain`, e.g. 90d)
        #[arg(long, value_name = "DURATION", value_parser = duration_word, allow_hyphen_values = true)]
        retain: Option<String>,
    },
}
