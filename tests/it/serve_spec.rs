//! The spec's API section, taken from its text and run with `curl` against `webnet serve`
//! (with a token header added): every request it shows answers 2xx.

use std::process::Command;

use serde_json::Value;

use crate::common::receiver::{Receiver, Reply};
use crate::common::server::{token, Server};
use crate::common::Env;

/// The spec's text, as checked in (the original lives beside the repository, in
/// `../shared/spec/`, where one exists: `the_spec_copy_matches_the_spec` compares them).
const SPEC: &str = include_str!("../spec/webhook-integration.md");

#[test]
fn the_spec_copy_matches_the_spec() {
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/spec/webhook-integration.md");
    let Ok(text) = std::fs::read_to_string(&spec) else {
        crate::skipped!(
            "SKIPPED the_spec_copy_matches_the_spec: {} is not beside the repository",
            spec.display()
        );
        return;
    };
    assert_eq!(
        text, SPEC,
        "tests/spec/webhook-integration.md is not the spec's text: copy it again"
    );
}

/// An HTTP request as the spec writes one in a ```bash block: `METHOD PATH`, header lines,
/// a blank line, a JSON body.
struct Example {
    title: String,
    method: String,
    path: String,
    headers: Vec<String>,
    body: Option<String>,
}

fn examples() -> Vec<Example> {
    let mut out = Vec::new();
    let mut title = String::new();
    let mut lines = SPEC.lines();
    while let Some(line) = lines.next() {
        if let Some(t) = line.strip_prefix("### ") {
            title = t.to_string();
        }
        if line.trim() != "```bash" {
            continue;
        }
        let block: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let Some((method, path)) = block.first().and_then(|l| l.split_once(' ')) else {
            continue;
        };
        if !path.starts_with("/api/") {
            continue;
        }
        // Header lines (`Name: value`) until a blank line or the body's first line.
        let is_header = |l: &&&str| !l.trim().is_empty() && !l.starts_with(['{', '[']);
        let headers = block[1..]
            .iter()
            .take_while(is_header)
            .map(|l| l.to_string())
            .collect::<Vec<_>>();
        let body: String = block[1 + headers.len()..].join("\n");
        out.push(Example {
            title: title.clone(),
            method: method.to_string(),
            path: path.trim().to_string(),
            headers,
            body: (!body.trim().is_empty()).then_some(body),
        });
    }
    out
}

fn curl(
    srv: &Server,
    token: &str,
    method: &str,
    path: &str,
    headers: &[String],
    body: Option<&str>,
) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .args(["-H", &format!("Authorization: Bearer {token}")]);
    for h in headers {
        c.args(["-H", h]);
    }
    if let Some(b) = body {
        // As written: where the spec shows no Content-Type, none is sent (not curl's own
        // form-encoding default).
        if !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("content-type:"))
        {
            c.args(["-H", "Content-Type:"]);
        }
        c.args(["--data-binary", b]);
    }
    let out = c.arg(format!("{}{path}", srv.base)).output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn the_specs_api_examples_work_as_written_with_curl() {
    if Command::new("curl").arg("--version").output().is_err() {
        crate::skipped!(
            "SKIPPED the_specs_api_examples_work_as_written_with_curl: curl is not installed"
        );
        return;
    }
    let examples = examples();
    let titles: Vec<&str> = examples.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Creating a Webhook",
            "List Webhooks",
            "Get Webhook Details",
            "Update Webhook",
            "Delete Webhook",
            "Test Webhook",
            "View Delivery History",
            "Retry Failed Delivery",
            "Slack"
        ],
        "the spec's examples as this test knows them"
    );
    let env = Env::local();
    env.customer("acme");
    // A loopback receiver for the examples that send (the spec's own URL is Slack's: the
    // webhook it creates is never sent to — the server runs without a worker).
    let rx = Receiver::start(|_| Reply::status(500));
    let local = env.local_webhook(1, "local", &rx.url("/"), &["--max-retries", "0"]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let failed = env
        .run(&[
            "deliveries",
            "list",
            "--status",
            "failed",
            "--output",
            "json",
        ])
        .ok()
        .json()[0]["id"]
        .as_i64()
        .unwrap();
    // acme's token: the spec's bodies name customer 1, or (the Slack example) none.
    let admin = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let mut created = 0;
    for e in &examples {
        let path = match e.title.as_str() {
            "Test Webhook" | "View Delivery History" => e
                .path
                .replace("{id}", &local.to_string())
                .replace("{webhook_id}", &local.to_string()),
            "Retry Failed Delivery" => e.path.replace("{id}", &failed.to_string()),
            _ => e.path.replace("{id}", &created.to_string()),
        };
        let (code, body) = curl(
            &srv,
            &admin,
            &e.method,
            &path,
            &e.headers,
            e.body.as_deref(),
        );
        assert!(
            (200..300).contains(&code),
            "{}: {} {path}: {code} {body}",
            e.title,
            e.method
        );
        if e.title == "Creating a Webhook" {
            let v: Value = serde_json::from_str(&body).unwrap();
            created = v["id"].as_i64().unwrap();
            assert_eq!(
                v["url"], "https://hooks.slack.com/services/YOUR/WEBHOOK/[redacted]",
                "Slack's token is never shown"
            );
        }
        if e.title == "Update Webhook" {
            assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap()["enabled"],
                false
            );
        }
    }
    let slack = srv.get("/api/v1/webhooks/?customer=1", &admin).expect(200);
    assert!(
        slack["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["name"] == "Slack Alerts"),
        "{slack}"
    );
    // The test and the retry were sent to the loopback receiver, nothing anywhere else.
    assert_eq!(rx.count(), 3, "emit, test, retry");
}
