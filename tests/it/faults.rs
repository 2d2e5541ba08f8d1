//! Receiver faults: each delivery ends exactly as the policy says, response bodies are stored
//! truncated, and memory stays bounded.

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::Env;

fn first_delivery(env: &Env) -> serde_json::Value {
    let id = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    env.delivery(id)
}

#[test]
fn a_closed_connection_is_a_failed_attempt_that_is_retried() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::close());
    let c = env.customer("acme");
    env.local_webhook(c, "reset", &rx.url("/"), &["--max-retries", "2"]);
    let d = first_delivery(&env);
    assert_eq!(d["status"], "retrying", "{d}");
    let msg = d["error_message"].as_str().unwrap();
    assert!(
        msg.contains("connection") || msg.contains("closed"),
        "{msg}"
    );
    assert_eq!(d["http_status"], serde_json::Value::Null);
}

#[test]
fn an_endless_body_is_cut_at_10_kib_and_memory_stays_bounded() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::endless());
    let c = env.customer("acme");
    env.local_webhook(c, "firehose", &rx.url("/"), &["--timeout", "3s"]);
    for _ in 0..20 {
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
    }
    let stats = env.dir.path().join("time.txt");
    // The env's own settings (its database on either backend, its key file), under `time`.
    let mut time = Command::new("/usr/bin/time");
    for (k, v) in env.cmd().get_envs() {
        match v {
            Some(v) => time.env(k, v),
            None => time.env_remove(k),
        };
    }
    let out = time
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&stats)
        .arg(common::bin())
        .args(["drain", "--concurrency", "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let Ok(out) = out else {
        crate::skipped!("SKIPPED: /usr/bin/time is not available here; .ci/run installs it");
        return;
    };
    assert!(
        out.status.success(),
        "drain: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["succeeded"], 20,
        "a 200 with an endless body is still a 200: {s}"
    );
    let rss_kib: u64 = std::fs::read_to_string(&stats)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eprintln!("20 endless bodies at 8 in parallel: peak RSS {rss_kib} KiB");
    assert!(rss_kib < 50 * 1024, "peak RSS {rss_kib} KiB");
    let d = env.delivery(1);
    assert_eq!(d["response_body"].as_str().unwrap().len(), 10 * 1024);
}

#[test]
fn a_byte_by_byte_answer_past_the_timeout_times_out() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::trickle(Duration::from_millis(100)));
    let c = env.customer("acme");
    env.local_webhook(c, "trickle", &rx.url("/"), &["--timeout", "1s"]);
    let start = std::time::Instant::now();
    let d = first_delivery(&env);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the whole request is bounded by the timeout"
    );
    assert_eq!(d["status"], "retrying", "{d}");
    assert_eq!(d["error_message"], "timed out after 1 s");
}

/// The status and headers at once, then a body too slow to end within the timeout: the whole
/// request is bounded, so it is a timeout (retried), not a success with a cut-off body.
#[test]
fn a_body_still_arriving_at_the_timeout_times_out() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::trickle_body(Duration::from_millis(300), "0123456789ab"));
    let c = env.customer("acme");
    env.local_webhook(c, "slow-body", &rx.url("/"), &["--timeout", "1s"]);
    let d = first_delivery(&env);
    assert_eq!(d["status"], "retrying", "{d}");
    assert_eq!(d["error_message"], "timed out after 1 s", "{d}");
    assert_eq!(d["http_status"], serde_json::Value::Null, "{d}");
}

#[test]
fn every_fault_ends_exactly_per_policy() {
    let env = Env::local();
    let rx = Receiver::start(|r| match r.path.as_str() {
        "/500" => Reply::status(500),
        "/hang" => Reply::ok().delay(Duration::from_secs(3)),
        "/reset" => Reply::close(),
        "/429" => Reply::status(429).header("Retry-After", "1"),
        _ => Reply::ok(),
    });
    let c = env.customer("acme");
    for path in ["/500", "/hang", "/reset", "/429"] {
        env.local_webhook(
            c,
            path,
            &rx.url(path),
            &[
                "--timeout",
                "1s",
                "--retry-backoff",
                "1s",
                "--max-retries",
                "1",
            ],
        );
    }
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    // Second and last attempt, one second later.
    env.run_after(Duration::from_millis(1100), &["drain"]).ok();
    let list = env.run(&["deliveries", "list"]).ok().json();
    for d in list.as_array().unwrap() {
        assert_eq!(d["status"], "failed", "{d}");
        assert_eq!(d["attempts"], 2, "{d}");
        assert_eq!(
            d["attempt_log"],
            serde_json::Value::Null,
            "list has no attempt log"
        );
    }
    for id in 1..=4 {
        let d = env.delivery(id);
        assert_eq!(d["attempt_log"].as_array().unwrap().len(), 2, "{d}");
    }
}
