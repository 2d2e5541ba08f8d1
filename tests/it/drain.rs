//! `drain` options, `deliveries` filters, and the people-facing (table) output of the delivery
//! commands.

use crate::common;

use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use common::Env;

fn queue(env: &Env, n: usize) -> Vec<i64> {
    (0..n)
        .map(|_| {
            env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
                .ok()
                .json()["deliveries"][0]["id"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

#[test]
fn limit_caps_one_run() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "w", &rx.url("/"), &[]);
    queue(&env, 5);
    assert_eq!(
        env.run(&["drain", "--limit", "2"]).ok().json()["attempted"],
        2
    );
    assert_eq!(env.run(&["drain"]).ok().json()["attempted"], 3);
    assert_eq!(rx.count(), 5);
}

#[test]
fn concurrency_sends_in_parallel() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(700)));
    let c = env.customer("acme");
    env.local_webhook(c, "slow", &rx.url("/"), &[]);
    queue(&env, 8);
    let start = Instant::now();
    let s = env.run(&["drain", "--concurrency", "8"]).ok().json();
    let took = start.elapsed();
    assert_eq!(s["succeeded"], 8);
    assert!(
        took < Duration::from_millis(2500),
        "8 slow receivers took {took:?}: not parallel"
    );
    let start = Instant::now();
    queue(&env, 3);
    env.run(&["drain", "--concurrency", "1"]).ok();
    assert!(
        start.elapsed() >= Duration::from_millis(2000),
        "--concurrency 1 sends one at a time"
    );
}

#[test]
fn watch_stops_at_max_time_and_picks_up_work_queued_meanwhile() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "w", &rx.url("/"), &[]);
    let start = Instant::now();
    let watch = env
        .cmd()
        .args(["drain", "--watch", "--max-time", "3s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    queue(&env, 2); // queued by another process while the watcher sleeps
    let out = watch.wait_with_output().unwrap();
    let took = start.elapsed();
    assert!(out.status.success());
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(6),
        "took {took:?}"
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["succeeded"], 2);
    assert_eq!(rx.count(), 2);
}

#[test]
fn since_filters_lists_and_bulk_retries() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(500));
    let c = env.customer("acme");
    env.local_webhook(c, "w", &rx.url("/"), &["--max-retries", "0"]);
    let ids = queue(&env, 3);
    env.run(&["drain"]).ok();
    // Make the first one two days old.
    env.exec(&format!(
        "UPDATE deliveries SET created_at = created_at - 2 * 86400 * 1000 WHERE id = {}",
        ids[0]
    ));
    let recent = env
        .run(&["deliveries", "list", "--since", "1day"])
        .ok()
        .json();
    assert_eq!(recent.as_array().unwrap().len(), 2);
    let all = env
        .run(&["deliveries", "list", "--status", "failed"])
        .ok()
        .json();
    assert_eq!(all.as_array().unwrap().len(), 3);
    let before = rx.count();
    let s = env
        .run(&["deliveries", "retry", "--failed", "--since", "24h"])
        .ok()
        .json();
    assert_eq!(
        s["attempted"], 2,
        "the two-day-old delivery is outside --since"
    );
    assert_eq!(rx.count(), before + 2);
    let s = env
        .run(&[
            "deliveries",
            "retry",
            "--failed",
            "--since",
            "3days",
            "--webhook",
            "1",
        ])
        .ok()
        .json();
    assert_eq!(s["attempted"], 3);
    env.run(&["deliveries", "retry", "--failed", "--webhook", "99"])
        .fails(1, "webhook 99 not found");
    let limited = env.run(&["deliveries", "list", "--limit", "1"]).ok().json();
    assert_eq!(limited.as_array().unwrap().len(), 1);
    assert_eq!(limited[0]["id"], ids[2], "newest first");
}

#[test]
fn table_output_of_the_delivery_commands() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.path == "/bad" {
            Reply::status(500).body("nope")
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    env.local_webhook(c, "good", &rx.url("/good"), &[]);
    env.local_webhook(c, "bad", &rx.url("/bad"), &[]);
    let t = |args: &[&str]| {
        let mut full = vec!["--output", "table"];
        full.extend(args);
        env.run(&full)
    };
    let out = t(&[
        "emit",
        "job.completed",
        "--customer",
        "1",
        "--data",
        "{\"id\": 9}",
    ])
    .ok();
    assert!(
        out.stdout
            .contains("event 1 job.completed (customer 1): 2 delivery(ies): 1, 2"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("1 delivered, 1 to retry"),
        "{}",
        out.stderr
    );
    let list = t(&["deliveries", "list"]).ok().stdout;
    for s in [
        "STATUS",
        "retrying",
        "success",
        "HTTP 500: nope",
        "good",
        "bad",
    ] {
        assert!(list.contains(s), "{s} missing:\n{list}");
    }
    let show = t(&["deliveries", "show", "2"]).ok().stdout;
    for s in [
        "payload",
        "\"job\": {",
        "STARTED",
        "HTTP 500: nope",
        "next_retry_at",
    ] {
        assert!(show.contains(s), "{s} missing:\n{show}");
    }
    let drained = t(&["drain"]).ok().stdout;
    assert!(drained.contains("0 attempted"), "{drained}");
    let none = t(&["deliveries", "list", "--status", "failed"]).ok();
    assert!(none.stdout.is_empty() && none.stderr.contains("no deliveries"));
}

#[test]
fn a_hanging_receiver_does_not_hold_up_healthy_ones() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.path == "/hang" {
            Reply::ok().delay(Duration::from_secs(4))
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    env.local_webhook(c, "hang", &rx.url("/hang"), &["--timeout", "2s"]);
    env.local_webhook(c, "healthy", &rx.url("/ok"), &["--timeout", "2s"]);
    queue(&env, 10); // 10 deliveries to each, interleaved
    let start = Instant::now();
    let mut drain = env
        .cmd()
        .args(["drain", "--concurrency", "2", "--max-time", "3s"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let healthy_done = loop {
        let n = rx.requests().iter().filter(|r| r.path == "/ok").count();
        if n >= 10 || start.elapsed() > Duration::from_secs(10) {
            break start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let hanging_seen = rx.requests().iter().filter(|r| r.path == "/hang").count();
    drain.wait().unwrap();
    assert!(
        healthy_done < Duration::from_millis(1500),
        "healthy deliveries waited {healthy_done:?} behind a receiver that hangs for 2 s"
    );
    assert!(
        hanging_seen <= 3,
        "the hanging receiver got {hanging_seen} requests at once; one probe at a time is expected"
    );
    // Nothing is lost: what was not attempted is still due, without a lease.
    let list = env
        .run(&["deliveries", "list", "--webhook", "1"])
        .ok()
        .json();
    for d in list.as_array().unwrap() {
        assert!(
            ["pending", "retrying"].contains(&d["status"].as_str().unwrap()),
            "{d}"
        );
    }
    let leased = env.int(&format!(
        "SELECT count(*) FROM {} l WHERE lease_owner IS NOT NULL",
        env.leases()
    ));
    assert_eq!(leased, 0, "unsent deliveries were given back");
}

#[test]
fn a_single_drain_on_a_locked_database_says_so_and_the_next_run_carries_on() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    let lock = env.hold_write_lock(Duration::from_secs(2));
    env.run_env(&[("WEBNET_BUSY_TIMEOUT_MS", "300")], &["drain"])
        .fails(
            1,
            "error: the database was locked by another process for 300ms: this drain stopped; the next run carries on",
        );
    lock.join().unwrap();
    assert_eq!(rx.count(), 0);
    let s = env.run(&["drain"]).ok().json();
    assert_eq!(s["succeeded"], 1, "{s}");
    assert_eq!(rx.count(), 1);
}

/// A single drain stopped by a lock still records what the requests it had sent answered,
/// once the lock is gone (as `emit` does): the next run sends nothing again, and the history
/// has the attempt.
#[test]
fn a_single_drain_records_results_that_arrive_while_the_database_is_locked() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(1000)));
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    let child = env
        .cmd()
        .env("WEBNET_BUSY_TIMEOUT_MS", "300")
        .args(["drain"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(rx.wait_for(1, Duration::from_secs(10)).len(), 1);
    // The answer comes while the database is locked, for longer than two busy timeouts.
    let lock = env.hold_write_lock(Duration::from_secs(2));
    let (code, stderr) = common::stderr_of(child);
    lock.join().unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("drain: the database is busy (locked by another process); trying again"),
        "{stderr}"
    );
    let d = env.delivery(1);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("success"), Some(1)),
        "{d}"
    );
    let s = env.run(&["drain"]).ok().json();
    assert_eq!(s["succeeded"], 0, "{s}");
    assert_eq!(rx.count(), 1, "recorded, so never sent again");
}

/// A webhook deleted while one of its deliveries is being sent leaves that delivery to the
/// drain sending it: what the receiver answered is its history (a 200 is `success`, not
/// "Webhook was deleted"), and a failure ends it `failed` rather than waiting for a retry
/// nothing will send. Deliveries merely waiting end "Webhook was deleted" at once.
#[test]
fn a_webhook_deleted_mid_send_keeps_what_the_receiver_answered() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        let answer = if r.path.starts_with("/fails") {
            Reply::status(500)
        } else {
            Reply::ok()
        };
        answer.delay(Duration::from_millis(1000))
    });
    let c = env.customer("acme");
    let ok = env.local_webhook(c, "ok", &rx.url("/ok"), &["--event", "job.completed"]);
    let fails = env.local_webhook(c, "fails", &rx.url("/fails"), &["--event", "job.failed"]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    env.run(&["emit", "job.failed", "--customer", "1", "--queue"])
        .ok();
    let drain = env
        .cmd()
        .args(["drain", "--concurrency", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(rx.wait_for(2, Duration::from_secs(10)).len(), 2);
    for id in [ok, fails] {
        env.run(&["webhooks", "delete", &id.to_string(), "--yes"])
            .ok();
    }
    let out = drain.wait_with_output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(summary["succeeded"], 1, "{summary}");
    let by_event = |event: &str| {
        let list = env.run(&["deliveries", "list"]).ok().json();
        list.as_array()
            .into_iter()
            .flatten()
            .find(|d| d["event_type"] == event)
            .cloned()
            .unwrap_or_else(|| panic!("a {event} delivery"))
    };
    let sent = by_event("job.completed");
    assert_eq!(
        (sent["status"].as_str(), sent["http_status"].as_i64()),
        (Some("success"), Some(200)),
        "{sent}"
    );
    assert_eq!(sent["webhook_deleted"], true, "{sent}");
    let failed = by_event("job.failed");
    assert_eq!(
        (failed["status"].as_str(), failed["http_status"].as_i64()),
        (Some("failed"), Some(500)),
        "{failed}"
    );
    assert!(failed["next_retry_at"].is_null(), "{failed}");
    assert_eq!(rx.count(), 2, "nothing sent again");
}
