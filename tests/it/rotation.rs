//! `webhooks rotate-secret`: during the grace period both secrets sign; then only the new one.

use crate::common;

use std::time::Duration;

use common::receiver::Receiver;
use common::{hmac_hex, Env};

#[test]
fn both_secrets_sign_during_the_grace_period_then_only_the_new_one() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "rot", &rx.url("/"), &["--secret", "old-secret-1"]);
    let out = env
        .run_stdin(
            &[
                "webhooks",
                "rotate-secret",
                "1",
                "--grace",
                "1h",
                "--secret-stdin",
            ],
            "new-secret-2\n",
        )
        .ok();
    assert!(
        !out.stdout.contains("secret-") && !out.stderr.contains("secret-"),
        "no secret shown"
    );
    let w = out.json();
    assert!(w["previous_secret_until"].is_string(), "{w}");

    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let r = rx.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex("old-secret-1", &r.body).as_str()),
        "receivers not yet updated keep working"
    );
    assert_eq!(
        r.header("x-webhook-signature-next"),
        Some(hmac_hex("new-secret-2", &r.body).as_str())
    );
    assert_eq!(
        r.header("webhook-signature").unwrap().split(' ').count(),
        2,
        "the standard header lists both"
    );

    // `update --secret` during the grace ends it at once, and says so (as rotate-secret does).
    let grace = env.run(&["webhooks", "show", "1"]).ok().json()["previous_secret_until"].clone();
    let out = env
        .run(&["webhooks", "update", "1", "--secret", "updated-secret-4"])
        .ok();
    assert!(
        out.stderr.contains(&format!(
            "warning: webhook 1: the secret from before the last rotation (which was to sign until {}) stopped signing now",
            grace.as_str().unwrap_or_default()
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("secret-"), "no secret shown");
    assert_eq!(out.json()["previous_secret_until"], serde_json::Value::Null);
    let out = env
        .run(&["webhooks", "update", "1", "--secret", "updated-secret-5"])
        .ok();
    assert!(!out.stderr.contains("stopped signing"), "{}", out.stderr);

    // Switching at once: no grace, only the newest secret signs.
    env.run(&[
        "webhooks",
        "rotate-secret",
        "1",
        "--grace",
        "0s",
        "--secret",
        "newest-secret-3",
    ])
    .ok();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let r = rx.wait_for(2, Duration::from_secs(5)).remove(1);
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex("newest-secret-3", &r.body).as_str())
    );
    assert_eq!(r.header("x-webhook-signature-next"), None);
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 1);
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["previous_secret_until"],
        serde_json::Value::Null
    );

    env.run(&["webhooks", "rotate-secret", "9", "--secret", "x"])
        .fails(1, "not found");
    env.run(&["webhooks", "rotate-secret", "1"])
        .fails(2, "--secret");
    env.run(&[
        "webhooks",
        "rotate-secret",
        "1",
        "--secret",
        "x",
        "--grace",
        "soon",
    ])
    .fails(2, "--grace");
}
