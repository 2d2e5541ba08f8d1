//! Subscriptions by wildcard, and counting a bulk retry before making it.

use crate::common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::Env;
use serde_json::json;

#[test]
fn wildcard_subscriptions_match_a_family_or_everything() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "jobs", &rx.url("/jobs"), &["--event", "job.*"]);
    env.local_webhook(c, "all", &rx.url("/all"), &["--event", "*"]);
    env.local_webhook(c, "one", &rx.url("/one"), &["--event", "device.created"]);
    let shown = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(shown["event_types"], json!(["job.*"]));
    for t in [
        "job.failed",
        "job.created",
        "device.created",
        "compliance.violation_detected",
    ] {
        env.run(&["emit", t, "--customer", "1"]).ok();
    }
    rx.wait_for(7, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(100));
    let count = |p: &str| rx.requests().iter().filter(|r| r.path == p).count();
    assert_eq!(count("/jobs"), 2);
    assert_eq!(count("/all"), 4);
    assert_eq!(count("/one"), 1);
    // `list --event` finds webhooks subscribed by a wildcard too; a wildcard lists those that
    // receive any event it covers.
    env.local_webhook(
        c,
        "one-job",
        &rx.url("/one-job"),
        &["--event", "job.started"],
    );
    let listed = |event: &str| {
        common::column(
            &env.run(&["webhooks", "list", "--event", event]).ok().json(),
            "name",
        )
    };
    assert_eq!(listed("job.failed"), ["jobs", "all"]);
    assert_eq!(listed("job.*"), ["jobs", "all", "one-job"]);
    assert_eq!(listed("device.*"), ["all", "one"]);
    assert_eq!(listed("compliance.*"), ["all"]);
    assert_eq!(listed(" * "), ["jobs", "all", "one", "one-job"]);
    env.run(&["webhooks", "list", "--event", "nope.*"])
        .fails(2, "\"nope.*\" is not one of: job.created");
    env.create_webhook("https://x.example.com/")
        .name("x")
        .events(&["nope.*"])
        .run()
        .fails(2, "--event");
    env.create_webhook("https://x.example.com/")
        .name("x")
        .events(&["webhook.*"])
        .run()
        .fails(2, "--event");
    // `webhook.test` is never delivered by a wildcard.
    env.run(&["emit", "webhook.test", "--customer", "1"])
        .fails(2, "webhook.test");
}

#[test]
fn a_dry_run_counts_what_retry_failed_would_send() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(500));
    let c = env.customer("acme");
    env.local_webhook(c, "down", &rx.url("/"), &["--max-retries", "0"]);
    for _ in 0..3 {
        env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    }
    let before = rx.count();
    assert_eq!(
        env.run(&["deliveries", "retry", "--failed", "--dry-run"])
            .ok()
            .json(),
        json!({"would_retry": 3, "skipped": 0})
    );
    env.run(&[
        "deliveries",
        "retry",
        "--failed",
        "--dry-run",
        "--webhook",
        "9",
    ])
    .fails(1, "webhook 9 not found");
    let quiet = env.local_webhook(c, "quiet", &rx.url("/q"), &["--event", "job.failed"]);
    assert_eq!(
        env.run(&[
            "deliveries",
            "retry",
            "--failed",
            "--dry-run",
            "--webhook",
            &quiet.to_string()
        ])
        .ok()
        .json(),
        json!({"would_retry": 0, "skipped": 0})
    );
    let table = env
        .run(&[
            "--output",
            "table",
            "deliveries",
            "retry",
            "--failed",
            "--dry-run",
        ])
        .ok()
        .stdout;
    assert!(table.contains("3 failed"), "{table}");
    assert_eq!(rx.count(), before, "a dry run sends nothing");
    env.run(&["deliveries", "retry", "3", "--dry-run"])
        .fails(2, "--failed");
}
