//! The database file: where it is created, how, and which files are refused untouched.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::{bin, Env};

#[test]
fn created_on_first_use_with_wal_and_migrations() {
    let env = Env::new();
    let nested = env.dir.path().join("a/b/hooks.db");
    let out = env
        .run(&[
            "--db",
            nested.to_str().unwrap(),
            "customers",
            "create",
            "acme",
        ])
        .ok();
    assert_eq!(out.json()["id"], 1);
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
    for table in [
        "customers",
        "webhooks",
        "events",
        "deliveries",
        "attempts",
        "allowed_targets",
    ] {
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
    match &env.pg {
        // PostgreSQL records each schema version applied.
        Some(_) => env.exec("INSERT INTO schema_migrations (version) VALUES (999)"),
        None => {
            let conn = rusqlite::Connection::open(&env.db).unwrap();
            conn.execute_batch("PRAGMA user_version = 999;").unwrap();
        }
    }
    let before = env.dump();
    let bytes = std::fs::read(&env.db).ok();
    for args in [
        &["customers", "create", "globex"][..],
        &["customers", "list"],
        &["drain"],
    ] {
        env.run(args).fails(1, "newer webnet");
    }
    assert_eq!(env.dump(), before);
    assert_eq!(std::fs::read(&env.db).ok(), bytes);
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

/// Everything under `dir`, as relative paths, to prove a command created nothing.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn commands_that_only_read_or_deliver_refuse_a_database_that_does_not_exist() {
    let env = Env::new();
    let before = tree(env.dir.path());
    for db in [env.db.clone(), env.dir.path().join("typo/dir/hooks.db")] {
        let db_arg = db.to_str().unwrap();
        for args in [
            &["drain"][..],
            &["drain", "--watch", "--max-time", "1s"],
            &["emit", "job.completed", "--customer", "1"],
            &["deliveries", "list"],
            &["deliveries", "show", "1"],
            &["deliveries", "retry", "--failed"],
            &["webhooks", "list"],
            &["webhooks", "show", "1"],
            &["webhooks", "test", "1"],
            &["webhooks", "update", "1", "--name", "x"],
            &["webhooks", "delete", "1", "--yes"],
            &["customers", "list"],
            &["stats"],
            &["targets", "list"],
            &["targets", "remove", "10.0.0.0/8"],
        ] {
            let mut full = vec!["--db", db_arg];
            full.extend(args);
            let out = env.run(&full).fails(1, "no webnet database at");
            assert!(
                out.stderr.contains(db_arg) && out.stderr.contains("webnet customers create"),
                "{args:?}: names the path and how to create one: {}",
                out.stderr
            );
        }
        let out = env.run_stdin(
            &["--db", db_arg, "emit"],
            "{\"customer\": 1, \"event_type\": \"job.completed\", \"job\": {}}\n",
        );
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("no webnet database at"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(tree(env.dir.path()), before, "no file, folder or key file");
}

#[test]
fn creating_commands_create_the_database() {
    for args in [
        &["customers", "create", "acme"][..],
        &["targets", "allow", "10.20.0.0/16"],
    ] {
        let env = Env::new();
        env.run(args).ok();
        match &env.pg {
            Some(_) => assert!(
                env.count("SELECT count(*) FROM schema_migrations", &[]) >= 1,
                "{args:?}: the schema is made"
            ),
            None => assert!(env.db.exists(), "{args:?}"),
        }
        env.run(&["drain"]).ok();
    }
}

/// A loopback port nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn a_postgres_url_that_cannot_be_reached_is_named_without_its_password_and_nothing_on_disk() {
    let env = Env::new();
    let before = tree(env.dir.path());
    let port = closed_port();
    let refused = format!("postgres://user:hunter2@127.0.0.1:{port}/webnet");
    for (url, at) in [
        // `.invalid` never resolves (RFC 6761).
        (
            "postgres://user:hunter2@db.webnet.invalid:5432/webnet",
            "db.webnet.invalid:5432".to_string(),
        ),
        (
            "postgresql://user:hunter2@db.webnet.invalid/webnet?sslmode=require",
            "db.webnet.invalid:5432".to_string(),
        ),
        (refused.as_str(), format!("127.0.0.1:{port}")),
    ] {
        for (how, out) in [
            (
                "--db",
                Out::run_in(
                    env.dir.path(),
                    &["--db", url, "customers", "create", "acme"],
                    None,
                ),
            ),
            (
                "WEBNET_DB",
                Out::run_in(env.dir.path(), &["drain"], Some(url)),
            ),
        ] {
            assert_eq!(out.code, 1, "{how} {url}: {}", out.stderr);
            assert!(
                out.stderr.starts_with("error: ")
                    && out.stderr.trim_end().lines().count() == 1
                    && out.stderr.contains("PostgreSQL")
                    && out.stderr.contains(&at)
                    && out.stderr.contains("\"webnet\""),
                "{how} {url}: one line naming host, port and database: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("hunter2"), "{how}: {}", out.stderr);
            assert!(out.stdout.is_empty());
        }
    }
    assert_eq!(
        tree(env.dir.path()),
        before,
        "no folder named after the URL, no key file"
    );
}

#[test]
fn a_url_of_another_scheme_as_db_is_refused_before_touching_the_disk() {
    let env = Env::new();
    let before = tree(env.dir.path());
    for url in [
        "mysql://root:hunter2@localhost/webnet",
        "file:///tmp/webnet.db",
        "https://user:hunter2@example.com/hooks.db?password=hunter2",
    ] {
        for (how, out) in [
            (
                "--db",
                Out::run_in(
                    env.dir.path(),
                    &["--db", url, "customers", "create", "acme"],
                    None,
                ),
            ),
            (
                "WEBNET_DB",
                Out::run_in(env.dir.path(), &["drain"], Some(url)),
            ),
        ] {
            assert_eq!(out.code, 2, "{how} {url}: {}", out.stderr);
            assert!(
                out.stderr.starts_with("error: --db: ")
                    && out.stderr.contains("is a URL")
                    && out.stderr.contains("postgres://"),
                "{how} {url}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("hunter2"), "{how}: {}", out.stderr);
            assert!(out.stdout.is_empty());
        }
    }
    assert_eq!(
        tree(env.dir.path()),
        before,
        "no folder named after the URL"
    );
}

/// A PostgreSQL URL a slash short (or with none) is refused the same way, showing only its
/// scheme: it used to be echoed whole, password and all, and made into folders by `create`.
#[test]
fn a_postgres_url_missing_its_slashes_is_refused_without_its_password() {
    let env = Env::new();
    let before = tree(env.dir.path());
    for url in [
        "postgresql:/wn:hunter2@127.0.0.1:5432/trial1",
        "postgres:wn:hunter2@127.0.0.1/trial1",
        "POSTGRES:/wn:hunter2@db/x",
    ] {
        for args in [
            &["--db", url, "customers", "create", "acme"][..],
            &["--db", url, "db", "check"],
        ] {
            let out = Out::run_in(env.dir.path(), args, None);
            assert_eq!(out.code, 2, "{url}: {}", out.stderr);
            assert!(
                out.stderr.starts_with("error: --db: a value beginning \"")
                    && out.stderr.contains("write postgres://USER"),
                "{url}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("hunter2"), "{url}: {}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        }
    }
    assert_eq!(tree(env.dir.path()), before, "nothing made on disk");
}

#[test]
fn a_db_url_password_with_odd_characters_is_hidden_too() {
    let env = Env::new();
    let before = tree(env.dir.path());
    for (url, password, shown) in [
        // A URL parser ends the user info at the first `/` or `?`: the password is still hidden.
        (
            "postgres://app:pa/ss@db/x",
            "pa/ss",
            "postgres://app:***@db/x",
        ),
        (
            "postgres://app:p?ss@db/x",
            "app:p",
            "postgres://app:***@db/x",
        ),
        (
            "postgres://app:p#ss@db/x?password=secret",
            "ss@",
            "postgres://app:***@db/x?***",
        ),
        // A password in the query is hidden with the query.
        (
            "postgres://db.webnet.invalid/x?password=secret",
            "secret",
            "postgres://db.webnet.invalid/x?***",
        ),
        (
            "postgres://app@db.webnet.invalid/x?password=secret",
            "secret",
            "postgres://app@db.webnet.invalid/x?***",
        ),
    ] {
        let out = Out::run_in(env.dir.path(), &["--db", url, "drain"], None);
        assert_eq!(out.code, 2, "{url}: {}", out.stderr);
        assert!(
            out.stderr.starts_with("error: --db: ") && out.stderr.trim_end().lines().count() == 1,
            "{url}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains(password), "{url}: {}", out.stderr);
        assert!(!out.stderr.contains("secret"), "{url}: {}", out.stderr);
        assert!(out.stderr.contains(shown), "{url}: {}", out.stderr);
    }
    // No user in the URL nor in PGUSER (which would do, as with psql): both ways are named.
    let out = Out::run_in(
        env.dir.path(),
        &["--db", "postgres://db.webnet.invalid/x", "drain"],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no user name") && out.stderr.contains("PGUSER"),
        "{}",
        out.stderr
    );
    assert_eq!(tree(env.dir.path()), before, "nothing on disk");
}

#[test]
fn a_sqlite_uri_or_an_empty_db_is_refused_before_touching_the_disk() {
    let env = Env::new();
    let before = tree(env.dir.path());
    let abs = format!("file:{}/x/y.db?mode=rwc", env.dir.path().display());
    for uri in [
        abs.as_str(),
        "file:x.db",
        "file:hooks.db?mode=ro",
        "FILE:x.db",
    ] {
        for args in [&["customers", "create", "acme"][..], &["customers", "list"]] {
            for (how, out) in [
                ("--db", {
                    let mut full = vec!["--db", uri];
                    full.extend(args);
                    Out::run_in(env.dir.path(), &full, None)
                }),
                ("WEBNET_DB", Out::run_in(env.dir.path(), args, Some(uri))),
            ] {
                assert_eq!(out.code, 2, "{how} {uri} {args:?}: {}", out.stderr);
                assert!(
                    out.stderr.starts_with("error: --db: ")
                        && out.stderr.contains("is a SQLite URI; give a plain path"),
                    "{how} {uri}: {}",
                    out.stderr
                );
                assert!(out.stdout.is_empty());
            }
        }
    }
    assert_eq!(
        tree(env.dir.path()),
        before,
        "no file and no folder named file:"
    );
    let out = Out::run_in(env.dir.path(), &["--db", "", "customers", "list"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr, "error: --db: empty; give a file path\n");
    // A file whose name starts with file: can still be named as a path.
    let out = Out::run_in(
        env.dir.path(),
        &["--db", "./file:x.db", "customers", "create", "acme"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(env.dir.path().join("file:x.db").is_file());
}

#[test]
fn a_directory_as_db_is_named_as_such() {
    let env = Env::new();
    let dir = env.dir.path().join("some/dir");
    std::fs::create_dir_all(&dir).unwrap();
    let dir_arg = dir.to_str().unwrap();
    for args in [
        &["customers", "list"][..],
        &["customers", "create", "acme"],
        &["drain"],
    ] {
        let mut full = vec!["--db", dir_arg];
        full.extend(args);
        env.run(&full).fails(
            2,
            &format!("error: --db: {dir_arg} is a directory, not a database file"),
        );
    }
    assert_eq!(tree(&dir), Vec::<String>::new(), "nothing made inside it");
}

#[test]
fn an_empty_database_is_not_given_a_schema_by_commands_that_only_read() {
    let env = Env::new();
    let Some(db) = &env.pg else {
        crate::skipped!("SKIPPED on SQLite: an_empty_file_… is the same check there");
        return;
    };
    let read_only = [
        &["customers", "list"][..],
        &["webhooks", "list"],
        &["deliveries", "list"],
        &["drain"],
        &["stats"],
    ];
    for args in read_only {
        let out = env.run(args).fails(1, "no webnet schema in").stderr;
        assert!(
            out.contains(&db.name) && out.contains("webnet db migrate"),
            "{args:?}: names the database and what to run: {out}"
        );
    }
    assert_eq!(
        env.count(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'webnet'",
            &[]
        ),
        0,
        "no schema made"
    );
    assert!(!env.key_file().exists(), "no key file");
    env.run(&["customers", "create", "acme"]).ok();
    for args in read_only {
        env.run(args).ok();
    }
}

#[test]
fn an_empty_file_is_not_turned_into_a_database_by_commands_that_only_read() {
    crate::sqlite_only!("an empty SQLite file; an_empty_database_… is the same on PostgreSQL");
    let env = Env::new();
    std::fs::write(&env.db, b"").unwrap();
    for args in [
        &["customers", "list"][..],
        &["webhooks", "list"],
        &["deliveries", "list"],
        &["drain"],
        &["stats"],
    ] {
        env.run(args).fails(1, "no webnet database at");
        assert_eq!(std::fs::metadata(&env.db).unwrap().len(), 0, "{args:?}");
    }
    assert_eq!(
        tree(env.dir.path()),
        vec!["webhooks.db".to_string()],
        "no WAL, shared-memory or key file"
    );
    // A creating command makes the empty file a database, as it would a missing one.
    env.run(&["customers", "create", "acme"]).ok();
    env.run(&["customers", "list"]).ok();
}

/// A run of the binary in `cwd` (where a URL taken as a relative path would land).
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn run_in(cwd: &std::path::Path, args: &[&str], db_env: Option<&str>) -> Out {
        let mut c = std::process::Command::new(bin());
        for (k, _) in std::env::vars() {
            // Nor the caller's PGUSER/PGPASSWORD: a URL without a user or password is
            // judged as written.
            if k.starts_with("WEBNET_") || k.starts_with("PG") {
                c.env_remove(k);
            }
        }
        if let Some(db) = db_env {
            c.env("WEBNET_DB", db);
        }
        let o = c
            .current_dir(cwd)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A database edited by hand (or damaged): the row that does not decode is named, with the
/// value, and the command fails (exit 1); nothing is sent on a guess. A drain sends everything
/// else first: one such row does not hold up the queue.
mod corrupt_rows {
    use super::common::receiver::{Receiver, Reply};
    use super::Env;

    /// A customer, a webhook on a loopback receiver with a credential header, and one
    /// delivery recorded but not sent.
    fn recorded(rx: &Receiver) -> Env {
        let env = Env::new();
        env.customer("acme");
        env.local_webhook(
            1,
            "a",
            &rx.url("/"),
            &["--header", "Authorization: Bearer tok"],
        );
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
        env
    }

    fn edit(env: &Env, sql: &str) {
        // The schema's CHECK on status would refuse the edit a damaged database can hold.
        match &env.pg {
            Some(db) => {
                let mut c = db.client();
                c.batch_execute(
                    "SET search_path TO webnet;
                     ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_status_check",
                )
                .unwrap();
                assert_eq!(c.execute(sql, &[]).unwrap(), 1);
            }
            None => {
                let conn = rusqlite::Connection::open(&env.db).unwrap();
                conn.pragma_update(None, "ignore_check_constraints", true)
                    .unwrap();
                assert_eq!(conn.execute(sql, []).unwrap(), 1);
            }
        }
    }

    #[test]
    fn an_unknown_status_is_reported_not_taken_for_pending_or_failed() {
        let rx = Receiver::ok();
        let env = recorded(&rx);
        edit(&env, "UPDATE deliveries SET status = 'bogus' WHERE id = 1");
        let message = r#"deliveries row 1: status "bogus" is not a status"#;
        env.run(&["deliveries", "list"]).fails(1, message);
        env.run(&["deliveries", "show", "1"]).fails(1, message);
        drain_passes_over(
            &env,
            &format!("delivery 1 not sent: its stored row cannot be read ({message})"),
        );
        assert_eq!(
            rx.count(),
            0,
            "nothing is sent for a row that does not decode"
        );
    }

    #[test]
    fn corrupt_headers_are_reported_never_sent_as_none() {
        let rx = Receiver::ok();
        let env = recorded(&rx);
        edit(
            &env,
            "UPDATE webhooks SET headers = '{not json' WHERE id = 1",
        );
        let message = "webhooks row 1: headers is not a JSON object";
        env.run(&["webhooks", "list"]).fails(1, message);
        env.run(&["webhooks", "show", "1"]).fails(1, message);
        // The delivery would have gone out without its Authorization header.
        drain_passes_over(&env, message);
        assert_eq!(rx.count(), 0, "nothing is sent without its headers");
    }

    /// A stored URL that no longer reads is named without what may be its token.
    #[test]
    fn a_damaged_url_is_reported_without_its_token() {
        let rx = Receiver::ok();
        let env = recorded(&rx);
        edit(
            &env,
            "UPDATE webhooks SET url = 'ftp://chat.example.com/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw' WHERE id = 1",
        );
        for args in [&["webhooks", "list"][..], &["webhooks", "show", "1"]] {
            let out = env.run(args).fails(
                1,
                "webhooks row 1: url: \"ftp://chat.example.com/…\" is not http or https",
            );
            assert!(!out.stderr.contains("xk7b3oq9"), "{}", out.stderr);
        }
    }

    /// The way out for a webhook damaged beyond reading: `delete` needs only its id, customer
    /// and name; its waiting deliveries end failed, and lists work again.
    #[test]
    fn a_damaged_webhook_can_still_be_deleted() {
        let rx = Receiver::ok();
        let env = recorded(&rx);
        edit(
            &env,
            "UPDATE webhooks SET headers = '{not json' WHERE id = 1",
        );
        env.run(&["webhooks", "list"])
            .fails(1, "webhooks row 1: headers is not a JSON object");
        // Another customer's token or pin still cannot see it.
        env.customer("globex");
        env.run(&["--customer", "2", "webhooks", "delete", "1", "--yes"])
            .fails(1, "not found");
        let out = env.run(&["webhooks", "delete", "1", "--yes"]).ok();
        assert_eq!(out.json()["deleted"], true, "{}", out.stdout);
        let table = env
            .run(&["--output", "table", "webhooks", "delete", "1", "--yes"])
            .fails(1, "not found");
        assert!(table.stdout.is_empty());
        assert_eq!(
            env.run(&["webhooks", "list"]).ok().json(),
            serde_json::json!([])
        );
        let d = env.delivery(1);
        assert_eq!(
            (d["status"].as_str(), d["error_message"].as_str()),
            (Some("failed"), Some("Webhook was deleted"))
        );
        env.run(&["drain"]).ok();
        assert_eq!(rx.count(), 0);
    }

    /// A drain that met unreadable rows: it says which, with `needle`, sends the rest, and
    /// ends with exit 1 and a last line saying how many were not sent.
    #[track_caller]
    fn drain_passes_over(env: &Env, needle: &str) {
        let out = env.run_local(&["drain"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "stderr should mention {needle:?}: {}",
            out.stderr
        );
        let last = out.stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: ")
                && last.contains("not sent: their stored rows cannot be read"),
            "{}",
            out.stderr
        );
    }

    /// How long from now delivery `id` is leased (ms).
    fn held_for(env: &Env, id: i64) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        env.count(
            &format!(
                "SELECT lease_until - {now} FROM {} WHERE delivery_id = {id}",
                env.leases()
            ),
            &[],
        )
    }

    /// Gives back every lease at once, as their running out would (an unreadable row is held
    /// for 5 minutes).
    fn leases_run_out(env: &Env) {
        env.exec(match &env.pg {
            Some(_) => "UPDATE queue SET lease_until = NULL, lease_owner = NULL",
            None => "UPDATE deliveries SET lease_until = NULL, lease_owner = NULL",
        });
    }

    #[test]
    fn one_unreadable_delivery_does_not_hold_up_the_queue() {
        let rx = Receiver::ok();
        let env = recorded(&rx);
        for _ in 0..2 {
            env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
                .ok();
        }
        edit(
            &env,
            "UPDATE deliveries SET event_type = 'job.exploded' WHERE id = 2",
        );
        drain_passes_over(
            &env,
            r#"delivery 2 not sent: its stored row cannot be read (deliveries row 2: event_type "job.exploded" is not an event type); held for 5m, then tried again"#,
        );
        assert_eq!(rx.count(), 2, "the deliveries before and after it went out");
        for id in [1, 3] {
            assert_eq!(env.delivery(id)["status"], "success");
        }
        // It stays queued, held for 5 minutes (a lease of its own, whatever the webhook's
        // timeout): the next runs pass over it rather than stall on it again.
        let held = held_for(&env, 2);
        assert!(
            (280_000..=300_000).contains(&held),
            "held for 5 minutes: {held} ms"
        );
        let out = env.run_local(&["drain"]).ok();
        assert!(!out.stderr.contains("delivery 2"), "{}", out.stderr);
        // Repaired, it goes out once its hold has run out: nothing was lost.
        edit(
            &env,
            "UPDATE deliveries SET event_type = 'job.completed' WHERE id = 2",
        );
        leases_run_out(&env);
        env.run_local(&["drain"]).ok();
        assert_eq!(rx.count(), 3);
        assert_eq!(env.delivery(2)["status"], "success");
    }

    /// Damage only SQLite can hold: a value of another type in a column (PostgreSQL's typed
    /// columns refuse the edit: there a damaged row is a value of the right type that does not
    /// decode, above), and an event row deleted with foreign keys turned off (PostgreSQL's stay
    /// on). Each delivery is reported, the other one sent.
    #[test]
    fn damage_only_sqlite_can_hold_is_an_unreadable_row() {
        for (damage, why) in [
            (
                "UPDATE deliveries SET attempts = 'many' WHERE id = 1",
                "deliveries row 1: attempts is stored as Text",
            ),
            (
                "PRAGMA foreign_keys = OFF; DELETE FROM events WHERE id = 1",
                "deliveries row 1: its event is missing",
            ),
        ] {
            let rx = Receiver::ok();
            let env = recorded(&rx);
            if env.pg.is_some() {
                eprintln!(
                    "SKIPPED on PostgreSQL: its typed columns and foreign keys refuse the damage"
                );
                return;
            }
            env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
                .ok();
            env.exec(damage);
            drain_passes_over(
                &env,
                &format!("delivery 1 not sent: its stored row cannot be read ({why})"),
            );
            assert_eq!(rx.count(), 1, "the other delivery went out");
        }
    }

    /// A child process ended (by its PID) when the test ends, even if it fails first.
    struct Running(std::process::Child);

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// A timeout edited out of range made the lease end before it began: the row was claimed
    /// again at once, for ever. It is held like any unreadable row, reported once per hold, and
    /// a service stopped by SIGTERM still exits 0.
    #[test]
    fn a_watching_drain_reports_an_unreadable_row_once_and_stops_cleanly() {
        use std::io::Read;
        let rx = Receiver::ok();
        let other = Receiver::ok();
        let env = recorded(&rx);
        env.local_webhook(1, "b", &other.url("/"), &[]);
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
        edit(
            &env,
            "UPDATE webhooks SET timeout_seconds = -10 WHERE id = 1",
        );
        let mut drain = Running(
            env.cmd()
                .env("WEBNET_ALLOW_PRIVATE_TARGETS", "1")
                .args(["drain", "--watch"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let drain = &mut drain.0;
        // Read as it comes: a drain claiming the row again and again fills the pipe.
        let mut stderr = drain.stderr.take().unwrap();
        let reading = std::thread::spawn(move || {
            let mut err = String::new();
            let _ = stderr.read_to_string(&mut err);
            err
        });
        assert_eq!(
            other.wait_for(1, std::time::Duration::from_secs(15)).len(),
            1
        );
        // Time to claim them again, were they not held.
        std::thread::sleep(std::time::Duration::from_secs(1));
        let term = std::process::Command::new("kill")
            .args(["-TERM", &drain.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let status = loop {
            if let Some(status) = drain.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > end {
                let _ = drain.kill();
                let _ = drain.wait();
                panic!("drain --watch did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut out = String::new();
        drain
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let err = reading.join().unwrap();
        assert!(status.success(), "SIGTERM: exit 0\n{err}");
        let told = "2 deliveries not sent (1, 2): their stored rows cannot be read (webhooks row 1: timeout_seconds -10 is out of range); held for 5m, then tried again";
        assert_eq!(err.matches(told).count(), 1, "{err}");
        assert_eq!(rx.count(), 0);
        let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(summary["unreadable"], 2, "{out}");
    }

    /// `deliveries retry ID` of a row that cannot be read: named, exit 1, and given back as it
    /// was (a retry holds what it claims). On SQLite a secret stored as a number shows nowhere
    /// but when sending.
    #[test]
    fn a_retry_of_an_unreadable_row_names_it_and_changes_nothing() {
        let rx = Receiver::start(|_| Reply::status(500));
        let env = recorded(&rx);
        if env.pg.is_some() {
            eprintln!(
                "SKIPPED on PostgreSQL: its typed columns cannot hold a value of another type"
            );
            return;
        }
        env.run(&["webhooks", "update", "1", "--max-retries", "0"])
            .ok();
        env.run_local(&["drain"]).ok();
        assert_eq!(env.delivery(1)["status"], "failed");
        env.exec("UPDATE webhooks SET secret = 42 WHERE id = 1");
        let given_back = || {
            env.count(
                "SELECT count(*) FROM deliveries
                 WHERE id = 1 AND lease_owner IS NULL AND status = 'failed'",
                &[],
            )
        };
        env.run_local(&["deliveries", "retry", "1"])
            .fails(1, "webhooks row 1: secret is stored as Integer");
        assert_eq!(rx.count(), 1, "not sent again");
        assert_eq!(given_back(), 1, "its lease given back, still failed");
        let out = env.run_local(&["deliveries", "retry", "--failed"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("delivery 1 not sent: its stored row cannot be read (webhooks row 1: secret is stored as Integer); left unchanged")
                && out.stderr.contains("error: 1 delivery(ies) not retried"),
            "{}",
            out.stderr
        );
        assert_eq!(rx.count(), 1, "not sent again");
        assert_eq!(given_back(), 1);
    }

    #[test]
    fn an_unreadable_webhook_holds_up_only_its_own_deliveries() {
        let rx = Receiver::ok();
        let other = Receiver::ok();
        let env = recorded(&rx);
        for _ in 0..5 {
            env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
                .ok();
        }
        env.local_webhook(1, "b", &other.url("/"), &[]);
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
        edit(
            &env,
            "UPDATE webhooks SET headers = '{not json' WHERE id = 1",
        );
        // Claimed two at a time: the first batches hold nothing else, and the run goes on
        // past them to the other webhook's delivery (the last one queued).
        let out = env.run_local(&["drain", "--concurrency", "1"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(rx.count(), 0, "nothing is sent without its headers");
        assert_eq!(other.count(), 1, "the other webhook's delivery went out");
        assert!(
            out.stderr.contains(
                "their stored rows cannot be read (webhooks row 1: headers is not a JSON object"
            ),
            "{}",
            out.stderr
        );
        assert_eq!(out.json()["unreadable"], 7, "{}", out.stdout);
    }

    /// `emit` passes over a webhook whose subscription does not read (whether the event was its
    /// is unknown: nothing is recorded for it on a guess), says so once, and holds up no one
    /// else: the customer's other webhooks and another customer's events in the same input are
    /// recorded and delivered. (The whole batch used to fail: every customer's lines in it.)
    #[test]
    fn emit_passes_over_a_webhook_whose_subscription_does_not_read() {
        let rx = Receiver::ok();
        let other = Receiver::ok();
        let env = recorded(&rx);
        env.local_webhook(1, "b", &other.url("/b"), &[]);
        env.customer("globex");
        env.local_webhook(2, "c", &other.url("/c"), &[]);
        edit(
            &env,
            "UPDATE webhooks SET event_types = 'job.completed' WHERE id = 1",
        );
        let line = |c: i64| {
            format!(r#"{{"customer": {c}, "event_type": "job.completed", "job": {{"id": 1}}}}"#)
        };
        let emit = |input: &str| {
            env.run_stdin_env(&[("WEBNET_ALLOW_PRIVATE_TARGETS", "1")], &["emit"], input)
                .ok()
        };
        let hooks = |out: &super::common::Out| -> Vec<Vec<i64>> {
            out.json_lines()
                .iter()
                .map(|r| {
                    r["deliveries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d["webhook"].as_i64().unwrap())
                        .collect()
                })
                .collect()
        };
        let out = emit(&[line(1), line(2), line(1)].join("\n"));
        assert!(
            out.stderr.contains(
                "warning: line 1: webhook 1 was passed over: its stored row cannot be read \
                 (webhooks row 1: event_types is not a JSON array"
            ),
            "{}",
            out.stderr
        );
        assert_eq!(
            out.stderr.matches("passed over").count(),
            1,
            "said once a run: {}",
            out.stderr
        );
        assert_eq!(hooks(&out), [vec![2], vec![3], vec![2]]);
        assert_eq!(other.count(), 3, "the others' deliveries went out");
        assert_eq!(rx.count(), 0);
        // A valid array naming no event type is no better a guess.
        edit(
            &env,
            r#"UPDATE webhooks SET event_types = '["job.exploded"]' WHERE id = 1"#,
        );
        let out = emit(&line(1));
        assert!(
            out.stderr
                .contains(r#"(webhooks row 1: event_types: "job.exploded" is not an event type"#),
            "{}",
            out.stderr
        );
        assert_eq!(hooks(&out), [vec![2]]);
        // Repaired, it gets the next event.
        edit(
            &env,
            r#"UPDATE webhooks SET event_types = '["job.*"]' WHERE id = 1"#,
        );
        let out = emit(&line(1));
        assert!(!out.stderr.contains("passed over"), "{}", out.stderr);
        assert_eq!(hooks(&out), [vec![1, 2]]);
        assert_eq!(rx.count(), 1);
    }

    #[test]
    fn corrupt_event_types_are_reported() {
        let rx = Receiver::ok();
        let env = recorded(&rx);
        edit(
            &env,
            "UPDATE webhooks SET event_types = 'job.completed' WHERE id = 1",
        );
        let message = "webhooks row 1: event_types is not a JSON array";
        env.run(&["webhooks", "list"]).fails(1, message);
        env.run(&["webhooks", "show", "1"]).fails(1, message);
        edit(
            &env,
            r#"UPDATE webhooks SET event_types = '["job.exploded"]' WHERE id = 1"#,
        );
        env.run(&["webhooks", "list"]).fails(
            1,
            r#"webhooks row 1: event_types: "job.exploded" is not an event type"#,
        );
    }
}
