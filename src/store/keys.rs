//! The key that encrypts webhook secrets: from `WEBNET_SECRET_KEY`, or a key file created once
//! beside the database (mode 0600). A check value in `meta` catches a changed key before a new
//! secret is stored under it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use rusqlite::OptionalExtension;

use super::{Result, Store, StoreError};
use crate::domain::secret::SecretKey;

const CHECK_PLAIN: &[u8] = b"webnet key check";

impl Store {
    /// Where the key file of this database lives: `<database file name>.key` beside it.
    pub fn key_file_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".key");
        self.path.with_file_name(name)
    }

    /// The secret key, checked against the one earlier secrets were stored with. With `create`,
    /// a missing key file is created (used when a secret is about to be stored).
    pub fn secret_key(&self, create: bool) -> Result<SecretKey> {
        let key = match &self.passphrase {
            Some(p) => SecretKey::from_passphrase(p),
            None => self.key_from_file(create)?,
        };
        let check: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |r| {
                r.get(0)
            })
            .optional()?;
        match check {
            Some(sealed) => {
                key.open(&sealed)?;
            }
            None if create => {
                self.conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?1)",
                    [key.seal(CHECK_PLAIN)],
                )?;
            }
            None => {}
        }
        Ok(key)
    }

    fn key_from_file(&self, create: bool) -> Result<SecretKey> {
        let path = self.key_file_path();
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(SecretKey::from_hex(&text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                // Write a temporary file, then link it into place: the link fails if another
                // process won the race, and then its key is the one to use.
                let key = SecretKey::generate();
                let tmp = path.with_extension(format!("key.tmp{}", std::process::id()));
                let written = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)
                    .and_then(|mut f| {
                        f.write_all(key.to_hex().as_bytes())?;
                        f.sync_all()
                    })
                    .and_then(|()| std::fs::hard_link(&tmp, &path));
                let _ = std::fs::remove_file(&tmp);
                match written {
                    Ok(()) => Ok(key),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(&path).map_err(io)?;
                        Ok(SecretKey::from_hex(&text)?)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }
}
