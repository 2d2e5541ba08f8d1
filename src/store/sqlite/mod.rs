//! The SQLite backend: one file in WAL mode, opened (and refused when it is not ours) here;
//! its queries in one module per area, its rows decoded in `decode.rs`.
//! Invariant: a file we did not create, or one from a newer webnet, is never modified.

mod backend;
mod claim;
mod customers;
mod decode;
mod handles;
mod history;
mod keys;
mod metrics;
mod migrations;
mod pacer;
mod prune;
mod record;
mod rekey;
mod targets;
#[cfg(test)]
mod tests;
mod tokens;
mod webhooks;

use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{DeliveryStatus, Result, StoreError, APPLICATION_ID, SEALED_PREFIX};

/// SQLite's error codes, classified once: the layers above see only [`StoreError`].
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let message = e.to_string();
        let source = Box::new(e);
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy { message, source }
            }
            Some(ErrorCode::DiskFull) => StoreError::DiskFull { source },
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path: None },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Damaged { message, source }
            }
            _ => StoreError::Database { message, source },
        }
    }
}

/// An open SQLite webnet database.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    passphrase: Option<String>,
    /// `--key-file`: where the key file is, instead of beside the database.
    key_file: Option<PathBuf>,
    /// Our own handle on the database file (for the flock that serializes migrations). Closing
    /// any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
    /// included, and another process could then checkpoint the WAL under the connections
    /// still open here (one then reads a stale snapshot for good): so on drop it is closed
    /// only once no other connection to the file is open in this process ([`handles`]).
    /// `None` only while being dropped.
    file: Option<std::sync::Arc<std::fs::File>>,
    /// How long a write waits for another process's lock ([`super::busy_timeout`]).
    busy_timeout: Duration,
}

impl SqliteStore {
    /// Opens (creating, mode 0600, with its folder) the database at `path` and migrates it.
    /// `passphrase` is `WEBNET_SECRET_KEY`; without it secrets use the key file beside `path`.
    pub fn open(path: &Path, passphrase: Option<String>) -> Result<SqliteStore> {
        SqliteStore::open_with(path, passphrase, true)
    }

    /// [`SqliteStore::open`] (`create`) or [`SqliteStore::open_existing`] with the key from
    /// `keys`: its passphrase, else its key file (`--key-file`), else the file beside the
    /// database.
    pub fn open_keys(path: &Path, keys: super::KeySource, create: bool) -> Result<SqliteStore> {
        let mut store = SqliteStore::open_with(path, keys.passphrase, create)?;
        store.key_file = keys.key_file;
        Ok(store)
    }

    /// Opens the database at `path` only if it exists ([`StoreError::Missing`] otherwise,
    /// having created nothing: no file, folder or key file), and migrates it. For commands
    /// that only read or deliver, so a mistyped path is an error, not a new empty database.
    /// An empty file is no database either: it is refused the same way, not made into one.
    pub fn open_existing(path: &Path, passphrase: Option<String>) -> Result<SqliteStore> {
        SqliteStore::open_with(path, passphrase, false)
    }

    fn open_with(path: &Path, passphrase: Option<String>, create: bool) -> Result<SqliteStore> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path
            .parent()
            .filter(|d| create && !d.as_os_str().is_empty())
        {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(io)?;
            }
        }
        // Create the file ourselves so it is 0600 from the first byte; SQLite gives its WAL and
        // shared-memory files the same mode.
        let (file, read_only) = match handles::existing(path) {
            Some(held) => held,
            None => {
                let (file, read_only) = open_file(path, create)?;
                (handles::register(file, read_only), read_only)
            }
        };
        if !create && file.metadata().map_err(io)?.len() == 0 {
            // An empty file (made by `touch`, or by a creating command that has not set it up
            // yet: wait for that, under the flock it holds meanwhile) is not a database yet.
            file.lock_shared().map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            file.unlock().map_err(io)?;
            if len == 0 {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                });
            }
        }
        let mode = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        let mut conn = Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        if read_only
            && conn
                .pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))
                .is_err()
        {
            // A WAL database on read-only media without its shared-memory file can still be
            // read as immutable: nothing can change it while the media is read-only.
            if let Ok(mut uri) = url::Url::from_file_path(path) {
                uri.set_query(Some("immutable=1"));
                conn = Connection::open_with_flags(
                    uri.as_str(),
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_URI
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
            }
        }
        let busy_timeout = super::busy_timeout();
        conn.busy_timeout(busy_timeout)?;
        let mut store = SqliteStore {
            conn,
            path: path.to_path_buf(),
            passphrase,
            key_file: None,
            file: Some(file),
            busy_timeout,
        };
        if read_only {
            store.check_ownership()?;
            let version: i64 = store
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))?;
            if version != migrations::LATEST {
                return Err(StoreError::ReadOnly {
                    path: Some(path.to_path_buf()),
                });
            }
            return Ok(store);
        }
        if !store.is_current() {
            // First use or an upgrade: one process at a time checks, switches to WAL and
            // migrates, so concurrent first runs never see a half-made file. (flock is separate
            // from SQLite's own POSIX locks.)
            let file = store.file.clone().ok_or_else(|| io(closed()))?;
            file.lock().map_err(io)?;
            let migrated = store.migrate_locked(&file);
            // Unlocked on every path: the handle may outlive this store (shared, [`handles`]).
            let unlocked = file.unlock().map_err(io);
            migrated?;
            unlocked?;
        }
        // Per-connection settings. FULL: a recorded event survives power loss, not only a crash.
        store.conn.pragma_update(None, "synchronous", "FULL")?;
        store.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(store)
    }

    /// Under the migration flock: refuses a file that is not SQLite's or not ours, then
    /// switches to WAL and migrates.
    fn migrate_locked(&mut self, file: &std::fs::File) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        let mut header = [0u8; 16];
        // At offset 0 whatever the shared handle's position (`read_at`, not `read`).
        let n = file.read_at(&mut header, 0).map_err(io)?;
        if n > 0 && (n < 16 || &header != b"SQLite format 3\0") {
            return Err(StoreError::NotOurs {
                path: self.path.clone(),
            });
        }
        self.check_ownership()?;
        if n == 0 {
            // A new file: free pages can be handed back to the file system after pruning
            // (`deliveries prune`). This must be set before the first table exists.
            self.conn
                .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        migrations::migrate(&mut self.conn, &self.path)
    }

    /// The fast path of every run: the file is ours, in WAL mode, and fully migrated.
    fn is_current(&self) -> bool {
        let read = || -> rusqlite::Result<bool> {
            let app_id: i32 = self
                .conn
                .pragma_query_value(None, "application_id", |r| r.get(0))?;
            let version: i64 = self
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))?;
            let mode: String = self
                .conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))?;
            Ok(app_id == APPLICATION_ID && version == migrations::LATEST && mode == "wal")
        };
        read().unwrap_or(false)
    }

    /// Refuses a file that another program made or a newer webnet migrated, before any write.
    fn check_ownership(&self) -> Result<()> {
        let app_id: i32 = self
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(|e| self.not_ours_if_not_db(e))?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?;
        let ours = app_id == APPLICATION_ID || (app_id == 0 && version == 0 && tables == 0);
        if !ours {
            return Err(StoreError::NotOurs {
                path: self.path.clone(),
            });
        }
        if version > migrations::LATEST {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known: migrations::LATEST,
            });
        }
        Ok(())
    }

    fn not_ours_if_not_db(&self, e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => StoreError::NotOurs {
                path: self.path.clone(),
            },
            _ => e.into(),
        }
    }

    /// Runs `f` with `synchronous = NORMAL`: for claims and outcomes, whose loss in a power
    /// failure costs at most a repeated send (at least once), never a recorded event. Events,
    /// webhooks and customers are written with the connection's default, `FULL`.
    fn light<T>(&mut self, f: impl FnOnce(&mut SqliteStore) -> Result<T>) -> Result<T> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let result = f(self);
        let restored = self.conn.pragma_update(None, "synchronous", "FULL");
        let value = result?;
        restored?;
        Ok(value)
    }

    /// The raw connection, for tests that look at (or damage) what is stored.
    #[cfg(test)]
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A second connection to the same file, with the same key source: for writing from
    /// another thread while this one claims.
    fn reopen(&self) -> Result<SqliteStore> {
        let keys = super::KeySource {
            passphrase: self.passphrase.clone(),
            key_file: self.key_file.clone(),
        };
        SqliteStore::open_keys(&self.path, keys, false)
    }
}

/// Maps a UNIQUE violation to a [`StoreError::Conflict`] with `message`.
fn conflict_or(
    e: rusqlite::Error,
    field: &'static str,
    message: impl FnOnce() -> String,
) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            StoreError::Conflict(crate::domain::ValidationError::new(field, message()))
        }
        _ => e.into(),
    }
}

/// The error of a handle already given up (never seen: only a store being dropped has none).
pub(super) fn closed() -> std::io::Error {
    std::io::Error::other("the database file's handle is closed")
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // The connection first (its locks are still ours), then the file handle, kept while
        // other connections of this process use the file.
        if let Ok(placeholder) = Connection::open_in_memory() {
            drop(std::mem::replace(&mut self.conn, placeholder));
        }
        // The file's handle closes with the last connection of this process ([`handles`]).
        drop(self.file.take());
    }
}

/// Opens the database file itself (creating it, mode 0600, if `create`): read-write, or
/// read-only when the file or its file system is write-protected (`true`).
fn open_file(path: &Path, create: bool) -> Result<(std::fs::File, bool)> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut read_only = false;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .or_else(|e| {
            // A write-protected file or read-only file system can still be read: commands
            // that only read work; writes fail with a clear message.
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) && path.exists()
            {
                read_only = true;
                OpenOptions::new().read(true).open(path)
            } else {
                Err(e)
            }
        })
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if !create => StoreError::Missing {
                path: path.to_path_buf(),
            },
            _ if path.is_dir() => StoreError::IsDirectory {
                path: path.to_path_buf(),
            },
            _ => io(e),
        })?;
    Ok((file, read_only))
}
