//! Replacing the secret key on PostgreSQL: `webnet key rotate` re-seals everything under a new
//! key, and `webnet key reset` clears what a lost key sealed. Both hold the advisory lock
//! [`KEY_LOCK`] for their whole run (at session level: from before their transaction until the
//! key file is in place after it), so they never overlap each other, a secret being stored
//! ([`PgStore::write_sealed`] waits for it) or the repair of an interrupted rotation.

use postgres::Transaction;

use super::keys::{key_check, pending_path, tmp_path, KEY_CHECK_SQL, KEY_LOCK, KEY_SOURCE_SQL};
use super::{decode, PgStore};
use crate::domain::secret::SecretKey;
use crate::domain::time::Millis;
use crate::store::keyfile::{
    file_opens, io_error, opens, sibling, sync_dir, write_tmp, Source, CHECK_PLAIN,
};
use crate::store::{KeyProblem, NewKey, Reset, Result, Rotated, StoreError, SEALED_PREFIX};

/// A webhook's sealed values as stored: id, secret, previous secret, headers JSON, routing key.
type SealedRow = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
    Option<Vec<u8>>,
);

/// Webhooks holding a sealed value; `$1` is [`json_prefix`]. Locks their rows.
const SEALED_ROWS: &str = "FROM webhooks
     WHERE secret IS NOT NULL OR previous_secret IS NOT NULL
        OR strpos(headers, $1) > 0 OR routing_key IS NOT NULL
     ORDER BY id FOR UPDATE";

impl PgStore {
    /// Runs `f` holding [`KEY_LOCK`] at session level (waiting for it up to the lock timeout),
    /// so that key rotations and resets never overlap, nor a secret being stored.
    fn with_key_lock<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.client()?
            .execute("SELECT pg_advisory_lock($1)", &[&KEY_LOCK])?;
        let result = f();
        // On a lost connection the lock went with it (and this unlocks nothing).
        if let Ok(mut client) = self.client() {
            let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&KEY_LOCK]);
        }
        result
    }

    /// `webnet key rotate`: re-seals every secret, previous secret, sealed credential header and
    /// routing key under `new`, in one transaction, and updates `key_check`. A new key file is
    /// the `--key-file` one ([`StoreError::NoKey`] without it).
    ///
    /// Crash safety, for a new key file, as in SQLite: (1) the new key is written to
    /// `<key file>.new` and flushed; (2) the transaction re-seals everything and commits; (3)
    /// `<key file>.new` is renamed over the key file. A crash before (2) commits leaves the old
    /// key opening everything; a crash between (2) and (3) leaves the new key in
    /// `<key file>.new`, which key loading tries when the key file does not open `key_check`,
    /// and renames into place. For a passphrase, the key file is removed only after the commit.
    /// Other hosts keep their own copies of the key file: they need the new one.
    pub fn rotate_key(&self, new: NewKey) -> Result<Rotated> {
        let key_file = self.key_file().map(|p| p.to_path_buf());
        let target = match &new {
            NewKey::File => Some(key_file.clone().ok_or(StoreError::NoKey)?),
            NewKey::Passphrase(_) => None,
        };
        self.with_key_lock(|| {
            let mut client = self.client()?;
            let mut tx = client.transaction()?;
            let current = match self.find_key(&mut tx, false)? {
                Some((key, Source::Pending)) => {
                    // Finish the interrupted rotation first: `.new` is about to be reused.
                    if let Some(path) = &key_file {
                        let pending = pending_path(path);
                        std::fs::rename(&pending, path).map_err(io_error(&pending))?;
                        sync_dir(&pending);
                    }
                    Some(key)
                }
                found => found.map(|(key, _)| key),
            };
            let (new_key, pending) = match (&new, &target) {
                (NewKey::Passphrase(p), _) => (SecretKey::from_passphrase(p), None),
                (NewKey::File, path) => {
                    let path = path.as_deref().ok_or(StoreError::NoKey)?;
                    let key = SecretKey::generate();
                    let pending = pending_path(path);
                    let tmp = tmp_path(path);
                    write_tmp(&tmp, &key)?;
                    std::fs::rename(&tmp, &pending).map_err(io_error(&pending))?;
                    sync_dir(&pending);
                    (key, Some(pending))
                }
            };
            let committed = self
                .reseal_all(&mut tx, current.as_ref(), &new_key)
                .and_then(|report| {
                    tx.execute(KEY_CHECK_SQL, &[&new_key.seal(CHECK_PLAIN)])?;
                    let source = match &new {
                        NewKey::File => Source::File,
                        NewKey::Passphrase(_) => Source::Passphrase,
                    };
                    tx.execute(KEY_SOURCE_SQL, &[&source.stored().as_bytes()])?;
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
            match (pending, &target, &key_file) {
                (Some(pending), Some(path), _) => {
                    std::fs::rename(&pending, path).map_err(io_error(&pending))?;
                    sync_dir(path);
                    report.key_file = Some(path.clone());
                }
                (_, _, Some(path)) => {
                    let _ = std::fs::remove_file(pending_path(path));
                    match std::fs::remove_file(path) {
                        Ok(()) => {
                            sync_dir(path);
                            report.key_file_removed = Some(path.clone());
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_error(path)(e)),
                    }
                }
                _ => {}
            }
            Ok(report)
        })
    }

    /// Opens every sealed value with `current` and seals it again with `new` (inside the
    /// caller's transaction, which locks the rows).
    fn reseal_all(
        &self,
        tx: &mut Transaction<'_>,
        current: Option<&SecretKey>,
        new: &SecretKey,
    ) -> Result<Rotated> {
        let rows: Vec<SealedRow> = tx
            .query(
                &format!("SELECT id, secret, previous_secret, headers, routing_key {SEALED_ROWS}"),
                &[&json_prefix()],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let mut report = Rotated::default();
        let update = tx.prepare(
            "UPDATE webhooks SET secret = $2, previous_secret = $3, headers = $4, routing_key = $5
             WHERE id = $1",
        )?;
        for (id, secret, previous, headers, routing_key) in rows {
            let reseal = |sealed: &[u8], what: &'static str| -> Result<Vec<u8>> {
                let damaged = || StoreError::from(KeyProblem::Damaged { webhook: id, what });
                let plain = current
                    .ok_or_else(|| self.no_key())?
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
            tx.execute(&update, &[&id, &secret, &previous, &headers, &routing_key])?;
        }
        Ok(report)
    }

    /// Why there is no current key although something is sealed: the key file is missing, or
    /// none was given.
    fn no_key(&self) -> StoreError {
        match self.key_file() {
            Some(path) => KeyProblem::FileMissing(path.to_path_buf()).into(),
            None => StoreError::NoKey,
        }
    }

    /// Refuses (with what to do instead) unless the key is lost: no key at hand opens
    /// `key_check`. A database without `key_check` has nothing sealed to lose. Unlike SQLite,
    /// having no key at hand at all (no `WEBNET_SECRET_KEY`, no `--key-file`) is
    /// [`StoreError::NoKey`], not a lost key: on a server database that only means this host
    /// was not told where the key is, and reset would clear every host's secrets.
    pub fn check_key_lost(&self) -> Result<()> {
        let check = key_check(&mut *self.client()?)?;
        self.key_lost(check)
    }

    fn key_lost(&self, check: Option<Vec<u8>>) -> Result<()> {
        let Some(check) = check else {
            return Ok(());
        };
        let key_file = self.key_file();
        let file_works =
            key_file.is_some_and(|p| file_opens(p, &check) || file_opens(&pending_path(p), &check));
        match (&self.keys().passphrase, key_file) {
            (Some(p), _) if opens(&SecretKey::from_passphrase(p), &check) => {
                Err(KeyProblem::NotLost.into())
            }
            // WEBNET_SECRET_KEY is wrong but the key file is right: say so.
            (Some(_), Some(path)) if file_works => {
                Err(KeyProblem::PassphraseMismatchFileOpens(path.to_path_buf()).into())
            }
            (None, Some(_)) if file_works => Err(KeyProblem::NotLost.into()),
            (None, None) => Err(StoreError::NoKey),
            _ => Ok(()),
        }
    }

    /// `webnet key reset`: for a database whose key is lost, clears what can no longer be
    /// opened (secrets, previous secrets, routing keys; sealed headers are dropped) and
    /// `key_check`, in one transaction, and moves the `--key-file` aside to `<key file>.old`
    /// if there is one, so that the next secret creates a new key. Refused while any key at
    /// hand still opens `key_check`.
    pub fn reset_key(&self, now: Millis) -> Result<Reset> {
        self.with_key_lock(|| {
            let mut report = Reset::default();
            {
                let mut client = self.client()?;
                let mut tx = client.transaction()?;
                let check = key_check(&mut tx)?;
                self.key_lost(check)?;
                let rows: Vec<(i64, bool, String, bool)> = tx
                    .query(
                        &format!(
                            "SELECT id, secret IS NOT NULL OR previous_secret IS NOT NULL,
                                headers, routing_key IS NOT NULL {SEALED_ROWS}"
                        ),
                        &[&json_prefix()],
                    )?
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                    .collect();
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
                            previous_until = NULL, headers = $2, updated_at = $3,
                            routing_key = NULL
                         WHERE id = $1",
                        &[
                            &id,
                            &serde_json::to_string(&map).unwrap_or_else(|_| "{}".into()),
                            &now,
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
                    &[],
                )?;
                tx.commit()?;
            }
            // After the commit: a crash before this leaves the old file, which the next secret
            // adopts (nothing is sealed any more, so any key will do).
            if let Some(path) = self.key_file() {
                let _ = std::fs::remove_file(pending_path(path));
                if path.exists() {
                    let old = sibling(path, "old");
                    std::fs::rename(path, &old).map_err(io_error(path))?;
                    sync_dir(&old);
                    report.old_key_file = Some(old);
                }
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
