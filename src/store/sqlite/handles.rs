//! This process's own handles on its database files, held until the last connection to a
//! file closes. POSIX record locks belong to the process, not the descriptor: closing any
//! descriptor of a file releases every lock the process holds on it, SQLite's included. A
//! process with two connections open (the server's pool, a drain's engine) that closed one
//! connection's handle would leave the other unprotected: another process finishing then
//! checkpoints and resets the WAL, and the connection still open here goes on reading its old
//! snapshot. So a handle given back while other connections to the same file are open is kept
//! here, and all of them are closed with the last.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;

#[derive(Default)]
struct Held {
    open: usize,
    kept: Vec<File>,
}

static HANDLES: Mutex<Option<HashMap<(u64, u64), Held>>> = Mutex::new(None);

fn key(file: &File) -> Option<(u64, u64)> {
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// A connection to `file`'s database opened: counted until [`closing`].
pub fn opened(file: File) -> File {
    if let (Some(k), Ok(mut map)) = (key(&file), HANDLES.lock()) {
        map.get_or_insert_with(HashMap::new)
            .entry(k)
            .or_default()
            .open += 1;
    }
    file
}

/// A connection to `file`'s database closed: the handle is kept while others are open, and
/// closed with every kept one after the last.
pub fn closing(file: File) {
    let Some(k) = key(&file) else { return };
    let Ok(mut guard) = HANDLES.lock() else {
        return;
    };
    let map = guard.get_or_insert_with(HashMap::new);
    let Some(held) = map.get_mut(&k) else { return };
    held.open = held.open.saturating_sub(1);
    if held.open > 0 {
        held.kept.push(file);
    } else {
        // The last one: every handle (this and the kept) closes as the entry goes.
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_kept_until_the_last_connection_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        let open = || opened(File::create(&path).unwrap());
        let (a, b) = (open(), open());
        let k = key(&a).unwrap();
        let count = || {
            HANDLES
                .lock()
                .unwrap()
                .as_ref()
                .and_then(|m| m.get(&k).map(|h| (h.open, h.kept.len())))
        };
        closing(a);
        assert_eq!(count(), Some((1, 1)), "kept while b is open");
        closing(b);
        assert_eq!(count(), None, "all closed with the last");
    }
}
