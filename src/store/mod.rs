//! Storage: the [`Backend`] trait that holds everything the layers above need from a database,
//! the types it takes and returns, and [`StoreError`], classified where it arises (disk full,
//! read-only, busy, corrupt). SQLite implements it today (`sqlite/`); the layers above hold a
//! `&mut Store` and never name the backend, nor its driver.
//! Invariant: a file we did not create, or one from a newer webnet, is never modified; every
//! query on webhooks and deliveries takes the caller's `Scope`; stored data that does not decode
//! is an error ([`StoreError::Corrupt`]), never a default.

mod backend;
mod error;
mod retention;
mod sqlite;
mod types;

use std::path::Path;
use std::time::Duration;

pub use backend::Backend;
pub use error::{KeyProblem, Result, StoreError};
pub use retention::{cutoff, PruneCount, PruneOptions, PruneReport, PruneRule, Retention};
pub use types::{
    AllowedTargetRow, AttemptLog, AttemptStat, Backlog, Claim, Customer, Delivery, DeliveryCounts,
    DeliveryFilter, NewEvent, NewKey, Recorded, Reset, Rotated, SecretChange, Webhook,
    WebhookFilter,
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

impl Store {
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
