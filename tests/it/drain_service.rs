//! `drain` as a service: SIGTERM/SIGINT, its log lines on stderr, and the progress bar on a
//! terminal.

use crate::common;

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use common::Env;

fn queue(env: &Env, n: usize) {
    for _ in 0..n {
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
    }
}

/// Sends `signal` to a process this test started, by its PID.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits (bounded) for the child to exit.
fn wait_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

fn stdout_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut s);
    }
    s
}

/// (status, attempts, leased) of every delivery, by id.
fn rows(env: &Env) -> Vec<(String, i64, bool)> {
    env.rows(&format!(
        "SELECT d.status, d.attempts, l.lease_owner IS NOT NULL
         FROM deliveries d LEFT JOIN {} l ON l.delivery_id = d.id ORDER BY d.id",
        env.leases()
    ))
    .into_iter()
    .map(|r| {
        (
            r[0].as_str().unwrap().to_string(),
            r[1].as_i64().unwrap(),
            r[2].as_i64().unwrap() != 0,
        )
    })
    .collect()
}

fn spawn_watch(env: &Env, extra: &[&str]) -> Child {
    env.cmd()
        .args(["drain", "--watch"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drain --watch")
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_gives_back_the_rest() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(1500)));
    let c = env.customer("acme");
    env.local_webhook(c, "slow", &rx.url("/"), &[]);
    queue(&env, 5);
    let mut drain = spawn_watch(&env, &["--concurrency", "1"]);
    assert_eq!(rx.wait_for(1, Duration::from_secs(10)).len(), 1);
    signal(&drain, "TERM");
    let status = wait_exit(&mut drain, Duration::from_secs(10)).expect("drain exits");
    assert!(status.success(), "exit 0 after SIGTERM: {status:?}");
    let stderr = stderr_of(&mut drain);
    assert!(stderr.contains("drain: stopping"), "{stderr}");
    assert!(
        !stderr.contains("warning"),
        "no key needed, none warned of: {stderr}"
    );
    let summary: serde_json::Value = serde_json::from_str(stdout_of(&mut drain).trim()).unwrap();
    assert_eq!(
        summary["succeeded"], 1,
        "the request in flight was recorded"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.count(), 1, "nothing was sent after the signal");
    let rows = rows(&env);
    assert_eq!(rows[0], ("success".to_string(), 1, false), "{rows:?}");
    for r in &rows[1..] {
        assert_eq!(
            *r,
            ("pending".to_string(), 0, false),
            "not started: given back without a request: {rows:?}"
        );
    }
    // What was given back is due at once for the next drain.
    let s = env.run(&["drain"]).ok().json();
    assert_eq!(s["succeeded"], 4);
    assert_eq!(rx.count(), 5, "each delivery sent exactly once");
}

#[test]
fn a_second_signal_exits_at_once() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_secs(6)));
    let c = env.customer("acme");
    env.local_webhook(c, "hangs", &rx.url("/"), &["--timeout", "20s"]);
    queue(&env, 1);
    let mut drain = spawn_watch(&env, &[]);
    assert_eq!(rx.wait_for(1, Duration::from_secs(10)).len(), 1);
    let start = Instant::now();
    signal(&drain, "INT");
    std::thread::sleep(Duration::from_millis(200));
    signal(&drain, "INT");
    let status = wait_exit(&mut drain, Duration::from_secs(3)).expect("exits at once");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "it did not wait for the request"
    );
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    // As after kill -9: the delivery keeps its lease until it runs out; nothing is recorded.
    assert_eq!(rows(&env), vec![("pending".to_string(), 0, true)]);
}

/// Waits (bounded) for drain's first log line, which it writes once its signal handlers are in
/// place; returns the line.
fn wait_started(child: &mut Child) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep reading: the pipe stays open for what drain logs later.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("drain --watch logs that it started")
}

#[test]
fn sigterm_while_idle_exits_promptly_with_the_summary() {
    let env = Env::local();
    env.customer("acme");
    let mut drain = spawn_watch(&env, &[]);
    let first = wait_started(&mut drain);
    assert!(
        first.starts_with(&format!(
            "drain: watching {} for due deliveries",
            env.db_shown()
        )),
        "{first}"
    );
    let start = Instant::now();
    signal(&drain, "TERM");
    let status = wait_exit(&mut drain, Duration::from_secs(5)).expect("drain exits");
    assert!(status.success());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let summary: serde_json::Value = serde_json::from_str(stdout_of(&mut drain).trim()).unwrap();
    assert_eq!(summary["attempted"], 0);
    // Pinned to a customer, the first line says so.
    let mut pinned = spawn_watch(&env, &["--customer", "1"]);
    let first = wait_started(&mut pinned);
    assert!(
        first.starts_with(&format!(
            "drain: watching {} for due deliveries of customer 1 only;",
            env.db_shown()
        )),
        "{first}"
    );
    signal(&pinned, "TERM");
    assert!(wait_exit(&mut pinned, Duration::from_secs(5)).is_some_and(|s| s.success()));
}

#[test]
fn failed_attempts_and_a_periodic_summary_are_logged() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.path == "/bad" {
            Reply::status(500).body("down for maintenance")
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    env.local_webhook(c, "bad", &rx.url("/bad"), &["--max-retries", "1"]);
    env.local_webhook(c, "good", &rx.url("/good"), &[]);
    queue(&env, 2);
    let mut drain = spawn_watch(&env, &["--summary-every", "1s", "--max-time", "2500ms"]);
    let status = wait_exit(&mut drain, Duration::from_secs(10)).expect("drain exits");
    assert!(status.success());
    let stderr = stderr_of(&mut drain);
    let failed: Vec<&str> = stderr.lines().filter(|l| l.contains("failed:")).collect();
    assert_eq!(failed.len(), 2, "one line per failed attempt:\n{stderr}");
    for line in &failed {
        assert!(
            line.starts_with("drain: delivery ")
                && line.contains("(job.completed) to webhook 1 \"bad\": attempt 1 of 2 failed: HTTP 500: down for maintenance; next attempt at "),
            "{line}"
        );
    }
    let summaries: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("drain: last 1s: "))
        .collect();
    assert!(
        !summaries.is_empty(),
        "a summary line every second:\n{stderr}"
    );
    // However the attempts fall across the seconds, the lines add up to what happened.
    let total = |what: &str| -> u64 {
        summaries
            .iter()
            .map(|l| {
                let before = l.split(&format!(" {what}")).next().unwrap_or_default();
                before
                    .rsplit([' ', ','])
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("no {what} count in {l}"))
            })
            .sum()
    };
    assert_eq!(total("attempted"), 4, "{stderr}");
    assert_eq!(total("succeeded"), 2, "{stderr}");
    assert_eq!(total("to retry"), 2, "{stderr}");
    assert!(
        summaries
            .iter()
            .all(|l| l.contains(" due now, the oldest for ") || l.ends_with("; nothing due")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour for journald: {stderr:?}"
    );

    // --quiet: the failures still, no summary lines.
    let env = Env::local();
    let c = env.customer("acme");
    env.local_webhook(c, "bad", &rx.url("/bad"), &["--max-retries", "0"]);
    queue(&env, 1);
    let mut drain = spawn_watch(
        &env,
        &["--quiet", "--summary-every", "1s", "--max-time", "2s"],
    );
    wait_exit(&mut drain, Duration::from_secs(10)).expect("drain exits");
    let stderr = stderr_of(&mut drain);
    assert!(
        stderr.contains(
            "attempt 1 of 1 failed: HTTP 500: down for maintenance; no more attempts: failed"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("drain: last"), "{stderr}");
}

#[test]
fn a_long_backlog_shows_progress_on_a_terminal() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(5)));
    let c = env.customer("acme");
    env.local_webhook(c, "w", &rx.url("/"), &[]);
    let events: String = (0..300)
        .map(|i| format!("{{\"customer\": 1, \"event_type\": \"job.completed\", \"job\": {{\"id\": {i}}}}}\n"))
        .collect();
    env.run_stdin(&["emit", "--queue"], &events).ok();
    let mut cmd = env.tty_cmd();
    cmd.args(["drain", "--concurrency", "2"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn in a pty");
    p.exp_string("/300 attempted").expect("a progress bar");
    let shown = p
        .exp_string("300 attempted: 300 succeeded, 0 to retry, 0 failed")
        .expect("the summary as before");
    // The rate is a whole number of deliveries a second (`181/s`, not `180.6385/s`). (The
    // pty's bytes arrive one char each, so `·` is not matched; the rate is the word before `/s`.)
    let rates: Vec<&str> = shown
        .split("/s ")
        .filter_map(|before| before.rsplit(' ').next())
        .filter(|rate| rate.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(!rates.is_empty(), "{shown:?}");
    assert!(
        rates
            .iter()
            .all(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit())),
        "{rates:?}"
    );
    p.exp_eof().unwrap();
    assert_eq!(rx.count(), 300);

    // Not on a pipe: stderr stays free of progress output.
    queue(&env, 1);
    let out = env.run(&["drain"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn drain_watch_waits_out_a_locked_database() {
    use std::io::BufRead;
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    let mut drain = env
        .cmd()
        .env("WEBNET_BUSY_TIMEOUT_MS", "300")
        .args(["drain", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drain --watch");
    // Its log, line by line, as it comes.
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let stderr = drain.stderr.take().expect("stderr piped");
    let l = log.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            l.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    let logged = |needle: &str, within: Duration| {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if log.lock().unwrap().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    };
    assert!(logged("drain: watching", Duration::from_secs(20)));

    // Locked for longer than its busy timeout, several times over: it says so and goes on.
    let lock = env.hold_write_lock(Duration::from_secs(2));
    // (On PostgreSQL the idle drain waits for an announcement before it claims again.)
    env.announce_work();
    lock.join().unwrap();
    assert!(
        drain.try_wait().unwrap().is_none(),
        "still running: {}",
        log.lock().unwrap()
    );
    assert!(
        logged(
            "drain: the database is busy (locked by another process); trying again\n",
            Duration::from_secs(1)
        ),
        "{}",
        log.lock().unwrap()
    );
    queue(&env, 1);
    assert_eq!(
        rx.wait_for(1, Duration::from_secs(15)).len(),
        1,
        "it sends once the lock is gone"
    );
    signal(&drain, "TERM");
    let status = wait_exit(&mut drain, Duration::from_secs(10)).expect("drain exits");
    assert!(status.success(), "{status:?}: {}", log.lock().unwrap());
    assert_eq!(rows(&env), vec![("success".to_string(), 1, false)]);
    assert_eq!(rx.count(), 1);
}
