//! Replacing the secret key: `webnet key rotate` re-seals everything under a new key, and
//! `webnet key reset` clears what a lost key sealed. Both hold the database file's `flock` and
//! one immediate transaction, so they never overlap each other or a first secret being stored.

use rusqlite::{params, Transaction, TransactionBehavior};

use super::keys::{
    io_error, opens, read_key_file, sync_dir, write_tmp, Source, CHECK_PLAIN, KEY_SOURCE_SQL,
};
use super::{decode, Result, SqliteStore, StoreError, SEALED_PREFIX};
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::store::{KeyProblem, NewKey, Reset, Rotated};

/// A webhook's sealed values as stored: id, secret, previous secret, headers JSON, routing key.
type SealedRow = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
    Option<Vec<u8>>,
);

impl SqliteStore {
    /// Runs `f` holding the database file's `flock`, so that key rotations and resets (and the
    /// repair of an interrupted rotation) never overlap.
    fn with_key_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| io_error(&self.path)(super::closed()))?;
        file.lock().map_err(io_error(&self.path))?;
        let result = f();
        let _ = file.unlock();
        result
    }

    /// `webnet key rotate`: re-seals every secret, previous secret, sealed credential header and
    /// routing key under `new`, in one transaction, and updates `key_check`.
    ///
    /// Crash safety, for a new key file: (1) the new key is written to `<db>.key.new` and
    /// flushed; (2) the transaction re-seals everything and commits; (3) `<db>.key.new` is
    /// renamed over `<db>.key`. A crash before (2) commits leaves the old key in `<db>.key`
    /// opening everything (the stale `.key.new` is overwritten by the next rotation); a crash
    /// between (2) and (3) leaves the new key in `<db>.key.new`, which key loading tries when
    /// `<db>.key` does not open `key_check`, and renames into place. The database is never
    /// sealed under a key that exists nowhere. For a passphrase, the key file is removed only
    /// after the commit; a crash before that leaves a stale file that `WEBNET_SECRET_KEY`
    /// overrides anyway.
    pub fn rotate_key(&self, new: NewKey) -> Result<Rotated> {
        self.with_key_lock(|| {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            let current = match self.find_key(false)? {
                Some((key, Source::Pending)) => {
                    // Finish the interrupted rotation first: `.key.new` is about to be reused.
                    let pending = self.pending_key_path();
                    std::fs::rename(&pending, self.key_file_path()).map_err(io_error(&pending))?;
                    sync_dir(&pending);
                    Some(key)
                }
                found => found.map(|(key, _)| key),
            };
            let (new_key, pending) = match &new {
                NewKey::File => {
                    let key = SecretKey::generate();
                    let pending = self.pending_key_path();
                    let tmp = self.key_path(&format!("key.tmp{}", std::process::id()));
                    write_tmp(&tmp, &key)?;
                    std::fs::rename(&tmp, &pending).map_err(io_error(&pending))?;
                    sync_dir(&pending);
                    (key, Some(pending))
                }
                NewKey::Passphrase(p) => (SecretKey::from_passphrase(p), None),
            };
            let committed = self
                .reseal_all(current.as_ref(), &new_key)
                .and_then(|report| {
                    tx.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('key_check', ?1)",
                        [new_key.seal(CHECK_PLAIN)],
                    )?;
                    let source = match &new {
                        NewKey::File => Source::File,
                        NewKey::Passphrase(_) => Source::Passphrase,
                    };
                    tx.execute(KEY_SOURCE_SQL, [source.stored()])?;
                    tx.commit()?;
                    Ok(report)
                });
            let mut report = match committed {
                Ok(report) => report,
                Err(e) => {
                    // Nothing was sealed with the new key: it must not stay behind.
                    if let Some(pending) = &pending {
                        let _ = std::fs::remove_file(pending);
                    }
                    return Err(e);
                }
            };
            let path = self.key_file_path();
            match pending {
                Some(pending) => {
                    std::fs::rename(&pending, &path).map_err(io_error(&pending))?;
                    sync_dir(&path);
                    report.key_file = Some(path);
                }
                None => {
                    let _ = std::fs::remove_file(self.pending_key_path());
                    match std::fs::remove_file(&path) {
                        Ok(()) => {
                            sync_dir(&path);
                            report.key_file_removed = Some(path);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_error(&path)(e)),
                    }
                }
            }
            Ok(report)
        })
    }

    /// Opens every sealed value with `current` and seals it again with `new` (inside the
    /// caller's transaction).
    fn reseal_all(&self, current: Option<&SecretKey>, new: &SecretKey) -> Result<Rotated> {
        let rows: Vec<SealedRow> = {
            let mut stmt = self.conn.prepare(
                "SELECT id, secret, previous_secret, headers, routing_key FROM webhooks
                 WHERE secret IS NOT NULL OR previous_secret IS NOT NULL
                    OR instr(headers, ?1) > 0 OR routing_key IS NOT NULL
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([json_prefix()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut report = Rotated::default();
        let mut update = self.conn.prepare(
            "UPDATE webhooks SET secret = ?2, previous_secret = ?3, headers = ?4, routing_key = ?5
             WHERE id = ?1",
        )?;
        for (id, secret, previous, headers, routing_key) in rows {
            let reseal = |sealed: &[u8], what: &'static str| -> Result<Vec<u8>> {
                let damaged = || StoreError::from(KeyProblem::Damaged { webhook: id, what });
                let plain = current
                    .ok_or_else(|| KeyProblem::FileMissing(self.key_file_path()))?
                    .open(sealed)
                    .map_err(|_| damaged())?;
                Ok(new.seal(&plain))
            };
            let secret = secret.map(|s| reseal(&s, "secret")).transpose()?;
            let previous = previous
                .map(|s| reseal(&s, "previous secret"))
                .transpose()?;
            let routing_key = routing_key.map(|s| reseal(&s, "routing key")).transpose()?;
            let mut map = decode::headers(id, &headers)?;
            let mut headers_done = 0;
            for value in map.values_mut() {
                if let Some(hexed) = value.strip_prefix(SEALED_PREFIX) {
                    let sealed = hex::decode(hexed).map_err(|_| KeyProblem::Damaged {
                        webhook: id,
                        what: "credential header",
                    })?;
                    let again = reseal(&sealed, "credential header")?;
                    *value = format!("{SEALED_PREFIX}{}", hex::encode(again));
                    headers_done += 1;
                }
            }
            report.webhooks += 1;
            report.secrets += usize::from(secret.is_some());
            report.previous_secrets += usize::from(previous.is_some());
            report.headers += headers_done;
            report.routing_keys += usize::from(routing_key.is_some());
            let headers = serde_json::to_string(&map).unwrap_or_else(|_| "{}".into());
            update.execute(params![id, secret, previous, headers, routing_key])?;
        }
        Ok(report)
    }

    /// Refuses (with what to do instead) unless the key is lost: no key at hand opens
    /// `key_check`. A database without `key_check` has nothing sealed to lose.
    pub fn check_key_lost(&self) -> Result<()> {
        let Some(check) = self.key_check()? else {
            return Ok(());
        };
        let candidates = [self.key_file_path(), self.pending_key_path()];
        let file_opens = candidates
            .iter()
            .any(|p| matches!(read_key_file(p), Ok(Some(Some(k))) if opens(&k, &check)));
        match &self.passphrase {
            Some(p) if opens(&SecretKey::from_passphrase(p), &check) => {
                Err(KeyProblem::NotLost.into())
            }
            // WEBNET_SECRET_KEY is wrong but the key file is right: say so.
            Some(_) if file_opens => {
                Err(KeyProblem::PassphraseMismatchFileOpens(self.key_file_path()).into())
            }
            None if file_opens => Err(KeyProblem::NotLost.into()),
            _ => Ok(()),
        }
    }

    /// `webnet key reset`: for a database whose key is lost, clears what can no longer be
    /// opened (secrets, previous secrets, routing keys; sealed headers are dropped) and
    /// `key_check`, in one transaction, and moves any old key file aside to `<db>.key.old`, so
    /// that the next secret creates a new key. Refused while any key at hand still opens `key_check`.
    pub fn reset_key(&self, now: Millis) -> Result<Reset> {
        self.with_key_lock(|| {
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            self.check_key_lost()?;
            let rows: Vec<(i64, bool, String, bool)> = {
                let mut stmt = self.conn.prepare(
                    "SELECT id, secret IS NOT NULL OR previous_secret IS NOT NULL, headers,
                        routing_key IS NOT NULL
                     FROM webhooks
                     WHERE secret IS NOT NULL OR previous_secret IS NOT NULL
                        OR instr(headers, ?1) > 0 OR routing_key IS NOT NULL
                     ORDER BY id",
                )?;
                let rows = stmt.query_map([json_prefix()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut report = Reset::default();
            for (id, had_secret, headers, had_routing_key) in rows {
                let mut map = decode::headers(id, &headers)?;
                let dropped: Vec<String> = map
                    .iter()
                    .filter(|(_, v)| v.starts_with(SEALED_PREFIX))
                    .map(|(k, _)| k.clone())
                    .collect();
                map.retain(|_, v| !v.starts_with(SEALED_PREFIX));
                tx.execute(
                    "UPDATE webhooks SET secret = NULL, previous_secret = NULL,
                        previous_until = NULL, headers = ?2, updated_at = ?3, routing_key = NULL
                     WHERE id = ?1",
                    params![
                        id,
                        serde_json::to_string(&map).unwrap_or_else(|_| "{}".into()),
                        now
                    ],
                )?;
                if had_secret {
                    report.secrets.push(id);
                }
                if !dropped.is_empty() {
                    report.headers.push((id, dropped));
                }
                if had_routing_key {
                    report.routing_keys.push(id);
                }
            }
            tx.execute(
                "DELETE FROM meta WHERE key IN ('key_check', 'key_source')",
                [],
            )?;
            tx.commit()?;
            // After the commit: a crash before this leaves the old file, which the next secret
            // adopts (nothing is sealed any more, so any key will do).
            let path = self.key_file_path();
            let _ = std::fs::remove_file(self.pending_key_path());
            if path.exists() {
                let old = self.key_path("key.old");
                std::fs::rename(&path, &old).map_err(io_error(&path))?;
                sync_dir(&old);
                report.old_key_file = Some(old);
            }
            Ok(report)
        })
    }
}

/// How a sealed header value starts inside the stored JSON text (the control character is
/// escaped there), for finding webhooks that have one.
fn json_prefix() -> String {
    let quoted = serde_json::to_string(SEALED_PREFIX).unwrap_or_default();
    quoted.trim_end_matches('"').to_string()
}
