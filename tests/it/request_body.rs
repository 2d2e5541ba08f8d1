//! `deliveries show` says what the receiver got: `request_body` is the payload for `json`, and
//! the rendered message for a chat or alerting format (kept per attempt).

use crate::common;

use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::Env;
use serde_json::Value;

#[test]
fn show_gives_the_body_that_was_sent() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::ok());
    let c = env.customer("acme");
    env.local_webhook(c, "plain", &rx.url("/json"), &[]);
    env.local_webhook(c, "chat", &rx.url("/chat"), &["--payload-format", "slack"]);
    let out = env
        .run(&[
            "emit",
            "job.completed",
            "--customer",
            "1",
            "--data",
            r#"{"id": 7, "type": "config_backup"}"#,
        ])
        .ok()
        .json();
    let got = rx.wait_for(2, Duration::from_secs(5));
    for d in out["deliveries"].as_array().unwrap() {
        let id = d["id"].as_i64().unwrap();
        let shown = env.delivery(id);
        let path = if shown["webhook_name"] == "chat" {
            "/chat"
        } else {
            "/json"
        };
        let received = got.iter().find(|r| r.path == path).unwrap();
        let sent: Value = serde_json::from_slice(&received.body).unwrap();
        assert_eq!(shown["request_body"], sent, "{path}: what the receiver got");
        if path == "/json" {
            assert_eq!(shown["request_body"], shown["payload"]);
        } else {
            assert_ne!(shown["request_body"], shown["payload"], "a rendering");
            assert_eq!(
                shown["payload"]["job"]["id"], 7,
                "the payload is still the spec's"
            );
            // A table shows it apart from the payload.
            let table = env
                .run(&["--output", "table", "deliveries", "show", &id.to_string()])
                .ok()
                .stdout;
            assert!(table.contains("request_body"), "{table}");
        }
    }
    // Before any attempt there is nothing sent yet.
    let queued = env
        .run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok()
        .json();
    let id = queued["deliveries"][0]["id"].as_i64().unwrap();
    assert!(env.delivery(id)["request_body"].is_null());
    let table = env
        .run(&["--output", "table", "deliveries", "show", &id.to_string()])
        .ok()
        .stdout;
    assert!(!table.contains("request_body"), "{table}");
}
