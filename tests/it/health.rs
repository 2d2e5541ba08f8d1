//! Endpoint health: `410 Gone` disables a webhook at once; a webhook failing without a break for
//! longer than its `auto_disable_after` is disabled; both say why, in `list` and `show`.

use crate::common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::Env;

#[test]
fn gone_disables_the_webhook_at_once() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(410).body("this endpoint was removed"));
    let c = env.customer("acme");
    env.local_webhook(c, "old", &rx.url("/"), &[]);
    let out = env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    assert!(
        out.stderr
            .contains("warning: webhook 1 \"old\" disabled: the receiver answered 410 Gone at ")
            && out
                .stderr
                .contains("; enable it with \"webnet webhooks enable 1\""),
        "emit says it disabled the webhook: {}",
        out.stderr
    );
    let out = out.json();
    let d = env.delivery(out["deliveries"][0]["id"].as_i64().unwrap());
    assert_eq!(d["status"], "failed", "410 is not retried: {d}");
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(w["enabled"], false);
    assert!(
        w["disabled_reason"].as_str().unwrap().contains("410 Gone"),
        "{w}"
    );
    let table = env
        .run(&["--output", "table", "webhooks", "list"])
        .ok()
        .stdout;
    assert!(table.contains("410 Gone"), "{table}");
    // Nothing new is recorded for it; enabling again clears the reason.
    assert_eq!(
        env.run(&["emit", "job.completed", "--customer", "1"])
            .ok()
            .json()["deliveries"],
        serde_json::json!([])
    );
    let w = env.run(&["webhooks", "enable", "1"]).ok().json();
    assert_eq!(w["disabled_reason"], serde_json::Value::Null);
    assert_eq!(rx.count(), 1);
    // A test is only a test: it reports the 410 and leaves the webhook enabled.
    let out = env.run_local(&["webhooks", "test", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.json()["http_status"], 410, "{}", out.stdout);
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(
        (&w["enabled"], &w["disabled_reason"]),
        (&serde_json::json!(true), &serde_json::Value::Null),
        "{w}"
    );
    assert_eq!(rx.count(), 2);
}

#[test]
fn failing_too_long_disables_and_a_success_resets_the_clock() {
    let env = Env::local();
    let (rx, switch) = Receiver::switchable(503);
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "flaky",
        &rx.url("/"),
        &[
            "--auto-disable-after",
            "2s",
            "--retry-backoff",
            "1s",
            "--max-retries",
            "10",
        ],
    );
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert!(w["failing_since"].is_string(), "{w}");
    assert_eq!(w["enabled"], true);
    // A success in between resets the clock.
    switch.healthy();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["failing_since"],
        serde_json::Value::Null
    );
    switch.failing();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let out = env.run_after(Duration::from_millis(2200), &["drain"]).ok();
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(w["enabled"], false, "{w}");
    let reason = w["disabled_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("failing since")
            && reason.ends_with(" (no successful delivery for longer than 2s)"),
        "the duration in human form, not \"0 h\": {w}"
    );
    // drain says so, once, and does not promise a next attempt.
    let line = format!(
        "drain: webhook 1 \"flaky\" disabled: {reason}; enable it with \"webnet webhooks enable 1\""
    );
    assert_eq!(
        out.stderr.lines().filter(|l| *l == line).count(),
        1,
        "{}",
        out.stderr
    );
    let failed: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("failed: HTTP 503"))
        .collect();
    assert!(!failed.is_empty(), "{}", out.stderr);
    for l in failed {
        assert!(
            l.ends_with("; no more attempts: failed (its webhook is disabled)"),
            "{l}"
        );
    }
    // Ended at once, as a 410's is, with the answer kept: not left `retrying` for a retry that
    // will not come, and counted as failed.
    let summary = out.json();
    assert_eq!(
        (&summary["retrying"], &summary["failed"]),
        (&serde_json::json!(0), &summary["attempted"]),
        "{summary}"
    );
    let list = env.run(&["deliveries", "list"]).ok().json();
    for d in list.as_array().unwrap() {
        if d["status"] != "success" {
            assert_eq!(d["status"], "failed", "{d}");
            assert_eq!(d["http_status"], 503, "{d}");
            assert_eq!(d["next_retry_at"], serde_json::Value::Null, "{d}");
        }
    }
    // auto_disable_after 0 means never.
    env.run(&[
        "webhooks",
        "update",
        "1",
        "--enabled",
        "--auto-disable-after",
        "0s",
    ])
    .ok();
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["auto_disable_after"],
        0
    );
}
