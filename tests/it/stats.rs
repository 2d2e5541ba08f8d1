//! `webnet stats`: per webhook success rate, attempts and latency, with sparklines.

use crate::common;

use common::receiver::{Receiver, Reply};
use common::Env;

#[test]
fn stats_per_webhook_over_a_period() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.path == "/bad" {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    });
    let a = env.customer("acme");
    let b = env.customer("globex");
    env.local_webhook(a, "good", &rx.url("/good"), &[]);
    env.local_webhook(a, "bad", &rx.url("/bad"), &["--max-retries", "0"]);
    env.local_webhook(b, "other", &rx.url("/other"), &[]);
    for _ in 0..4 {
        env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    }
    env.run(&["emit", "job.completed", "--customer", "2"]).ok();
    let rows = env
        .run_env(&[("WEBNET_CUSTOMER", "1")], &["stats", "--since", "1h"])
        .ok()
        .json();
    let rows = rows.as_array().unwrap();
    assert_eq!(
        rows.len(),
        2,
        "only the pinned customer's webhooks: {rows:?}"
    );
    let good = rows.iter().find(|r| r["webhook_name"] == "good").unwrap();
    let bad = rows.iter().find(|r| r["webhook_name"] == "bad").unwrap();
    assert_eq!(good["deliveries"], 4);
    assert_eq!(good["success_rate"], 100.0);
    assert_eq!(good["attempts"], 4);
    assert!(good["latency_p50_ms"].is_number());
    assert_eq!(bad["success_rate"], 0.0);
    assert_eq!(bad["failed_attempts"], 4);
    assert_eq!(good["activity"].as_str().unwrap().chars().count(), 24);
    assert!(good["activity"].as_str().unwrap().ends_with('█'), "{good}");
    assert!(bad["failures"].as_str().unwrap().contains('█'));
    let table = env
        .run(&["--output", "table", "stats", "--buckets", "10"])
        .ok()
        .stdout;
    assert!(
        table.contains("SUCCESS %") && table.contains("other"),
        "{table}"
    );
    // Failed attempts as a number beside the attempts, as well as their sparkline.
    assert!(
        table.contains("ATTEMPTS  FAILED  P50 MS") && table.contains("FAILURES OVER TIME"),
        "{table}"
    );
    let cells = |name: &str| -> Vec<String> {
        let row = table
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap();
        row.split_whitespace().map(String::from).collect()
    };
    // ID, WEBHOOK, DELIVERIES, SUCCESS %, ATTEMPTS, FAILED: the id first, as two customers'
    // webhooks may share a name.
    assert!(table.starts_with("ID  WEBHOOK"), "{table}");
    assert_eq!(cells("bad")[4..6], ["4", "4"], "{table}");
    assert_eq!(cells("good")[4..6], ["4", "0"], "{table}");
    assert_eq!(cells("good")[0], good["webhook"].to_string(), "{table}");
    let one = env.run(&["stats", "--webhook", "1"]).ok().json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    env.run(&["stats", "--since", "later"]).fails(2, "--since");
}
