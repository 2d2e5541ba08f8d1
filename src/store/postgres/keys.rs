//! The key that seals webhook secrets and credential header values on PostgreSQL (DESIGN §11):
//! it cannot live beside a server database, so it is `WEBNET_SECRET_KEY` (a passphrase) or the
//! key file given with `--key-file PATH`/`WEBNET_KEY_FILE` (the format of SQLite's `<db>.key`;
//! created mode 0600 on the first secret when missing, so hosts can share one copy). With
//! neither, nothing is sealed nor opened ([`StoreError::NoKey`]). A check value in `meta`
//! (`key_check`, sealed under the key) and `key_source` work as in SQLite.
//!
//! Invariants: as in SQLite, a key file is written only when a value sealed with it is written
//! in the same transaction, and reaches the disk before that transaction commits. Every
//! [`PgStore::write_sealed`] holds the transaction-scoped advisory lock [`KEY_LOCK`] before it
//! reads `key_check`, so two hosts storing a first secret at once never make two keys (the
//! second finds the first's `key_check`); `key rotate` and `key reset` hold the same lock.

use std::path::{Path, PathBuf};

use postgres::{GenericClient, Transaction};

use super::PgStore;
use crate::domain::secret::SecretKey;
use crate::store::keyfile::{
    file_opens, io_error, opens, read_key_file, sibling, sync_dir, write_tmp, Source, CHECK_PLAIN,
};
use crate::store::{KeyProblem, Result, StoreError};

/// The advisory lock that serialises everything that reads `key_check` to seal with it, or
/// changes it ("WBNTKEY"; the migration lock is the application id, "WBNT").
pub(super) const KEY_LOCK: i64 = 0x0057_424e_544b_4559;

/// Sets `meta.key_source` (what `key_check` was sealed with: `passphrase` or `file`).
pub(super) const KEY_SOURCE_SQL: &str = "INSERT INTO meta (key, value) VALUES ('key_source', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

/// Sets `meta.key_check`, replacing the one there.
pub(super) const KEY_CHECK_SQL: &str = "INSERT INTO meta (key, value) VALUES ('key_check', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

/// `<key file>.new`: a rotation's new key until the rotation has committed.
pub(super) fn pending_path(key_file: &Path) -> PathBuf {
    sibling(key_file, "new")
}

/// A temporary file beside `key_file`, for this process.
pub(super) fn tmp_path(key_file: &Path) -> PathBuf {
    sibling(key_file, &format!("tmp{}", std::process::id()))
}

pub(super) fn key_check(c: &mut impl GenericClient) -> Result<Option<Vec<u8>>> {
    Ok(
        c.query_opt("SELECT value FROM meta WHERE key = 'key_check'", &[])?
            .map(|r| r.get(0)),
    )
}

/// Whether `key_check` was sealed with a passphrase, as far as the database records it.
fn sealed_with_passphrase(c: &mut impl GenericClient) -> bool {
    c.query_opt(
        "SELECT value = 'passphrase'::bytea FROM meta WHERE key = 'key_source'",
        &[],
    )
    .ok()
    .flatten()
    .and_then(|r| r.try_get(0).ok())
    .unwrap_or(false)
}

impl PgStore {
    /// The key file given with `--key-file`/`WEBNET_KEY_FILE`, if any.
    pub(super) fn key_file(&self) -> Option<&Path> {
        self.keys().key_file.as_deref()
    }

    /// The key that opens this database's sealed values, for sending: `WEBNET_SECRET_KEY`, else
    /// the key file (or the new one of an interrupted rotation, which is then put in place when
    /// no rotation is running). [`StoreError::NoKey`] when neither is given and nothing is
    /// sealed; [`KeyProblem::NotGiven`] when neither is given but secrets are sealed.
    pub fn secret_key(&self) -> Result<SecretKey> {
        let found = {
            let mut client = self.client()?;
            let mut tx = client.transaction()?;
            // A rotation holds the lock until its new key file is in place: repair only when free.
            let free: bool = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&KEY_LOCK])?
                .get(0);
            let found = match self.find_key(&mut tx, free) {
                // Secrets are sealed and no key was given: say so, and with what they were
                // sealed — not "no key", which (nothing sealed) is a setting not needed yet:
                // `db check` and `schedule` accept it.
                Err(StoreError::NoKey) => {
                    let passphrase = sealed_with_passphrase(&mut tx);
                    return Err(KeyProblem::NotGiven { passphrase }.into());
                }
                found => found?,
            };
            tx.commit()?;
            found
        };
        match (found, self.key_file()) {
            (Some((key, _)), _) => Ok(key),
            (None, Some(path)) => Err(KeyProblem::NoneYet(path.to_path_buf()).into()),
            (None, None) => Err(StoreError::NoKey),
        }
    }

    /// The current key checked against `key_check`; `None` when there is no key and nothing was
    /// ever sealed. With `repair` (the caller holds [`KEY_LOCK`]), an interrupted rotation's
    /// `<key file>.new` that opens `key_check` is renamed into place.
    pub(super) fn find_key(
        &self,
        c: &mut impl GenericClient,
        repair: bool,
    ) -> Result<Option<(SecretKey, Source)>> {
        let check = key_check(c)?;
        let key_file = self.key_file();
        if let Some(p) = &self.keys().passphrase {
            let key = SecretKey::from_passphrase(p);
            return match (&check, key_file) {
                (Some(c), _) if !opens(&key, c) => Err(match key_file {
                    Some(path) if file_opens(path, c) => {
                        KeyProblem::PassphraseMismatchFileOpens(path.to_path_buf()).into()
                    }
                    _ => KeyProblem::PassphraseMismatch.into(),
                }),
                _ => Ok(Some((key, Source::Passphrase))),
            };
        }
        let Some(path) = key_file else {
            // Nothing at hand: fine only while nothing is sealed (and nothing will be).
            return match check {
                None => Ok(None),
                Some(_) => Err(StoreError::NoKey),
            };
        };
        let main = read_key_file(path)?;
        let Some(check) = check else {
            return match main {
                None => Ok(None),
                Some(None) => Err(KeyProblem::BadFile(path.to_path_buf()).into()),
                Some(Some(key)) => Ok(Some((key, Source::File))),
            };
        };
        if let Some(Some(key)) = &main {
            if opens(key, &check) {
                return Ok(Some((key.clone(), Source::File)));
            }
        }
        let pending = pending_path(path);
        if let Some(Some(key)) = read_key_file(&pending)? {
            if opens(&key, &check) {
                if repair && std::fs::rename(&pending, path).is_ok() {
                    // Failures (a read-only folder) are left for next time.
                    sync_dir(path);
                }
                return Ok(Some((key, Source::Pending)));
            }
        }
        if sealed_with_passphrase(c) {
            // Without WEBNET_SECRET_KEY the key file is looked for, but it was never the key.
            return Err(KeyProblem::PassphraseNotSet.into());
        }
        let path = path.to_path_buf();
        Err(match main {
            None => KeyProblem::FileMissing(path),
            Some(None) => KeyProblem::BadFile(path),
            Some(Some(_)) => KeyProblem::FileMismatch(path),
        }
        .into())
    }

    /// Runs `write` in one transaction, with the key to seal with when `needs_key`. When nothing
    /// was ever sealed, the key is `WEBNET_SECRET_KEY`, the key file if there is one, or a new
    /// random key written to the key file; with neither a passphrase nor a key file it is
    /// [`StoreError::NoKey`], before `write` runs. A new key file is written only after `write`
    /// succeeded and before the transaction commits (a crash in between leaves a key file and
    /// nothing sealed with it: the next secret adopts it); `key_check` is set in the same
    /// transaction. The transaction holds [`KEY_LOCK`] from its start (also without
    /// `needs_key`: a key rotation or reset never interleaves with a webhook being written).
    pub(super) fn write_sealed<T>(
        &self,
        needs_key: bool,
        write: impl FnOnce(&mut Transaction<'_>, Option<&SecretKey>) -> Result<T>,
    ) -> Result<T> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEY_LOCK])?;
        if !needs_key {
            let value = write(&mut tx, None)?;
            tx.commit()?;
            return Ok(value);
        }
        let (key, source, new_file) = match self.find_key(&mut tx, true)? {
            Some((key, source)) => (key, source, None),
            None => match self.key_file() {
                Some(path) => (SecretKey::generate(), Source::File, Some(path)),
                None => return Err(StoreError::NoKey),
            },
        };
        let value = write(&mut tx, Some(&key))?;
        if let Some(path) = new_file {
            create_key_file(path, &key)?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING",
            &[&key.seal(CHECK_PLAIN)],
        )?;
        // The key found opens `key_check`, so this is what it was sealed with.
        tx.execute(KEY_SOURCE_SQL, &[&source.stored().as_bytes()])?;
        tx.commit()?;
        Ok(value)
    }
}

/// Creates the key file `path` holding `key`; never replaces an existing file (the link fails).
fn create_key_file(path: &Path, key: &SecretKey) -> Result<()> {
    let tmp = tmp_path(path);
    write_tmp(&tmp, key)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path);
            Ok(())
        }
        // Written under the key lock, and none was there when it was looked for: another host
        // sharing this folder outside webnet's rules made one meanwhile. Refuse rather than
        // seal under a key nobody keeps.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                e.kind(),
                "a key file appeared while this secret was being stored; nothing was changed, run the command again",
            ),
        }),
        Err(e) => Err(io_error(path)(e)),
    }
}
