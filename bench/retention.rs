//! Scenario 8, retention: `deliveries prune` empties a database of old final deliveries while
//! another process keeps running `emit`. How long does one `emit` wait (SQLite has one writer),
//! against the same `emit` with nothing else running; how fast is the prune; does the file
//! shrink?

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::receiver::Receiver;
use crate::scenarios::{fig, percentile, Db, Figure, JOB};

const SCENARIO: &str = "8 retention";
const DAY_MS: i64 = 86_400_000;

/// `n` final deliveries of webhook 1 (customer 1), each with its event and one attempt, 100
/// days old: inserted with SQL (a fixture; webnet would take minutes to record and send them).
fn fill(path: &Path, n: u64) {
    let mut conn = rusqlite::Connection::open(path).expect("open fixture");
    conn.busy_timeout(Duration::from_secs(30)).expect("busy");
    let old = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        - 100 * DAY_MS;
    let headers = r#"{"Content-Type":"application/json","User-Agent":"webnet-webhook/1.0","X-Webhook-Event":"job.completed","X-Webhook-Delivery":"1","X-Webhook-Signature":"sha256=0000000000000000000000000000000000000000000000000000000000000000"}"#;
    let chunk = 50_000;
    let mut done = 0;
    while done < n {
        let tx = conn.transaction().expect("tx");
        {
            let mut event = tx
                .prepare(
                    "INSERT INTO events (customer_id, event_type, source_event_id, payload, created_at)
                     VALUES (1, 'job.completed', ?1, ?2, ?3)",
                )
                .expect("prepare");
            let mut delivery = tx
                .prepare(
                    "INSERT INTO deliveries (event_row, customer_id, webhook_id, webhook_name,
                        event_type, event_id, status, attempts, http_status, response_body,
                        duration_ms, created_at, updated_at)
                     VALUES (?1, 1, 1, 'p', 'job.completed', ?2, 'success', 1, 200, 'ok', 3, ?3, ?3)",
                )
                .expect("prepare");
            let mut attempt = tx
                .prepare(
                    "INSERT INTO attempts (delivery_id, attempt, started_at, request_headers,
                        http_status, response_body, duration_ms)
                     VALUES (?1, 1, ?2, ?3, 200, 'ok', 3)",
                )
                .expect("prepare");
            for i in done..(done + chunk).min(n) {
                let at = old + i as i64;
                let payload = format!(
                    "{{\"event_timestamp\": \"2025-08-24T01:00:00Z\", \"event_type\": \"job.completed\", \"actor\": {{\"id\": 1, \"username\": \"admin\"}}, \"job\": {JOB}}}"
                );
                event
                    .execute(rusqlite::params![i as i64, payload.as_bytes(), at])
                    .expect("event");
                let row = tx.last_insert_rowid();
                delivery
                    .execute(rusqlite::params![row, i as i64, at])
                    .expect("delivery");
                let id = tx.last_insert_rowid();
                attempt
                    .execute(rusqlite::params![id, at, headers])
                    .expect("attempt");
            }
        }
        tx.commit().expect("commit");
        done = (done + chunk).min(n);
    }
}

/// One `emit` that delivers to the receiver: start to exit.
fn emit(db: &Db) -> Duration {
    let start = Instant::now();
    let out = db
        .cmd()
        .args(["emit", "job.completed", "--customer", "1", "--data", JOB])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("emit");
    assert!(
        out.status.success(),
        "emit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

pub fn prune_under_load(bin: &Path, rx: &Receiver, n: u64, runs: usize) -> Vec<Figure> {
    let db = Db::new(bin);
    db.setup(&[("p".into(), rx.url("/prune"), vec![])]);
    fill(&db.path, n);
    // Baseline: the same emit with nothing else running.
    let mut alone: Vec<f64> = (0..runs)
        .map(|_| emit(&db).as_secs_f64() * 1000.0)
        .collect();
    alone.sort_by(f64::total_cmp);
    let size_before = db.size();

    let start = Instant::now();
    let mut prune = db
        .cmd()
        .args(["deliveries", "prune", "--older-than", "90d"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prune");
    let mut during = Vec::new();
    // Bounded: the prune of 1,000,000 deliveries takes about a minute, not hours.
    let give_up = start + Duration::from_secs(3600);
    while Instant::now() < give_up && matches!(prune.try_wait(), Ok(None)) {
        during.push(emit(&db).as_secs_f64() * 1000.0);
    }
    let out = prune.wait_with_output().expect("wait prune");
    let took = start.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let deleted = report["deleted"].as_u64().unwrap_or(0);
    let ok = out.status.success() && deleted == n && !during.is_empty();
    if !ok {
        eprintln!(
            "prune: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    during.sort_by(f64::total_cmp);
    let longest = during.last().copied().unwrap_or(f64::NAN);
    let size_after = db.size();
    let mib = |b: u64| b as f64 / 1_048_576.0;
    vec![
        fig(
            SCENARIO,
            format!("`deliveries prune` of {n} final deliveries"),
            n as f64 / took.as_secs_f64(),
            "deliveries/s",
        )
        .broken_if(!ok),
        fig(
            SCENARIO,
            format!("longest `emit` while pruning ({} emits)", during.len()),
            longest,
            "ms",
        )
        .against(
            "longest emit alone",
            alone.last().copied().unwrap_or(f64::NAN),
        )
        .target("< 1 s", longest < 1000.0),
        fig(
            SCENARIO,
            "`emit` while pruning, p50",
            percentile(&during, 0.5),
            "ms",
        )
        .against("emit alone, p50", percentile(&alone, 0.5)),
        fig(
            SCENARIO,
            "database file after pruning",
            mib(size_after),
            "MiB",
        )
        .against("before", mib(size_before)),
    ]
}
