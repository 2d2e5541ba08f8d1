//! Helpers that look at or hold the test's database on either backend (the SQLite file, or the
//! test's own PostgreSQL database on a `WEBNET_TEST_PG` run): for tests that read rows no
//! command prints, or that hold a real write lock for a moment.

use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::Env;

impl Env {
    /// Every row `sql` (tables unqualified, values written into it) returns, each column as
    /// JSON: integers as numbers, PostgreSQL's booleans as 0/1 (as SQLite stores them), text as
    /// strings, NULL as null. Cast other PostgreSQL types (`numeric` from `sum()`) in the SQL.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Value>> {
        match &self.pg {
            Some(db) => {
                use postgres::types::Type;
                let mut c = db.client();
                c.batch_execute("SET search_path TO webnet")
                    .expect("search_path");
                let rows = c.query(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
                rows.iter()
                    .map(|r| {
                        r.columns()
                            .iter()
                            .enumerate()
                            .map(|(i, col)| match *col.type_() {
                                Type::INT8 => r.get::<_, Option<i64>>(i).into(),
                                Type::INT4 => r.get::<_, Option<i32>>(i).into(),
                                Type::INT2 => r.get::<_, Option<i16>>(i).into(),
                                Type::BOOL => r.get::<_, Option<bool>>(i).map(i64::from).into(),
                                Type::FLOAT8 => r.get::<_, Option<f64>>(i).into(),
                                Type::TEXT | Type::VARCHAR | Type::NAME => {
                                    r.get::<_, Option<String>>(i).into()
                                }
                                ref t => panic!("{sql}: column {i} is {t}: cast it in the SQL"),
                            })
                            .collect()
                    })
                    .collect()
            }
            None => {
                let conn = rusqlite::Connection::open(&self.db).expect("open db");
                conn.busy_timeout(Duration::from_secs(10))
                    .expect("busy timeout");
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        use rusqlite::types::ValueRef;
                        Ok((0..n)
                            .map(|i| match r.get_ref(i).expect("column") {
                                ValueRef::Null => Value::Null,
                                ValueRef::Integer(v) => v.into(),
                                ValueRef::Real(v) => v.into(),
                                ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                                ValueRef::Blob(b) => hex::encode(b).into(),
                            })
                            .collect())
                    })
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.map(|r| r.expect("row")).collect()
            }
        }
    }

    /// The one integer `sql` returns (a count, a sum cast to bigint…).
    pub fn int(&self, sql: &str) -> i64 {
        let rows = self.rows(sql);
        rows.first()
            .and_then(|r| r.first())
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{sql}: not one integer: {rows:?}"))
    }

    /// The database as webnet names it in its messages: the SQLite file's path, or the
    /// PostgreSQL URL without its password.
    pub fn db_shown(&self) -> String {
        match &self.pg {
            Some(db) => {
                let u = url::Url::parse(&db.url).expect("a test database URL");
                format!(
                    "postgres://{}@{}:{}{}",
                    u.username(),
                    u.host_str().expect("host"),
                    u.port().unwrap_or(5432),
                    u.path()
                )
            }
            None => self.db.display().to_string(),
        }
    }

    /// Another process's write lock on the database, taken before this returns and released
    /// once `held` has passed (join the handle to wait for that). SQLite: `BEGIN EXCLUSIVE`
    /// (readers go on in WAL mode). PostgreSQL: every webnet table locked `IN EXCLUSIVE MODE`
    /// in a transaction of a test connection — plain reads go on, every write and every claim
    /// (`FOR UPDATE`) waits, as on SQLite; webnet gives up after its `lock_timeout`
    /// (`WEBNET_BUSY_TIMEOUT_MS` in tests).
    pub fn hold_write_lock(&self, held: Duration) -> JoinHandle<()> {
        let Some(db) = &self.pg else {
            return super::lock::hold_write_lock(&self.db, held);
        };
        let mut c = db.client();
        let tables: Vec<String> = c
            .query(
                "SELECT format('webnet.%I', table_name) FROM information_schema.tables
                 WHERE table_schema = 'webnet' AND table_type = 'BASE TABLE' ORDER BY 1",
                &[],
            )
            .expect("list webnet's tables")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!tables.is_empty(), "no webnet tables to lock yet");
        c.batch_execute(&format!(
            "BEGIN; LOCK TABLE {} IN EXCLUSIVE MODE",
            tables.join(", ")
        ))
        .expect("take the write lock");
        std::thread::spawn(move || {
            std::thread::sleep(held);
            c.batch_execute("COMMIT").expect("release the write lock");
        })
    }

    /// On PostgreSQL, announces new work as `emit` does (`NOTIFY`; it needs no table lock):
    /// an idle `drain --watch` there waits for it rather than polling every second, so a test
    /// that wants it to look at the database now says so. Nothing on SQLite (it polls).
    pub fn announce_work(&self) {
        if let Some(db) = &self.pg {
            db.client()
                .batch_execute("NOTIFY webnet_work")
                .expect("NOTIFY");
        }
    }
}
