//! The key that seals webhook secrets and credential header values: from `WEBNET_SECRET_KEY`
//! (a passphrase), or a key file `<db>.key` beside the database (mode 0600). A check value in
//! `meta` (`key_check`, sealed under the key) catches a changed or lost key before anything is
//! sealed or sent with it.
//!
//! Invariants: a key file is written only when a value sealed with it is written in the same
//! transaction (never by an operation that fails), and the database is never committed sealed
//! under a key that exists nowhere: a new key reaches the disk (`<db>.key` for the first secret,
//! `<db>.key.new` during `key rotate`) before the transaction that uses it commits.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};

use super::{Result, SqliteStore, StoreError};
use crate::domain::secret::SecretKey;
pub(super) use crate::store::keyfile::{
    io_error, opens, read_key_file, sync_dir, write_tmp, Source, CHECK_PLAIN,
};
use crate::store::KeyProblem;

/// `meta.key_source`: what `key_check` was sealed with, `passphrase` or `file`, so a missing
/// key can be named (the key file, or `WEBNET_SECRET_KEY`). Absent in databases whose key was
/// last set by an older webnet: then both are named.
pub(super) const KEY_SOURCE_SQL: &str =
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('key_source', ?1)";

impl SqliteStore {
    /// Where the key file of this database lives: `--key-file` when given, else
    /// `<database file name>.key` beside it.
    pub fn key_file_path(&self) -> PathBuf {
        self.key_path("key")
    }

    /// `<db>.key.new`: a rotation's new key until the rotation has committed.
    pub(super) fn pending_key_path(&self) -> PathBuf {
        self.key_path("key.new")
    }

    /// The key file's path with `suffix` (`key`, `key.new`, `key.tmp…`) in place of its `key`.
    pub(super) fn key_path(&self, suffix: &str) -> PathBuf {
        if let Some(file) = &self.key_file {
            let mut name = file.as_os_str().to_os_string();
            name.push(suffix.strip_prefix("key").unwrap_or(suffix));
            return PathBuf::from(name);
        }
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".");
        name.push(suffix);
        self.path.with_file_name(name)
    }

    pub(super) fn key_check(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Whether `key_check` was sealed with a passphrase, as far as the database records it.
    fn sealed_with_passphrase(&self) -> bool {
        self.conn
            .query_row(
                "SELECT value = 'passphrase' FROM meta WHERE key = 'key_source'",
                [],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    /// The key that opens this database's sealed values, for sending: `WEBNET_SECRET_KEY`, else
    /// the key file (or the new one of an interrupted rotation, which is then put in place).
    pub fn secret_key(&self) -> Result<SecretKey> {
        match self.find_key(true)? {
            Some((key, _)) => Ok(key),
            None => Err(KeyProblem::NoneYet(self.key_file_path()).into()),
        }
    }

    /// The current key checked against `key_check`; `None` when there is no key and nothing was
    /// ever sealed. With `repair`, an interrupted rotation's `<db>.key.new` that opens
    /// `key_check` is renamed into place (when no rotation holds the database's lock).
    pub(super) fn find_key(&self, repair: bool) -> Result<Option<(SecretKey, Source)>> {
        let check = self.key_check()?;
        let path = self.key_file_path();
        if let Some(p) = &self.passphrase {
            let key = SecretKey::from_passphrase(p);
            return match &check {
                Some(c) if !opens(&key, c) => {
                    let file_opens =
                        matches!(read_key_file(&path), Ok(Some(Some(k))) if opens(&k, c));
                    Err(if file_opens {
                        KeyProblem::PassphraseMismatchFileOpens(path).into()
                    } else {
                        KeyProblem::PassphraseMismatch.into()
                    })
                }
                _ => Ok(Some((key, Source::Passphrase))),
            };
        }
        let main = read_key_file(&path)?;
        let Some(check) = check else {
            return match main {
                None => Ok(None),
                Some(None) => Err(KeyProblem::BadFile(path).into()),
                Some(Some(key)) => Ok(Some((key, Source::File))),
            };
        };
        if let Some(Some(key)) = &main {
            if opens(key, &check) {
                return Ok(Some((key.clone(), Source::File)));
            }
        }
        if let Some(Some(key)) = read_key_file(&self.pending_key_path())? {
            if opens(&key, &check) {
                if repair {
                    self.finish_interrupted_rotation();
                }
                return Ok(Some((key, Source::Pending)));
            }
        }
        if self.sealed_with_passphrase() {
            // Without WEBNET_SECRET_KEY the key file is looked for, but it was never the key.
            return Err(KeyProblem::PassphraseNotSet.into());
        }
        Err(match main {
            None => KeyProblem::FileMissing(path),
            Some(None) => KeyProblem::BadFile(path),
            Some(Some(_)) => KeyProblem::FileMismatch(path),
        }
        .into())
    }

    /// Puts `<db>.key.new` in place of `<db>.key` after a rotation that committed but did not
    /// get to rename it. Only if no rotation is running (it holds the database file's lock) and
    /// the file still opens `key_check`; failures (a read-only folder) are left for next time.
    fn finish_interrupted_rotation(&self) {
        let Some(file) = &self.file else { return };
        if file.try_lock().is_err() {
            return;
        }
        let pending = self.pending_key_path();
        let still_current = match (self.key_check(), read_key_file(&pending)) {
            (Ok(Some(check)), Ok(Some(Some(key)))) => opens(&key, &check),
            _ => false,
        };
        if still_current && std::fs::rename(&pending, self.key_file_path()).is_ok() {
            sync_dir(&pending);
        }
        let _ = file.unlock();
    }

    /// Runs `write` in one immediate transaction, with the key to seal with when `needs_key`.
    /// When nothing was ever sealed, the key is `WEBNET_SECRET_KEY`, the key file if there is
    /// one, or a new random key. A new key file is written only after `write` succeeded and
    /// before the transaction commits (a crash in between leaves a key file and nothing sealed
    /// with it: the next secret adopts it); `key_check` is set in the same transaction.
    pub(crate) fn write_sealed<T>(
        &self,
        needs_key: bool,
        write: impl FnOnce(Option<&SecretKey>) -> Result<T>,
    ) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        if !needs_key {
            let value = write(None)?;
            tx.commit()?;
            return Ok(value);
        }
        let (key, source, new_file) = match self.find_key(true)? {
            Some((key, source)) => (key, source, false),
            None => (SecretKey::generate(), Source::File, true),
        };
        let value = write(Some(&key))?;
        if new_file {
            self.create_key_file(&key)?;
        }
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?1)",
            [key.seal(CHECK_PLAIN)],
        )?;
        // The key found opens `key_check`, so this is what it was sealed with.
        tx.execute(KEY_SOURCE_SQL, [source.stored()])?;
        tx.commit()?;
        Ok(value)
    }

    /// Creates `<db>.key` holding `key`; never replaces an existing file (the link fails).
    fn create_key_file(&self, key: &SecretKey) -> Result<()> {
        let path = self.key_file_path();
        let tmp = self.key_path(&format!("key.tmp{}", std::process::id()));
        write_tmp(&tmp, key)?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_dir(&path);
                Ok(())
            }
            // Written under the database's write lock, so only a process outside webnet's rules
            // can have made one meanwhile: refuse rather than seal under a key nobody keeps.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StoreError::Io {
                path,
                source: std::io::Error::new(
                    e.kind(),
                    "a key file appeared while this secret was being stored; nothing was changed, run the command again",
                ),
            }),
            Err(e) => Err(io_error(&path)(e)),
        }
    }
}
