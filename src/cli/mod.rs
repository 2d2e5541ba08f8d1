//! The command line: argument definitions (clap derive), one module per command, output and
//! error mapping. The only layer that prints; messages go to stderr, results to stdout.

mod args;
mod customers;
mod deliveries;
mod drain;
mod emit;
mod error;
mod examples;
pub mod generate;
mod key;
mod listen;
mod output;
mod prompt;
mod schedule;
mod secret_input;
mod stats;
mod targets;
mod values;
mod webhooks;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use args::{Cli, Command, TargetsCommand};
pub use error::CliError;
pub use output::Format;

use crate::delivery::{system_clock, Engine};
use crate::domain::allowlist::TargetPolicy;
use crate::domain::proxy::{self, NoProxy, Proxies, ProxyChoice};
use crate::domain::text::{self, error_line, quote};
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};
use crate::store::{Store, StoreError};

/// The clap command, for completions, man pages and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses the process arguments, runs the command, prints any error, returns the exit code.
pub fn main() -> ExitCode {
    let cli = match command_for_env()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // Help and version go to stdout with exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever the cause (a database error can carry its SQL over many),
            // bounded and with any control characters escaped.
            eprintln!("error: {}", error_line(&e.message));
            ExitCode::from(e.code)
        }
    }
}

/// The clap command as this process's environment sets it: a `WEBNET_*` variable of a global
/// option that is set but empty (or blank) counts as unset, for every option alike (as an
/// empty `WEBNET_SECRET_KEY` does), rather than as an empty value some options refuse.
fn command_for_env() -> clap::Command {
    let mut cmd = command();
    let blank: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| {
            a.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|v| v.to_string_lossy().trim().is_empty())
        })
        .map(|a| a.get_id().clone())
        .collect();
    for id in blank {
        cmd = cmd.mut_arg(id, |a| a.env(None::<&'static str>));
    }
    cmd
}

/// A clap usage error on one line: what is wrong, the suggestion or the accepted values, and
/// where to read more. A value our parsers refused is `error: --option: <what they said>`.
/// Whatever the user typed is quoted cut short, with control characters escaped.
fn one_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let text_of = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    let suggested: Vec<String> = [
        ContextKind::SuggestedValue,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
    ]
    .into_iter()
    .flat_map(|kind| match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    })
    .collect();
    let arg = text_of(ContextKind::InvalidArg);
    let mut line = match (e.kind(), arg) {
        (ErrorKind::ValueValidation, Some(arg)) if std::error::Error::source(e).is_some() => {
            let why = std::error::Error::source(e).map(ToString::to_string);
            // Our parsers say what was given and the form expected.
            return format!(
                "error: {}",
                error_line(&format!(
                    "{}: {}",
                    source_name(arg),
                    why.unwrap_or_default()
                ))
            );
        }
        // The forms below quote what the user typed themselves: clap's text would show it
        // whole (and strips only some escape sequences).
        (ErrorKind::InvalidValue, Some(arg)) => {
            let valid = match e.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(v)) => v.join(", "),
                _ => String::new(),
            };
            format!(
                "error: {}: {} is not one of: {valid}",
                source_name(arg),
                quote(text_of(ContextKind::InvalidValue).unwrap_or_default())
            )
        }
        (ErrorKind::UnknownArgument, Some(given)) => {
            format!("error: unexpected argument {}", quote(given))
        }
        (ErrorKind::InvalidSubcommand, _) => format!(
            "error: unrecognized subcommand {}",
            quote(text_of(ContextKind::InvalidSubcommand).unwrap_or_default())
        ),
        _ => {
            // clap's first paragraph says what is wrong (and lists missing arguments on
            // indented lines); the usage and tips follow after a blank line.
            let rendered = e.render().to_string();
            rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    if line.is_empty() {
        line = "error: invalid arguments".into();
    }
    if !suggested.is_empty() {
        let cut: Vec<String> = suggested
            .iter()
            .map(|s| text::cut(s, text::QUOTE_CHARS).into_owned())
            .collect();
        line.push_str(&format!(" (did you mean '{}'?)", cut.join("', '")));
    }
    line.push_str("; see --help");
    error_line(&line)
}

/// An argument as clap shows it, as our messages name it: `--since <DURATION>` is `--since`,
/// `<ID>` is `ID`.
fn arg_name(shown: &str) -> &str {
    if shown.starts_with('-') {
        shown.split_whitespace().next().unwrap_or(shown)
    } else {
        shown.trim_matches(|c| matches!(c, '<' | '>' | '[' | ']' | '.'))
    }
}

/// Where a refused value came from, as clap shows the argument: the option (`--customer`), or
/// its environment variable (`WEBNET_CUSTOMER`) when the value came from there, i.e. the
/// variable is set and the option is not on the command line.
fn source_name(shown: &str) -> String {
    let name = arg_name(shown);
    let Some(long) = name.strip_prefix("--") else {
        return name.to_string();
    };
    let env = command()
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
    let on_command_line = std::env::args_os().skip(1).any(|a| {
        let a = a.to_string_lossy();
        a == name || a.starts_with(&format!("{name}="))
    });
    match env {
        Some(var) if !on_command_line && std::env::var_os(&var).is_some() => var,
        _ => name.to_string(),
    }
}

/// What every command gets: where the database is, how to print, and whom it may touch.
pub struct Context {
    db: PathBuf,
    pub format: Format,
    pub scope: Scope,
    pub allow_private: bool,
    /// `--proxy`/`WEBNET_PROXY`; when `None`, the usual variables decide ([`Context::proxies`]).
    proxy: Option<ProxyChoice>,
    /// Standard input is a terminal.
    pub interactive: bool,
    /// `WEBNET_SECRET_KEY` when set and not empty (empty means the key file), read once.
    passphrase: Option<String>,
    /// Whether [`Context::store`] checks that the pinned customer exists (every command but
    /// `emit`, which refuses an unknown customer's events itself, with their line numbers).
    check_pin: bool,
}

impl Context {
    /// Opens the database, which must exist (DESIGN §10: commands that only read or deliver
    /// refuse a path that does not exist, creating nothing), migrating it if older. A command
    /// pinned to a customer that does not exist fails here (exit 1), rather than finding
    /// nothing and saying so as if all were well.
    pub fn store(&self) -> Result<Store, CliError> {
        let store = Store::open_existing(&self.db, self.passphrase.clone())?;
        if let (Scope::Customer(c), true) = (self.scope, self.check_pin) {
            match store.customer(Scope::All, c) {
                Ok(_) => {}
                Err(StoreError::NotFound { .. }) => {
                    return Err(CliError::failure(format!(
                        "customer {c} not found (see \"webnet customers list\")"
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(store)
    }

    /// Opens the database, creating it (and its folder) on first use: only for the commands
    /// that make something a new database needs (`customers create`, `webhooks create`,
    /// `targets allow`).
    pub fn store_or_create(&self) -> Result<Store, CliError> {
        Ok(Store::open(&self.db, self.passphrase.clone())?)
    }

    /// The passphrase the secret key comes from (`WEBNET_SECRET_KEY`), if one is set; else the
    /// key file beside the database is the key.
    pub fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_deref()
    }

    /// Refuses a command pinned to a customer (`--customer`, `WEBNET_CUSTOMER`) that acts on
    /// every customer: `why` says what makes it the operator's.
    pub fn require_operator(&self, why: &str) -> Result<(), CliError> {
        match self.scope {
            Scope::All => Ok(()),
            Scope::Customer(c) => Err(CliError::usage(
                "--customer",
                format!(
                    "this command is pinned to customer {c}; {why} (run it without --customer and WEBNET_CUSTOMER)"
                ),
            )),
        }
    }

    /// Whether this command may ask questions: stdin and stderr (where prompts are drawn) are
    /// both terminals.
    pub fn can_prompt(&self) -> bool {
        self.interactive && std::io::stderr().is_terminal()
    }

    /// The destinations this command may reach or register: everything with
    /// `--allow-private-targets` (the list is not read), else public ones and the database's
    /// allow list (§7). The one place that choice is made.
    pub fn target_policy(&self, store: &Store) -> Result<TargetPolicy, CliError> {
        if self.allow_private {
            return Ok(TargetPolicy::any());
        }
        Ok(store.target_policy()?)
    }

    /// The variables a scheduled `drain` needs to send as this command would (`schedule
    /// install` writes them to its private environment file): `WEBNET_PROXY` for a
    /// `--proxy`/`WEBNET_PROXY` (its URL, credentials included, or `none`) with `no_proxy`,
    /// else the usual variables that are set. Cron and systemd give their jobs neither.
    pub fn proxy_env(&self) -> Vec<(&'static str, String)> {
        let set = |names: &[&'static str]| -> Vec<(&'static str, String)> {
            names
                .iter()
                .filter_map(|&n| {
                    let v = std::env::var(n).ok()?;
                    (!v.trim().is_empty()).then_some((n, v))
                })
                .collect()
        };
        match &self.proxy {
            Some(choice) => {
                let value = match choice {
                    ProxyChoice::Direct => "none".to_string(),
                    ProxyChoice::Via(p) => p.to_url(),
                };
                let mut vars = vec![("WEBNET_PROXY", value)];
                if matches!(choice, ProxyChoice::Via(_)) {
                    vars.extend(set(&proxy::NO_PROXY_VARIABLES));
                }
                vars
            }
            None => set(&proxy::VARIABLES),
        }
    }

    /// The database path this command uses.
    pub fn db_path(&self) -> &std::path::Path {
        &self.db
    }

    /// The delivery engine for a command, with `concurrency` workers, starting from this
    /// command's [`Context::target_policy`]: an allow list that cannot be read fails the
    /// command (as its first claim would), rather than sending under a list never read.
    pub fn engine<'s>(
        &self,
        store: &'s mut Store,
        concurrency: usize,
    ) -> Result<Engine<'s>, CliError> {
        let proxies = self.proxies()?;
        let policy = self.target_policy(store)?;
        let mut engine = Engine::new(store, self.scope, policy, concurrency, system_clock);
        engine.set_proxies(proxies);
        Ok(engine)
    }

    /// Where this command's requests go: `--proxy`/`WEBNET_PROXY` (a proxy, or `none`), else
    /// the usual variables; `no_proxy`/`NO_PROXY` apply to either. Read only by commands that
    /// send, so a proxy variable meant for other tools cannot break the rest; one that
    /// decides and cannot be used is refused (exit 2, naming it) before anything is sent.
    pub fn proxies(&self) -> Result<Proxies, CliError> {
        let var = |name: &str| std::env::var(name).ok();
        match &self.proxy {
            Some(ProxyChoice::Direct) => Ok(Proxies::direct()),
            Some(ProxyChoice::Via(p)) => Ok(Proxies::every(p.clone(), NoProxy::from_env(var))),
            None => Proxies::from_env(var).map_err(|e| {
                CliError::usage(
                    e.var,
                    format!("{}; to send directly, give --proxy none", e.message),
                )
            }),
        }
    }

    /// The customer this command is pinned to, or an error naming `--customer`.
    pub fn require_customer(&self) -> Result<CustomerId, CliError> {
        match self.scope {
            Scope::Customer(c) => Ok(c),
            Scope::All => Err(CliError::usage("--customer", "a customer id is required")),
        }
    }

    pub fn now(&self) -> Millis {
        system_clock()
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    if let Some(db) = &cli.db {
        refuse_url(db)?;
        refuse_sqlite_uri(db)?;
    }
    let ctx = Context {
        db: match cli.db {
            Some(p) => p,
            None => default_db_path()?,
        },
        format: cli
            .output
            .unwrap_or_else(|| Format::detect(std::io::stdout().is_terminal())),
        scope: scope(cli.customer)?,
        allow_private: cli.allow_private_targets,
        proxy: cli.proxy,
        interactive: std::io::stdin().is_terminal(),
        passphrase: std::env::var("WEBNET_SECRET_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
        check_pin: !matches!(cli.command, Command::Emit(_)),
    };
    match cli.command {
        Command::Customers(cmd) => customers::run(&ctx, cmd),
        Command::Webhooks(cmd) => webhooks::run(&ctx, cmd),
        Command::Emit(args) => emit::run(&ctx, args),
        Command::Drain(args) => drain::run(&ctx, args),
        Command::Deliveries(cmd) => deliveries::run(&ctx, cmd),
        Command::Schedule(cmd) => schedule::run(&ctx, cmd),
        Command::Key(cmd) => key::run(&ctx, cmd),
        Command::Targets(cmd) => targets::run(&ctx, cmd),
        Command::Stats {
            since,
            webhook,
            buckets,
        } => stats::run(&ctx, since.into(), webhook, buckets.into()),
        Command::Listen(args) => listen::run(&ctx, args),
        Command::Completions { shell } => generate::print_completions(shell),
    }
}

/// The pinned customer. `WEBNET_CUSTOMER` pins a shell; a different `--customer` on the command
/// line is refused, so a script run for one customer cannot reach another.
fn scope(given: Option<CustomerId>) -> Result<Scope, CliError> {
    let pinned = std::env::var("WEBNET_CUSTOMER")
        .ok()
        .filter(|v| !v.trim().is_empty());
    if let (Some(env), Some(given)) = (&pinned, given) {
        if env.trim().parse::<CustomerId>().ok() != Some(given) {
            return Err(CliError::usage(
                "--customer",
                format!(
                    "{given} conflicts with WEBNET_CUSTOMER={}: this shell is pinned to that customer",
                    text::cut(env, text::QUOTE_CHARS)
                ),
            ));
        }
    }
    Ok(given.map_or(Scope::All, Scope::Customer))
}

/// Refuses a `--db`/`WEBNET_DB` of the form `scheme://…` before anything touches the disk: it
/// would otherwise be taken as a relative file name (a folder named `postgres:` holding the
/// password in its path). The message shows the URL with its password and query hidden.
fn refuse_url(db: &std::path::Path) -> Result<(), CliError> {
    let given = db.to_string_lossy();
    let Some(scheme) = text::url_scheme(&given) else {
        return Ok(());
    };
    // A query can carry a password too (`?password=…`): show only that there was one. It is
    // looked for after the user info, whose password may hold a `?` or `#`.
    let from = text::password_range(&given).map_or(scheme.len() + "://".len(), |r| r.end);
    let shown = match given[from..].find(['?', '#']) {
        Some(q) => format!("{}?***", &given[..from + q]),
        None => given.to_string(),
    };
    let postgres = matches!(
        scheme.to_ascii_lowercase().as_str(),
        "postgres" | "postgresql"
    );
    Err(CliError::usage(
        "--db",
        format!(
            "{} is a URL; webnet reads SQLite files only{}",
            text::quote_url(&shown),
            if postgres {
                " (PostgreSQL support is not built in yet)"
            } else {
                ": give the path of a database file"
            }
        ),
    ))
}

/// Refuses a `--db`/`WEBNET_DB` that SQLite would read as a URI (`file:x.db`,
/// `file:/x/y.db?mode=rwc`), before anything touches the disk: SQLite would open what the URI
/// says while webnet takes the value as a path (making a folder `file:` for the key file).
fn refuse_sqlite_uri(db: &std::path::Path) -> Result<(), CliError> {
    let given = db.to_string_lossy();
    if given
        .get(.."file:".len())
        .is_some_and(|p| p.eq_ignore_ascii_case("file:"))
    {
        return Err(CliError::usage(
            "--db",
            format!(
                "{} is a SQLite URI; give a plain path to the database file",
                text::quote_url(&given)
            ),
        ));
    }
    Ok(())
}

/// `$XDG_DATA_HOME/webnet/webhooks.db`, else `~/.local/share/webnet/webhooks.db`.
fn default_db_path() -> Result<PathBuf, CliError> {
    let base = xdg_dir("XDG_DATA_HOME", ".local/share").ok_or_else(|| {
        CliError::usage(
            "--db",
            "neither XDG_DATA_HOME nor HOME is set; give the database path with --db or WEBNET_DB",
        )
    })?;
    Ok(base.join("webnet").join("webhooks.db"))
}

/// An XDG base folder: `$var` when set and not empty, else `$HOME/under_home`; `None` when
/// neither is set.
fn xdg_dir(var: &str, under_home: &str) -> Option<PathBuf> {
    let get = |k| std::env::var_os(k).filter(|v| !v.is_empty());
    get(var)
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|h| PathBuf::from(h).join(under_home)))
}
