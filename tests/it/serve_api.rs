//! `webnet serve`'s REST API (DESIGN §12) against the real binary on loopback, with a real
//! HTTP client: the spec's bodies, DRF-style errors and pages, scoping by token, events
//! delivered by the worker, and bad input refused with a 4xx and nothing changed.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::receiver::{Receiver, Reply};
use crate::common::server::{token, Server};
use crate::common::Env;

/// The spec's create body, verbatim (its Slack URL: the server runs without a worker and
/// nothing is ever sent to it).
fn spec_body() -> Value {
    json!({
      "customer": 1,
      "name": "Slack Notifications",
      "url": "https://hooks.slack.com/services/YOUR/WEBHOOK/URL",
      "event_types": [
        "job.completed",
        "job.failed",
        "compliance.violation_detected"
      ],
      "secret": "your-secret-key",
      "enabled": true,
      "verify_ssl": true,
      "timeout_seconds": 10,
      "max_retries": 3,
      "retry_backoff": 60
    })
}

fn event(customer: i64) -> Value {
    json!({
        "event_type": "job.completed",
        "customer": customer,
        "job": {"id": 7, "name": "backup", "status": "completed"}
    })
}

#[test]
fn the_specs_create_body_works_as_written_and_the_webhook_lives_its_life_over_http() {
    let env = Env::new();
    assert_eq!(env.customer("acme"), 1);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let created = srv
        .post("/api/v1/webhooks/", &admin, &spec_body())
        .expect(201);
    // Slack's token (the URL's last part) is never shown.
    assert_eq!(
        created["url"],
        "https://hooks.slack.com/services/YOUR/WEBHOOK/[redacted]"
    );
    for key in [
        "name",
        "event_types",
        "enabled",
        "verify_ssl",
        "timeout_seconds",
        "max_retries",
        "retry_backoff",
    ] {
        assert_eq!(created[key], spec_body()[key], "{key}");
    }
    assert_eq!(created["customer"], 1);
    assert_eq!(created["has_secret"], true);
    assert!(created.get("secret").is_none(), "write-only: {created}");
    assert!(!srv.log().join("\n").contains("your-secret-key"));
    let id = created["id"].as_i64().unwrap();

    let list = srv.get("/api/v1/webhooks/", &admin).expect(200);
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0], created);
    assert_eq!(
        srv.get(&format!("/api/v1/webhooks/{id}/"), &admin)
            .expect(200),
        created
    );

    // The spec's update example.
    let patched = srv
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}/"),
            Some(&admin),
            Some(&json!({"enabled": false})),
        )
        .expect(200);
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["name"], "Slack Notifications", "the rest unchanged");
    // The CLI sees the same database.
    let shown = env
        .run(&["webhooks", "show", &id.to_string(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(shown["enabled"], false);

    // PUT: the whole webhook; settings left out return to their defaults, the secret is kept.
    let mut whole = spec_body();
    whole["timeout_seconds"] = json!(30);
    whole.as_object_mut().unwrap().remove("secret");
    whole.as_object_mut().unwrap().remove("max_retries");
    let put = srv
        .call(
            "PUT",
            &format!("/api/v1/webhooks/{id}/"),
            Some(&admin),
            Some(&whole),
        )
        .expect(200);
    assert_eq!(
        (
            put["timeout_seconds"].clone(),
            put["max_retries"].clone(),
            put["has_secret"].clone()
        ),
        (json!(30), json!(3), json!(true))
    );

    srv.call(
        "DELETE",
        &format!("/api/v1/webhooks/{id}/"),
        Some(&admin),
        None,
    )
    .expect(204);
    assert_eq!(
        srv.get(&format!("/api/v1/webhooks/{id}/"), &admin)
            .expect(404),
        json!({"detail": "Not found."})
    );
    assert_eq!(srv.get("/api/v1/webhooks/", &admin).expect(200)["count"], 0);
}

#[test]
fn events_posted_to_the_api_are_delivered_at_once_signed_and_can_be_retried() {
    let env = Env::local();
    let c = env.customer("acme");
    let rx = Receiver::start(|r| {
        if r.path == "/fail" {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    });
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &[]);
    let ok = srv
        .post(
            "/api/v1/webhooks/",
            &admin,
            &json!({
                "customer": c, "name": "ok", "url": rx.url("/ok"),
                "event_types": ["job.*"], "secret": "s3cret-key-for-tests"
            }),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let failing = srv
        .post(
            "/api/v1/webhooks/",
            &admin,
            &json!({
                "customer": c, "name": "failing", "url": rx.url("/fail"),
                "event_types": ["job.completed"], "max_retries": 0
            }),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();

    let accepted = srv.post("/api/v1/events/", &admin, &event(c)).expect(202);
    assert_eq!(accepted["event_type"], "job.completed");
    // The recorded event's id, as `emit` prints it.
    assert_eq!(
        accepted["event"].as_i64(),
        Some(env.count("SELECT max(id) FROM events", &[])),
        "{accepted}"
    );
    let deliveries = accepted["deliveries"].as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 2, "{accepted}");
    // The worker sends them at once (not at a poll a second later: well within it).
    let got = rx.wait_for(2, Duration::from_secs(10));
    assert_eq!(got.len(), 2);
    let to_ok = got.iter().find(|r| r.path == "/ok").unwrap();
    let signature = to_ok.header("x-webhook-signature").expect("signed");
    assert_eq!(
        signature,
        crate::common::hmac_hex("s3cret-key-for-tests", &to_ok.body)
    );

    // The failed one in the history, filtered by webhook, and retried over the API.
    let failed_id = deliveries.iter().find(|d| d["webhook"] == failing).unwrap()["id"]
        .as_i64()
        .unwrap();
    let history = wait_for_status(&srv, &admin, failing, "failed");
    assert_eq!(history["count"], 1);
    assert_eq!(history["results"][0]["id"], failed_id);
    assert_eq!(history["results"][0]["http_status"], 500);
    let retried = srv
        .call(
            "POST",
            &format!("/api/v1/webhook-deliveries/{failed_id}/retry/"),
            Some(&admin),
            None,
        )
        .expect(200);
    assert_eq!(retried["attempts"], 2);
    assert_eq!(retried["attempt_log"].as_array().unwrap().len(), 2);
    // A delivery that succeeded cannot be retried: 409.
    let ok_id = deliveries.iter().find(|d| d["webhook"] == ok).unwrap()["id"]
        .as_i64()
        .unwrap();
    wait_for_status(&srv, &admin, ok, "success");
    let refused = srv.call(
        "POST",
        &format!("/api/v1/webhook-deliveries/{ok_id}/retry/"),
        Some(&admin),
        None,
    );
    assert_eq!(refused.status, 409, "{}", refused.body);

    // The test endpoint: 200 with the test delivery.
    let tested = srv
        .call(
            "POST",
            &format!("/api/v1/webhooks/{ok}/test/"),
            Some(&admin),
            None,
        )
        .expect(200);
    assert_eq!(tested["event_type"], "webhook.test");
    assert_eq!(tested["status"], "success");
    assert_eq!(tested["http_status"], 200);
    assert!(tested["duration_ms"].as_i64().is_some(), "{tested}");

    // An array of events: one 202 with each one's deliveries.
    let many = srv
        .post("/api/v1/events/", &admin, &json!([event(c), event(c)]))
        .expect(202);
    assert_eq!(many.as_array().unwrap().len(), 2);
    assert_eq!(rx.wait_for(8, Duration::from_secs(10)).len(), 8);
}

/// Waits until webhook `id`'s latest delivery has `status`; the history page.
fn wait_for_status(srv: &Server, token: &str, id: i64, status: &str) -> Value {
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = srv
            .get(
                &format!("/api/v1/webhook-deliveries/?webhook={id}&status={status}"),
                token,
            )
            .expect(200);
        if page["count"].as_i64() > Some(0) || std::time::Instant::now() > until {
            return page;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let env = Env::new();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let with = |k: &str, v: Value| {
        let mut b = spec_body();
        b[k] = v;
        b
    };
    let json_header = vec![
        ("Authorization".to_string(), format!("Bearer {admin}")),
        ("Content-Type".to_string(), "application/json".to_string()),
    ];
    let cases: Vec<(&str, u16, Value, Value)> = vec![
        (
            "wrong type",
            400,
            with("timeout_seconds", json!("ten")),
            json!({"timeout_seconds": ["A valid integer is required."]}),
        ),
        (
            "unknown field",
            400,
            with("colour", json!("red")),
            json!({"colour": ["Unknown field."]}),
        ),
        (
            "bad event type",
            400,
            with("event_types", json!(["job.exploded"])),
            Value::Null,
        ),
        ("bad url", 400, with("url", json!("ftp://x")), Value::Null),
        // Said in the body's own unit (seconds), as DRF says it.
        (
            "out of range",
            400,
            with("timeout_seconds", json!(100000)),
            json!({"timeout_seconds": ["Ensure this value is less than or equal to 120."]}),
        ),
        (
            "backoff of zero",
            400,
            with("retry_backoff", json!(0)),
            json!({"retry_backoff": ["Ensure this value is greater than or equal to 1."]}),
        ),
        (
            "too many retries",
            400,
            with("max_retries", json!(21)),
            json!({"max_retries": ["Ensure this value is less than or equal to 20."]}),
        ),
        ("not an object", 400, json!([1, 2]), Value::Null),
        (
            "customer missing",
            400,
            {
                let mut b = spec_body();
                b.as_object_mut().unwrap().remove("customer");
                b
            },
            json!({"customer": ["This field is required."]}),
        ),
        (
            "no such customer",
            400,
            with("customer", json!(99)),
            Value::Null,
        ),
    ];
    for (what, status, body, expected) in cases {
        let r = srv.post("/api/v1/webhooks/", &admin, &body);
        assert_eq!(r.status, status, "{what}: {}", r.body);
        let got = r.json();
        assert!(
            got.is_object() && got.as_object().unwrap().len() == 1,
            "{what}: {got}"
        );
        if !expected.is_null() {
            assert_eq!(got, expected, "{what}");
        }
    }
    // A duplicate name names `name`.
    srv.post("/api/v1/webhooks/", &admin, &spec_body())
        .expect(201);
    let dup = srv.post("/api/v1/webhooks/", &admin, &spec_body());
    assert_eq!(dup.status, 400, "{}", dup.body);
    assert!(dup.json()["name"].is_array(), "{}", dup.body);

    let raw = |method: &str, path: &str, headers: &[(String, String)], body: &[u8]| {
        let r = srv.raw(method, path, headers, body);
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("application/json"),
            "{method} {path}: {:?}",
            r.headers
        );
        (r.status, r.json())
    };
    assert_eq!(
        raw("POST", "/api/v1/webhooks/", &json_header, b"{\"name\": ").0,
        400
    );
    assert!(
        raw("POST", "/api/v1/webhooks/", &json_header, b"{oops}").1["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error")
    );
    let dup_key = br#"{"customer": 1, "name": "a", "name": "b"}"#;
    assert_eq!(
        raw("POST", "/api/v1/webhooks/", &json_header, dup_key).0,
        400
    );
    // Within a batch of events, and within a webhook's headers, too: never the last one wins.
    let before = env.dump();
    for (path, body) in [
        (
            "/api/v1/events/",
            &br#"[{"customer": 2, "event_type": "job.failed", "job": {}, "customer": 1}]"#[..],
        ),
        (
            "/api/v1/webhooks/",
            br#"{"customer": 1, "name": "h", "url": "https://h.example.com/", "event_types": ["job.failed"], "headers": {"X-A": "1", "X-A": "2"}}"#,
        ),
    ] {
        let (status, body) = raw("POST", path, &json_header, body);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("duplicate key"),
            "{path}: {body}"
        );
    }
    assert_eq!(env.dump(), before, "nothing recorded");
    // A body that cannot be read (a chunk size that is not hex) says so in a string, as every
    // `detail` is.
    let (status, body) = chunked_post(&srv, "/api/v1/webhooks/", &admin, "zz\r\n{}\r\n0\r\n\r\n");
    assert_eq!(status, 400, "{body}");
    let detail: Value = serde_json::from_str(&body).unwrap_or_default();
    assert!(
        detail["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("the body could not be read")),
        "{body}"
    );
    let text = vec![
        ("Authorization".to_string(), format!("Bearer {admin}")),
        ("Content-Type".to_string(), "text/plain".to_string()),
    ];
    assert_eq!(
        raw(
            "POST",
            "/api/v1/webhooks/",
            &text,
            spec_body().to_string().as_bytes()
        )
        .0,
        415
    );
    for path in ["/api/v1/webhooks/", "/api/v1/events/"] {
        let (status, body) = huge_post(&srv, path, &admin);
        assert_eq!(status, 413, "{path}: {body}");
        assert!(body.contains("1 MiB"), "{body}");
    }
    assert_eq!(raw("GET", "/api/v1/nothing/", &json_header, b"").0, 404);
    assert_eq!(
        raw(
            "GET",
            "/api/v1/webhooks/../../../etc/passwd",
            &json_header,
            b""
        )
        .0,
        404
    );
    assert_eq!(
        raw(
            "GET",
            "/api/v1/webhooks/%2e%2e%2fetc%2fpasswd/",
            &json_header,
            b""
        )
        .0,
        404
    );
    assert_eq!(
        raw("GET", "/api/v1/webhooks/abc/", &json_header, b"").0,
        404
    );
    for path in [
        "/api/v1/webhooks/%FF/",
        "/api/v1/webhook-deliveries/99999999999999999999/",
    ] {
        assert_eq!(raw("GET", path, &json_header, b"").0, 404, "{path}");
    }
    assert_eq!(raw("DELETE", "/api/v1/webhooks/", &json_header, b"").0, 405);
    assert_eq!(
        raw(
            "GET",
            "/api/v1/webhook-deliveries/?webhook=abc",
            &json_header,
            b""
        ),
        (400, json!({"webhook": ["A valid integer is required."]}))
    );
    assert_eq!(
        raw(
            "GET",
            "/api/v1/webhook-deliveries/?status=lost",
            &json_header,
            b""
        )
        .0,
        400
    );
    // Authentication: none, malformed, unknown.
    assert_eq!(raw("GET", "/api/v1/webhooks/", &[], b"").0, 401);
    let bad = vec![("Authorization".to_string(), "Bearer wnt_nope".to_string())];
    // The token is judged first: a bad one is 401 whatever its body says.
    let bad_json = vec![
        ("Authorization".to_string(), "Bearer wnt_nope".to_string()),
        ("Content-Type".to_string(), "application/json".to_string()),
    ];
    assert_eq!(raw("POST", "/api/v1/webhooks/", &bad_json, b"{oops").0, 401);
    assert_eq!(raw("POST", "/api/v1/events/", &bad_json, b"[]").0, 401);
    assert_eq!(
        raw("GET", "/api/v1/webhooks/", &bad, b""),
        (401, json!({"detail": "Invalid token."}))
    );
    let basic = vec![("Authorization".to_string(), "Basic YTpi".to_string())];
    assert_eq!(raw("GET", "/api/v1/webhooks/", &basic, b"").0, 401);
    // Two Authorization headers, even with a good token first: refused, not one picked (a
    // proxy before the server may have judged the other).
    let two = vec![
        ("Authorization".to_string(), format!("Bearer {admin}")),
        ("Authorization".to_string(), "Bearer wnt_nope".to_string()),
    ];
    assert_eq!(
        raw("GET", "/api/v1/webhooks/", &two, b""),
        (
            401,
            json!({"detail": "More than one Authorization header: send one."})
        )
    );
    // A flood of headers: refused by the HTTP layer, the server goes on.
    let flood: Vec<(String, String)> = (0..200)
        .map(|i| (format!("x-flood-{i}"), "y".into()))
        .collect();
    let r = srv.raw("GET", "/api/v1/health/", &flood, b"");
    assert!((400..500).contains(&r.status), "{}", r.status);
    srv.call("GET", "/api/v1/health/", None, None).expect(200);

    // Nothing was changed by any of it: the one webhook made above.
    assert_eq!(srv.get("/api/v1/webhooks/", &admin).expect(200)["count"], 1);
    assert!(
        srv.log().iter().all(|l| !l.contains(" 500 ")),
        "{:?}",
        srv.log()
    );
}

#[test]
fn lists_are_paginated_with_links_and_a_capped_page_size() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "one", "https://one.example.com/", &["--disabled"]);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    // 120 deliveries: the webhook is enabled only to record them; nothing sends (no worker).
    env.run(&["webhooks", "enable", "1"]).ok();
    let batch: Vec<Value> = (0..120).map(|_| event(c)).collect();
    srv.post("/api/v1/events/", &admin, &json!(batch))
        .expect(202);
    env.run(&["webhooks", "disable", "1"]).ok();

    let first = srv
        .get("/api/v1/webhook-deliveries/?page_size=500", &admin)
        .expect(200);
    assert_eq!(first["count"], 120);
    assert_eq!(
        first["results"].as_array().unwrap().len(),
        100,
        "page_size capped at 100"
    );
    assert_eq!(first["previous"], Value::Null);
    let next = first["next"].as_str().unwrap();
    assert!(
        next.starts_with(&srv.base) && next.contains("page=2") && next.contains("page_size=500"),
        "{next}"
    );
    let second = srv.get(&next[srv.base.len()..], &admin).expect(200);
    assert_eq!(second["results"].as_array().unwrap().len(), 20);
    assert_eq!(second["next"], Value::Null);
    assert!(second["previous"].as_str().unwrap().starts_with(&srv.base));
    // Newest first, no overlap.
    let ids: Vec<i64> = [&first, &second]
        .iter()
        .flat_map(|p| {
            p["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap())
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    assert_eq!(
        srv.get("/api/v1/webhook-deliveries/?page=3&page_size=100", &admin)
            .expect(404),
        json!({"detail": "Invalid page."})
    );
    let small = srv
        .get(
            "/api/v1/webhook-deliveries/?page_size=7&page=2&status=pending",
            &admin,
        )
        .expect(200);
    assert_eq!(small["results"].as_array().unwrap().len(), 7);
    assert_eq!(small["results"][0]["id"], ids[7]);
}

#[test]
fn lists_filter_by_event_type_or_a_family_wildcard() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(
        c,
        "jobs",
        "https://jobs.example.com/",
        &["--event", "job.*"],
    );
    env.webhook(
        c,
        "failed",
        "https://failed.example.com/",
        &["--event", "job.failed"],
    );
    env.webhook(
        c,
        "devices",
        "https://dev.example.com/",
        &["--event", "device.created"],
    );
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    // One field of each result of a list page.
    let listed = |path: &str, key: &str| {
        let page = srv.get(path, &admin).expect(200);
        crate::common::column(&page["results"], key)
    };
    let names = |query: &str| listed(&format!("/api/v1/webhooks/?{query}"), "name");
    assert_eq!(names("event_type=job.completed"), ["jobs"]);
    assert_eq!(names("event_type=job.failed"), ["jobs", "failed"]);
    assert_eq!(names("event_type=job.*"), ["jobs", "failed"]);
    assert_eq!(names("event_type=device.*"), ["devices"]);
    assert_eq!(names("event_type=*"), ["jobs", "failed", "devices"]);
    // Deliveries by a family's events too.
    let device = json!({"event_type": "device.created", "customer": c, "device": {"id": 3}});
    srv.post("/api/v1/events/", &admin, &json!([event(c), device]))
        .expect(202);
    let types = |query: &str| {
        listed(
            &format!("/api/v1/webhook-deliveries/?{query}"),
            "event_type",
        )
    };
    assert_eq!(types("event_type=job.*"), ["job.completed"]);
    assert_eq!(types("event_type=device.*"), ["device.created"]);
    assert!(types("event_type=config.*").is_empty());
    for refused in ["nope.*", "*"] {
        srv.get(
            &format!("/api/v1/webhook-deliveries/?event_type={refused}"),
            &admin,
        )
        .expect(400);
    }
    assert_eq!(
        srv.get("/api/v1/webhooks/?event_type=nope.*", &admin)
            .expect(400),
        json!({"event_type": ["Select a valid choice. \"nope.*\" is not one of the available choices."]})
    );
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits_0() {
    let env = Env::local();
    let c = env.customer("acme");
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(1500)));
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &[]);
    let id = srv
        .post("/api/v1/webhooks/", &admin, &json!({"customer": c, "name": "slow", "url": rx.url("/"), "event_types": ["job.completed"]}))
        .expect(201)["id"].as_i64().unwrap();
    let base = srv.base.clone();
    let token = admin.clone();
    let test = std::thread::spawn(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut r = agent
            .post(&format!("{base}/api/v1/webhooks/{id}/test/"))
            .header("Authorization", &format!("Bearer {token}"))
            .send_empty()
            .expect("the test request is answered");
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    });
    assert_eq!(rx.wait_for(1, Duration::from_secs(10)).len(), 1);
    let status = srv.stop(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    let (code, body) = test.join().unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "success"
    );
}

#[test]
fn a_client_that_sends_nothing_is_disconnected() {
    use std::io::Read;
    let env = Env::new();
    let srv = Server::start(&env, &["--no-worker"]);
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = silent.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "closed by the server, not our timeout"
    );
    // It still serves others.
    srv.call("GET", "/api/v1/health/", None, None).expect(200);
}

/// Posts `chunks` as a chunked body, as written, over a plain socket: the status and the body
/// of the answer.
fn chunked_post(srv: &Server, path: &str, token: &str, chunks: &str) -> (u16, String) {
    socket_post(
        srv,
        format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"),
        chunks.as_bytes().to_vec(),
    )
}

/// Posts a 2 MiB JSON body over a plain socket ([`socket_post`]).
fn huge_post(srv: &Server, path: &str, token: &str) -> (u16, String) {
    let body = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket_post(srv, head, body.into_bytes())
}

/// Sends `head` and `body` as written over a plain socket, writing on a thread while the
/// answer is read: the server may answer (413, and close) before the body is all sent, which
/// an ordinary client reports as a broken pipe instead of the answer. The status and the body
/// of the answer.
fn socket_post(srv: &Server, head: String, body: Vec<u8>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&body);
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = sender.join();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

#[test]
fn metrics_need_an_admin_token_unless_public_and_promtool_accepts_them() {
    let env = Env::local();
    let c = env.customer("acme");
    let rx = Receiver::ok();
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let admin = token(&env, &["--admin"]);
    let acme = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let r = srv.get("/metrics", &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(
        r.body.contains("webnet_deliveries{customer=\"1\",webhook=\"1\",webhook_name=\"ops\",status=\"success\"} 1"),
        "{}",
        r.body
    );
    assert_eq!(srv.get("/metrics", &acme).status, 403);
    assert_eq!(srv.call("GET", "/metrics", None, None).status, 401);
    let public = Server::start(&env, &["--no-worker", "--public-metrics"]);
    let open = public.call("GET", "/metrics", None, None);
    assert_eq!(open.status, 200);
    assert_eq!(open.body, r.body, "the same text");
    match std::process::Command::new("promtool")
        .arg("--version")
        .output()
    {
        Err(_) => crate::skipped!("SKIPPED promtool check of /metrics: promtool is not installed"),
        Ok(_) => {
            let mut check = std::process::Command::new("promtool")
                .args(["check", "metrics"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            check
                .stdin
                .take()
                .unwrap()
                .write_all(r.body.as_bytes())
                .unwrap();
            let out = check.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_credential_shown_redacted_and_sent_back_keeps_the_stored_value() {
    let env = Env::local();
    env.customer("acme");
    let rx = Receiver::ok();
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let mut body = spec_body();
    body["url"] = json!(rx.url("/in"));
    body["headers"] = json!({"Authorization": "Bearer real-credential", "X-Team": "ops"});
    let created = srv.post("/api/v1/webhooks/", &admin, &body).expect(201);
    assert_eq!(created["headers"]["Authorization"], "[redacted]");
    assert!(!srv.log().join("\n").contains("real-credential"));
    // The usual GET, edit, PUT round trip sends the placeholder back: the stored value stays.
    let id = created["id"].as_i64().unwrap();
    let mut edited = created.clone();
    edited["timeout_seconds"] = json!(20);
    edited["headers"]["X-Team"] = json!("sre");
    let put = srv
        .call(
            "PUT",
            &format!("/api/v1/webhooks/{id}/"),
            Some(&admin),
            Some(&edited),
        )
        .expect(200);
    assert_eq!(put["timeout_seconds"], 20);
    assert_eq!(
        put["headers"],
        json!({"Authorization": "[redacted]", "X-Team": "sre"})
    );
    srv.call(
        "POST",
        &format!("/api/v1/webhooks/{id}/test/"),
        Some(&admin),
        None,
    )
    .expect(200);
    let got = &rx.requests()[0];
    assert_eq!(got.header("authorization"), Some("Bearer real-credential"));
    assert_eq!(got.header("x-team"), Some("sre"));
    // A placeholder with nothing stored under its name stands for nothing: refused.
    let r = srv.call(
        "PATCH",
        &format!("/api/v1/webhooks/{id}/"),
        Some(&admin),
        Some(&json!({"headers": {"X-Api-Key": "[redacted]"}})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["headers"][0]
            .as_str()
            .unwrap()
            .contains("X-Api-Key"),
        "{}",
        r.body
    );
    let mut again = spec_body();
    again["name"] = json!("copy");
    again["headers"] = json!({"Authorization": "[redacted]"});
    assert_eq!(
        srv.call("POST", "/api/v1/webhooks/", Some(&admin), Some(&again))
            .status,
        400
    );
}

/// The API's answers speak of the API, not of command lines: an empty PATCH is the webhook
/// unchanged (as DRF answers it), a retry refused for a disabled webhook says how to enable it
/// over HTTP.
#[test]
fn answers_speak_of_the_api_not_of_command_lines() {
    let env = Env::local();
    env.customer("acme");
    let rx = Receiver::start(|_| Reply::status(500));
    env.local_webhook(1, "down", &rx.url("/"), &["--max-retries", "0"]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    assert_eq!(env.delivery(1)["status"], "failed");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let before = srv.get("/api/v1/webhooks/1/", &admin).expect(200);
    for body in [json!({}), json!({"id": 99, "has_secret": true})] {
        let same = srv
            .call("PATCH", "/api/v1/webhooks/1/", Some(&admin), Some(&body))
            .expect(200);
        assert_eq!(same, before, "{body}");
    }
    env.run(&["webhooks", "disable", "1"]).ok();
    let r = srv.call(
        "POST",
        "/api/v1/webhook-deliveries/1/retry/",
        Some(&admin),
        None,
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("PATCH /api/v1/webhooks/1/") && !r.body.contains("webnet webhooks"),
        "{}",
        r.body
    );
}

/// A 400 names every wrong field at once, as DRF does, not only the first one found.
#[test]
fn every_wrong_field_is_named_at_once() {
    let env = Env::new();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let body = json!({
        "customer": 1,
        "name": 5,
        "url": "ftp://x.example/",
        "event_types": "job.failed",
        "timeout_seconds": "abc",
        "max_retries": 99,
        "bogus": true,
    });
    let r = srv.call("POST", "/api/v1/webhooks/", Some(&admin), Some(&body));
    assert_eq!(r.status, 400, "{}", r.body);
    let errors = r.json();
    let mut named: Vec<&str> = errors
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            "bogus",
            "event_types",
            "max_retries",
            "name",
            "timeout_seconds",
            "url"
        ],
        "{errors}"
    );
    assert_eq!(errors["name"], json!(["Not a valid string."]));
    assert_eq!(errors["bogus"], json!(["Unknown field."]));
    // An admin's body without a customer: said with the rest. A stand-in for a wrong URL says
    // nothing of the routing key the real URL's format takes.
    let r = srv.call(
        "POST",
        "/api/v1/webhooks/",
        Some(&admin),
        Some(&json!({"name": "x", "url": "https://a.example.com/", "event_types": ["*"], "timeout_seconds": "x"})),
    );
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["customer", "timeout_seconds"], "{}", r.body);
    let r = srv.call(
        "POST",
        "/api/v1/webhooks/",
        Some(&admin),
        Some(&json!({"customer": 1, "name": "pd", "url": "events.pagerduty.com/v2/enqueue", "event_types": ["*"], "routing_key": "R0123456789abcdef0123456789abcdef", "enabled": false})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["url"], "{}", r.body);
    // A body of thousands of unknown keys: the answer names a bounded number of them (each
    // field named costs a parse of the whole body).
    let mut many = spec_body();
    for i in 0..5000 {
        many[format!("k{i}")] = json!(i);
    }
    let r = srv.call("POST", "/api/v1/webhooks/", Some(&admin), Some(&many));
    assert_eq!(r.status, 400, "{}", r.body);
    let named = r.json().as_object().map_or(0, |o| o.len());
    assert!((2..=25).contains(&named), "{named} fields named");
    assert_eq!(env.run(&["webhooks", "list"]).ok().json(), json!([]));
    // A PATCH too; one wrong field is that field alone.
    let mut good = spec_body();
    good["enabled"] = json!(false);
    srv.post("/api/v1/webhooks/", &admin, &good).expect(201);
    let patch = |body: Value| {
        let r = srv.call("PATCH", "/api/v1/webhooks/1/", Some(&admin), Some(&body));
        assert_eq!(r.status, 400, "{}", r.body);
        r.json()
    };
    assert_eq!(
        patch(json!({"enabled": "yes", "max_retries": -1})),
        json!({
            "enabled": ["Must be a valid boolean."],
            "max_retries": ["Ensure this value is greater than or equal to 0."]
        })
    );
    assert_eq!(
        patch(json!({"enabled": "yes", "name": "fine"})),
        json!({"enabled": ["Must be a valid boolean."]})
    );
    // Values of the right type but out of range or form are named together too, with those
    // of the wrong type; a PUT's as well.
    let named = |errors: Value| -> Vec<String> {
        let mut keys: Vec<String> = errors.as_object().unwrap().keys().cloned().collect();
        keys.sort_unstable();
        keys
    };
    assert_eq!(
        named(patch(json!({"timeout_seconds": 500, "max_retries": 50}))),
        ["max_retries", "timeout_seconds"]
    );
    assert_eq!(
        named(patch(
            json!({"name": "", "url": "ftp://x", "enabled": "yes"})
        )),
        ["enabled", "name", "url"]
    );
    let mut put = spec_body();
    put["name"] = json!("");
    put["retry_backoff"] = json!(0);
    put["verify_ssl"] = json!(3);
    let r = srv.call("PUT", "/api/v1/webhooks/1/", Some(&admin), Some(&put));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(named(r.json()), ["name", "retry_backoff", "verify_ssl"]);
    let shown = srv.get("/api/v1/webhooks/1/", &admin).expect(200);
    assert_eq!(
        (&shown["name"], &shown["timeout_seconds"]),
        (&json!("Slack Notifications"), &json!(10)),
        "nothing changed"
    );
}

/// A blank secret is refused (as `--secret ''` is), `null` removes the secret.
#[test]
fn a_blank_secret_is_refused_and_null_removes_it() {
    let env = Env::new();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let mut body = spec_body();
    body["enabled"] = json!(false);
    body["secret"] = json!("");
    let r = srv.call("POST", "/api/v1/webhooks/", Some(&admin), Some(&body));
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["secret"][0].as_str().unwrap().contains("null"),
        "{}",
        r.body
    );
    body["secret"] = json!("s3cret-value");
    let id = srv.post("/api/v1/webhooks/", &admin, &body).expect(201)["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/webhooks/{id}/");
    let r = srv.call("PATCH", &path, Some(&admin), Some(&json!({"secret": ""})));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(srv.get(&path, &admin).expect(200)["has_secret"], true);
    let cleared = srv
        .call("PATCH", &path, Some(&admin), Some(&json!({"secret": null})))
        .expect(200);
    assert_eq!(cleared["has_secret"], false);
}

/// The API checks custom headers as `--header` and the web form do: none that webnet sets
/// itself (a forged signature, `Host`), no invalid name, no line break in a value.
#[test]
fn headers_the_cli_refuses_are_refused_over_http_too() {
    let env = Env::new();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let mut body = spec_body();
    body["enabled"] = json!(false);
    let id = srv.post("/api/v1/webhooks/", &admin, &body).expect(201)["id"]
        .as_i64()
        .unwrap();
    // Two credentials near the limit: stored sealed they are twice as long, yet what a GET
    // shows is taken back by a PUT, and a PATCH of another field goes through.
    let mut big = body.clone();
    big["name"] = json!("big");
    big["headers"] = json!({
        "Authorization": format!("Bearer {}", "t".repeat(4089)),
        "X-Api-Key": "k".repeat(4096),
    });
    let big_id = srv.post("/api/v1/webhooks/", &admin, &big).expect(201)["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/webhooks/{big_id}/");
    let shown = srv.get(&path, &admin).expect(200);
    assert_eq!(shown["headers"]["Authorization"], "[redacted]", "{shown}");
    srv.call("PUT", &path, Some(&admin), Some(&shown))
        .expect(200);
    srv.call(
        "PATCH",
        &path,
        Some(&admin),
        Some(&json!({"timeout_seconds": 5})),
    )
    .expect(200);
    srv.call("DELETE", &path, Some(&admin), None).expect(204);
    let before = env.run(&["webhooks", "show", &id.to_string()]).ok().stdout;
    for (headers, says) in [
        (
            json!({"X-Webhook-Signature": "sha256=forged"}),
            "set by webnet itself",
        ),
        (json!({"Host": "evil.example"}), "set by webnet itself"),
        (
            json!({"Content-Type": "text/plain"}),
            "set by webnet itself",
        ),
        (json!({"Bad Name": "v"}), "not a valid header name"),
        (json!({"": "v"}), "empty"),
        (json!({"X-Nl": "a\r\nX-Injected: 1"}), "control characters"),
        (json!({"X-Team": "a", "x-team": "b"}), "more than once"),
        // Sizes a receiver would refuse: every delivery would fail.
        (
            json!({"X-Big": "v".repeat(900 * 1024)}),
            "is 921600 bytes long: at most 4096",
        ),
        (
            Value::Object((0..33).map(|i| (format!("X-H{i}"), json!("v"))).collect()),
            "33 custom headers: at most 32",
        ),
        (
            Value::Object(
                (0..5)
                    .map(|i| (format!("X-H{i}"), json!("v".repeat(4000))))
                    .collect(),
            ),
            "at most 16384 in all",
        ),
    ] {
        for (method, path, payload) in [
            (
                "PATCH",
                format!("/api/v1/webhooks/{id}/"),
                json!({"headers": headers}),
            ),
            ("POST", "/api/v1/webhooks/".to_string(), {
                let mut b = body.clone();
                b["name"] = json!("other");
                b["headers"] = headers.clone();
                b
            }),
        ] {
            let r = srv.call(method, &path, Some(&admin), Some(&payload));
            assert_eq!(r.status, 400, "{method} {headers}: {}", r.body);
            let message = r.json()["headers"][0]
                .as_str()
                .unwrap_or_default()
                .to_string();
            assert!(message.contains(says), "{headers}: {}", r.body);
            assert!(
                !message.contains("forged") && !message.contains("evil"),
                "{}",
                r.body
            );
        }
    }
    assert_eq!(
        env.run(&["webhooks", "show", &id.to_string()]).ok().stdout,
        before,
        "nothing changed"
    );
    assert_eq!(
        env.run(&["webhooks", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_url_token_shown_redacted_and_sent_back_keeps_the_stored_url() {
    let env = Env::local();
    env.customer("acme");
    let rx = Receiver::ok();
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let mut body = spec_body();
    body["url"] = json!(rx.url("/hooks/6Mm8cqLzw3TQg5p2a?token=tok-9f8e7d"));
    body.as_object_mut().unwrap().remove("secret");
    let created = srv.post("/api/v1/webhooks/", &admin, &body).expect(201);
    assert_eq!(
        created["url"],
        rx.url("/hooks/[redacted]?token=[redacted]").as_str()
    );
    assert!(!srv.log().join("\n").contains("tok-9f8e7d"));
    // The usual GET, edit, PUT round trip sends the shown URL back: the stored one is kept.
    let id = created["id"].as_i64().unwrap();
    let mut edited = srv
        .get(&format!("/api/v1/webhooks/{id}/"), &admin)
        .expect(200);
    edited["timeout_seconds"] = json!(20);
    let put = srv
        .call(
            "PUT",
            &format!("/api/v1/webhooks/{id}/"),
            Some(&admin),
            Some(&edited),
        )
        .expect(200);
    assert_eq!(
        (put["timeout_seconds"].clone(), put["url"].clone()),
        (json!(20), created["url"].clone())
    );
    srv.call(
        "POST",
        &format!("/api/v1/webhooks/{id}/test/"),
        Some(&admin),
        None,
    )
    .expect(200);
    assert_eq!(
        rx.requests()[0].path,
        "/hooks/6Mm8cqLzw3TQg5p2a?token=tok-9f8e7d"
    );
    // A "[redacted]" that is not the stored URL's is refused, by field.
    let r = srv.call(
        "PATCH",
        &format!("/api/v1/webhooks/{id}/"),
        Some(&admin),
        Some(&json!({"url": rx.url("/hooks/[redacted]")})),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["url"][0].as_str().unwrap().contains("[redacted]"),
        "{}",
        r.body
    );
}

#[test]
fn every_event_answered_202_is_delivered_even_if_the_server_is_killed() {
    let env = Env::local();
    let c = env.customer("acme");
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(20)));
    // A 1 s timeout: the leases of requests in flight at the kill run out in 7 s.
    env.local_webhook(c, "slow", &rx.url("/"), &["--timeout", "1s"]);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--concurrency", "2"]);
    let mut accepted = Vec::new();
    for _ in 0..40 {
        let a = srv.post("/api/v1/events/", &admin, &event(c)).expect(202);
        accepted.push(a["deliveries"][0]["id"].as_i64().unwrap());
    }
    // Killed while the worker is still sending them.
    rx.wait_for(3, Duration::from_secs(10));
    crate::common::server::signal(srv.pid(), "KILL");
    drop(srv);
    // A drain (after the leases of what was in flight run out) sends the rest: nothing lost.
    env.run(&["drain", "--max-time", "60s"]).ok();
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while env.count(
        "SELECT count(*) FROM deliveries WHERE status = 'success'",
        &[],
    ) < 40
    {
        assert!(
            std::time::Instant::now() < until,
            "not all delivered: {}",
            env.dump()
        );
        std::thread::sleep(Duration::from_millis(200));
        env.run(&["drain", "--max-time", "20s"]).ok();
    }
    let got: std::collections::BTreeSet<i64> = rx.requests().iter().map(|r| r.delivery()).collect();
    let expected: std::collections::BTreeSet<i64> = accepted.into_iter().collect();
    assert_eq!(
        got, expected,
        "every accepted event reached the receiver (at least once)"
    );
}

#[test]
fn events_recorded_together_never_fail_each_other() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "off", "https://off.example.com/", &["--disabled"]);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    // Many at once, half of them for a customer that does not exist: recorded in groups, a
    // bad one is refused alone.
    let results: Vec<(bool, u16)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let (srv, admin) = (&srv, &admin);
                s.spawn(move || {
                    let good = i % 2 == 0;
                    let customer = if good { c } else { 99 };
                    (
                        good,
                        srv.post("/api/v1/events/", admin, &event(customer)).status,
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (good, status) in &results {
        assert_eq!(*status, if *good { 202 } else { 400 }, "{results:?}");
    }
    assert_eq!(env.count("SELECT count(*) FROM events", &[]), 20);
}

/// A webhook whose stored subscription no longer reads (edited by hand) is passed over, and
/// the log says so once: the events are accepted (202) and go to the customer's other
/// webhooks, and another customer's are not refused with them.
#[test]
fn a_webhook_whose_subscription_does_not_read_is_passed_over_not_an_error_for_all() {
    let env = Env::local();
    let rx = Receiver::ok();
    let acme = env.customer("acme");
    let globex = env.customer("globex");
    let damaged = env.local_webhook(acme, "damaged", &rx.url("/damaged"), &[]);
    let ok = env.local_webhook(acme, "ok", &rx.url("/ok"), &[]);
    let theirs = env.local_webhook(globex, "theirs", &rx.url("/theirs"), &[]);
    env.exec(&format!(
        "UPDATE webhooks SET event_types = 'job.completed' WHERE id = {damaged}"
    ));
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &[]);
    let hooks = |accepted: &Value| -> Vec<i64> {
        accepted["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["webhook"].as_i64().unwrap())
            .collect()
    };
    for _ in 0..2 {
        let accepted = srv
            .post("/api/v1/events/", &admin, &event(acme))
            .expect(202);
        assert_eq!(hooks(&accepted), [ok], "{accepted}");
    }
    let accepted = srv
        .post("/api/v1/events/", &admin, &event(globex))
        .expect(202);
    assert_eq!(hooks(&accepted), [theirs], "{accepted}");
    rx.wait_for(3, Duration::from_secs(10));
    let log = srv.log();
    let said: Vec<&String> = log.iter().filter(|l| l.contains("passed over")).collect();
    assert_eq!(said.len(), 1, "said once: {log:?}");
    assert!(
        said[0].starts_with(&format!(
            "serve: warning: webhook {damaged} was passed over: its stored row cannot be read \
             (webhooks row {damaged}: event_types is not a JSON array"
        )),
        "{said:?}"
    );
    srv.stop(Duration::from_secs(10));
    let paths: Vec<String> = rx.requests().iter().map(|r| r.path.clone()).collect();
    assert!(!paths.iter().any(|p| p == "/damaged"), "{paths:?}");
}
