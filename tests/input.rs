//! Input and output safety: large and cut event input on stdin, receiver text shown in tables,
//! error messages that never echo credentials and stay short, option values named in errors.

mod common;

use std::time::{Duration, Instant};

use common::Env;
use serde_json::json;

#[test]
fn a_one_megabyte_pretty_printed_event_is_recorded() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "big", "https://big.example.com/", &[]);
    let items: serde_json::Map<String, serde_json::Value> = (0..30_000)
        .map(|i| (format!("item{i:05}"), json!(format!("value-{i:05}"))))
        .collect();
    let event = json!({
        "customer": c,
        "event_type": "job.completed",
        "job": {"id": 1, "items": items},
    });
    let doc = serde_json::to_string_pretty(&event).unwrap();
    assert!(
        (900_000..1_040_000).contains(&doc.len()),
        "about 1 MB: {}",
        doc.len()
    );
    let started = Instant::now();
    let out = env.run_stdin(&["emit", "--queue"], &doc).ok();
    // The old splitter re-parsed the document on every line: minutes for this one.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let recorded = out.json_lines();
    assert_eq!(recorded.len(), 1, "{}", out.stderr);
    assert_eq!(recorded[0]["line"], 1);
    let id = recorded[0]["deliveries"][0]["id"].as_i64().unwrap();
    let d = env.delivery(id);
    assert_eq!(d["status"], "pending");
    assert_eq!(d["payload"]["job"]["items"]["item29999"], "value-29999");
}

#[test]
fn a_line_cut_short_is_reported_and_the_next_line_is_recorded() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "w", "https://w.example.com/", &[]);
    let valid = r#"{"customer": 1, "event_type": "job.completed", "job": {"id": 2}}"#;
    let input = format!("{{\"customer\": 1, \"event_type\":\n{valid}\n");
    let out = env.run_stdin(&["emit", "--queue"], &input);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 1: event: incomplete JSON"),
        "{}",
        out.stderr
    );
    let recorded = out.json_lines();
    assert_eq!(recorded.len(), 1, "{}", out.stderr);
    assert_eq!(recorded[0]["line"], 2);
}
