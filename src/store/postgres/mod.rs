//! The PostgreSQL backend (DESIGN §11): one database shared by `emit`, `drain` and `serve` on
//! many hosts. Its tables live in their own schema, `webnet`; a connection's `search_path` is
//! that schema, so the queries name tables as the SQLite ones do.
//!
//! Invariants: leases are judged and set by the server's clock ([`SERVER_NOW`]), so hosts with
//! skewed clocks never take each other's live leases; claims pass over rows another claimer
//! holds (`FOR UPDATE SKIP LOCKED`); a lost connection is [`StoreError::Unavailable`]
//! (transient) and the next call connects again; new work is announced with `NOTIFY` on
//! [`CHANNEL`] when its transaction commits.

mod backend;
mod claim;
mod conn;
mod customers;
mod decode;
mod history;
mod keys;
mod metrics;
mod migrations;
mod prune;
mod record;
mod rekey;
mod targets;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_claims;
#[cfg(test)]
mod tests_keys;
#[cfg(test)]
mod tests_tokens;
#[cfg(test)]
mod tests_webhooks;
mod tokens;
pub mod url;
mod webhooks;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient, Statement};

pub use self::url::PgUrl;
use super::{KeySource, Result, StoreError};

/// The schema webnet's tables live in.
pub const SCHEMA: &str = "webnet";

/// The channel `NOTIFY` announces new due work on (`drain --watch` listens).
pub const CHANNEL: &str = "webnet_work";

/// The server's clock in milliseconds since the epoch, as SQL: judges and sets leases. (In
/// debug builds, `WEBNET_TEST_CLOCK_OFFSET` moves it as it moves the binary's own clock, set per
/// connection in `webnet.clock_offset`.) A scalar subquery, so a statement reads the clock
/// once where it is written, not once per row it passes over: a claim passes over every row
/// other drains hold at the head of the queue.
pub const SERVER_NOW: &str = "(SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint \
     + current_setting('webnet.clock_offset')::bigint)";

/// An open PostgreSQL webnet database.
pub struct PgStore {
    client: RefCell<Client>,
    url: PgUrl,
    keys: KeySource,
    /// `url.shown` as a path, for [`Backend::path`](super::Backend::path).
    shown: PathBuf,
    /// Whether this connection has run `LISTEN` (lost with the connection).
    listening: Cell<bool>,
    /// Statements prepared on this connection, by their SQL (lost with the connection): a
    /// prepare is a round trip to the server, so the hot paths prepare each once.
    statements: RefCell<HashMap<String, Statement>>,
    /// When the connection was last handed out ([`PgStore::revive_if_idle`]).
    last_used: Cell<std::time::Instant>,
}

/// How long a connection may sit unused before [`PgStore::revive_if_idle`] checks it.
const IDLE_CHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

impl PgStore {
    /// Connects and creates or upgrades webnet's schema (under an advisory lock) when needed:
    /// for the commands that make something a new database needs.
    pub fn open(url: &PgUrl, keys: KeySource) -> Result<PgStore> {
        let store = PgStore::connect(url, keys)?;
        migrations::migrate(&mut store.client.borrow_mut())?;
        Ok(store)
    }

    /// Connects to a database that has webnet's schema ([`StoreError::NoSchema`] otherwise,
    /// having created nothing), upgrading it if older.
    pub fn open_existing(url: &PgUrl, keys: KeySource) -> Result<PgStore> {
        let store = PgStore::connect(url, keys)?;
        {
            let mut client = store.client.borrow_mut();
            if migrations::version(&mut client)?.is_none() {
                return Err(StoreError::NoSchema {
                    db: url.shown.clone(),
                });
            }
            migrations::migrate(&mut client)?;
        }
        Ok(store)
    }

    fn connect(url: &PgUrl, keys: KeySource) -> Result<PgStore> {
        let client = PgStore::session(url)?;
        Ok(PgStore {
            client: RefCell::new(client),
            url: url.clone(),
            keys,
            shown: url.shown_path(),
            listening: Cell::new(false),
            statements: RefCell::new(HashMap::new()),
            last_used: Cell::new(std::time::Instant::now()),
        })
    }

    /// A new connection with this session's settings.
    fn session(url: &PgUrl) -> Result<Client> {
        let mut client = conn::connect(url)?;
        client.batch_execute(&format!(
            "SET search_path TO {SCHEMA}; SET webnet.clock_offset = '{}'; \
             SET lock_timeout = '{}ms'",
            test_clock_offset(),
            super::busy_timeout().as_millis()
        ))?;
        Ok(client)
    }

    /// The connection, connected again first if it was lost (a server restart): the caller's
    /// call then runs on the new one. Fails as [`StoreError::Connect`] while the server is
    /// unreachable (transient for a running `drain --watch`, which waits and tries again).
    pub(super) fn client(&self) -> Result<RefMut<'_, Client>> {
        self.last_used.set(std::time::Instant::now());
        let mut client = self.client.borrow_mut();
        if client.is_closed() {
            *client = PgStore::session(&self.url).map_err(|e| match e {
                StoreError::Connect { why, .. } => StoreError::Unavailable {
                    message: format!(
                        "cannot connect to PostgreSQL at {}:{}: {why}",
                        self.url.host, self.url.port
                    ),
                    source: why.into(),
                },
                other => other,
            })?;
            self.listening.set(false);
            self.statements.borrow_mut().clear();
        }
        Ok(client)
    }

    /// See [`Backend::revive_if_idle`](super::Backend::revive_if_idle). A server that does
    /// not answer the empty query within 2 s is left for the call to find.
    pub(super) fn revive_if_idle(&self) {
        if self.last_used.get().elapsed() < IDLE_CHECK_AFTER {
            return;
        }
        if let Ok(mut client) = self.client.try_borrow_mut() {
            if !client.is_closed() {
                // An error closes the connection; the call's `client()` then connects again.
                let _ = client.is_valid(std::time::Duration::from_secs(2));
            }
        }
    }

    /// `sql` prepared on this connection, once: later calls reuse the statement.
    pub(super) fn stmt(&self, c: &mut impl GenericClient, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// The database, shown without its password.
    pub fn url(&self) -> &PgUrl {
        &self.url
    }

    /// The key source this store seals and opens with.
    pub(super) fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// A second, independent connection with the same key source.
    fn reopen(&self) -> Result<PgStore> {
        PgStore::connect(&self.url, self.keys.clone())
    }

    /// Waits up to `timeout` for a `NOTIFY` of new work; `Ok(true)` when one came.
    pub fn wait_for_work(&self, timeout: Duration) -> Result<bool> {
        let mut client = self.client()?;
        if !self.listening.get() {
            client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            self.listening.set(true);
        }
        let mut notifications = client.notifications();
        let woke = notifications.timeout_iter(timeout).next()?.is_some();
        // One wake-up is enough for any number of announcements queued meanwhile.
        while notifications.iter().next()?.is_some() {}
        Ok(woke)
    }

    /// Which database this is, for `db check`: the server's version, the schema's, and whether anything was ever sealed with a key.
    pub fn describe(&self) -> Result<(String, Option<i64>, bool)> {
        let mut client = self.client()?;
        let version: String = client.query_one("SHOW server_version", &[])?.get(0);
        let schema = migrations::version(&mut client)?;
        let sealed = schema.is_some() && keys::key_check(&mut *client)?.is_some();
        Ok((version, schema, sealed))
    }
}

/// `WEBNET_TEST_CLOCK_OFFSET` (ms) in debug builds, so tests that move the binary's clock move
/// the lease clock alike; always 0 in release builds.
fn test_clock_offset() -> i64 {
    if cfg!(debug_assertions) {
        std::env::var("WEBNET_TEST_CLOCK_OFFSET")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    } else {
        0
    }
}

/// Text stored in a `TEXT` column: PostgreSQL refuses the NUL character, which a receiver's
/// response may hold; it is kept as U+FFFD.
pub(super) fn text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}").into()
    } else {
        s.into()
    }
}
