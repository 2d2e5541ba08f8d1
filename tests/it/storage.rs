//! Storage faults: a full disk and a read-only database. A clear message and a non-zero exit;
//! nothing recorded is lost or corrupted; work resumes when space returns. These need to mount
//! a small tmpfs (root); elsewhere they say SKIPPED.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Env;

/// A small tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            crate::skipped!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

fn events(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"customer\": 1, \"event_type\": \"job.completed\", \"event_id\": {i}, \"job\": {{\"pad\": \"{}\"}}}}\n", "x".repeat(200)))
        .collect()
}

fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_full_disk_stops_recording_cleanly_and_work_resumes() {
    crate::sqlite_only!(
        "fills a tmpfs holding the SQLite file; a server's disk is not ours to fill"
    );
    let mut env = Env::new();
    let Some(fs) = Tmpfs::mount(&env.dir.path().join("small"), "1m") else {
        return;
    };
    env.db = fs.0.join("webhooks.db");
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &[]);
    let out = env.run_stdin(&["emit", "--queue"], &events(20_000));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("disk holding the database is full"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    // Everything emit reported as recorded is there, and nothing else.
    let reported = out.json_lines().len() as i64;
    assert!(reported > 0);
    fs.remount("size=32m");
    assert_eq!(count(&env.db, "events"), reported);
    assert_eq!(count(&env.db, "deliveries"), reported);
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    // With space back, the same input is recorded in full.
    let again = env.run_stdin(&["emit", "--queue"], &events(2_000)).ok();
    assert_eq!(again.json_lines().len(), 2_000);
    assert_eq!(count(&env.db, "events"), reported + 2_000);
}

/// Sets whether new sessions on the test's PostgreSQL database are read-only (as on a hot
/// standby), from the admin connection.
fn pg_read_only(env: &Env, on: bool) {
    let db = env.pg.as_ref().expect("a PostgreSQL run");
    let admin = common::pg::admin_url().expect("WEBNET_TEST_PG");
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    let sql = if on {
        format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            db.name
        )
    } else {
        format!(
            "ALTER DATABASE {} RESET default_transaction_read_only",
            db.name
        )
    };
    c.batch_execute(&sql).unwrap();
}

#[test]
fn a_read_only_postgres_database_serves_reads_and_refuses_writes() {
    let env = Env::new();
    if env.pg.is_none() {
        crate::skipped!("SKIPPED on SQLite: a_read_only_database_… is the same check there");
        return;
    }
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    pg_read_only(&env, true);
    let before = env.dump();
    let list = env.run(&["webhooks", "list"]).ok().json();
    assert_eq!(list[0]["name"], "a");
    assert_eq!(
        env.run(&["deliveries", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for args in [
        vec!["customers", "create", "globex"],
        vec!["webhooks", "disable", "1"],
        vec!["emit", "job.completed", "--customer", "1"],
        vec!["drain"],
    ] {
        env.run(&args).fails(1, "read-only");
    }
    assert_eq!(env.dump(), before, "nothing changed");
    pg_read_only(&env, false);
    assert_eq!(
        env.run(&["drain"]).ok().json()["attempted"],
        1,
        "the queued delivery is still there"
    );
}

#[test]
fn a_read_only_database_serves_reads_and_refuses_writes() {
    crate::sqlite_only!("a SQLite file on a read-only tmpfs; a_read_only_postgres_… on PostgreSQL");
    let mut env = Env::new();
    let Some(fs) = Tmpfs::mount(&env.dir.path().join("ro"), "8m") else {
        return;
    };
    env.db = fs.0.join("webhooks.db");
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    fs.remount("ro");
    let list = env.run(&["webhooks", "list"]).ok().json();
    assert_eq!(list[0]["name"], "a");
    assert_eq!(
        env.run(&["deliveries", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for args in [
        vec!["customers", "create", "globex"],
        vec!["webhooks", "disable", "1"],
        vec!["emit", "job.completed", "--customer", "1"],
        vec!["drain"],
    ] {
        env.run(&args).fails(1, "read-only");
    }
    fs.remount("rw");
    assert_eq!(
        env.run(&["drain"]).ok().json()["attempted"],
        1,
        "the queued delivery is still there"
    );
}
