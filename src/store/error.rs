//! What can go wrong below the CLI, classified where it arises: the layers above match on
//! [`StoreError`]'s variants (disk full, read-only, busy, corrupt data, …) and never on a
//! database driver's error codes. The driver's error is kept as the cause.

use std::path::{Path, PathBuf};

use crate::domain::secret::KeyError;

/// A database driver's error, kept as the cause of a classified one.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong below the CLI, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: not a webnet database; refusing to touch it (choose another file with --db)")]
    NotOurs { path: PathBuf },
    #[error("{path}: made by a newer webnet (schema {found}, this one knows up to {known}); upgrade webnet")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no webnet database at {path} (create one with \"webnet customers create NAME\", or check --db / WEBNET_DB)")]
    Missing { path: PathBuf },
    #[error("{path} is a directory, not a database file")]
    IsDirectory { path: PathBuf },
    /// The database (or the file system holding it) cannot be written; `path` when known.
    #[error("{} is read-only (or on a read-only file system): nothing was changed", database(.path.as_deref()))]
    ReadOnly { path: Option<PathBuf> },
    /// The disk holding the database is full: the write failed whole.
    #[error("the disk holding the database is full: nothing more was recorded (what was recorded before is safe); free some space and run again")]
    DiskFull {
        #[source]
        source: Cause,
    },
    /// Another process held the database's lock for longer than the busy timeout: nothing was
    /// changed, and the same write may succeed later.
    #[error("database error: {message}")]
    Busy {
        message: String,
        #[source]
        source: Cause,
    },
    /// A stored row that does not decode (edited by hand, or damaged): `what` says which value
    /// and why. Never replaced by a default: a delivery could go out without its headers.
    #[error("{table} row {id}: {what}")]
    Corrupt {
        table: &'static str,
        id: i64,
        what: String,
    },
    /// The database file itself is damaged (SQLite found a malformed page, or the file is no
    /// longer a database): nothing in it can be trusted until it is restored.
    #[error("database error: {message} (the database file is damaged: restore it from a backup)")]
    Damaged {
        message: String,
        #[source]
        source: Cause,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(crate::domain::ValidationError),
    #[error("secret key: {0}")]
    Key(#[from] KeyError),
    #[error("secret key: {0}")]
    KeyProblem(#[from] KeyProblem),
    /// A `postgres://` URL that cannot be used (shown without its password).
    #[error("{url}: {why}")]
    BadUrl { url: String, why: String },
    /// The PostgreSQL server could not be reached, or refused us (wrong password, no such
    /// database): named by host, port and database, never with the password.
    #[error("cannot connect to PostgreSQL at {host}:{port} (database {dbname:?}): {why}")]
    Connect {
        db: String,
        host: String,
        port: u16,
        dbname: String,
        why: String,
    },
    /// The connection to the database server was lost (a restart, a failover, the network):
    /// nothing of the interrupted transaction was kept, and the same call may succeed once the
    /// server is back. Transient, as [`StoreError::Busy`].
    #[error("database unavailable: {message} (the connection was lost; what was recorded before is safe)")]
    Unavailable {
        message: String,
        #[source]
        source: Cause,
    },
    /// A PostgreSQL database without webnet's tables, opened by a command that only reads or
    /// delivers.
    #[error("no webnet schema in {db}; create a customer or run `webnet db migrate`")]
    NoSchema { db: String },
    /// Something would be sealed (or opened) on a server database, and no key was given: the
    /// key cannot live beside a server database.
    #[error("no secret key: set WEBNET_SECRET_KEY or give --key-file PATH (WEBNET_KEY_FILE); on a PostgreSQL database secrets are sealed with a key kept outside the database")]
    NoKey,
    /// Any other database failure.
    #[error("database error: {message}")]
    Database {
        message: String,
        #[source]
        source: Cause,
    },
}

fn database(path: Option<&Path>) -> String {
    path.map_or_else(|| "the database".to_string(), |p| p.display().to_string())
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// Another process held the database's lock for longer than the busy timeout: nothing was
    /// changed, and the same write may succeed later. Long-running commands wait and try again;
    /// the rest report it.
    /// A lost connection to a database server ([`StoreError::Unavailable`]) is the same: the
    /// call changed nothing and may succeed later.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Busy { .. } | StoreError::Unavailable { .. }
        )
    }

    /// No `what` (`"webhook"`, `"delivery"`, …) with this id, or none the caller may see.
    pub fn not_found(what: &'static str, id: impl ToString) -> StoreError {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// A stored value that does not decode, in `table`'s row `id`.
    pub fn corrupt(table: &'static str, id: i64, what: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            table,
            id,
            what: what.into(),
        }
    }
}

/// Why no usable secret key was found, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error("WEBNET_SECRET_KEY does not open the secrets stored in this database (it is not the passphrase they were sealed with): set it back; only if that passphrase is lost, `webnet key reset --yes` clears the secrets it sealed (for every host using this database)")]
    PassphraseMismatch,
    #[error("WEBNET_SECRET_KEY does not open the secrets stored in this database, but the key file {} does: unset WEBNET_SECRET_KEY", .0.display())]
    PassphraseMismatchFileOpens(PathBuf),
    #[error("the key file {} does not open the secrets stored in this database (it was replaced, is another database's, or they were sealed with WEBNET_SECRET_KEY): restore it (from a backup, or a host where it works) or set WEBNET_SECRET_KEY; only if no copy is left anywhere, `webnet key reset --yes` clears the secrets it sealed (for every host using this database)", .0.display())]
    FileMismatch(PathBuf),
    #[error("this database's secrets are sealed with a passphrase and WEBNET_SECRET_KEY is not set: set it to that passphrase (for scheduled drains too: see `webnet schedule install`); only if it is lost, `webnet key reset --yes` clears them")]
    PassphraseNotSet,
    #[error("the key file {} is missing and this database holds secrets sealed with it: restore it (from a backup, or a host that has a copy) or set WEBNET_SECRET_KEY if they were sealed with a passphrase; only if no copy is left anywhere, `webnet key reset --yes` clears them (for every host using this database)", .0.display())]
    FileMissing(PathBuf),
    /// A server database holds sealed secrets and this host gave neither `WEBNET_SECRET_KEY`
    /// nor a key file: not a lost key, a missing setting (for a scheduled drain too). Names
    /// what they were sealed with.
    #[error("{}", if *passphrase {
        "this database's secrets are sealed with a passphrase and WEBNET_SECRET_KEY is not set: set it to that passphrase (for scheduled drains too: see `webnet schedule install`)"
    } else {
        "this database's secrets are sealed with a key file and none was given: give --key-file PATH (WEBNET_KEY_FILE), a copy of the key file of the host that stored them"
    })]
    NotGiven { passphrase: bool },
    /// Nothing was ever sealed and there is no key file yet (one is made with the first secret).
    #[error("no key file yet ({}): none is needed until a secret is stored", .0.display())]
    NoneYet(PathBuf),
    #[error("the key file {} is malformed (expected 64 hex digits): restore it (from a backup, or a host where it works); only if no copy is left anywhere, `webnet key reset --yes` clears the secrets it sealed (for every host using this database)", .0.display())]
    BadFile(PathBuf),
    #[error("webhook {webhook}: its {what} does not open with the current key (damaged?); nothing was changed: replace it with `webnet webhooks update {webhook}` and run again")]
    Damaged { webhook: i64, what: &'static str },
    #[error("the current key opens this database's secrets: nothing was reset (to change the key, use `webnet key rotate`)")]
    NotLost,
}
