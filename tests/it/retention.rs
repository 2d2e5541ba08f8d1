//! History retention: `deliveries prune` and `drain --retain` delete old final deliveries (with
//! their attempts and events), never pending or retrying ones, never another customer's, and
//! the database file gets smaller.

use crate::common;

use std::path::Path;

use common::receiver::{Receiver, Reply};
use common::Env;
use rusqlite::Connection;

const DAY_MS: i64 = 86_400_000;

/// The SQLite file (for its PRAGMAs: SQLite-only tests).
fn conn(env: &Env) -> Connection {
    Connection::open(&env.db).unwrap()
}

/// Moves every row recorded so far `days` into the past (events, deliveries, attempts).
fn age(env: &Env, days: i64) {
    let ms = days * DAY_MS;
    env.exec(&format!(
        "UPDATE events SET created_at = created_at - {ms};
         UPDATE deliveries SET created_at = created_at - {ms}, updated_at = updated_at - {ms},
             next_attempt_at = next_attempt_at - {ms};
         UPDATE attempts SET started_at = started_at - {ms};"
    ));
    if env.pg.is_some() {
        env.exec(&format!(
            "UPDATE queue SET next_attempt_at = next_attempt_at - {ms}"
        ));
    }
}

fn count(env: &Env, sql: &str) -> i64 {
    env.int(sql)
}

/// (id, status) of every delivery, by id.
fn deliveries(env: &Env) -> Vec<(i64, String)> {
    env.rows("SELECT id, status FROM deliveries ORDER BY id")
        .into_iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_str().unwrap().to_string()))
        .collect()
}

/// Every row of one customer's events, deliveries and attempts, as text.
fn customer_rows(env: &Env, customer: i64) -> String {
    let whole_row = if env.pg.is_some() { "t::text" } else { "t.*" };
    let mut out = String::new();
    for sql in [
        format!("SELECT {whole_row} FROM events t WHERE customer_id = {customer} ORDER BY id"),
        format!("SELECT {whole_row} FROM deliveries t WHERE customer_id = {customer} ORDER BY id"),
        format!(
            "SELECT {whole_row} FROM attempts t JOIN deliveries d ON d.id = t.delivery_id
             WHERE d.customer_id = {customer} ORDER BY t.id"
        ),
    ] {
        for row in env.rows(&sql) {
            let cols: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            out.push_str(&cols.join("|"));
            out.push('\n');
        }
    }
    out
}

/// A customer with one delivery in each state: `success`, `failed` (no retries left),
/// `retrying` and `pending` (queued); returns the customer id.
fn one_of_each(env: &Env, rx: &Receiver, name: &str) -> i64 {
    let c = env.customer(name);
    let ok = format!("{name}-ok");
    let bad = format!("{name}-bad");
    let retry = format!("{name}-retry");
    let queued = format!("{name}-queued");
    env.local_webhook(c, &ok, &rx.url("/ok"), &["--event", "job.completed"]);
    env.local_webhook(
        c,
        &bad,
        &rx.url("/bad"),
        &["--event", "job.failed", "--max-retries", "0"],
    );
    env.local_webhook(c, &retry, &rx.url("/bad"), &["--event", "job.started"]);
    env.local_webhook(c, &queued, &rx.url("/ok"), &["--event", "job.created"]);
    let cs = c.to_string();
    for t in ["job.completed", "job.failed", "job.started"] {
        env.run(&["emit", t, "--customer", &cs]).ok();
    }
    env.run(&["emit", "job.created", "--customer", &cs, "--queue"])
        .ok();
    c
}

fn receiver() -> Receiver {
    Receiver::start(|r| {
        if r.path == "/bad" {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    })
}

#[test]
fn prune_deletes_old_final_deliveries_with_their_attempts_and_events_and_nothing_else() {
    let env = Env::local();
    let rx = receiver();
    let c = one_of_each(&env, &rx, "acme");
    // An event no webhook wanted: recorded without deliveries.
    env.run(&["emit", "device.created", "--customer", &c.to_string()])
        .ok();
    age(&env, 100);
    // A recent one stays whatever happens.
    env.run(&["emit", "job.completed", "--customer", &c.to_string()])
        .ok();
    let before = deliveries(&env);
    let statuses: Vec<&str> = before.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        statuses,
        ["success", "failed", "retrying", "pending", "success"]
    );
    let dump = env.dump();

    let dry = env
        .run(&["deliveries", "prune", "--older-than", "90d", "--dry-run"])
        .ok()
        .json();
    assert_eq!(dry["would_delete"], 2, "{dry}");
    assert_eq!(dry["attempts"], 2, "{dry}");
    assert_eq!(
        dry["events"], 3,
        "success's, failed's and the unwanted one: {dry}"
    );
    assert_eq!(env.dump(), dump, "--dry-run changes nothing");

    let done = env
        .run(&["deliveries", "prune", "--older-than", "90d"])
        .ok()
        .json();
    assert_eq!(done["deleted"], 2, "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["events"], 3, "{done}");
    let after = deliveries(&env);
    assert_eq!(
        after,
        vec![before[2].clone(), before[3].clone(), before[4].clone()],
        "old retrying and pending ones and the recent one stay"
    );
    assert_eq!(
        count(
            &env,
            "SELECT count(*) FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries)"
        ),
        0
    );
    assert_eq!(
        count(&env, "SELECT count(*) FROM events"),
        3,
        "the events of what stays"
    );
    env.run(&["deliveries", "show", &before[0].0.to_string()])
        .fails(1, "not found");
    env.run(&["deliveries", "show", &before[2].0.to_string()])
        .ok();
    // Nothing left to prune: a second run deletes nothing.
    let again = env
        .run(&["deliveries", "prune", "--older-than", "90d"])
        .ok()
        .json();
    assert_eq!(again["deleted"], 0);
    assert_eq!(again["events"], 0);
    let said = env
        .run(&[
            "--output",
            "table",
            "deliveries",
            "prune",
            "--older-than",
            "90d",
        ])
        .ok()
        .stdout;
    assert!(
        said.starts_with("deleted 0 deliveries that ended before ")
            && said.contains(", with 0 attempts and 0 events; the database is no smaller"),
        "{said}"
    );
    // Pending and retrying stay even with everything older than a second (one delivery goes,
    // said in the singular).
    let said = env
        .run_after(
            std::time::Duration::from_millis(1100),
            &[
                "--output",
                "table",
                "deliveries",
                "prune",
                "--older-than",
                "1s",
            ],
        )
        .ok()
        .stdout;
    assert!(
        said.starts_with("deleted 1 delivery that ended before ")
            && said.contains(", with 1 attempt and 1 event; "),
        "{said}"
    );
    let left: Vec<String> = deliveries(&env).into_iter().map(|(_, s)| s).collect();
    assert_eq!(left, ["retrying", "pending"]);
}

#[test]
fn the_cutoff_is_when_a_delivery_ended_not_when_it_was_created() {
    let env = Env::local();
    let rx = receiver();
    let c = env.customer("acme");
    env.local_webhook(c, "bad", &rx.url("/bad"), &["--max-retries", "0"]);
    env.run(&["emit", "job.completed", "--customer", &c.to_string()])
        .ok();
    age(&env, 100);
    // Retried by hand today: its history changed today, so it is not 90 days old.
    assert_eq!(env.run(&["deliveries", "retry", "1"]).code, 1);
    let out = env
        .run(&["deliveries", "prune", "--older-than", "90d"])
        .ok()
        .json();
    assert_eq!(out["deleted"], 0, "{out}");
    assert_eq!(env.delivery(1)["attempts"], 2);
}

#[test]
fn status_narrows_what_is_pruned_and_a_delivery_being_retried_is_kept() {
    let env = Env::local();
    let rx = receiver();
    one_of_each(&env, &rx, "acme");
    one_of_each(&env, &rx, "globex");
    age(&env, 100);
    let out = env
        .run(&[
            "deliveries",
            "prune",
            "--older-than",
            "90d",
            "--status",
            "failed",
        ])
        .ok()
        .json();
    assert_eq!(out["deleted"], 2, "{out}");
    let statuses: Vec<String> = deliveries(&env).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        statuses,
        ["success", "retrying", "pending", "success", "retrying", "pending"]
    );
    // A success held by a sender right now (as `deliveries retry` holds a failed one) stays.
    env.exec(if env.pg.is_some() {
        "INSERT INTO queue (delivery_id, customer_id, lease_until, lease_owner)
         SELECT id, customer_id, 9999999999999, 'x' FROM deliveries WHERE id = 1"
    } else {
        "UPDATE deliveries SET lease_until = 9999999999999, lease_owner = 'x' WHERE id = 1"
    });
    let out = env
        .run(&[
            "deliveries",
            "prune",
            "--older-than",
            "90d",
            "--status",
            "success",
            "--output",
            "table",
        ])
        .ok();
    assert!(
        out.stdout
            .starts_with("deleted 1 delivery that ended before"),
        "{}",
        out.stdout
    );
    assert_eq!(deliveries(&env)[0], (1, "success".to_string()));
}

#[test]
fn a_customer_pinned_prune_leaves_every_other_customer_untouched() {
    let env = Env::local();
    let rx = receiver();
    let a = one_of_each(&env, &rx, "acme");
    let b = one_of_each(&env, &rx, "globex");
    // An event of b's that nobody wanted: not a's to delete either.
    env.run(&["emit", "device.created", "--customer", &b.to_string()])
        .ok();
    age(&env, 100);
    let theirs = customer_rows(&env, b);
    let a_before = customer_rows(&env, a);

    let out = env
        .run(&[
            "--customer",
            &a.to_string(),
            "deliveries",
            "prune",
            "--older-than",
            "90d",
        ])
        .ok()
        .json();
    assert_eq!(out["deleted"], 2, "{out}");
    assert_eq!(out["events"], 2, "{out}");
    assert_ne!(customer_rows(&env, a), a_before);
    assert_eq!(customer_rows(&env, b), theirs, "another customer's rows");

    let dry = env
        .run_env(
            &[("WEBNET_CUSTOMER", &a.to_string())],
            &["deliveries", "prune", "--older-than", "90d", "--dry-run"],
        )
        .ok()
        .json();
    assert_eq!(dry["would_delete"], 0, "{dry}");
    assert_eq!(dry["events"], 0, "{dry}");

    // drain --retain pinned to a customer is scoped the same way.
    env.run_env(
        &[("WEBNET_CUSTOMER", &a.to_string())],
        &["drain", "--retain", "90d"],
    )
    .ok();
    assert_eq!(customer_rows(&env, b), theirs, "another customer's rows");
    let out = env
        .run(&["deliveries", "prune", "--older-than", "90d"])
        .ok()
        .json();
    assert_eq!(out["deleted"], 2, "unpinned: b's go too: {out}");
    assert_eq!(out["events"], 3, "{out}");
}

#[test]
fn bad_durations_are_refused_naming_the_option() {
    let env = Env::local();
    let rx = receiver();
    one_of_each(&env, &rx, "acme");
    age(&env, 100);
    let dump = env.dump();
    for bad in ["0s", "0", "ninety days", "-5d", "90"] {
        env.run(&["deliveries", "prune", "--older-than", bad])
            .fails(2, "--older-than");
        env.run(&["drain", "--retain", bad]).fails(2, "--retain");
    }
    env.run(&["deliveries", "prune"]).fails(2, "--older-than");
    env.run(&[
        "deliveries",
        "prune",
        "--older-than",
        "90d",
        "--status",
        "pending",
    ])
    .fails(2, "--status");
    env.run(&[
        "deliveries",
        "prune",
        "--older-than",
        "90d",
        "--dry-run",
        "--vacuum",
    ])
    .fails(2, "--vacuum");
    assert_eq!(env.dump(), dump, "nothing changed");
}

#[test]
fn drain_retain_prunes_after_sending_what_is_due() {
    let env = Env::local();
    let rx = receiver();
    let c = one_of_each(&env, &rx, "acme");
    age(&env, 100);
    let before = deliveries(&env);
    // Without --retain, nothing is deleted (the default keeps everything).
    let out = env.run(&["drain"]).ok().json();
    assert!(out.get("pruned").is_none(), "{out}");
    assert_eq!(deliveries(&env).len(), 4);
    // The queued one was sent by that drain; the retrying one got one more attempt.
    let out = env.run(&["drain", "--retain", "90d"]).ok().json();
    assert_eq!(out["pruned"], 2, "{out}");
    let left = deliveries(&env);
    assert_eq!(left.len(), 2, "{left:?}");
    assert_eq!(left[0].0, before[2].0, "the retrying one stays");
    assert_eq!(
        left[1],
        (before[3].0, "success".to_string()),
        "ended just now: stays"
    );
    // --watch prunes too, in its first idle moment (then every few minutes).
    env.run(&["emit", "job.failed", "--customer", &c.to_string()])
        .ok();
    age(&env, 100);
    let out = env
        .run(&["drain", "--watch", "--max-time", "1s", "--retain", "90d"])
        .ok()
        .json();
    assert_eq!(out["pruned"], 2, "{out}");
    let table = env
        .run(&["drain", "--retain", "90d", "--output", "table"])
        .ok()
        .stdout;
    assert!(table.contains("; 0 old deliveries pruned"), "{table}");
}

/// Bytes of the database file (after the last connection closed: WAL folded in).
fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// `n` events of about `size` bytes each, queued.
fn queue_big(env: &Env, customer: i64, n: usize, size: usize) {
    let pad = "x".repeat(size);
    let lines: String = (0..n)
        .map(|i| {
            format!("{{\"customer\": {customer}, \"event_type\": \"job.completed\", \"job\": {{\"id\": {i}, \"pad\": \"{pad}\"}}}}\n")
        })
        .collect();
    env.run_stdin(&["emit", "--queue"], &lines).ok();
}

/// Bytes the deliveries, attempts, events and queue take on the PostgreSQL server (what its
/// prune reports `reclaimed_bytes` of: the tables `--vacuum` rewrites).
fn relation_bytes(env: &Env) -> u64 {
    env.int(
        "SELECT (pg_total_relation_size('deliveries') + pg_total_relation_size('attempts')
                 + pg_total_relation_size('events') + pg_total_relation_size('queue'))::bigint",
    ) as u64
}

/// Waits (up to a minute) until every transaction on the server that began before now has
/// ended: until then `VACUUM FULL` must keep rows deleted after it began, whatever database it
/// writes to (the suite's other tests run beside this one).
fn older_transactions_end(env: &Env) {
    let now = env.int("SELECT pg_current_xact_id()::text::bigint");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let sql =
        format!("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint > {now})::int");
    while env.int(&sql) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "a transaction ran for a minute"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn the_file_shrinks_after_pruning_many_deliveries() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ok", &rx.url("/"), &[]);
    if env.pg.is_none() {
        assert_eq!(
            count(&env, "PRAGMA auto_vacuum"),
            2,
            "new databases reclaim incrementally"
        );
    }
    queue_big(&env, c, 3000, 2000);
    let out = env
        .run(&["drain", "--max-time", "60s", "--concurrency", "16"])
        .ok()
        .json();
    assert_eq!(out["succeeded"], 3000, "{out}");
    age(&env, 100);
    if env.pg.is_some() {
        // PostgreSQL keeps the freed room for reuse (autovacuum): the tables shrink only when
        // --vacuum rewrites them (VACUUM FULL).
        // 3,000 deliveries of 2,000-byte payloads and their attempts (payloads compress).
        let big = relation_bytes(&env);
        assert!(big > 4 << 20, "{big} bytes");
        let out = env
            .run(&["deliveries", "prune", "--older-than", "90d"])
            .ok()
            .json();
        assert_eq!(out["deleted"], 3000, "{out}");
        older_transactions_end(&env);
        let before = relation_bytes(&env);
        let out = env
            .run(&["deliveries", "prune", "--older-than", "90d", "--vacuum"])
            .ok()
            .json();
        assert_eq!(out["deleted"], 0, "{out}");
        let small = relation_bytes(&env);
        // What it says it gave back is what the tables lost (autovacuum may have truncated
        // some of the freed room in between, before the count started: half is the margin).
        let reclaimed = out["reclaimed_bytes"].as_u64().unwrap();
        assert!(
            reclaimed >= before.saturating_sub(small) / 2 && reclaimed <= before,
            "reclaimed {reclaimed} bytes, the tables went from {before} to {small}: {out}"
        );
        assert!(
            small < big / 4,
            "the tables went from {big} to {small} bytes"
        );
        assert_eq!(count(&env, "SELECT count(*) FROM deliveries"), 0);
        return;
    }
    let big = file_size(&env.db);
    assert!(big > 5 << 20, "{big} bytes");
    let out = env
        .run(&["deliveries", "prune", "--older-than", "90d"])
        .ok()
        .json();
    assert_eq!(out["deleted"], 3000, "{out}");
    assert!(out["reclaimed_bytes"].as_u64().unwrap() > 5 << 20, "{out}");
    let small = file_size(&env.db);
    assert!(small < big / 4, "the file went from {big} to {small} bytes");
    assert_eq!(count(&env, "PRAGMA freelist_count"), 0);
    assert_eq!(
        conn(&env)
            .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
}

/// A database as webnet made them before incremental reclaim: `auto_vacuum = NONE`.
fn make_old(env: &Env) {
    conn(env)
        .execute_batch("PRAGMA auto_vacuum = NONE; VACUUM;")
        .unwrap();
    assert_eq!(count(env, "PRAGMA auto_vacuum"), 0);
}

#[test]
fn an_older_database_is_switched_to_reclaim_space_when_small_or_when_asked() {
    crate::sqlite_only!("SQLite's auto_vacuum mode and file size; PostgreSQL's --vacuum is VACUUM FULL, checked in the_file_shrinks_after_pruning_many_deliveries");
    // Small after pruning: switched (one VACUUM) at the first prune.
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ok", &rx.url("/"), &[]);
    make_old(&env);
    queue_big(&env, c, 1000, 2000);
    env.run(&["drain", "--max-time", "60s"]).ok();
    age(&env, 100);
    let big = file_size(&env.db);
    env.run(&["deliveries", "prune", "--older-than", "90d"])
        .ok();
    assert_eq!(count(&env, "PRAGMA auto_vacuum"), 2);
    assert!(file_size(&env.db) < big / 4);

    // Large after pruning (10 MiB of queued deliveries stay): left as it is, until --vacuum.
    let env = Env::local();
    let c = env.customer("acme");
    env.local_webhook(c, "ok", &rx.url("/"), &[]);
    make_old(&env);
    queue_big(&env, c, 500, 2000);
    env.run(&["drain", "--max-time", "60s"]).ok();
    age(&env, 100);
    queue_big(&env, c, 2500, 4000);
    env.run(&["deliveries", "prune", "--older-than", "90d"])
        .ok();
    assert_eq!(
        count(&env, "PRAGMA auto_vacuum"),
        0,
        "not rewritten by itself"
    );
    assert!(count(&env, "PRAGMA freelist_count") > 0);
    let before = file_size(&env.db);
    let out = env
        .run(&["deliveries", "prune", "--older-than", "90d", "--vacuum"])
        .ok()
        .json();
    assert_eq!(count(&env, "PRAGMA auto_vacuum"), 2);
    assert_eq!(count(&env, "PRAGMA freelist_count"), 0);
    assert!(out["reclaimed_bytes"].as_u64().unwrap() > 0, "{out}");
    assert!(file_size(&env.db) < before);
    assert_eq!(count(&env, "SELECT count(*) FROM deliveries"), 2500);
}
