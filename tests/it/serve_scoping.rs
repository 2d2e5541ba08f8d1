//! The CLI's scoping matrix over HTTP: a customer token acts exactly as `--customer` does —
//! another customer's webhooks and deliveries are 404 on every endpoint and never change;
//! creating or emitting for another customer is 403; a read-only token reads and may not
//! write (403); revoked tokens are 401.

use serde_json::{json, Value};

use crate::common::receiver::{Receiver, Reply};
use crate::common::server::{token, Server};
use crate::common::Env;

const FOREIGN_MARK: &str = "globex-private";

/// acme (1) owns webhook 1 and delivery 1; globex (2) owns webhook 2 and delivery 2, both
/// failed (so both could be retried).
fn setup(rx: &Receiver) -> Env {
    let env = Env::local();
    env.customer("acme");
    env.customer(FOREIGN_MARK);
    env.local_webhook(1, "acme-hook", &rx.url("/acme"), &["--max-retries", "0"]);
    env.local_webhook(
        2,
        &format!("{FOREIGN_MARK}-hook"),
        &rx.url("/globex"),
        &["--max-retries", "0"],
    );
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&[
        "emit",
        "job.completed",
        "--customer",
        "2",
        "--data",
        "{\"note\": \"globex-private-payload\"}",
    ])
    .ok();
    env
}

/// Every endpoint that names an id, with the method and body it takes.
fn requests(id: i64) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/api/v1/webhooks/{id}/"), None),
        (
            "PATCH",
            format!("/api/v1/webhooks/{id}/"),
            Some(json!({"timeout_seconds": 5})),
        ),
        (
            "PUT",
            format!("/api/v1/webhooks/{id}/"),
            Some(
                json!({"name": "x", "url": "https://x.example.com/", "event_types": ["job.failed"]}),
            ),
        ),
        ("POST", format!("/api/v1/webhooks/{id}/test/"), None),
        ("GET", format!("/api/v1/webhook-deliveries/{id}/"), None),
        (
            "GET",
            format!("/api/v1/webhook-deliveries/?webhook={id}"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/webhook-deliveries/{id}/retry/"),
            None,
        ),
        ("DELETE", format!("/api/v1/webhooks/{id}/"), None),
    ]
}

#[test]
fn a_customer_token_gets_404_for_every_foreign_id_and_changes_nothing() {
    let rx = Receiver::start(|_| Reply::status(500));
    let env = setup(&rx);
    let acme = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    // Used once first: a token's first use records when it was last used.
    srv.get("/api/v1/webhooks/", &acme).expect(200);
    let before = env.dump();
    let sent = rx.count();
    for (method, path, body) in requests(2) {
        let r = srv.call(method, &path, Some(&acme), body.as_ref());
        assert_eq!(r.status, 404, "{method} {path}: {}", r.body);
        assert!(
            !r.body.contains(FOREIGN_MARK),
            "{method} {path}: {}",
            r.body
        );
    }
    assert_eq!(env.dump(), before, "nothing changed");
    assert_eq!(rx.count(), sent, "nothing sent");
    // The lists show only acme's.
    let hooks = srv.get("/api/v1/webhooks/", &acme).expect(200);
    assert_eq!(hooks["count"], 1);
    assert_eq!(hooks["results"][0]["customer"], 1);
    let history = srv.get("/api/v1/webhook-deliveries/", &acme).expect(200);
    assert_eq!(history["count"], 1);
    assert!(!history.to_string().contains(FOREIGN_MARK));
    // Narrowing to the other customer is refused on both lists alike, not answered empty
    // nor with its own.
    for list in ["/api/v1/webhooks/", "/api/v1/webhook-deliveries/"] {
        let r = srv.get(&format!("{list}?customer=2"), &acme);
        assert_eq!(r.status, 403, "{list}: {}", r.body);
        assert_eq!(
            r.json()["detail"],
            "This token belongs to customer 1; customer 2 is not yours.",
            "{list}"
        );
    }
    // A webhook filter naming a webhook it cannot see says which, whether another
    // customer's or none at all (the same words).
    for id in [2, 999] {
        let r = srv.get(&format!("/api/v1/webhook-deliveries/?webhook={id}"), &acme);
        assert_eq!(
            (r.status, r.json()["detail"].clone()),
            (
                404,
                json!(format!("Not found: webhook {id} (the webhook filter)."))
            ),
        );
    }
    // The same requests on its own ids work (delete last).
    for (method, path, body) in requests(1) {
        let r = srv.call(method, &path, Some(&acme), body.as_ref());
        assert!(
            r.status < 300 || (r.status == 409 && path.contains("retry")),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
    }
}

#[test]
fn creating_or_emitting_for_another_customer_is_403_and_an_own_create_needs_no_customer() {
    let rx = Receiver::ok();
    let env = setup(&rx);
    let acme = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let body = |customer: Option<i64>| {
        let mut b = json!({"name": "new", "url": "https://new.example.com/", "event_types": ["job.failed"]});
        if let Some(c) = customer {
            b["customer"] = json!(c);
        }
        b
    };
    assert_eq!(
        srv.post("/api/v1/webhooks/", &acme, &body(Some(2))).status,
        403
    );
    let event = |c: i64| json!({"event_type": "job.failed", "customer": c, "job": {"id": 1}});
    assert_eq!(srv.post("/api/v1/events/", &acme, &event(2)).status, 403);
    // However the other customer is written.
    for other in [json!("2"), json!(2.0)] {
        let mut e = event(1);
        e["customer"] = other.clone();
        assert_eq!(
            srv.post("/api/v1/events/", &acme, &e).status,
            403,
            "{other}"
        );
    }
    assert_eq!(
        srv.post("/api/v1/events/", &acme, &json!([event(1), event(2)]))
            .status,
        403
    );
    assert_eq!(
        env.count("SELECT count(*) FROM events", &[]),
        2,
        "nothing recorded"
    );
    // Its own: the customer may be left out.
    let created = srv
        .post("/api/v1/webhooks/", &acme, &body(None))
        .expect(201);
    assert_eq!(created["customer"], 1);
    let accepted = srv
        .post(
            "/api/v1/events/",
            &acme,
            &json!({"event_type": "job.failed", "job": {"id": 1}}),
        )
        .expect(202);
    assert_eq!(accepted["customer"], 1);
}

#[test]
fn a_read_only_token_reads_but_every_write_is_403() {
    let rx = Receiver::start(|_| Reply::status(500));
    let env = setup(&rx);
    let reader = token(&env, &["--customer", "1", "--read-only"]);
    let admin_reader = token(&env, &["--admin", "--read-only"]);
    let srv = Server::start(&env, &["--no-worker"]);
    srv.get("/api/v1/webhooks/", &reader).expect(200);
    srv.get("/api/v1/webhooks/", &admin_reader).expect(200);
    let before = env.dump();
    for t in [&reader, &admin_reader] {
        for (method, path, body) in requests(1) {
            let r = srv.call(method, &path, Some(t), body.as_ref());
            if method == "GET" {
                assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
            } else {
                assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
            }
        }
        let create = json!({"customer": 1, "name": "n", "url": "https://n.example.com/", "event_types": ["job.failed"]});
        assert_eq!(srv.post("/api/v1/webhooks/", t, &create).status, 403);
        // The token is judged before the body: an empty one is 403 too, not 400.
        assert_eq!(srv.post("/api/v1/webhooks/", t, &json!({})).status, 403);
        assert_eq!(
            srv.post(
                "/api/v1/events/",
                t,
                &json!({"event_type": "job.failed", "customer": 1, "data": {}})
            )
            .status,
            403
        );
    }
    assert_eq!(env.dump(), before, "nothing changed");
    // The admin reader sees both customers.
    assert_eq!(
        srv.get("/api/v1/webhooks/", &admin_reader).expect(200)["count"],
        2
    );
}

#[test]
fn a_revoked_token_is_refused_at_once() {
    let rx = Receiver::ok();
    let env = setup(&rx);
    let t = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    srv.get("/api/v1/webhooks/", &t).expect(200);
    let list = env.run(&["tokens", "list", "--output", "json"]).ok().json();
    let id = list[0]["id"].as_i64().expect("the token's id").to_string();
    env.run(&["tokens", "revoke", &id]).ok();
    assert_eq!(srv.get("/api/v1/webhooks/", &t).status, 401);
    // DRF's scheme works too (with a valid token).
    let admin = token(&env, &["--admin"]);
    let r = srv.raw(
        "GET",
        "/api/v1/webhooks/",
        &[("Authorization".into(), format!("Token {admin}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}
