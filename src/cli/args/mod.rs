//! Every command and option. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};

mod deliveries;
mod tokens;
mod webhooks;

pub use deliveries::DeliveriesCommand;
pub use tokens::TokensCommand;
pub use webhooks::{UpdateOnly, WebhookOptions, WebhooksCommand};

use super::examples;
use super::output::Format;
use super::values::{
    self, duration, duration_word, interval, number_in, positive_count, positive_duration,
    webhook_id, whole_number,
};
use crate::domain::allowlist::AllowedTarget;
use crate::domain::event_type::Subscription;
use crate::domain::format::PayloadFormat;
use crate::domain::proxy::ProxyChoice;
use crate::domain::{CustomerId, EventType};

/// Webhooks for the webnet platform: subscriptions in a local SQLite file, events delivered as
/// signed HTTP POSTs, failures retried with exponential backoff.
#[derive(Debug, Parser)]
#[command(
    name = "webnet",
    after_help = examples::WEBNET,
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// SQLite database file, or a PostgreSQL database shared by many hosts
    /// (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=require]; the password may come
    /// from PGPASSWORD) [default: $XDG_DATA_HOME/webnet/webhooks.db or
    /// ~/.local/share/webnet/webhooks.db]
    #[arg(
        long,
        global = true,
        help_heading = super::generate::GLOBAL_HEADING,
        env = "WEBNET_DB",
        hide_env_values = true,
        value_name = "PATH|URL",
        value_parser = values::db_path
    )]
    pub db: Option<PathBuf>,

    /// The secret key file (64 hex digits, created mode 0600 on the first secret if missing)
    /// that seals webhook secrets and credential headers; required on PostgreSQL unless
    /// WEBNET_SECRET_KEY is set [default on SQLite: the file beside the database, DB.key]
    #[arg(
        long,
        global = true,
        help_heading = super::generate::GLOBAL_HEADING,
        env = "WEBNET_KEY_FILE",
        hide_env_values = true,
        value_name = "PATH",
        value_parser = values::key_file_path
    )]
    pub key_file: Option<PathBuf>,

    /// Output format [default: table on a terminal, json otherwise]
    #[arg(
        long,
        global = true,
        help_heading = super::generate::GLOBAL_HEADING,
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
        help_heading = super::generate::GLOBAL_HEADING,
        env = "WEBNET_CUSTOMER",
        hide_env_values = true,
        value_name = "ID",
        allow_hyphen_values = true
    )]
    pub customer: Option<CustomerId>,

    /// Allow every loopback, private, link-local and other non-public destination in this
    /// process (for development; `webnet targets allow` stores what a deployment allows)
    #[arg(
        long,
        global = true,
        help_heading = super::generate::GLOBAL_HEADING,
        env = "WEBNET_ALLOW_PRIVATE_TARGETS",
        hide_env_values = true,
        value_parser = values::switch
    )]
    pub allow_private_targets: bool,

    /// Send deliveries through this HTTP proxy (http://[USER:PASSWORD@]HOST:PORT), tunnelled
    /// with CONNECT; `none` sends directly. Without it (or WEBNET_PROXY), https_proxy,
    /// http_proxy or all_proxy (either case) is used; no_proxy lists hosts sent directly.
    /// Destinations are still checked before a request reaches the proxy
    #[arg(
        long,
        global = true,
        help_heading = super::generate::GLOBAL_HEADING,
        env = "WEBNET_PROXY",
        hide_env_values = true,
        value_name = "URL",
        value_parser = values::proxy
    )]
    pub proxy: Option<ProxyChoice>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and list customers (tenants)
    #[command(subcommand, after_help = examples::CUSTOMERS)]
    Customers(CustomersCommand),
    /// Create, list, change and delete webhooks
    #[command(subcommand, after_help = examples::WEBHOOKS)]
    Webhooks(WebhooksCommand),
    /// Record events and deliver them now: one from arguments, or JSON / NDJSON on stdin
    #[command(after_help = examples::EMIT)]
    Emit(EmitArgs),
    /// Send every delivery that is due (retries, queued events); for cron or a systemd timer
    #[command(after_help = examples::DRAIN)]
    Drain(DrainArgs),
    /// Delivery history: list, show, retry
    #[command(subcommand, after_help = examples::DELIVERIES)]
    Deliveries(DeliveriesCommand),
    /// Per webhook: deliveries, success rate, attempts and latency over a period, with sparklines
    #[command(after_help = examples::STATS)]
    Stats {
        /// The period, back from now
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration, allow_hyphen_values = true)]
        since: humantime::Duration,
        /// Only this webhook (a deleted one's history too)
        #[arg(long, value_name = "ID", value_parser = webhook_id, allow_hyphen_values = true)]
        webhook: Option<i64>,
        /// Sparkline width (time buckets across the period)
        #[arg(long, value_name = "N", default_value_t = 24, value_parser = number_in::<u16>(1..=200), allow_hyphen_values = true)]
        buckets: u16,
    },
    /// Prometheus metrics of the database as text (deliveries by webhook and status, attempts,
    /// what is due, failing webhooks, attempt durations), for node_exporter's textfile
    /// collector or a quick look; a pinned --customer sees only its own
    #[command(after_help = examples::METRICS)]
    Metrics,
    /// A local receiver for developing yours: prints each event as it arrives, checks signatures
    #[command(after_help = examples::LISTEN)]
    Listen(ListenArgs),
    /// The REST API and web UI over this database, with the delivery worker in the same process
    #[command(after_help = examples::SERVE)]
    Serve(ServeArgs),
    /// Run `drain` on a schedule: write the crontab line or the systemd units
    #[command(subcommand, after_help = examples::SCHEDULE)]
    Schedule(ScheduleCommand),
    /// The secret key that seals webhook secrets and credential headers: rotate it, or reset a
    /// database whose key is lost (operator only)
    #[command(subcommand, after_help = examples::KEY)]
    Key(KeyCommand),
    /// Non-public destinations (private networks, loopback) webhooks may reach, stored in the
    /// database for every process; operator-only
    #[command(subcommand, after_help = examples::TARGETS)]
    Targets(TargetsCommand),
    /// API tokens for `webnet serve`: create one (shown once), list, revoke; operator-only
    #[command(subcommand, after_help = examples::TOKENS)]
    Tokens(TokensCommand),
    /// The database itself: create or upgrade its schema, or check that it can be reached
    #[command(subcommand, after_help = examples::DB)]
    Db(DbCommand),
    /// Print shell completions
    #[command(after_help = examples::COMPLETIONS)]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create webnet's tables, or upgrade them to this version, now (other commands do it on
    /// first use; run it explicitly where migrations are an operator's step)
    #[command(after_help = examples::DB_MIGRATE)]
    Migrate,
    /// Connect, and say which database this is, its schema version and whether the secret
    /// key opens its secrets; exit 1 if it cannot be used
    #[command(after_help = examples::DB_CHECK)]
    Check,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("secret", |a| a.help("Check X-Webhook-Signature with this secret; a wrong one is answered 401. Visible to other local users in the process list: prefer --secret-stdin, or the environment variable WEBNET_LISTEN_SECRET (used when neither option is given)")),
    mut_arg("secret_stdin", |a| a.help("Read the secret to check signatures with from standard input (first line)"))
)]
pub struct ListenArgs {
    /// Port on 127.0.0.1 (0: any free port, printed on stderr)
    #[arg(long, default_value_t = 8080, value_parser = number_in::<u16>(0..=65535), allow_hyphen_values = true)]
    pub port: u16,
    #[command(flatten)]
    pub secret: SecretSource,
    /// Stop after this many events (at least 1)
    #[arg(long, value_name = "N", value_parser = positive_count::<u64>, allow_hyphen_values = true)]
    pub count: Option<u64>,
}

/// `--secret S` or `--secret-stdin`: where a secret comes from (read with
/// `SecretSource::read`). Each command words their help for what its secret is for.
#[derive(Debug, Args, Default)]
pub struct SecretSource {
    /// The secret (visible to other local users in the process list: prefer --secret-stdin)
    #[arg(
        long,
        value_name = "S",
        conflicts_with = "secret_stdin",
        allow_hyphen_values = true
    )]
    pub secret: Option<String>,
    /// Read the secret from standard input (first line)
    #[arg(long)]
    pub secret_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Create a customer; prints its id
    #[command(after_help = examples::CUSTOMERS_CREATE)]
    Create {
        /// The customer's name (unique)
        #[arg(value_parser = values::customer_name)]
        name: String,
    },
    /// List customers
    #[command(after_help = examples::CUSTOMERS_LIST)]
    List,
}

/// Event type names for `--event` (and the wildcards), offered to shell completion.
fn event_type_names() -> PossibleValuesParser {
    names_and_wildcards(EventType::subscribable(), true)
}

/// `types`' names and the family wildcards (and `*` with `every`), as possible values.
fn names_and_wildcards(
    types: impl Iterator<Item = EventType>,
    every: bool,
) -> PossibleValuesParser {
    let exact = types.map(|t| clap::builder::PossibleValue::new(t.as_str()).help(t.about()));
    let families = [
        ("job.*", "Every job event"),
        ("device.*", "Every device event"),
        ("config.*", "Every configuration event"),
        ("compliance.*", "Every compliance event"),
    ];
    let every = every.then_some(("*", "Every event"));
    let wildcards = families
        .into_iter()
        .chain(every)
        .map(|(name, help)| clap::builder::PossibleValue::new(name).help(help));
    PossibleValuesParser::new(exact.chain(wildcards))
}

/// `--event`: a subscription (an event type or a wildcard); spaces around it are dropped, so
/// `--event 'job.failed, job.completed'` reads as it looks.
pub(crate) fn event_subscription_parser() -> impl TypedValueParser<Value = Subscription> {
    Trimmed(event_type_names()).try_map(|s| Subscription::parse(&s))
}

/// A parser that drops the spaces around a value before `P` judges it (`P`'s possible values
/// still go to completion and help).
#[derive(Clone)]
struct Trimmed<P>(P);

impl<P: TypedValueParser> TypedValueParser for Trimmed<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        match value.to_str() {
            Some(text) => self
                .0
                .parse_ref(cmd, arg, std::ffi::OsStr::new(text.trim())),
            None => self.0.parse_ref(cmd, arg, value),
        }
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

/// `--payload-format`: a format's name, with what each is and where it is detected.
pub(crate) fn payload_format_value_parser() -> impl TypedValueParser<Value = PayloadFormat> {
    PossibleValuesParser::new(
        PayloadFormat::ALL.map(|f| clap::builder::PossibleValue::new(f.as_str()).help(f.about())),
    )
    .try_map(|s| PayloadFormat::parse(&s).ok_or_else(|| format!("{s:?} is not a format")))
}

/// One event type (no wildcards).
pub(crate) fn event_type_value_parser() -> impl TypedValueParser<Value = EventType> {
    PossibleValuesParser::new(
        EventType::subscribable()
            .map(|t| clap::builder::PossibleValue::new(t.as_str()).help(t.about())),
    )
    .try_map(|s| s.parse::<EventType>())
}

/// Every event type a delivery can have, `webhook.test` included, or a family wildcard (for
/// history filters: `job.*` is every job event's delivery). Not `*`: for a subscription it
/// leaves `webhook.test` out, for a filter it would be none; leaving the option out says that.
pub(crate) fn delivery_event_type_parser() -> impl TypedValueParser<Value = Subscription> {
    Trimmed(names_and_wildcards(EventType::ALL.iter().copied(), false))
        .try_map(|s| Subscription::parse_filter(&s))
}

pub(crate) fn concurrency_parser(
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    values::number_in(1..=256)
}

#[derive(Debug, Args)]
pub struct EmitArgs {
    /// Event type (argument form); without it, events are read from stdin
    #[arg(value_name = "TYPE", value_parser = event_type_value_parser())]
    pub event_type: Option<EventType>,
    /// The event's id in webnet (argument form)
    #[arg(long, value_name = "N", requires = "event_type", value_parser = whole_number, allow_hyphen_values = true)]
    pub event_id: Option<i64>,
    /// Id of the user who caused the event (argument form)
    #[arg(long, value_name = "N", requires = "event_type", value_parser = whole_number, allow_hyphen_values = true)]
    pub actor_id: Option<i64>,
    /// Username of the user who caused the event (argument form)
    #[arg(long, value_name = "U", requires = "event_type")]
    pub actor_username: Option<String>,
    /// The event's object as JSON: the `job`, `device`, `config` or `compliance` of the payload
    /// [default: {}]
    #[arg(long, value_name = "JSON", requires = "event_type", value_parser = values::json_object)]
    pub data: Option<serde_json::Value>,
    /// Only record the deliveries; `webnet drain` sends them
    #[arg(long)]
    pub queue: bool,
    /// Deliveries sent in parallel
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser(), allow_hyphen_values = true)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// Keep running: sleep until the next delivery is due (for a systemd service)
    #[arg(long)]
    pub watch: bool,
    /// Stop claiming new deliveries after this long [default: 50s, or none with --watch]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub max_time: Option<std::time::Duration>,
    /// Send at most this many deliveries
    #[arg(long, value_name = "N", value_parser = positive_count::<u64>, allow_hyphen_values = true)]
    pub limit: Option<u64>,
    /// Deliveries sent in parallel
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser(), allow_hyphen_values = true)]
    pub concurrency: usize,
    /// No start line, no periodic summary line and no progress bar (failed attempts are still
    /// logged)
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// How often to log a summary line on stderr
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = interval, allow_hyphen_values = true)]
    pub summary_every: humantime::Duration,
    /// Also delete history older than this (e.g. 90d): as `deliveries prune --older-than`, a
    /// few seconds per run [default: keep everything]
    #[arg(long, value_name = "DURATION", value_parser = positive_duration, allow_hyphen_values = true)]
    pub retain: Option<std::time::Duration>,
    /// After the run (with --watch, also every 15 s) write Prometheus metrics (as `webnet
    /// metrics` prints them) to this file, replacing it atomically: for node_exporter's textfile
    /// collector. Its directory must exist
    #[arg(long, value_name = "PATH", value_parser = values::db_path)]
    pub metrics_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on (port 0 picks a free one)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080", value_parser = values::listen_address)]
    pub listen: std::net::SocketAddr,
    /// Serve only: leave delivering to `drain` (cron, a timer, or another host)
    #[arg(long)]
    pub no_worker: bool,
    /// Deliveries the worker sends in parallel
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = concurrency_parser(), allow_hyphen_values = true)]
    pub concurrency: usize,
    /// Serve /metrics without a token (for a Prometheus on a private network)
    #[arg(long)]
    pub public_metrics: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Install `drain` for this database in cron (every minute) or systemd (a timer, or with
    /// --watch a service that sends each retry as it falls due)
    #[command(
        after_help = examples::SCHEDULE_INSTALL,
        group(clap::ArgGroup::new("scheduler").args(["cron", "systemd"]).required(true))
    )]
    Install {
        /// Add a line for this database to your crontab
        #[arg(long, conflicts_with = "systemd")]
        cron: bool,
        /// Write systemd user units for this database (~/.config/systemd/user)
        #[arg(long)]
        systemd: bool,
        /// Print the line or units instead of installing them. With WEBNET_SECRET_KEY or a proxy
        /// set, the private environment file they read is still written (mode 0600), since
        /// what is printed needs it
        #[arg(long)]
        print: bool,
        /// With --systemd: a long-running `drain --watch` service instead of a timer
        #[arg(long)]
        watch: bool,
        /// The scheduled drain also deletes history older than this (`drain --retain`, e.g. 90d)
        #[arg(long, value_name = "DURATION", value_parser = duration_word, allow_hyphen_values = true)]
        retain: Option<String>,
        /// The scheduled drain writes Prometheus metrics to this file after each run (`drain
        /// --metrics-file`; with --watch every 15 s)
        #[arg(long, value_name = "PATH", value_parser = values::db_path)]
        metrics_file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Re-seal every secret and credential header under a new key, in one transaction: a new
    /// random key file replacing the old one, or a passphrase read from stdin
    #[command(after_help = examples::KEY_ROTATE)]
    Rotate {
        /// Read the new key as a passphrase from standard input (first line; asked twice,
        /// hidden, on a terminal) instead of writing a new key file
        #[arg(long)]
        new_passphrase_stdin: bool,
    },
    /// For a database whose key is lost: clear the secrets and credential headers it can no
    /// longer open, so that new ones can be stored; prints which webhooks lost what. Asks on a
    /// terminal; elsewhere it needs --yes (it cannot be undone and affects every customer)
    #[command(after_help = examples::KEY_RESET)]
    Reset {
        /// Do not ask for confirmation (required without a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Allow an address range, an address or a host name; allowing it again replaces its note
    #[command(after_help = examples::TARGETS_ALLOW)]
    Allow {
        /// CIDR range (10.20.0.0/16, fd00::/8), address (127.0.0.1, ::1) or host name
        #[arg(value_name = "CIDR|HOST", value_parser = values::target)]
        target: AllowedTarget,
        /// Why it is allowed (shown by `targets list`)
        #[arg(long, value_name = "TEXT", value_parser = values::note)]
        note: Option<String>,
    },
    /// List the allowed destinations
    #[command(after_help = examples::TARGETS_LIST)]
    List,
    /// Stop allowing a range, address or host name; later sends to it are refused
    #[command(after_help = examples::TARGETS_REMOVE)]
    Remove {
        /// As given to `targets allow` (a bare address means its /32 or /128)
        #[arg(value_name = "CIDR|HOST", value_parser = values::target)]
        target: AllowedTarget,
    },
}
