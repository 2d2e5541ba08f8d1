//! [`Context`]: what every command shares (the database path, the output format, the
//! customer it is pinned to, the egress proxy, the secret key's passphrase), read once from
//! the global options and the environment; and the checks on `--db` made before anything
//! touches the disk.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::args::{Cli, Command};
use super::{CliError, Format};
use crate::domain::allowlist::TargetPolicy;
use crate::domain::proxy::{self, NoProxy, Proxies, ProxyChoice};
use crate::domain::text;
use crate::domain::time::Millis;
use crate::domain::{CustomerId, Scope};
use crate::ops::{self, Sending};
use crate::store::{KeySource, Location, Store};

/// What every command gets: where the database is, how to print, and whom it may touch.
pub struct Context {
    db: Location,
    /// `--key-file`/`WEBNET_KEY_FILE`.
    key_file: Option<PathBuf>,
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
    /// Whether the pin (if any) is `--customer` on this command line, not only the shell's
    /// `WEBNET_CUSTOMER`: errors name what pins it.
    pinned_on_the_command_line: bool,
}

impl Context {
    /// The context of a parsed command line: refuses a `--db` that is a URL or a SQLite URI,
    /// and a `--customer` that conflicts with `WEBNET_CUSTOMER`.
    pub fn new(cli: &Cli) -> Result<Context, CliError> {
        let db = match &cli.db {
            Some(db) => {
                let text = db.to_string_lossy();
                if crate::store::postgres::url::is_postgres(&text) {
                    Location::parse(&text).map_err(|e| CliError::usage("--db", e.to_string()))?
                } else {
                    refuse_url(db)?;
                    refuse_mistyped_postgres(db)?;
                    refuse_sqlite_uri(db)?;
                    Location::File(db.clone())
                }
            }
            None => Location::File(default_db_path()?),
        };
        let (scope, pinned_on_the_command_line) = scope(cli.customer)?;
        Ok(Context {
            db,
            key_file: cli.key_file.clone(),
            format: cli
                .output
                .unwrap_or_else(|| Format::detect(std::io::stdout().is_terminal())),
            scope,
            allow_private: cli.allow_private_targets,
            proxy: cli.proxy.clone(),
            interactive: std::io::stdin().is_terminal(),
            passphrase: std::env::var("WEBNET_SECRET_KEY")
                .ok()
                .filter(|k| !k.is_empty()),
            check_pin: !matches!(cli.command, Command::Emit(_)),
            pinned_on_the_command_line,
        })
    }

    /// Opens the database, which must exist (DESIGN §10: commands that only read or deliver
    /// refuse a path that does not exist, creating nothing), migrating it if older. A command
    /// pinned to a customer that does not exist fails here (exit 1), rather than finding
    /// nothing and saying so as if all were well.
    pub fn store(&self) -> Result<Store, CliError> {
        let store = Store::connect(&self.db, self.keys(), false)?;
        if self.check_pin {
            ops::customers::check_pinned(&store, self.scope)?;
        }
        Ok(store)
    }

    /// Opens the database, which must exist, leaving `--customer` to the command: for one whose
    /// `--customer` names what it makes (`tokens create`), which says itself, as a usage
    /// error, that the customer does not exist.
    pub fn existing_store(&self) -> Result<Store, CliError> {
        Ok(Store::connect(&self.db, self.keys(), false)?)
    }

    /// Opens the database, creating it (and its folder) on first use: only for the commands
    /// that make something a new database needs (`customers create`, `webhooks create`,
    /// `targets allow`).
    pub fn store_or_create(&self) -> Result<Store, CliError> {
        Ok(Store::connect(&self.db, self.keys(), true)?)
    }

    /// Where the secret key comes from: `WEBNET_SECRET_KEY`, `--key-file`.
    fn keys(&self) -> KeySource {
        KeySource {
            passphrase: self.passphrase.clone(),
            key_file: self.key_file.clone(),
        }
    }

    /// `--key-file`/`WEBNET_KEY_FILE`, if given.
    pub fn key_file(&self) -> Option<&std::path::Path> {
        self.key_file.as_deref()
    }

    /// Where the database is.
    pub fn location(&self) -> &Location {
        &self.db
    }

    /// The passphrase the secret key comes from (`WEBNET_SECRET_KEY`), if one is set; else the
    /// key file beside the database is the key.
    pub fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_deref()
    }

    /// Refuses a command pinned to a customer (`--customer`, `WEBNET_CUSTOMER`) that acts on
    /// every customer: `why` says what makes it the operator's.
    pub fn require_operator(&self, why: &str) -> Result<(), CliError> {
        match (self.scope, self.pinned_on_the_command_line) {
            (Scope::All, _) => Ok(()),
            (Scope::Customer(c), true) => Err(CliError::usage(
                "--customer",
                format!(
                    "this command is pinned to customer {c}; {why} (run it without --customer and WEBNET_CUSTOMER)"
                ),
            )),
            // Pinned by the shell, not by anything on this command line: name what pins it.
            (Scope::Customer(c), false) => Err(CliError::usage(
                "WEBNET_CUSTOMER",
                format!(
                    "this shell is pinned to customer {c}; {why} (run it with WEBNET_CUSTOMER unset)"
                ),
            )),
        }
    }

    /// Whether this command may ask questions: stdin and stderr (where prompts are drawn) are
    /// both terminals.
    pub fn can_prompt(&self) -> bool {
        self.interactive && std::io::stderr().is_terminal()
    }

    /// The destinations this command may reach or register ([`ops::target_policy`]).
    pub fn target_policy(&self, store: &Store) -> Result<TargetPolicy, CliError> {
        Ok(ops::target_policy(store, self.allow_private)?)
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

    /// The SQLite file this command uses; `None` on a PostgreSQL database.
    pub fn db_path(&self) -> Option<&std::path::Path> {
        match &self.db {
            Location::File(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// How a command that sends does it: its scope, `--allow-private-targets`, its proxies
    /// ([`Context::proxies`]) and `concurrency` requests at once.
    pub fn sending(&self, concurrency: usize) -> Result<Sending, CliError> {
        Ok(Sending {
            scope: self.scope,
            allow_private: self.allow_private,
            proxies: self.proxies()?,
            concurrency,
        })
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
        crate::delivery::system_clock()
    }
}

/// The pinned customer. `WEBNET_CUSTOMER` pins a shell; a different `--customer` on the command
/// line is refused, and so are two different ones on the command line, so a script run for
/// one customer cannot reach another. Also says whether `--customer` is on the command line.
fn scope(given: Option<CustomerId>) -> Result<(Scope, bool), CliError> {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let on_the_command_line = one_customer(&args)?;
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
    Ok((
        given.map_or(Scope::All, Scope::Customer),
        on_the_command_line,
    ))
}

/// Refuses `--customer` given twice with different customers (`webnet --customer 2 emit …
/// --customer 1`): clap keeps one of a global option's values, and a command must never run
/// for another customer than the one it was pinned to. `Ok(true)` when one was given.
fn one_customer(args: &[String]) -> Result<bool, CliError> {
    let mut seen: Vec<CustomerId> = Vec::new();
    // Past a `--` too: clap may take `--` as an option's value (`--secret -- --customer 2`).
    // A positional that is literally `--customer` is refused with the rest: nothing is done.
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let value = match word.strip_prefix("--customer") {
            Some("") => words.next().map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(id) = value.and_then(|v| v.parse().ok()) {
            if let Some(first) = seen.first().filter(|first| **first != id) {
                return Err(CliError::usage(
                    "--customer",
                    format!("given as {first} and as {id}: a command is pinned to one customer"),
                ));
            }
            seen.push(id);
        }
    }
    Ok(!seen.is_empty())
}

/// Refuses a `--db`/`WEBNET_DB` of the form `scheme://…` (other than `postgres://`) before anything touches the disk: it
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
    Err(CliError::usage(
        "--db",
        format!(
            "{} is a URL webnet cannot use: give the path of a SQLite database file, or a postgres:// URL",
            text::quote_url(&shown),
        ),
    ))
}

/// Refuses a `--db`/`WEBNET_DB` that begins `postgres:` or `postgresql:` without the `//`
/// (`postgresql:/app:pw@db/x`, a slash short): meant for a server, it would be taken as a
/// relative file name (folders named after the password) and echoed back in messages. Only
/// the scheme is shown: whatever follows may hold the password.
fn refuse_mistyped_postgres(db: &std::path::Path) -> Result<(), CliError> {
    let given = db.to_string_lossy();
    let scheme = ["postgresql:", "postgres:"].into_iter().find(|s| {
        given
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    match scheme {
        Some(scheme) => Err(CliError::usage(
            "--db",
            format!(
                "a value beginning \"{}\" without \"//\" is neither a PostgreSQL URL nor a file \
                 webnet will make: write postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME",
                &given[..scheme.len()]
            ),
        )),
        None => Ok(()),
    }
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
pub(super) fn default_db_path() -> Result<PathBuf, CliError> {
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
pub(super) fn xdg_dir(var: &str, under_home: &str) -> Option<PathBuf> {
    let get = |k| std::env::var_os(k).filter(|v| !v.is_empty());
    get(var)
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|h| PathBuf::from(h).join(under_home)))
}
