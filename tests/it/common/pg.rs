//! The integration suite on PostgreSQL: with `WEBNET_TEST_PG` set to an admin URL (a role that
//! may create databases), every [`Env`](super::Env) gets a new database of its own on that
//! server and its commands run with `WEBNET_DB` set to it, so the same tests check the same
//! behaviour on both backends. `.ci/run` (through `.ci/test-postgres`) runs the suite this way
//! after the SQLite run.

use std::sync::atomic::{AtomicU32, Ordering};

/// The admin URL of the test server, when the suite runs on PostgreSQL.
pub fn admin_url() -> Option<String> {
    std::env::var("WEBNET_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Whether this run is on PostgreSQL.
pub fn enabled() -> bool {
    admin_url().is_some()
}

/// A database of this test's own on the PostgreSQL test server.
pub struct Database {
    /// Its URL, password included (as `WEBNET_DB`).
    pub url: String,
    pub name: String,
    admin: String,
    /// Not dropped at the end (a database of a [`Cluster`], which goes with it).
    keep: bool,
}

fn admin_client(admin: &str) -> postgres::Client {
    postgres::Client::connect(admin, postgres::NoTls).expect("connect to WEBNET_TEST_PG")
}

impl Database {
    /// Creates a new, empty database.
    pub fn create(admin: &str) -> Database {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "webnet_it_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut client = admin_client(admin);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .expect("drop an old test database");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        let mut url = url::Url::parse(admin).expect("WEBNET_TEST_PG is a URL");
        url.set_path(&name);
        Database {
            url: url.to_string(),
            name,
            admin: admin.to_string(),
            keep: false,
        }
    }

    /// The database `url` names, left in place at the end.
    pub fn existing(url: &str) -> Database {
        Database {
            url: url.to_string(),
            name: String::new(),
            admin: String::new(),
            keep: true,
        }
    }

    /// A connection to it, for tests that look at what is stored.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to the test database")
    }

    /// Every row of every webnet table, as text: compared before and after to prove nothing
    /// changed.
    pub fn dump(&self) -> String {
        let mut c = self.client();
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = 'webnet' ORDER BY 1",
                &[],
            )
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .unwrap_or_default();
        let mut out = String::new();
        for t in tables {
            out.push_str(&format!("== {t}\n"));
            let rows = c
                .query(&format!("SELECT t::text FROM webnet.{t} t ORDER BY 1"), &[])
                .expect("dump a table");
            for r in rows {
                out.push_str(&r.get::<_, String>(0));
                out.push('\n');
            }
        }
        out
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if self.keep || std::env::var_os("WEBNET_TEST_PG_KEEP").is_some() {
            return;
        }
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Skips the rest of a test on PostgreSQL, saying why: for tests of what only a SQLite file
/// has (its file modes, its bytes on disk, its locks).
#[macro_export]
macro_rules! sqlite_only {
    ($why:expr) => {
        if $crate::common::pg::enabled() {
            $crate::skipped!("SKIPPED on PostgreSQL ({}): {}", module_path!(), $why);
            return;
        }
    };
}

/// A PostgreSQL server of one test's own (for restarting it under a running drain without
/// disturbing the other tests): `initdb` in a temporary folder, started on a free loopback
/// port, stopped when dropped. Needs `WEBNET_TEST_PG_BIN` (set by `.ci/test-postgres`).
pub struct Cluster {
    bin: std::path::PathBuf,
    pub dir: tempfile::TempDir,
    /// More server options (`-c ssl=on …`).
    extra: String,
    pub port: u16,
    pub url: String,
}

impl Cluster {
    /// Starts one, or `None` (saying why) without the server binaries.
    pub fn start(test: &str) -> Option<Cluster> {
        Cluster::start_with(test, "", |_| {})
    }

    /// As [`Cluster::start`], with more server options, and `prepare` run on the data folder
    /// before the server starts (to put certificates there).
    pub fn start_with(
        test: &str,
        extra: &str,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Option<Cluster> {
        let Some(bin) = std::env::var_os("WEBNET_TEST_PG_BIN") else {
            crate::skipped!(
                "SKIPPED {test}: WEBNET_TEST_PG_BIN is not set (run it with .ci/test-postgres)"
            );
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::env::var("WEBNET_TEST_PG_AS_ROOT").as_deref() == Ok("1");
        if root {
            std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster {
            bin: bin.into(),
            dir,
            extra: extra.to_string(),
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        };
        let data = cluster.dir.path().join("data");
        let ok = cluster
            .pg("initdb")
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"])
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            ok.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
        prepare(&data);
        if root {
            std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&data)
                .status()
                .expect("chown");
        }
        cluster.ctl("start");
        Some(cluster)
    }

    fn pg(&self, program: &str) -> std::process::Command {
        let exe = self.bin.join(program);
        if std::env::var("WEBNET_TEST_PG_AS_ROOT").as_deref() == Ok("1") {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            std::process::Command::new(exe)
        }
    }

    /// `pg_ctl start|stop|restart`, waiting until it is done.
    pub fn ctl(&self, action: &str) {
        let data = self.dir.path().join("data");
        let out = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-w", "-t", "60", "-m", "fast", "-l"])
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off {}",
                self.port,
                self.dir.path().display(),
                self.extra
            ))
            .arg(action)
            .output()
            .expect("run pg_ctl");
        assert!(
            out.status.success(),
            "pg_ctl {action}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}
