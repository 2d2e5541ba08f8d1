//! End to end: the real binary emitting to real receivers on loopback.

use crate::common;

use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use common::{hmac_hex, Env};
use serde_json::json;

#[test]
fn emit_delivers_the_spec_payload_with_every_header() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "ops",
        &rx.url("/hook"),
        &[
            "--secret",
            "s3cr3t",
            "--header",
            "X-Team: netops",
            "--header",
            "Authorization: Bearer tok",
        ],
    );
    let out = env
        .run(&["emit", "job.completed", "--customer", "1", "--event-id", "123", "--actor-id", "1", "--actor-username", "admin",
               "--data", r#"{"id": 123, "type": "config_backup", "status": "success", "target_summary": {"device_count": 5}}"#])
        .ok();
    let line = out.json();
    let delivery = line["deliveries"][0]["id"].as_i64().unwrap();
    assert_eq!(line["event_type"], "job.completed");

    let reqs = rx.wait_for(1, Duration::from_secs(5));
    assert_eq!(reqs.len(), 1, "exactly one request");
    let r = &reqs[0];
    assert_eq!(r.path, "/hook");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("user-agent"), Some("webnet-webhook/1.0"));
    assert_eq!(r.header("x-webhook-event"), Some("job.completed"));
    assert_eq!(
        r.header("x-webhook-delivery"),
        Some(delivery.to_string().as_str())
    );
    assert_eq!(r.header("x-team"), Some("netops"));
    assert_eq!(r.header("authorization"), Some("Bearer tok"));
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex("s3cr3t", &r.body).as_str())
    );

    let body = r.json();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["event_timestamp", "event_type", "actor", "job"],
        "spec order, no customer or event_id"
    );
    assert_eq!(body["actor"], json!({"id": 1, "username": "admin"}));
    assert_eq!(body["job"]["target_summary"]["device_count"], 5);
    assert!(body["event_timestamp"].as_str().unwrap().ends_with('Z'));

    let d = env.delivery(delivery);
    assert_eq!(d["status"], "success");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["http_status"], 200);
    assert_eq!(d["response_body"], "ok");
    assert_eq!(d["event_id"], 123);
    assert_eq!(d["webhook_name"], "ops");
    let log = d["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["request_headers"]["Authorization"], "[redacted]");
    assert_eq!(log[0]["request_headers"]["X-Team"], "netops");
    assert_eq!(log[0]["http_status"], 200);
    // A table shows the headers sent too, one a line, credentials redacted.
    let shown = env
        .run(&[
            "--output",
            "table",
            "deliveries",
            "show",
            &delivery.to_string(),
        ])
        .ok()
        .stdout;
    for line in [
        "request_headers  Authorization: [redacted]",
        "X-Team: netops",
        "X-Webhook-Event: job.completed",
    ] {
        assert!(shown.contains(line), "{line:?} in {shown}");
    }
}

#[test]
fn events_reach_only_enabled_subscribed_webhooks_of_their_customer() {
    let env = Env::local();
    let rx = Receiver::ok();
    let a = env.customer("acme");
    let b = env.customer("globex");
    env.local_webhook(a, "a-jobs", &rx.url("/a-jobs"), &["--event", "job.failed"]);
    env.local_webhook(
        a,
        "a-devices",
        &rx.url("/a-devices"),
        &["--event", "device.created"],
    );
    env.local_webhook(
        a,
        "a-off",
        &rx.url("/a-off"),
        &["--event", "job.failed", "--disabled"],
    );
    env.local_webhook(b, "b-jobs", &rx.url("/b-jobs"), &["--event", "job.failed"]);
    let out = env
        .run(&["emit", "job.failed", "--customer", "1", "--data", "{}"])
        .ok()
        .json();
    assert_eq!(out["deliveries"].as_array().unwrap().len(), 1);
    rx.wait_for(1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(200));
    let paths: Vec<String> = rx.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/a-jobs"]);
}

#[test]
fn identical_bytes_on_every_attempt_and_the_retry_schedule_under_drain_watch() {
    let env = Env::local();
    // Fails three times, then succeeds.
    let rx = Receiver::start(|r| {
        if r.index < 3 {
            Reply::status(500).body("boom")
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "flaky",
        &rx.url("/"),
        &[
            "--retry-backoff",
            "1s",
            "--max-retries",
            "3",
            "--secret",
            "k",
        ],
    );
    let id = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    let d = env.delivery(id);
    assert_eq!(d["status"], "retrying");
    assert_eq!(d["error_message"], "HTTP 500: boom");
    assert!(d["next_retry_at"].is_string());

    let watch = env
        .cmd()
        .args(["drain", "--watch", "--max-time", "12s"])
        .spawn()
        .unwrap();
    let reqs = rx.wait_for(4, Duration::from_secs(15));
    // The receiver has the last attempt; the watcher records its answer a moment later.
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while env.delivery(id)["status"] != "success" && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut watch = watch;
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(reqs.len(), 4, "1 + 3 retries");
    // Waits of 1, 2 and 4 seconds (backoff doubling), measured at the receiver.
    for (i, expected) in [1.0, 2.0, 4.0].iter().enumerate() {
        let gap = reqs[i + 1].at.duration_since(reqs[i].at).as_secs_f64();
        assert!(
            gap >= expected - 0.05 && gap < expected + 1.6,
            "wait {} was {gap:.2}s, expected {expected}s",
            i + 1
        );
    }
    for r in &reqs {
        assert_eq!(
            r.body, reqs[0].body,
            "payload bytes identical on every attempt"
        );
        assert_eq!(
            r.header("x-webhook-signature"),
            reqs[0].header("x-webhook-signature")
        );
        assert_eq!(r.delivery(), id);
    }
    let d = env.delivery(id);
    assert_eq!(d["status"], "success");
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["next_retry_at"], serde_json::Value::Null);
    let log: Vec<_> = d["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["http_status"].as_i64().unwrap())
        .collect();
    assert_eq!(log, [500, 500, 500, 200]);
}

#[test]
fn a_delivery_fails_after_its_last_retry() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(503));
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "down",
        &rx.url("/"),
        &["--retry-backoff", "1s", "--max-retries", "1"],
    );
    let id = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(env.delivery(id)["status"], "retrying");
    // Not yet due: a drain now sends nothing.
    let s = env.run(&["drain"]).ok().json();
    assert_eq!(s["attempted"], 0);
    let s = env
        .run_after(Duration::from_millis(1100), &["drain"])
        .ok()
        .json();
    assert_eq!(s["attempted"], 1);
    assert_eq!(s["failed"], 1);
    let d = env.delivery(id);
    assert_eq!(d["status"], "failed");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["http_status"], 503);
    assert_eq!(rx.count(), 2);
}

#[test]
fn queue_leaves_deliveries_pending_for_drain() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "q", &rx.url("/"), &[]);
    let id = env
        .run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(rx.count(), 0);
    let d = env.delivery(id);
    assert_eq!(d["status"], "pending");
    assert_eq!(d["attempts"], 0);
    let listed = env
        .run(&["deliveries", "list", "--status", "pending"])
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let s = env.run(&["drain"]).ok().json();
    assert_eq!(
        s,
        json!({"attempted": 1, "succeeded": 1, "retrying": 0, "failed": 0})
    );
    assert_eq!(env.delivery(id)["status"], "success");
    assert_eq!(rx.count(), 1);
}

#[test]
fn timeouts_connection_refused_and_redirects_fail_the_attempt_in_plain_words() {
    let env = Env::local();
    let slow = Receiver::start(|_| Reply::ok().delay(Duration::from_secs(3)));
    let redirect = Receiver::start(|r| {
        if r.path == "/moved" {
            Reply::status(302).header("Location", "/elsewhere")
        } else {
            Reply::ok()
        }
    });
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "slow",
        &slow.url("/"),
        &["--timeout", "1s", "--event", "device.created"],
    );
    env.local_webhook(
        c,
        "refused",
        &format!("http://127.0.0.1:{closed_port}/"),
        &["--event", "device.created"],
    );
    env.local_webhook(
        c,
        "moved",
        &redirect.url("/moved"),
        &["--event", "device.created"],
    );
    let start = Instant::now();
    let out = env
        .run(&[
            "emit",
            "device.created",
            "--customer",
            "1",
            "--data",
            r#"{"hostname": "core-sw-1"}"#,
        ])
        .ok()
        .json();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "attempts run in parallel and time out at 1 s"
    );
    let ids: Vec<i64> = out["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    let slow_d = env.delivery(ids[0]);
    assert_eq!(slow_d["error_message"], "timed out after 1 s");
    assert_eq!(slow_d["status"], "retrying");
    let ms = slow_d["duration_ms"].as_i64().unwrap();
    assert!((900..2500).contains(&ms), "duration {ms}");
    assert_eq!(env.delivery(ids[1])["error_message"], "connection refused");
    let moved = env.delivery(ids[2]);
    assert_eq!(moved["http_status"], 302);
    assert_eq!(moved["status"], "retrying");
    assert!(
        moved["error_message"]
            .as_str()
            .unwrap()
            .contains("not followed"),
        "{moved}"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        redirect.requests().iter().all(|r| r.path == "/moved"),
        "the redirect was not followed"
    );
}

#[test]
fn retry_after_is_honoured_when_longer_than_the_backoff() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(429).header("Retry-After", "120"));
    let c = env.customer("acme");
    env.local_webhook(c, "limited", &rx.url("/"), &["--retry-backoff", "1s"]);
    let before = std::time::SystemTime::now();
    let id = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    let d = env.delivery(id);
    let next = humantime::parse_rfc3339(d["next_retry_at"].as_str().unwrap()).unwrap();
    let wait = next.duration_since(before).unwrap().as_secs();
    assert!(
        (118..=122).contains(&wait),
        "next retry in {wait}s, expected about 120"
    );
}

#[test]
fn response_bodies_are_stored_truncated() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(500).body(vec![b'x'; 50_000]));
    let c = env.customer("acme");
    env.local_webhook(c, "big", &rx.url("/"), &[]);
    let id = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    let d = env.delivery(id);
    assert_eq!(d["response_body"].as_str().unwrap().len(), 10 * 1024);
    assert!(d["error_message"].as_str().unwrap().len() < 300);
}

#[test]
fn ndjson_with_bad_lines_reports_line_numbers_and_delivers_the_rest() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "all",
        &rx.url("/"),
        &["--event", "job.completed,device.updated"],
    );
    let mut input = String::new();
    for i in 1..=20 {
        let line = match i {
            4 => "this is not json".to_string(),
            7 => r#"{"customer": 1, "event_type": "job.exploded", "job": {}}"#.to_string(),
            9 => r#"{"customer": 1, "event_type": "job.completed"}"#.to_string(),
            12 => r#"{"customer": 99, "event_type": "job.completed", "job": {}}"#.to_string(),
            15 => String::new(),
            _ if i % 2 == 0 => format!(
                r#"{{"customer": 1, "event_type": "device.updated", "device": {{"n": {i}}}}}"#
            ),
            _ => format!(
                r#"{{"customer": 1, "event_type": "job.completed", "event_id": {i}, "job": {{"n": {i}}}}}"#
            ),
        };
        input.push_str(&line);
        input.push('\n');
    }
    let out = env.run_stdin(&["emit"], &input);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let errors: Vec<&str> = out.stderr.lines().filter(|l| l.contains("line ")).collect();
    assert_eq!(errors.len(), 4, "{}", out.stderr);
    for (n, what) in [
        (4, "not valid JSON"),
        (7, "job.exploded"),
        (9, "\"job\" object"),
        (12, "no customer 99"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("line {n}:")) && e.contains(what)),
            "line {n}: {}",
            out.stderr
        );
    }
    let recorded = out.json_lines();
    assert_eq!(recorded.len(), 15);
    assert_eq!(recorded[0]["line"], 1);
    rx.wait_for(15, Duration::from_secs(10));
    assert_eq!(rx.count(), 15);
}

#[test]
fn one_pretty_printed_event_on_stdin() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "c",
        &rx.url("/"),
        &["--event", "compliance.violation_detected"],
    );
    let doc = "{\n  \"customer\": 1,\n  \"event_type\": \"compliance.violation_detected\",\n  \"compliance\": {\n    \"device\": \"core-sw-1\",\n    \"rule\": \"ntp\"\n  }\n}\n";
    env.run_stdin(&["emit"], doc).ok();
    let r = rx.wait_for(1, Duration::from_secs(5));
    assert_eq!(r[0].json()["compliance"]["device"], "core-sw-1");
}

#[test]
fn emit_validates_arguments() {
    let env = Env::local();
    env.customer("acme");
    let before = env.dump();
    env.run(&["emit", "job.completed"]).fails(2, "--customer");
    env.run(&["emit", "job.nope", "--customer", "1"])
        .fails(2, "job.nope");
    env.run(&["emit", "job.completed", "--customer", "1", "--data", "[1]"])
        .fails(2, "--data");
    env.run(&["emit", "job.completed", "--customer", "1", "--data", "{bad"])
        .fails(2, "--data");
    env.run(&["emit", "webhook.test", "--customer", "1"])
        .fails(2, "webhook.test");
    assert_eq!(env.dump(), before);
    // Unknown customer in the argument form: rejected like a bad line.
    let out = env.run(&["emit", "job.completed", "--customer", "7"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no customer 7"));
}

#[test]
fn disabled_and_deleted_webhooks_get_nothing() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "will-disable", &rx.url("/d"), &[]);
    env.local_webhook(c, "will-delete", &rx.url("/x"), &[]);
    let out = env
        .run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok()
        .json();
    let ids: Vec<i64> = out["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    env.run(&["webhooks", "disable", "1"]).ok();
    env.run(&["webhooks", "delete", "2", "--yes"]).ok();
    let deleted = env.delivery(ids[1]);
    assert_eq!(deleted["status"], "failed");
    assert_eq!(deleted["error_message"], "Webhook was deleted");
    let s = env.run(&["drain"]).ok().json();
    assert_eq!(s["failed"], 1);
    assert_eq!(s["attempted"], 0);
    assert_eq!(s["not_sent"], 1, "{s}");
    let d = env.delivery(ids[0]);
    assert_eq!(d["status"], "failed");
    assert_eq!(d["error_message"], "Webhook is disabled");
    assert_eq!(d["attempt_log"], json!([]));
    assert_eq!(rx.count(), 0);
    // The summary line says why something failed with nothing attempted.
    let late = env.local_webhook(c, "late", &rx.url("/late"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    env.run(&["webhooks", "disable", &late.to_string()]).ok();
    let out = env.run(&["--output", "table", "drain"]).ok();
    assert_eq!(
        out.stdout.trim_end(),
        "0 attempted: 0 succeeded, 0 to retry, 1 failed (1 not sent: webhook deleted or disabled, or out of retries)"
    );
    assert_eq!(rx.count(), 0);
    // A disabled webhook gets no new deliveries at all.
    let out = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json();
    assert_eq!(out["deliveries"], json!([]));
}

#[test]
fn manual_retry_of_one_and_of_all_failed() {
    let env = Env::local();
    let (rx, switch) = Receiver::switchable(500);
    let c = env.customer("acme");
    env.local_webhook(c, "r", &rx.url("/"), &["--max-retries", "0"]);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            env.run(&["emit", "job.completed", "--customer", "1"])
                .ok()
                .json()["deliveries"][0]["id"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(env.delivery(ids[0])["status"], "failed");
    // Still failing: one more attempt, still failed, exit 1.
    let out = env.run(&["deliveries", "retry", &ids[0].to_string()]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.json()["attempts"], 2);
    assert_eq!(out.json()["status"], "failed");
    switch.healthy();
    let out = env
        .run(&["deliveries", "retry", &ids[0].to_string()])
        .ok()
        .json();
    assert_eq!(out["status"], "success");
    assert_eq!(out["attempts"], 3);
    env.run(&["deliveries", "retry", &ids[0].to_string()])
        .fails(2, "success");
    let s = env
        .run(&["deliveries", "retry", "--failed", "--since", "1h"])
        .ok()
        .json();
    assert_eq!(s["attempted"], 2);
    assert_eq!(s["succeeded"], 2);
    for id in &ids {
        assert_eq!(env.delivery(*id)["status"], "success");
    }
    env.run(&["deliveries", "retry", "999"])
        .fails(1, "not found");
    let queued = env
        .run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok()
        .json()["deliveries"][0]["id"]
        .as_i64()
        .unwrap();
    env.run(&["deliveries", "retry", &queued.to_string()])
        .fails(2, "pending");
}

/// One delivery's row exactly as stored.
fn delivery_row(env: &Env, id: i64) -> String {
    if env.pg.is_some() {
        let rows = env.rows(&format!("SELECT d::text FROM deliveries d WHERE id = {id}"));
        return rows[0][0].as_str().unwrap().to_string();
    }
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    let mut stmt = conn
        .prepare("SELECT * FROM deliveries WHERE id = ?1")
        .unwrap();
    let n = stmt.column_count();
    stmt.query_row([id], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect::<Vec<_>>()
            .join("|"))
    })
    .unwrap()
}

#[test]
fn retry_refuses_deliveries_of_deleted_or_disabled_webhooks_and_changes_nothing() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(500).body("down"));
    let c = env.customer("acme");
    let mut webhooks = Vec::new();
    for name in ["gone", "off", "on"] {
        webhooks.push(env.local_webhook(c, name, &rx.url("/"), &["--max-retries", "0"]));
    }
    let out = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json();
    let delivery_of = |webhook: i64| {
        out["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["webhook"] == webhook)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (gone, off) = (webhooks[0], webhooks[1]);
    let (d_gone, d_off) = (delivery_of(gone), delivery_of(off));
    assert_eq!(env.delivery(d_gone)["status"], "failed");
    env.run(&["webhooks", "delete", &gone.to_string(), "--yes"])
        .ok();
    env.run(&["webhooks", "disable", &off.to_string()]).ok();
    let rows = || [delivery_row(&env, d_gone), delivery_row(&env, d_off)];
    let before = rows();
    let sent = rx.count();

    env.run(&["deliveries", "retry", &d_gone.to_string()])
        .fails(
            1,
            &format!(
                "delivery {d_gone}: its webhook {gone} was deleted; there is nowhere to send it"
            ),
        );
    env.run(&["deliveries", "retry", &d_off.to_string()]).fails(
        1,
        &format!(
            "delivery {d_off}: its webhook {off} is disabled; enable it first (webnet webhooks enable {off})"
        ),
    );
    assert_eq!(rows(), before, "a refused retry changes nothing");

    // --failed (and its dry run) skips them and says how many.
    assert_eq!(
        env.run(&["deliveries", "retry", "--failed", "--dry-run"])
            .ok()
            .json(),
        json!({"would_retry": 1, "skipped": 2})
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
    assert!(
        table.contains("1 failed delivery(ies) would be retried; 2 skipped"),
        "{table}"
    );
    let s = env.run(&["deliveries", "retry", "--failed"]).ok().json();
    assert_eq!(s["attempted"], 1, "{s}");
    assert_eq!(s["skipped"], 2, "{s}");
    assert_eq!(rows(), before, "skipped deliveries are untouched");
    assert_eq!(
        rx.count(),
        sent + 1,
        "only the enabled webhook's delivery was sent"
    );
}

#[test]
fn webhooks_test_sends_a_signed_test_event() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.path == "/bad" {
            Reply::status(404).body("no such hook")
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "good",
        &rx.url("/good"),
        &["--secret", "t0p", "--disabled"],
    );
    env.local_webhook(c, "bad", &rx.url("/bad"), &[]);
    let out = env.run(&["webhooks", "test", "1"]).ok().json();
    assert_eq!(out["status"], "success");
    assert_eq!(out["http_status"], 200);
    assert!(out["duration_ms"].is_number());
    let r = &rx.requests()[0];
    assert_eq!(r.header("x-webhook-event"), Some("webhook.test"));
    assert_eq!(r.json()["event_type"], "webhook.test");
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex("t0p", &r.body).as_str())
    );
    let out = env.run(&["webhooks", "test", "2"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["http_status"], 404);
    assert!(
        out.stderr.contains("HTTP 404: no such hook"),
        "{}",
        out.stderr
    );
    let table = env
        .run(&["--output", "table", "webhooks", "test", "1"])
        .ok();
    assert!(table.stdout.contains("HTTP 200"), "{}", table.stdout);
    // Tests are recorded in the history, and not retried.
    let listed = env
        .run(&["deliveries", "list", "--event-type", "webhook.test"])
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(env.delivery(2)["status"], "failed");
    env.run(&["webhooks", "test", "9"]).fails(1, "not found");
}

#[test]
fn deliveries_are_scoped_to_the_pinned_customer() {
    let env = Env::local();
    let rx = Receiver::ok();
    let a = env.customer("acme");
    let b = env.customer("globex");
    env.local_webhook(a, "a", &rx.url("/a"), &[]);
    env.local_webhook(b, "b", &rx.url("/b"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&["emit", "job.completed", "--customer", "2"]).ok();
    let pinned = [("WEBNET_CUSTOMER", "1")];
    let list = env.run_env(&pinned, &["deliveries", "list"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["webhook_name"], "a");
    env.run_env(&pinned, &["deliveries", "show", "2"])
        .fails(1, "delivery 2 not found");
    env.run_env(&pinned, &["webhooks", "test", "2"])
        .fails(1, "webhook 2 not found");
    env.run_env(&pinned, &["emit", "job.completed", "--customer", "2"])
        .fails(2, "WEBNET_CUSTOMER");
    let out = env.run_env(&pinned, &[]).code;
    assert_eq!(out, 2, "no command is a usage error");
    let stdin = r#"{"customer": 2, "event_type": "job.completed", "job": {}}"#;
    let mut c = env.cmd();
    c.env("WEBNET_CUSTOMER", "1")
        .arg("emit")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not the pinned customer"));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        rx.requests().iter().filter(|r| r.path == "/b").count(),
        1,
        "only globex's own emit reached /b"
    );
}

/// The test-only clock offset moves both ways: a minute back, a delivery queued just now is not
/// yet due; with a value that is not a number, the clock is the real one.
#[test]
fn the_test_clock_offset_moves_the_clock_back_too() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "q", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    let early = env
        .run_env(&[("WEBNET_TEST_CLOCK_OFFSET", "-60000")], &["drain"])
        .ok()
        .json();
    assert_eq!(early["attempted"], 0, "not due a minute ago: {early}");
    assert_eq!(rx.count(), 0);
    let now = env
        .run_env(&[("WEBNET_TEST_CLOCK_OFFSET", "soon")], &["drain"])
        .ok()
        .json();
    assert_eq!(now["attempted"], 1, "{now}");
    assert_eq!(rx.count(), 1);
}

/// `emit` says why each first attempt failed (as `drain` logs it), not only how many did.
#[test]
fn emit_says_why_an_attempt_failed() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(500).body("upstream down"));
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    let out = env
        .run(&[
            "--output",
            "table",
            "emit",
            "job.completed",
            "--customer",
            "1",
        ])
        .ok();
    assert!(
        out.stderr.contains(
            "warning: delivery 1 (job.completed) to webhook 1 \"ops\": attempt 1 of 4 failed: HTTP 500: upstream down; next attempt at "
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("0 delivered, 1 to retry, 0 failed"),
        "{}",
        out.stderr
    );
}

/// `max_retries` lowered below the attempts a delivery has made: its next retry is not made
/// (it used to be, logged "attempt 3 of 1"); it ends `failed`, saying why.
#[test]
fn a_retry_past_a_lowered_max_retries_is_not_made() {
    let env = Env::local();
    let rx = Receiver::start(|_| Reply::status(500));
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "down",
        &rx.url("/"),
        &["--max-retries", "3", "--retry-backoff", "1"],
    );
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run_after(Duration::from_secs(5), &["drain"]).ok();
    assert_eq!(rx.count(), 2);
    assert_eq!(env.delivery(1)["attempts"], 2);
    env.run(&["webhooks", "update", "1", "--max-retries", "1"])
        .ok();
    let out = env.run_after(Duration::from_secs(60), &["drain"]).ok();
    assert_eq!(rx.count(), 2, "no third attempt: {}", out.stderr);
    let d = env.delivery(1);
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("failed"), Some(2)),
        "{d}"
    );
    assert_eq!(
        d["error_message"],
        "no more attempts: the webhook's max_retries is now 1"
    );
    // Closed without a request, it keeps what its last attempt got back.
    assert_eq!(d["http_status"], 500, "{d}");
    assert!(d["next_retry_at"].is_null(), "{d}");
    // Raised again, a delivery that is not yet spent goes on as before.
    env.run(&["webhooks", "update", "1", "--max-retries", "3"])
        .ok();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run_after(Duration::from_secs(5), &["drain"]).ok();
    assert_eq!(env.delivery(2)["attempts"], 2);
}
