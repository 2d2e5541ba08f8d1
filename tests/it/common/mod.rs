//! Test helpers: the real `webnet` binary on a temporary database.
#![allow(dead_code)]

pub mod browser;
pub mod either;
pub mod lock;
pub mod pg;
pub mod receiver;
pub mod server;
pub mod ui_client;
pub mod webhook;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Proxy variables of the test's own environment are not passed on: receivers are on loopback,
/// and tests/it/proxy.rs sets them itself.
const PROXY_VARS: [&str; 4] = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"];

/// Says that a test skips, and why, on the process's real stderr: the test harness captures
/// `eprintln!` of a passing test, so CI's log would not show it.
#[macro_export]
macro_rules! skipped {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub struct Env {
    pub dir: tempfile::TempDir,
    /// The SQLite file (on a PostgreSQL run: unused, see [`Env::pg`]).
    pub db: PathBuf,
    /// On a PostgreSQL run (`WEBNET_TEST_PG`): this test's own database there.
    pub pg: Option<pg::Database>,
    /// Set on every command (e.g. allowing loopback receivers).
    vars: Vec<(&'static str, &'static str)>,
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn from(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Asserts exit 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and a one-line error message containing `needle`.
    #[track_caller]
    pub fn fails(self, code: i32, needle: &str) -> Out {
        assert_eq!(
            self.code, code,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr should mention {needle:?}: {}",
            self.stderr
        );
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "one-line message: {}",
            self.stderr
        );
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        assert!(self.stdout.is_empty(), "nothing on stdout: {}", self.stdout);
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }

    /// Every line of stdout as JSON (NDJSON).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

/// Waits (bounded, about 5 s) until something listens on `port` on loopback.
pub fn wait_for_port(port: u16) -> bool {
    (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
}

/// One string field of every object in a JSON array (a list's names, a page's event types).
#[track_caller]
pub fn column(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {list}"))
        .iter()
        .map(|o| {
            o[key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key}: {o}"))
                .to_string()
        })
        .collect()
}

/// The `X-Webhook-Signature` a receiver expects, computed independently of webnet.
pub fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_webnet")
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("webhooks.db");
        Env {
            dir,
            db,
            pg: pg::admin_url().map(|admin| pg::Database::create(&admin)),
            vars: Vec::new(),
        }
    }

    /// An env on the PostgreSQL database `url` (a test's own server), loopback receivers
    /// allowed.
    pub fn on_postgres(url: &str) -> Env {
        let mut env = Env::local();
        env.pg = Some(pg::Database::existing(url));
        env
    }

    /// Where leases and due times are kept, as a table to select from (`delivery_id`,
    /// `next_attempt_at`, `lease_until`, `lease_owner`): columns of `deliveries` on SQLite, the
    /// `queue` table (a row per pending or retrying delivery) on PostgreSQL.
    pub fn leases(&self) -> &'static str {
        match &self.pg {
            Some(_) => "queue",
            None => {
                "(SELECT id AS delivery_id, next_attempt_at, lease_until, lease_owner
                  FROM deliveries)"
            }
        }
    }

    /// Makes every delivery waiting for an attempt due at once (at time 0).
    pub fn make_due(&self) {
        self.exec(match &self.pg {
            Some(_) => {
                "UPDATE deliveries SET next_attempt_at = 0 WHERE next_attempt_at IS NOT NULL;
                 UPDATE queue SET next_attempt_at = 0 WHERE next_attempt_at IS NOT NULL;"
            }
            None => "UPDATE deliveries SET next_attempt_at = 0 WHERE next_attempt_at IS NOT NULL",
        });
    }

    /// Runs `sql` (one or more statements, tables unqualified, values written into it) on
    /// either backend: for tests that set up a state no command makes (a delivery made due, a
    /// row damaged by hand).
    pub fn exec(&self, sql: &str) {
        match &self.pg {
            Some(db) => {
                let mut c = db.client();
                c.batch_execute(&format!("SET search_path TO webnet; {sql}"))
                    .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            }
            None => {
                let conn = rusqlite::Connection::open(&self.db).expect("open db");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                conn.execute_batch(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// Counts with `sql` (`?1`… parameters; tables unqualified) on either backend.
    pub fn count(&self, sql: &str, params: &[&str]) -> i64 {
        match &self.pg {
            Some(db) => {
                let mut sql = sql.to_string();
                for i in (1..=params.len()).rev() {
                    sql = sql.replace(&format!("?{i}"), &format!("${i}"));
                }
                let p: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|s| s as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                let mut c = db.client();
                c.batch_execute("SET search_path TO webnet")
                    .expect("search_path");
                c.query_one(&sql, &p).expect("count").get::<_, i64>(0)
            }
            None => {
                let conn = rusqlite::Connection::open(&self.db).expect("open db");
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .expect("busy timeout");
                conn.query_row(sql, rusqlite::params_from_iter(params.iter()), |r| r.get(0))
                    .expect("count")
            }
        }
    }

    /// An env whose every command may reach loopback receivers (`WEBNET_ALLOW_PRIVATE_TARGETS`).
    pub fn local() -> Env {
        let mut env = Env::new();
        env.vars.push(("WEBNET_ALLOW_PRIVATE_TARGETS", "1"));
        env
    }

    /// `webnet` with this env's database and none of the caller's WEBNET_* settings, stdin empty.
    pub fn cmd(&self) -> Command {
        let mut c = self.tty_cmd();
        c.stdin(Stdio::null());
        c
    }

    /// As [`Env::cmd`], with stdio left for a pseudo-terminal to set.
    pub fn tty_cmd(&self) -> Command {
        let mut c = Command::new(bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("WEBNET_") || PROXY_VARS.contains(&k.to_ascii_lowercase().as_str()) {
                c.env_remove(k);
            }
        }
        match &self.pg {
            // The key cannot live beside a server database: a key file where SQLite keeps it.
            Some(db) => c
                .env("WEBNET_DB", &db.url)
                .env("WEBNET_KEY_FILE", self.key_file()),
            None => c.env("WEBNET_DB", &self.db),
        };
        // `schedule install` writes private files (a passphrase, a database password) under
        // the config folder: the test's own, never the user's (tests that care set theirs).
        c.env("XDG_CONFIG_HOME", self.dir.path().join("config"));
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Out {
        Out::from(self.cmd().args(args).output().expect("run webnet"))
    }

    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Out {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        Out::from(c.output().expect("run webnet"))
    }

    /// Runs as if `later` had passed: the binary's clock moved ahead (`WEBNET_TEST_CLOCK_OFFSET`,
    /// test-only), so a backoff or a time window comes due without the test sleeping. Times it
    /// records are that far ahead too.
    pub fn run_after(&self, later: std::time::Duration, args: &[&str]) -> Out {
        let offset = later.as_millis().to_string();
        self.run_env(&[("WEBNET_TEST_CLOCK_OFFSET", &offset)], args)
    }

    /// `emit` reading a stream that the test writes as it goes, with a busy timeout of
    /// `busy_timeout_ms` (its patience is ten of them); stderr piped, stdout discarded.
    pub fn streaming_emit(
        &self,
        busy_timeout_ms: &str,
    ) -> (std::process::Child, std::process::ChildStdin) {
        let mut child = self
            .cmd()
            .env("WEBNET_BUSY_TIMEOUT_MS", busy_timeout_ms)
            .arg("emit")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn webnet emit");
        let stdin = child.stdin.take().expect("stdin");
        (child, stdin)
    }

    pub fn run_stdin(&self, args: &[&str], input: &str) -> Out {
        self.run_stdin_env(&[], args, input)
    }

    pub fn run_stdin_env(&self, env: &[(&str, &str)], args: &[&str], input: &str) -> Out {
        let mut c = self.cmd();
        c.envs(env.iter().copied());
        c.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn webnet");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_string();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let out = child.wait_with_output().expect("wait webnet");
        let _ = writer.join();
        Out::from(out)
    }

    /// Creates a customer and returns its id.
    pub fn customer(&self, name: &str) -> i64 {
        self.run(&["customers", "create", name]).ok().json()["id"]
            .as_i64()
            .expect("id")
    }

    /// Creates a webhook for `customer` with `extra` options and returns its id.
    pub fn webhook(&self, customer: i64, name: &str, url: &str, extra: &[&str]) -> i64 {
        self.create_webhook(url)
            .customer(customer)
            .name(name)
            .args(extra)
            .id()
    }

    /// Runs with private targets allowed (test receivers are on loopback).
    pub fn run_local(&self, args: &[&str]) -> Out {
        self.run_env(&[("WEBNET_ALLOW_PRIVATE_TARGETS", "1")], args)
    }

    /// Creates a webhook for a loopback receiver (private targets allowed) and returns its id.
    pub fn local_webhook(&self, customer: i64, name: &str, url: &str, extra: &[&str]) -> i64 {
        self.create_webhook(url)
            .customer(customer)
            .name(name)
            .args(extra)
            .local()
            .id()
    }

    /// A delivery as `deliveries show` prints it.
    pub fn delivery(&self, id: i64) -> Value {
        self.run(&["deliveries", "show", &id.to_string()])
            .ok()
            .json()
    }

    /// Every row of every table, as text: compared before and after to prove nothing changed.
    pub fn dump(&self) -> String {
        match &self.pg {
            Some(db) => db.dump(),
            None => dump(&self.db),
        }
    }

    /// The secret key file: beside the SQLite file, and where `WEBNET_KEY_FILE` points on a
    /// PostgreSQL run.
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("webhooks.db.key")
    }

    /// What `--db` is for this env's database (a file path, or the PostgreSQL URL).
    pub fn db_arg(&self) -> String {
        match &self.pg {
            Some(db) => db.url.clone(),
            None => self.db.display().to_string(),
        }
    }
}

pub fn dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut out = String::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in tables {
        out.push_str(&format!("== {t}\n"));
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\" ORDER BY 1"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap();
        for r in rows {
            out.push_str(&r.unwrap());
            out.push('\n');
        }
    }
    out
}

/// A spawned process's exit code (-1 when a signal ended it) and its stderr, once it ends.
pub fn stderr_of(child: std::process::Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
