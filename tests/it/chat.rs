//! Slack and Teams payload formats: chosen for their incoming-webhook URLs, and the shape each
//! requires, checked by loopback receivers. Real Slack and Teams URLs are only ever created
//! disabled and never delivered to.
//! (The Teams card itself, with Microsoft's validator: `alert_formats.rs`.)

use crate::common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::{hmac_hex, Env};
use serde_json::Value;

#[test]
fn the_format_follows_the_url_unless_given() {
    let env = Env::new();
    env.customer("acme");
    let create = |name: &str, url: &str, extra: &[&str]| -> Value {
        env.create_webhook(url)
            .name(name)
            .events(&["job.failed"])
            .args(&["--disabled"])
            .args(extra)
            .run()
            .ok()
            .json()
    };
    assert_eq!(
        create("s", "https://hooks.slack.com/services/T000/B000/XXXX", &[])["payload_format"],
        "slack"
    );
    assert_eq!(
        create(
            "t",
            "https://acme.webhook.office.com/webhookb2/abc/IncomingWebhook/def",
            &[]
        )["payload_format"],
        "teams"
    );
    assert_eq!(
        create("j", "https://ops.example.com/hook", &[])["payload_format"],
        "json"
    );
    assert_eq!(
        create(
            "raw",
            "https://hooks.slack.com/services/T000/B000/YYYY",
            &["--payload-format", "json"]
        )["payload_format"],
        "json"
    );
    let moved = env
        .run(&[
            "webhooks",
            "update",
            "1",
            "--url",
            "https://ops.example.com/other",
        ])
        .ok()
        .json();
    assert_eq!(
        moved["payload_format"], "json",
        "a new URL brings its own format"
    );
    env.run(&["webhooks", "update", "1", "--payload-format", "telegram"])
        .fails(2, "--payload-format");
}

fn receive(format: &str, data: &str) -> (Vec<u8>, Value, Option<String>) {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok());
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "chat",
        &rx.url("/"),
        &[
            "--payload-format",
            format,
            "--secret",
            "chat-secret",
            "--event",
            "*",
        ],
    );
    let (t, _) = data.split_once('|').unwrap();
    let obj = &data[t.len() + 1..];
    env.run(&[
        "emit",
        t,
        "--customer",
        "1",
        "--actor-username",
        "admin",
        "--data",
        obj,
    ])
    .ok();
    let r = rx.wait_for(1, Duration::from_secs(5)).remove(0);
    let v: Value = serde_json::from_slice(&r.body).expect("JSON");
    (
        r.body.clone(),
        v,
        r.header("x-webhook-signature").map(str::to_string),
    )
}

#[test]
fn slack_gets_text_and_blocks() {
    let (body, v, sig) = receive(
        "slack",
        r#"job.failed|{"id": 123, "type": "config_backup", "status": "failed", "target_summary": {"device_count": 5}}"#,
    );
    assert_eq!(v["text"], "job 123 config_backup failed on 5 devices");
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(
        !blocks.is_empty() && blocks.len() <= 50,
        "Slack allows 1 to 50 blocks"
    );
    for b in blocks {
        assert!(b["type"].is_string(), "every block has a type: {b}");
    }
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert_eq!(blocks[1]["fields"][0]["text"], "*Job*\n123");
    let context = blocks.last().unwrap();
    assert_eq!(context["type"], "context");
    assert!(context["elements"][0]["text"]
        .as_str()
        .unwrap()
        .contains("by admin"));
    assert_eq!(
        sig.as_deref(),
        Some(hmac_hex("chat-secret", &body).as_str()),
        "signed as sent"
    );
}
