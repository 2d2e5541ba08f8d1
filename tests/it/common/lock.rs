//! A real lock on a test database, held by this test process: to the `webnet` process under
//! test it is another process holding the write lock (SQLite's locks are per process).

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

/// Takes the database's write lock (`BEGIN EXCLUSIVE`; in WAL mode readers go on) before it
/// returns, and releases it once `held` has passed; join the handle to wait for that.
pub fn hold_write_lock(db: &Path, held: Duration) -> JoinHandle<()> {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    conn.execute_batch("BEGIN EXCLUSIVE")
        .expect("take the write lock");
    std::thread::spawn(move || {
        std::thread::sleep(held);
        conn.execute_batch("COMMIT")
            .expect("release the write lock");
    })
}
