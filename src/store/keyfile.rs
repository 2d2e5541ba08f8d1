//! The secret key's files, shared by both backends: a key file holds 64 hex digits (mode 0600),
//! written whole to a temporary file and flushed before it is linked or renamed into place.
//! A check value (`CHECK_PLAIN` sealed under the key) in the database's `meta` says whether a
//! key is the one its secrets were sealed with.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{Result, StoreError};
use crate::domain::secret::SecretKey;

/// What `meta.key_check` holds, sealed under the key.
pub(in crate::store) const CHECK_PLAIN: &[u8] = b"webnet key check";

/// Where a key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Source {
    Passphrase,
    File,
    /// `<key file>.new`: a rotation committed but was interrupted before renaming it into place.
    Pending,
}

impl Source {
    /// As `meta.key_source` records it.
    pub(in crate::store) fn stored(self) -> &'static str {
        match self {
            Source::Passphrase => "passphrase",
            Source::File | Source::Pending => "file",
        }
    }
}

/// `<path>.<suffix>`, beside `path`.
pub(in crate::store) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// A key file's contents: `None` when there is no file, `Some(None)` when it is malformed
/// (not hex, or not text at all).
pub(in crate::store) fn read_key_file(path: &Path) -> Result<Option<Option<SecretKey>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| SecretKey::from_hex(text).ok()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        // "Is a directory (os error 21)" would not say what was looked for there.
        Err(e) if e.kind() == std::io::ErrorKind::IsADirectory => Err(StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(e.kind(), "is a directory where the key file should be"),
        }),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

pub(in crate::store) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `key` to a new file `tmp` (mode 0600) and flushes it to disk. A folder that does not
/// exist is said as such (not as the temporary file's name): the key file is never written
/// into a folder webnet made up.
pub(in crate::store) fn write_tmp(tmp: &Path, key: &SecretKey) -> Result<()> {
    let _ = std::fs::remove_file(tmp);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .and_then(|mut f| {
            f.write_all(key.to_hex().as_bytes())?;
            f.sync_all()
        })
        .map_err(|e| match tmp.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Said of the folder, not of the temporary file's name.
            Some(dir)
                if e.kind() == std::io::ErrorKind::NotFound
                    && std::fs::metadata(dir)
                        .is_err_and(|m| m.kind() == std::io::ErrorKind::NotFound) =>
            {
                StoreError::Io {
                    path: dir.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!(
                            "the key file's folder does not exist; create it first (mkdir -m 700 {})",
                            dir.display()
                        ),
                    ),
                }
            }
            _ => io_error(tmp)(e),
        })
}

/// Flushes a folder's entries (a rename or a new file) to disk.
pub(in crate::store) fn sync_dir(file: &Path) {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
}

/// Whether `key` opens the check value `check`.
pub(in crate::store) fn opens(key: &SecretKey, check: &[u8]) -> bool {
    key.open(check).is_ok()
}

/// Whether the key file at `path` (when there is one, well formed) opens `check`.
pub(in crate::store) fn file_opens(path: &Path, check: &[u8]) -> bool {
    matches!(read_key_file(path), Ok(Some(Some(k))) if opens(&k, check))
}
