//! Storage: the [`Backend`] trait that holds everything the layers above need from a database,
//! the types it takes and returns, and [`StoreError`], classified where it arises (disk full,
//! read-only, busy, corrupt). SQLite implements it today (`sqlite/`); the layers above hold a
//! `&mut Store` and never name the backend, nor its driver.
//! Invariant: a file we did not create, or one from a newer webnet, is never modified; every
//! query on webhooks and deliveries takes the caller's `Scope`; stored data that does not decode
//! is an error ([`StoreError::Corrupt`]), never a default.

mod backend;
mod columns;
mod error;
mod keyfile;
pub mod postgres;
mod retention;
mod sqlite;
mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use backend::Backend;
pub use error::{KeyProblem, Result, StoreError};
pub use retention::{cutoff, PruneCount, PruneOptions, PruneReport, PruneRule, Retention};
pub use types::{
    AllowedTargetRow, ApiToken, AttemptLog, AttemptStat, Backlog, Claim, Claimed, Customer, DbInfo,
    Delivery, DeliveryCounts, DeliveryFilter, NewEvent, NewKey, NewToken, PassedOver, Recorded,
    Reset, Rotated, Sealed, SecretChange, Unreadable, Webhook, WebhookFilter, WebhookLabel,
    TOKEN_USE_RECORDED_EVERY, UNREADABLE_HOLD,
};
pub use types::{
    DurationHistogram, MetricsAttempts, MetricsDeliveries, MetricsFailing, MetricsSnapshot,
    MetricsWebhook, MetricsWebhooks, DURATION_BUCKETS_MS,
};

/// The delivery state machine and outcome types live in `domain`; re-exported here, where the
/// layers above have always found them.
pub use crate::domain::delivery::{
    AttemptRecord, DeliveryStatus, Disabled, Health, Job, Outcome, Target,
};

/// What the layers above hold: an open database, whichever backend it is. Every method is
/// [`Backend`]'s (through `Deref`); a sized handle, so commands get it by value and pass
/// `&mut store` where `&mut Store` is asked for, as they always have.
pub struct Store(Box<dyn Backend>);

/// Where the database is: a SQLite file, or a PostgreSQL server's database.
#[derive(Debug, Clone)]
pub enum Location {
    File(PathBuf),
    Postgres(Box<postgres::PgUrl>),
}

impl Location {
    /// Reads a `--db`/`WEBNET_DB` value: a `postgres://` or `postgresql://` URL (its password
    /// may come from `PGPASSWORD`), else a SQLite file path.
    pub fn parse(db: &str) -> Result<Location> {
        if postgres::url::is_postgres(db) {
            let pgpassword = std::env::var("PGPASSWORD").ok();
            Ok(Location::Postgres(Box::new(postgres::PgUrl::parse(
                db, pgpassword,
            )?)))
        } else {
            Ok(Location::File(PathBuf::from(db)))
        }
    }

    /// How the database is named in messages (a URL without its password).
    pub fn shown(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Postgres(u) => u.shown.clone(),
        }
    }
}

/// Where the secret key comes from: `WEBNET_SECRET_KEY` (a passphrase), else a key file:
/// `--key-file`/`WEBNET_KEY_FILE`, or (SQLite only) the file beside the database.
#[derive(Debug, Clone, Default)]
pub struct KeySource {
    pub passphrase: Option<String>,
    pub key_file: Option<PathBuf>,
}

impl Store {
    /// Opens the database at `at`, creating it (SQLite: the file and its folder; PostgreSQL:
    /// webnet's schema) when `create`, else only if it exists; migrates it either way.
    pub fn connect(at: &Location, keys: KeySource, create: bool) -> Result<Store> {
        match (at, create) {
            (Location::File(path), create) => Ok(Store::new(sqlite::SqliteStore::open_keys(
                path, keys, create,
            )?)),
            (Location::Postgres(url), true) => Ok(Store::new(postgres::PgStore::open(url, keys)?)),
            (Location::Postgres(url), false) => {
                Ok(Store::new(postgres::PgStore::open_existing(url, keys)?))
            }
        }
    }

    /// Opens (creating, mode 0600, with its folder) the database at `path` and migrates it.
    /// `passphrase` is `WEBNET_SECRET_KEY`; without it secrets use the key file beside `path`.
    pub fn open(path: &Path, passphrase: Option<String>) -> Result<Store> {
        Ok(Store::new(sqlite::SqliteStore::open(path, passphrase)?))
    }

    /// Opens the database at `path` only if it exists ([`StoreError::Missing`] otherwise,
    /// having created nothing: no file, folder or key file), and migrates it. For commands
    /// that only read or deliver, so a mistyped path is an error, not a new empty database.
    /// An empty file is no database either: it is refused the same way, not made into one.
    pub fn open_existing(path: &Path, passphrase: Option<String>) -> Result<Store> {
        Ok(Store::new(sqlite::SqliteStore::open_existing(
            path, passphrase,
        )?))
    }

    /// A handle on `backend`.
    pub fn new(backend: impl Backend + 'static) -> Store {
        Store(Box::new(backend))
    }
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::ops::DerefMut for Store {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut *self.0
    }
}

/// [`Store::open`].
pub fn open(path: &Path, passphrase: Option<String>) -> Result<Store> {
    Store::open(path, passphrase)
}

/// [`Store::open_existing`].
pub fn open_existing(path: &Path, passphrase: Option<String>) -> Result<Store> {
    Store::open_existing(path, passphrase)
}

/// `PRAGMA application_id` of webnet databases ("WBNT").
pub const APPLICATION_ID: i32 = 0x5742_4e54;

/// Marks a header value stored sealed. Header values cannot hold control characters, so no
/// value a user gives can start with it.
pub const SEALED_PREFIX: &str = crate::domain::headers::SEALED_PREFIX;

/// How long a write waits for another process's lock before failing as busy.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// [`BUSY_TIMEOUT`], or `WEBNET_BUSY_TIMEOUT_MS` when set: for tests only (undocumented for
/// users), so a test can hold a real lock for a moment instead of half a minute. SQLite's busy
/// timeout and PostgreSQL's `lock_timeout` both follow it.
pub(crate) fn busy_timeout() -> Duration {
    std::env::var("WEBNET_BUSY_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(BUSY_TIMEOUT, Duration::from_millis)
}
