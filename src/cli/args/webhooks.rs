//! `webnet webhooks …`: the subcommands and the options `create` and `update` share.

use clap::{Args, Subcommand};

use super::super::examples;
use super::super::values::{self, grace, webhook_id};
use super::{event_subscription_parser, payload_format_value_parser, SecretSource};
use crate::domain::event_type::Subscription;
use crate::domain::format::PayloadFormat;
use crate::domain::{webhook, WebhookUrl};

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Create a webhook; prints its id. On a terminal, asks for whatever required is missing
    #[command(after_help = examples::WEBHOOKS_CREATE)]
    Create {
        #[command(flatten)]
        options: WebhookOptions,
        /// Make a Standard Webhooks secret (whsec_ + base64 of 32 random bytes) and print it,
        /// this once only: give it to your receiver now
        #[arg(long, conflicts_with_all = ["secret", "secret_stdin"])]
        generate_secret: bool,
    },
    /// List webhooks
    #[command(after_help = examples::WEBHOOKS_LIST)]
    List {
        /// Only enabled webhooks
        #[arg(long, conflicts_with = "disabled")]
        enabled: bool,
        /// Only disabled webhooks
        #[arg(long)]
        disabled: bool,
        /// Only webhooks that receive this event type (subscribed directly or by a wildcard);
        /// a wildcard (job.*) lists those that receive any event it covers
        #[arg(long, value_name = "TYPE", value_parser = event_subscription_parser())]
        event: Option<Subscription>,
    },
    /// Show one webhook
    #[command(after_help = examples::WEBHOOKS_SHOW)]
    Show {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
    },
    /// Change a webhook; only what is given changes
    #[command(
        after_help = examples::WEBHOOKS_UPDATE,
        override_usage = "webnet webhooks update <ID> <OPTIONS>...   (at least one change)",
        // At least one change, refused by clap before any command code runs.
        group(clap::ArgGroup::new("change").required(true).multiple(true).args([
            "name", "url", "events", "secret", "secret_stdin", "disabled", "no_verify_ssl",
            "timeout", "max_retries", "retry_backoff", "payload_format", "routing_key",
            "routing_key_stdin", "auto_disable_after", "headers", "enabled", "verify_ssl",
            "clear_secret", "clear_headers",
        ]))
    )]
    Update {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
        #[command(flatten)]
        options: WebhookOptions,
        #[command(flatten)]
        extra: UpdateOnly,
    },
    /// Enable a webhook
    #[command(after_help = examples::WEBHOOKS_ENABLE)]
    Enable {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
    },
    /// Disable a webhook: it gets nothing new until enabled again
    #[command(after_help = examples::WEBHOOKS_DISABLE)]
    Disable {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
    },
    /// Send a signed `webhook.test` event now; prints status and time, exit 1 unless 2xx
    #[command(after_help = examples::WEBHOOKS_TEST)]
    Test {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
    },
    /// Replace the signing secret; during the grace period both old and new sign
    #[command(
        after_help = examples::WEBHOOKS_ROTATE_SECRET,
        mut_arg("secret", |a| a
            .help("The new secret (visible in the process list: prefer --secret-stdin)")),
        mut_arg("secret_stdin", |a| a.help("Read the new secret from standard input (first line); preferred")),
        // One of the three, named together when none is given (--secret-stdin first: of the
        // two that take a secret, it is the one to use).
        group(clap::ArgGroup::new("new_secret").args(["secret_stdin", "secret", "generate_secret"]).required(true))
    )]
    RotateSecret {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
        /// How long the old secret keeps signing beside the new one (0s: switch at once)
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = grace, allow_hyphen_values = true)]
        grace: std::time::Duration,
        #[command(flatten)]
        secret: SecretSource,
        /// Make the new secret: a Standard Webhooks secret (whsec_ + base64 of 32 random
        /// bytes), printed this once only
        #[arg(long)]
        generate_secret: bool,
    },
    /// Delete a webhook (its delivery history is kept). Asks first on a terminal; from a
    /// script (no terminal) it deletes at once, without --yes
    #[command(after_help = examples::WEBHOOKS_DELETE)]
    Delete {
        /// Webhook id
        #[arg(value_parser = webhook_id, allow_negative_numbers = true)]
        id: i64,
        /// Do not ask for confirmation (only a terminal is asked)
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// The options of `webhooks create`, also accepted by `webhooks update`.
#[derive(Debug, Args, Default)]
#[command(
    mut_arg("secret", |a| a.help("Signing secret (visible to other local users in the process list: prefer --secret-stdin)")),
    mut_arg("secret_stdin", |a| a.help("Read the signing secret from standard input (first line)"))
)]
pub struct WebhookOptions {
    /// Friendly name, unique per customer (1-100 characters)
    #[arg(long, value_parser = values::webhook_name)]
    pub name: Option<String>,
    /// Destination URL (http or https)
    #[arg(long, value_parser = values::url)]
    pub url: Option<WebhookUrl>,
    /// Event type to subscribe to; repeat, or separate with commas; `job.*` for a family, `*`
    /// for everything
    #[arg(long = "event", value_name = "TYPE", value_delimiter = ',', value_parser = event_subscription_parser())]
    pub events: Vec<Subscription>,
    #[command(flatten)]
    pub secret: SecretSource,
    /// Create (or set) the webhook disabled
    #[arg(long)]
    pub disabled: bool,
    /// Accept any TLS certificate (self-signed, expired); for testing only
    #[arg(long)]
    pub no_verify_ssl: bool,
    /// Whole-request timeout, 1s to 2m [default: 10s]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true,
          value_parser = values::seconds_in("timeout_seconds", webhook::TIMEOUT_RANGE))]
    pub timeout: Option<std::time::Duration>,
    /// Retries after the first attempt, 0 to 20 [default: 3]
    #[arg(long, value_name = "N", value_parser = max_retries_parser(), allow_hyphen_values = true)]
    pub max_retries: Option<u32>,
    /// Wait before the first retry, doubled for each next one, 1s to 24h [default: 60s]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true,
          value_parser = values::seconds_in("retry_backoff", webhook::BACKOFF_RANGE))]
    pub retry_backoff: Option<std::time::Duration>,
    /// Body format: the spec's JSON, or a message for a chat or alerting destination
    /// [default: detected from the URL (see the list), json otherwise]
    #[arg(long, value_name = "FORMAT", value_parser = payload_format_value_parser())]
    pub payload_format: Option<PayloadFormat>,
    /// PagerDuty integration key (Events API v2), required by the pagerduty format; stored
    /// sealed, never shown (visible in the process list: prefer --routing-key-stdin)
    #[arg(
        long,
        value_name = "KEY",
        conflicts_with = "routing_key_stdin",
        allow_hyphen_values = true
    )]
    pub routing_key: Option<String>,
    /// Read the PagerDuty routing key from standard input (first line)
    #[arg(long, conflicts_with = "secret_stdin")]
    pub routing_key_stdin: bool,
    /// Disable the webhook after failing this long without one success, 0s for never, up to
    /// 30 days [default: 3days]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true,
          value_parser = values::seconds_in("auto_disable_after", webhook::AUTO_DISABLE_RANGE))]
    pub auto_disable_after: Option<std::time::Duration>,
    /// Custom header sent with every delivery, 'Name: value'; repeat for more (update: adds or
    /// replaces that header)
    #[arg(long = "header", value_name = "'NAME: VALUE'", value_parser = values::header)]
    pub headers: Vec<(String, String)>,
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

/// `--max-retries`: its range (also checked with the other settings) said at once, so that a
/// number too large for any integer gets the same message as 21.
fn max_retries_parser() -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    values::number_in(0..=i64::from(webhook::MAX_RETRIES_LIMIT))
}
