//! Many processes on one file, `kill -9` mid-send, and destinations refused at send time.

use crate::common;

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use common::{stderr_of, Env};

fn spawn_with_stdin(env: &Env, args: &[&str], input: String) -> Child {
    let mut child = env
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    child
}

fn events(customer: i64, n: usize, tag: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"customer\": {customer}, \"event_type\": \"job.completed\", \"event_id\": {}, \"job\": {{\"n\": {i}}}}}\n", tag * 1000 + i))
        .collect()
}

#[test]
fn overlapping_drains_and_parallel_emits_send_each_delivery_once() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(5)));
    let c = env.customer("acme");
    for name in ["one", "two", "three"] {
        env.local_webhook(c, name, &rx.url(&format!("/{name}")), &[]);
    }
    let mut children = Vec::new();
    // Four processes queue events, two deliver their own at once, four drain: all on one file.
    for tag in 0..4 {
        children.push(spawn_with_stdin(
            &env,
            &["emit", "--queue"],
            events(c, 40, tag),
        ));
    }
    for tag in 4..6 {
        children.push(spawn_with_stdin(
            &env,
            &["emit", "--concurrency", "4"],
            events(c, 20, tag),
        ));
    }
    for _ in 0..4 {
        children.push(
            env.cmd()
                .args(["drain", "--max-time", "20s", "--concurrency", "4"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a process failed: {stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    // Whatever the drains found not yet queued, one last drain sends.
    env.run(&["drain"]).ok();
    let expected = (4 * 40 + 2 * 20) * 3;
    let list = env
        .run(&["deliveries", "list", "--limit", "10000"])
        .ok()
        .json();
    let list = list.as_array().unwrap();
    assert_eq!(
        list.len(),
        expected,
        "every event recorded for every webhook"
    );
    assert!(
        list.iter()
            .all(|d| d["status"] == "success" && d["attempts"] == 1),
        "all delivered exactly once"
    );
    assert_eq!(
        rx.overlaps(),
        0,
        "a delivery was sent twice at the same time"
    );
    let reqs = rx.requests();
    assert_eq!(reqs.len(), expected);
    let mut ids: Vec<i64> = reqs.iter().map(|r| r.delivery()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected, "no delivery received twice");
}

#[test]
fn kill_9_mid_send_loses_nothing() {
    let env = Env::local();
    // The first request hangs (the sender is killed meanwhile); later ones succeed.
    let rx = Receiver::start(|r| {
        if r.index == 0 {
            Reply::ok().delay(Duration::from_secs(4))
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    env.local_webhook(c, "k", &rx.url("/"), &["--timeout", "1s"]);
    let mut emit = env
        .cmd()
        .args(["emit", "job.completed", "--customer", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    rx.wait_for(1, Duration::from_secs(5));
    emit.kill().unwrap(); // SIGKILL
    emit.wait().unwrap();
    let d = env.delivery(1);
    assert_eq!(d["status"], "pending", "recorded before sending: {d}");
    assert_eq!(d["attempts"], 0);
    // Still leased: a drain right now must not send it a second time concurrently.
    assert_eq!(env.run(&["drain"]).ok().json()["attempted"], 0);
    // Once the lease (2 x timeout + 5 s) runs out, the next drain sends it.
    let start = Instant::now();
    let mut sent = false;
    while start.elapsed() < Duration::from_secs(20) {
        if env.run(&["drain"]).ok().json()["attempted"] == 1 {
            sent = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(sent, "the delivery was never sent again");
    let d = env.delivery(1);
    assert_eq!(d["status"], "success");
    let reqs = rx.requests();
    assert_eq!(
        reqs.len(),
        2,
        "at least once: the killed attempt and the retry"
    );
    assert_eq!(reqs[0].delivery(), reqs[1].delivery());
    assert_eq!(reqs[0].body, reqs[1].body);
}

#[test]
fn a_name_resolving_to_loopback_is_refused_when_sending() {
    let env = Env::new();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    // Created while private targets were allowed; sent without: the resolved address decides.
    env.create_webhook(&format!("http://localhost:{}/", rx.port))
        .name("sneaky")
        .local()
        .run()
        .ok();
    env.create_webhook(&rx.url("/"))
        .customer(c)
        .name("literal")
        .local()
        .run()
        .ok();
    let out = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json();
    for d in out["deliveries"].as_array().unwrap() {
        let d = env.delivery(d["id"].as_i64().unwrap());
        assert_eq!(
            d["status"], "failed",
            "refused destinations are not retried: {d}"
        );
        let msg = d["error_message"].as_str().unwrap();
        assert!(
            msg.starts_with("refused:") && msg.contains("loopback"),
            "{msg}"
        );
    }
    let test = env.run(&["webhooks", "test", "1"]);
    assert_eq!(test.code, 1);
    assert!(test.stderr.contains("refused"), "{}", test.stderr);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(rx.count(), 0, "nothing was sent");
}

#[test]
fn non_public_literals_are_refused_at_creation() {
    let env = Env::new();
    env.customer("acme");
    // None of these is ever contacted: the refusal happens while validating.
    for url in [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://017700000001/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://localhost/",
        "http://api.localhost/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
    ] {
        env.create_webhook(url)
            .name("x")
            .events(&["job.failed"])
            .run()
            .fails(2, "--url");
    }
}

/// How many events, and deliveries with this status, the database holds.
fn counts(env: &Env, status: &str) -> (i64, i64) {
    let events = env.count("SELECT count(*) FROM events", &[]);
    let deliveries = env.count(
        "SELECT count(*) FROM deliveries WHERE status = ?1",
        &[status],
    );
    (events, deliveries)
}

/// Waits (bounded) until `counts` answers `want`.
#[track_caller]
fn wait_counts(env: &Env, status: &str, want: (i64, i64)) {
    let end = Instant::now() + Duration::from_secs(20);
    while counts(env, status) != want {
        assert!(
            Instant::now() < end,
            "{:?}, not {want:?}",
            counts(env, status)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_streaming_emit_waits_out_a_locked_database_and_loses_nothing() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    let (child, mut stdin) = env.streaming_emit("300");
    stdin.write_all(events(c, 2, 0).as_bytes()).unwrap();
    wait_counts(&env, "success", (2, 2));
    // Locked for several busy timeouts while lines 3 to 5 arrive.
    let lock = env.hold_write_lock(Duration::from_secs(2));
    stdin.write_all(events(c, 3, 1).as_bytes()).unwrap();
    lock.join().unwrap();
    wait_counts(&env, "success", (5, 5));
    drop(stdin);
    let (code, stderr) = stderr_of(child);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "warning: the database is busy (locked by another process); lines 3 to 5 are not recorded yet: trying again\n"
        ),
        "{stderr}"
    );
    // Each recorded once, each sent once.
    let sent = rx.wait_for(5, Duration::from_secs(5));
    let ids: std::collections::HashSet<i64> = sent.iter().map(|r| r.delivery()).collect();
    assert_eq!((sent.len(), ids.len()), (5, 5), "{stderr}");
}

#[test]
fn a_streaming_emit_gives_up_after_its_patience_naming_the_lines_to_send_again() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    let (child, mut stdin) = env.streaming_emit("300");
    stdin.write_all(events(c, 2, 0).as_bytes()).unwrap();
    wait_counts(&env, "success", (2, 2));
    // Locked for longer than ten busy timeouts (3 s here, 5 minutes by default).
    let lock = env.hold_write_lock(Duration::from_secs(6));
    stdin.write_all(events(c, 2, 1).as_bytes()).unwrap();
    let (code, stderr) = stderr_of(child);
    drop(stdin);
    lock.join().unwrap();
    assert_eq!(code, 1, "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: the database stayed locked by another process for ")
            && last.ends_with(
                ": lines 3 to 4 were not recorded, nor anything after them: send them again"
            ),
        "{stderr}"
    );
    assert!(
        stderr.contains("lines 3 to 4 are not recorded yet: trying again"),
        "{stderr}"
    );
    // What was recorded before stays, sent once; nothing else is in the database.
    assert_eq!(counts(&env, "success"), (2, 2));
    assert_eq!(rx.count(), 2);
}

#[test]
fn results_that_arrive_while_the_database_is_locked_are_recorded_after() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(1000)));
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    let child = env
        .cmd()
        .env("WEBNET_BUSY_TIMEOUT_MS", "300")
        .args(["emit", "job.completed", "--customer", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(rx.wait_for(1, Duration::from_secs(10)).len(), 1);
    // The answer comes while the database is locked.
    let lock = env.hold_write_lock(Duration::from_secs(2));
    let (code, stderr) = stderr_of(child);
    lock.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "warning: the database is busy (locked by another process); the results of 1 attempt(s) are not recorded yet: trying again"
        ),
        "{stderr}"
    );
    let d = env.delivery(1);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("success"), Some(1))
    );
    env.run(&["drain"]).ok();
    assert_eq!(rx.count(), 1, "recorded, so never sent again");
}

/// `deliveries retry ID` whose answer comes while the database is locked records it once the
/// lock is gone: success, said so (exit 0), and never sent again; it used to fail with
/// "database is locked" after a send that worked.
#[test]
fn a_retry_whose_answer_comes_during_a_lock_is_recorded_after() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let env = Env::local();
    let seen = AtomicUsize::new(0);
    // The first attempt fails at once; the retry is answered a second later.
    let rx = Receiver::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::status(500),
        _ => Reply::ok().delay(Duration::from_millis(1000)),
    });
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    assert_eq!(env.delivery(1)["status"], "retrying");
    let child = env
        .cmd()
        .env("WEBNET_BUSY_TIMEOUT_MS", "300")
        .args(["deliveries", "retry", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(rx.wait_for(2, Duration::from_secs(10)).len(), 2);
    let lock = env.hold_write_lock(Duration::from_secs(2));
    let (code, stderr) = stderr_of(child);
    lock.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    let d = env.delivery(1);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("success"), Some(2)),
        "{d}"
    );
    env.run(&["drain"]).ok();
    assert_eq!(rx.count(), 2, "recorded, so never sent again");
}
