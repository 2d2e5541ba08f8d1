//! The database file: where it is created, how, and which files are refused untouched.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{bin, Env};

#[test]
fn created_on_first_use_with_wal_and_migrations() {
    let env = Env::new();
    let nested = env.dir.path().join("a/b/hooks.db");
    let out = env
        .run(&["--db", nested.to_str().unwrap(), "customers", "list"])
        .ok();
    assert_eq!(out.json(), serde_json::json!([]));
    assert!(nested.exists());
    assert_eq!(
        std::fs::metadata(&nested).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let conn = rusqlite::Connection::open(&nested).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version >= 1);
    for table in ["customers", "webhooks", "events", "deliveries", "attempts"] {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "table {table}");
    }
}

#[test]
fn default_path_follows_xdg_then_home() {
    let env = Env::new();
    let xdg = env.dir.path().join("xdg");
    let home = env.dir.path().join("home");
    let mut c = env.cmd();
    c.env_remove("WEBNET_DB")
        .env("XDG_DATA_HOME", &xdg)
        .env("HOME", &home);
    assert!(c
        .args(["customers", "create", "acme"])
        .status()
        .unwrap()
        .success());
    assert!(xdg.join("webnet/webhooks.db").exists());

    let mut c = env.cmd();
    c.env_remove("WEBNET_DB")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", &home);
    assert!(c
        .args(["customers", "create", "acme"])
        .status()
        .unwrap()
        .success());
    assert!(home.join(".local/share/webnet/webhooks.db").exists());
}

#[test]
fn a_file_that_is_not_ours_is_refused_and_untouched() {
    let env = Env::new();
    let text = env.dir.path().join("notes.txt");
    std::fs::write(&text, "just some notes, not a database\n").unwrap();
    let before = std::fs::read(&text).unwrap();
    env.run(&["--db", text.to_str().unwrap(), "webhooks", "list"])
        .fails(2, "not a webnet database");
    assert_eq!(std::fs::read(&text).unwrap(), before);

    // Another program's SQLite database.
    let other = env.dir.path().join("other.db");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x');")
            .unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    env.run(&[
        "--db",
        other.to_str().unwrap(),
        "customers",
        "create",
        "acme",
    ])
    .fails(2, "not a webnet database");
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

#[test]
fn a_database_from_a_newer_webnet_is_refused_and_untouched() {
    let env = Env::new();
    env.customer("acme");
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        conn.execute_batch("PRAGMA user_version = 999;").unwrap();
    }
    let before = env.dump();
    let bytes = std::fs::read(&env.db).unwrap();
    env.run(&["customers", "create", "globex"])
        .fails(1, "newer webnet");
    assert_eq!(env.dump(), before);
    assert_eq!(std::fs::read(&env.db).unwrap(), bytes);
}

#[test]
fn many_first_runs_at_once_agree_on_the_schema() {
    let env = Env::new();
    let children: Vec<_> = (0..8)
        .map(|i| {
            env.cmd()
                .args(["customers", "create", &format!("c{i}")])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let list = env.run(&["customers", "list"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 8);
}

#[test]
fn help_and_version_exit_0() {
    let out = std::process::Command::new(bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("webnet "));
    let out = std::process::Command::new(bin())
        .args(["webhooks", "create", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--retry-backoff"));
}
