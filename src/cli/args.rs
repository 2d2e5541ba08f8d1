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

/// Event type names for `--event`, offered to shell completion.
pub(crate) fn event_type_parser() -> PossibleValuesParser {
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
        /// Only webhooks subscribed to this event type
        #[arg(long, value_name = "TYPE", value_parser = event_type_parser())]
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
    /// Event type to subscribe to; repeat, or separate with commas
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
