//! This process's own handle on each database file, shared by all its connections to that
//! file and closed with the last of them. POSIX record locks belong to the process, not the
//! descriptor: closing any descriptor of a file releases every lock the process holds on it,
//! SQLite's included. A process with several connections open (the server's pool, a drain's
//! engine) that closed one connection's own handle would leave the others unprotected: another
//! process finishing would then checkpoint and reset the WAL, and a connection still open here
//! would go on reading its old snapshot. So a file is opened once per process while any
//! connection to it is open (found again by device and inode, without opening it), and every
//! connection holds the same `Arc<File>`.
//!
//! (The flock that serializes migrations and key rotations is per open file, so connections
//! of one process share it: they never migrate at the same time anyway — a server opens its
//! connections one at a time.)

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

/// Open files by (device, inode), and whether each was opened read-only.
type Open = HashMap<(u64, u64), (Weak<File>, bool)>;

static HANDLES: Mutex<Option<Open>> = Mutex::new(None);

/// The handle this process already has on the file at `path`, if a connection to it is open:
/// `(file, read_only)`.
pub fn existing(path: &Path) -> Option<(Arc<File>, bool)> {
    let meta = std::fs::metadata(path).ok()?;
    let guard = HANDLES.lock().ok()?;
    let (weak, read_only) = guard.as_ref()?.get(&(meta.dev(), meta.ino()))?;
    Some((weak.upgrade()?, *read_only))
}

/// A newly opened handle, shared from now on.
pub fn register(file: File, read_only: bool) -> Arc<File> {
    let file = Arc::new(file);
    if let (Ok(meta), Ok(mut guard)) = (file.metadata(), HANDLES.lock()) {
        let map = guard.get_or_insert_with(HashMap::new);
        // Entries of closed files are dropped as new ones come.
        map.retain(|_, (w, _)| w.strong_count() > 0);
        map.insert((meta.dev(), meta.ino()), (Arc::downgrade(&file), read_only));
    }
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_opened_once_while_any_connection_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        assert!(existing(&path).is_none());
        let a = register(File::create(&path).unwrap(), false);
        let (b, read_only) = existing(&path).expect("found again");
        assert!(Arc::ptr_eq(&a, &b) && !read_only);
        drop(a);
        assert!(existing(&path).is_some(), "b still holds it");
        drop(b);
        assert!(existing(&path).is_none(), "closed with the last");
    }
}
