//! The `teams` and `pagerduty` formats on the real binary: bodies captured by a loopback
//! receiver (the format forced; real Teams and PagerDuty URLs are only ever created disabled),
//! Teams cards validated with Microsoft's `adaptivecards` package (npm; `.ci/run` installs it
//! into `target/npm`, and the test says SKIPPED without it), PagerDuty's trigger and resolve,
//! and the routing key: required, sealed, never shown, re-sealed by `key rotate`, cleared by
//! `key reset`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::{Env, Out};
use serde_json::{json, Value};

/// A routing key of PagerDuty's shape (32 characters), distinctive enough to search for.
const ROUTING_KEY: &str = "R0UT1NGK3Y5ecret0123456789abcdef";
const PASSPHRASE: &str = "routing key passphrase 9f3a";

const EVENT_TYPES: [&str; 13] = [
    "job.created",
    "job.started",
    "job.completed",
    "job.failed",
    "device.created",
    "device.updated",
    "device.deleted",
    "device.status_changed",
    "config.backup_created",
    "config.changed",
    "config.deployed",
    "compliance.check_completed",
    "compliance.violation_detected",
];

const HOSTILE: &str = "<at>x</at> @everyone *bold* _it_ `code` ~s~ [link](https://evil.example) {{DATE(2020-01-01T00:00:00Z)}} \u{202e}desrever\u{202c} line\nbreak \u{1b}[31m 日本語 👩‍💻 e\u{301}";

/// An event line for `emit` whose object's strings are all `s`.
fn event(t: &str, s: &str, event_id: i64) -> Value {
    let family = t.split('.').next().unwrap();
    let object = match family {
        "job" => json!({"id": event_id, "type": s, "status": s, "error": s,
            "target_summary": {"device_count": 5}, "result_summary": {"backed_up": 5, "note": s}}),
        "device" => json!({"id": 7, "hostname": s, "status": s, "platform": s, "site": s}),
        "config" => json!({"device": s, "backup_id": 42, "diff_summary": s}),
        _ => json!({"device": s, "rule": s, "severity": "critical", "description": s,
            "policy": s, "violations": 2}),
    };
    let mut e = json!({"customer": 1, "event_type": t, "event_id": event_id,
        "actor": {"id": 1, "username": s}});
    e[family] = object;
    e
}

/// Emits `events` as NDJSON and waits for the receiver to hold `total` requests.
fn emit_all(env: &Env, rx: &Receiver, events: &[Value], total: usize) -> Vec<Vec<u8>> {
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    env.run_stdin(&["emit"], &input).ok();
    let mut got = rx.wait_for(total, Duration::from_secs(30));
    assert_eq!(got.len(), total, "every event delivered");
    got.sort_by_key(|r| r.delivery());
    got.into_iter().map(|r| r.body).collect()
}

/// Node.js with the `adaptivecards` package under `target/npm`, or why not.
fn adaptive_cards() -> Option<PathBuf> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/npm/node_modules");
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        crate::skipped!("SKIPPED: `node` is not available here; .ci/run installs it");
        return None;
    }
    if !modules.join("adaptivecards/dist/adaptivecards.js").exists() {
        crate::skipped!(
            "SKIPPED: the npm package adaptivecards is not in {}; .ci/run installs it (npm install --prefix target/npm adaptivecards)",
            modules.display()
        );
        return None;
    }
    Some(modules)
}

/// The card's texts: title, fact titles and values, context.
fn card_texts(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for b in body["attachments"][0]["content"]["body"]
        .as_array()
        .unwrap()
    {
        out.extend(b["text"].as_str().map(str::to_string));
        for f in b["facts"].as_array().into_iter().flatten() {
            out.push(f["title"].as_str().unwrap().to_string());
            out.push(f["value"].as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn teams_cards_pass_microsofts_adaptive_cards_parser() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "teams",
        &rx.url("/"),
        &["--payload-format", "teams", "--event", "*"],
    );
    let long: String = "a€日😀".chars().cycle().take(20_000).collect();
    let mut events = Vec::new();
    for t in EVENT_TYPES {
        for s in ["core-sw-1", HOSTILE, long.as_str()] {
            events.push(event(t, s, 123));
        }
    }
    let mut bodies = emit_all(&env, &rx, &events, events.len());
    env.run(&["webhooks", "test", "1"]).ok();
    bodies.push(
        rx.wait_for(events.len() + 1, Duration::from_secs(10))[events.len()]
            .body
            .clone(),
    );

    for (i, raw) in bodies.iter().enumerate() {
        assert!(raw.len() <= 28 * 1024, "{i}: {} bytes", raw.len());
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(!text.contains("{{"), "{i}: a template could expand");
        assert!(!text.contains('\u{202e}'), "{i}: a bidi override");
        let v: Value = serde_json::from_str(&text).unwrap();
        let card = &v["attachments"][0]["content"];
        assert_eq!(card["version"], "1.4");
        for t in card_texts(&v) {
            assert!(!t.contains("*bold*") && !t.contains("[link]"), "{i}: {t}");
        }
    }
    // What an ordinary failed job looks like.
    let failed: Value = serde_json::from_slice(&bodies[3 * 3]).unwrap();
    let card = &failed["attachments"][0]["content"];
    assert_eq!(
        card["body"][0]["text"],
        "job 123 core-sw-1 failed on 5 devices"
    );
    assert_eq!(card["body"][0]["color"], "Attention");
    assert_eq!(
        card["body"][1]["facts"][0],
        json!({"title": "Job", "value": "123"})
    );
    assert!(card["body"][2]["text"]
        .as_str()
        .unwrap()
        .starts_with("job.failed · "));
    // The test event too.
    let test: Value = serde_json::from_slice(bodies.last().unwrap()).unwrap();
    assert!(test["attachments"][0]["content"]["body"][0]["text"]
        .as_str()
        .unwrap()
        .contains("this webhook works"));
    // `deliveries show` gives the card that was sent.
    let shown = env.delivery(1);
    assert_eq!(
        shown["request_body"],
        serde_json::from_slice::<Value>(&bodies[0]).unwrap()
    );

    let Some(modules) = adaptive_cards() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let p = dir.path().join(format!("teams-{i}.json"));
            std::fs::write(&p, b).unwrap();
            p
        })
        .collect();
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/check_teams.js"))
        .args(&files)
        .env("NODE_PATH", &modules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "adaptivecards found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("ok {}", files.len())
    );

    // The checker does fail a bad card (so a pass above means something).
    let mut bad: Value = serde_json::from_slice(&bodies[0]).unwrap();
    bad["attachments"][0]["content"]["body"][0]["color"] = json!("Purple");
    bad["attachments"][0]["content"]["body"][1]["type"] = json!("Table");
    let p = dir.path().join("bad.json");
    std::fs::write(&p, bad.to_string()).unwrap();
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets/check_teams.js"))
        .arg(&p)
        .env("NODE_PATH", &modules)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Purple") && said.contains("Table"), "{said}");
}

#[test]
fn workflows_and_pagerduty_urls_are_detected_and_a_pagerduty_webhook_needs_its_key() {
    let env = Env::new();
    env.customer("acme");
    let create = |name: &str, url: &str, extra: &[&str], stdin: &str| -> Out {
        env.create_webhook(url)
            .name(name)
            .events(&["job.failed"])
            .args(&["--disabled"])
            .args(extra)
            .stdin(stdin)
            .run()
    };
    for (i, url) in [
        "https://prod-12.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=abc",
        "https://default0123.ab.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=abc",
    ]
    .iter()
    .enumerate()
    {
        let hook = create(&format!("teams{i}"), url, &[], "").ok().json();
        assert_eq!(hook["payload_format"], "teams", "{url}");
    }

    let pd = "https://events.pagerduty.com/v2/enqueue";
    let before = env.dump();
    // Detected, or forced on any URL: no routing key, no webhook.
    let out = create("pd", pd, &[], "").fails(2, "--routing-key");
    assert!(out.stderr.contains("pagerduty"), "{}", out.stderr);
    create(
        "pd",
        "https://alerts.example.com/",
        &["--payload-format", "pagerduty"],
        "",
    )
    .fails(2, "--routing-key");
    // A key nobody would send (another format), or of the wrong form: refused, never echoed.
    let out = create(
        "j",
        "https://ops.example.com/",
        &["--routing-key", ROUTING_KEY],
        "",
    )
    .fails(2, "--routing-key");
    assert!(!out.stderr.contains(ROUTING_KEY), "{}", out.stderr);
    let out = create("pd", pd, &["--routing-key-stdin"], "R0UT1NG K3Y\n").fails(2, "--routing-key");
    assert!(!out.stderr.contains("K3Y"), "{}", out.stderr);
    // Both read standard input's first line: one at a time.
    create(
        "pd",
        pd,
        &["--routing-key-stdin", "--secret-stdin"],
        &format!("{ROUTING_KEY}\n"),
    )
    .fails(2, "--routing-key-stdin");
    assert_eq!(env.dump(), before, "nothing changed");

    let hook = create(
        "pd",
        pd,
        &["--routing-key-stdin"],
        &format!("{ROUTING_KEY}\n"),
    )
    .ok()
    .json();
    assert_eq!(hook["payload_format"], "pagerduty");
    assert_eq!(hook["has_routing_key"], true);
    assert!(!hook.to_string().contains(ROUTING_KEY));

    // Turning a JSON webhook into a PagerDuty one needs the key then, not later.
    let id = create("ops", "https://ops.example.com/", &[], "")
        .ok()
        .json()["id"]
        .to_string();
    env.run(&["webhooks", "update", &id, "--payload-format", "pagerduty"])
        .fails(2, "--routing-key");
    let short = env
        .run_stdin(
            &[
                "webhooks",
                "update",
                &id,
                "--payload-format",
                "pagerduty",
                "--routing-key-stdin",
            ],
            "shortkey\n",
        )
        .ok();
    assert_eq!(short.json()["has_routing_key"], true);
    assert!(
        short.stderr.contains("warning: --routing-key") && short.stderr.contains("32"),
        "{}",
        short.stderr
    );
    assert!(!short.stderr.contains("shortkey"), "{}", short.stderr);
    // Once stored, other changes need not repeat it.
    env.run(&["webhooks", "update", &id, "--timeout", "5s"])
        .ok();
    // Another format sends no key: the stored one goes with the change, and going back to
    // pagerduty asks for one again.
    let json = env
        .run(&["webhooks", "update", &id, "--payload-format", "json"])
        .ok()
        .json();
    assert_eq!(json["has_routing_key"], false, "{json}");
    env.run(&["webhooks", "update", &id, "--payload-format", "pagerduty"])
        .fails(2, "--routing-key");
}

/// A customer, and a loopback PagerDuty webhook (format forced) answering as `reply` says.
fn pagerduty(env: &Env, rx: &Receiver) -> i64 {
    let c = env.customer("acme");
    env.create_webhook(&rx.url("/v2/enqueue"))
        .customer(c)
        .name("pagerduty")
        .events(&["job.*"])
        .args(&[
            "--payload-format",
            "pagerduty",
            "--retry-backoff",
            "1s",
            "--routing-key-stdin",
        ])
        .local()
        .stdin(&format!("{ROUTING_KEY}\n"))
        .id()
}

/// Every file beside the database (the database, its WAL, the key file): none holds `needle`.
#[track_caller]
fn assert_not_on_disk(env: &Env, needle: &str) {
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{} holds the routing key",
            path.display()
        );
    }
}

#[test]
fn pagerduty_gets_trigger_then_resolve_and_the_key_is_never_shown_or_stored_in_clear() {
    let env = Env::local();
    // The first request fails (so drain logs a retry), the rest succeed.
    let rx = Receiver::start(|r| {
        if r.index == 0 {
            Reply::status(500).body("try later")
        } else {
            Reply::status(202).body(r#"{"status":"success","message":"Event processed"}"#)
        }
    });
    let mut seen: Vec<String> = Vec::new();
    let mut keep = |o: Out| -> Out {
        seen.push(format!("{}\n{}", o.stdout, o.stderr));
        o
    };
    pagerduty(&env, &rx);
    let failed = r#"{"id": 77, "type": "config_backup", "status": "failed", "error": "timeout on core-sw-1"}"#;
    keep(
        env.run(&[
            "emit",
            "job.failed",
            "--customer",
            "1",
            "--event-id",
            "77",
            "--data",
            failed,
        ])
        .ok(),
    );
    rx.wait_for(1, Duration::from_secs(10));
    keep(env.run_after(Duration::from_millis(1_200), &["drain"]).ok());
    let completed = r#"{"id": 77, "type": "config_backup", "status": "success"}"#;
    keep(
        env.run(&[
            "emit",
            "job.completed",
            "--customer",
            "1",
            "--event-id",
            "77",
            "--data",
            completed,
        ])
        .ok(),
    );
    let got = rx.wait_for(3, Duration::from_secs(10));
    assert_eq!(got.len(), 3);

    let trigger = got[1].json();
    let resolve = got[2].json();
    assert_eq!(got[0].json(), trigger, "the retry sends the same event");
    assert_eq!(
        trigger["routing_key"], ROUTING_KEY,
        "PagerDuty gets the key"
    );
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "webnet:1:job:77");
    assert_eq!(trigger["client"], "webnet");
    let p = &trigger["payload"];
    assert_eq!(p["summary"], "job 77 config_backup failed");
    assert_eq!(p["severity"], "error");
    assert_eq!(p["source"], "webnet");
    assert_eq!(p["class"], "job.failed");
    assert_eq!(p["component"], "config_backup");
    assert_eq!(p["custom_details"]["Error"], "timeout on core-sw-1");
    assert!(p["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(resolve["routing_key"], ROUTING_KEY);
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);

    // What webnet keeps and shows: the body with the key redacted.
    for id in ["1", "2"] {
        let shown = keep(env.run(&["deliveries", "show", id]).ok()).json();
        let body = &shown["request_body"];
        assert_eq!(body["routing_key"], "[redacted]", "{shown}");
        keep(
            env.run(&["--output", "table", "deliveries", "show", id])
                .ok(),
        );
    }
    let shown = env.delivery(2);
    let mut sent = resolve.clone();
    sent["routing_key"] = json!("[redacted]");
    assert_eq!(shown["request_body"], sent, "the rest as sent");
    for args in [
        &["webhooks", "show", "1"][..],
        &["webhooks", "list"],
        &["deliveries", "list"],
        &["stats"],
    ] {
        keep(env.run(args).ok());
        let mut table = vec!["--output", "table"];
        table.extend(args);
        keep(env.run(&table).ok());
    }
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["has_routing_key"],
        true
    );
    keep(env.run(&["key", "rotate"]).ok());
    for o in &seen {
        assert!(!o.contains(ROUTING_KEY), "the routing key leaked: {o}");
    }
    assert_not_on_disk(&env, ROUTING_KEY);
}

#[test]
fn key_rotation_keeps_the_routing_key_working_and_key_reset_clears_it() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(202));
    pagerduty(&env, &rx);
    let emit = |extra_env: &[(&str, &str)]| -> Value {
        let before = rx.count();
        env.run_env(
            extra_env,
            &["emit", "job.failed", "--customer", "1", "--event-id", "5"],
        )
        .ok();
        rx.wait_for(before + 1, Duration::from_secs(10))
            .pop()
            .unwrap()
            .json()
    };
    assert_eq!(emit(&[])["routing_key"], ROUTING_KEY);

    // A new key file, then a passphrase: the routing key is re-sealed each time and counted.
    let r = env.run(&["key", "rotate"]).ok().json();
    assert_eq!(r["routing_keys"], 1, "{r}");
    assert_eq!(emit(&[])["routing_key"], ROUTING_KEY);
    let r = env
        .run_stdin(
            &["key", "rotate", "--new-passphrase-stdin"],
            &format!("{PASSPHRASE}\n"),
        )
        .ok()
        .json();
    assert_eq!(r["routing_keys"], 1);
    let with_passphrase = [("WEBNET_SECRET_KEY", PASSPHRASE)];
    assert_eq!(emit(&with_passphrase)["routing_key"], ROUTING_KEY);
    let table = env
        .run_env(&with_passphrase, &["--output", "table", "key", "rotate"])
        .ok();
    assert!(
        table.stdout.contains("1 routing key(s)"),
        "{}",
        table.stdout
    );
    assert_eq!(emit(&[])["routing_key"], ROUTING_KEY, "key file again");

    // The key is lost: reset clears the routing key and says so.
    std::fs::remove_file(env.dir.path().join("webhooks.db.key")).unwrap();
    let r = env.run(&["key", "reset", "--yes"]).ok().json();
    assert_eq!(r["webhooks_lost_routing_key"], 1, "{r}");
    assert_eq!(r["routing_keys"], json!([1]));
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["has_routing_key"],
        false
    );
    // Nothing is sent without a key: the attempt fails and says what to do.
    let before = rx.count();
    let out = env
        .run(&["emit", "job.failed", "--customer", "1", "--event-id", "6"])
        .ok()
        .json();
    let id = out["deliveries"][0]["id"].as_i64().unwrap();
    let d = env.delivery(id);
    assert_eq!(rx.count(), before, "no request without a routing key");
    let error = d["error_message"].as_str().unwrap();
    assert!(
        error.contains("routing key") && error.contains("--routing-key-stdin"),
        "{error}"
    );
    // A new key (and a new key file) makes it work again.
    env.run_stdin(
        &["webhooks", "update", "1", "--routing-key-stdin"],
        &format!("{ROUTING_KEY}\n"),
    )
    .ok();
    env.run(&["deliveries", "retry", &id.to_string()]).ok();
    let got = rx.wait_for(before + 1, Duration::from_secs(10));
    assert_eq!(got.last().unwrap().json()["routing_key"], ROUTING_KEY);
    assert_not_on_disk(&env, ROUTING_KEY);
}

#[test]
fn a_terminal_is_asked_for_the_routing_key_without_echo() {
    use rexpect::session::spawn_command;
    let env = Env::new();
    env.customer("acme");
    let mut cmd = env.tty_cmd();
    cmd.args([
        "--output",
        "json",
        "webhooks",
        "create",
        "--customer",
        "1",
        "--name",
        "pd",
        "--event",
        "job.failed",
        "--disabled",
        "--secret",
        "a-signing-secret-given-here",
    ]);
    let mut p = spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
    let mut seen = String::new();
    seen += &p.exp_string("URL").unwrap();
    p.send_line("https://events.pagerduty.com/v2/enqueue")
        .unwrap();
    seen += &p.exp_string("routing key").unwrap();
    p.send_line(ROUTING_KEY).unwrap();
    seen += &p.exp_eof().unwrap();
    assert!(!seen.contains(ROUTING_KEY), "echoed: {seen:?}");
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(w["payload_format"], "pagerduty");
    assert_eq!(w["has_routing_key"], true);
    assert_eq!(w["has_secret"], true);
}
