//! The web UI's webhook form: creating with repeated `event_types`, a mistake answered with
//! the form again (400, values kept, nothing created), editing that keeps a credential header
//! shown as "[redacted]", and deleting after the confirmation page.

use crate::common::receiver::Receiver;
use crate::common::server::{token, Server};
use crate::common::ui_client::sign_in;
use crate::common::Env;

#[test]
fn the_form_creates_a_webhook_and_a_mistake_keeps_the_values() {
    let rx = Receiver::ok();
    let env = Env::local();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    let new = b.get("/settings/webhooks/new");
    assert!(new.body.contains("id=\"webhook-form\""));
    assert!(new.body.contains("value=\"job.*\"") && new.body.contains("value=\"device.created\""));

    let url = rx.url("/hook");
    let mut fields = vec![
        ("customer", "1"),
        ("name", "ops"),
        ("url", url.as_str()),
        ("event_types", "job.*"),
        ("event_types", "device.created"),
        ("enabled", "on"),
        ("timeout_seconds", "7"),
        ("max_retries", "2"),
        ("retry_backoff", "30"),
        ("payload_format", "auto"),
        ("headers", "X-Team: netops"),
    ];
    let bad = {
        let mut f = fields.clone();
        f[2] = ("url", "not a url");
        b.post("/settings/webhooks/", &f)
    };
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("id=\"error-url\""), "{}", bad.body);
    assert!(bad.body.contains("value=\"ops\"") && bad.body.contains("value=\"not a url\""));
    assert!(bad.body.contains("X-Team: netops"));
    assert!(
        bad.body.contains("signed with it (X-Webhook-Signature)")
            && bad
                .body
                .contains("A secret typed before is not kept: type it again."),
        "{}",
        bad.body
    );
    // A number out of its range says the range (the timeout's starts at 1).
    for (key, value, says) in [
        (
            "timeout_seconds",
            "0",
            "Enter a whole number from 1 to 120.",
        ),
        ("max_retries", "-1", "Enter a whole number from 0 to 20."),
    ] {
        let mut f = fields.clone();
        f.retain(|(k, _)| *k != key);
        f.push((key, value));
        let bad = b.post("/settings/webhooks/", &f);
        assert_eq!(bad.status, 400, "{}", bad.body);
        assert!(
            bad.body.contains(&format!("id=\"error-{key}\"")) && bad.body.contains(says),
            "{key}: {}",
            bad.body
        );
    }
    // Every field in the wrong is named at once, each next to its field.
    let bad = {
        let mut f = fields.clone();
        f[2] = ("url", "not a url");
        f.retain(|(k, _)| *k != "timeout_seconds" && *k != "event_types");
        f.push(("timeout_seconds", "500"));
        b.post("/settings/webhooks/", &f)
    };
    assert_eq!(bad.status, 400, "{}", bad.body);
    for key in ["url", "timeout_seconds", "event_types"] {
        assert!(
            bad.body.contains(&format!("id=\"error-{key}\"")),
            "{key}: {}",
            bad.body
        );
    }
    env.run(&["webhooks", "show", "1"]).fails(1, "not found");

    fields.push(("secret", "s3cret-value"));
    let made = b.post("/settings/webhooks/", &fields);
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.header("location"), Some("/settings/webhooks/"));
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(
        w["event_types"],
        serde_json::json!(["device.created", "job.*"])
    );
    assert_eq!(w["timeout_seconds"], 7);
    assert_eq!(w["max_retries"], 2);
    assert_eq!(w["has_secret"], true);
    assert_eq!(w["verify_ssl"], false);
    let list = b.get("/settings/webhooks/");
    assert!(
        list.body
            .contains("<p class=\"flash\" role=\"status\">Created webhook ops.</p>"),
        "{}",
        list.body
    );
    assert!(list.body.contains("data-webhook-id=\"1\""));
    assert!(
        !b.get("/settings/webhooks/")
            .body
            .contains("class=\"flash\""),
        "a flash is shown once"
    );

    // Editing shows the customer but does not offer to change it (it cannot change).
    let edit = b.get("/settings/webhooks/1/edit");
    assert!(
        !edit.body.contains("<select id=\"customer\""),
        "{}",
        edit.body
    );
    assert!(edit.body.contains("Customer: acme (1)"), "{}", edit.body);

    // Test: sent now, reported in the flash.
    assert_eq!(b.post("/settings/webhooks/1/test", &[]).status, 303);
    let after = b.get("/settings/webhooks/");
    assert!(
        after.body.contains(": success, HTTP 200 in "),
        "{}",
        after.body
    );
    assert_eq!(rx.count(), 1);
}

#[test]
fn editing_keeps_a_redacted_credential_and_deleting_asks_first() {
    let rx = Receiver::ok();
    let env = Env::local();
    env.customer("acme");
    let url = rx.url("/h");
    env.local_webhook(
        1,
        "hook",
        &url,
        &[
            "--header",
            "Authorization: Bearer keep-me",
            "--header",
            "X-Team: a",
        ],
    );
    let acme = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &acme);
    let edit = b.get("/settings/webhooks/1/edit");
    assert!(
        edit.body.contains("Authorization: [redacted]"),
        "{}",
        edit.body
    );
    assert!(!edit.body.contains("keep-me"));
    let fields = [
        ("name", "renamed"),
        ("url", url.as_str()),
        ("event_types", "job.failed"),
        ("enabled", "on"),
        ("payload_format", "auto"),
        ("headers", "Authorization: [redacted]\nX-Team: b"),
    ];
    let r = b.post("/settings/webhooks/1", &fields);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(b.post("/settings/webhooks/1/test", &[]).status, 303);
    let got = &rx.requests()[0];
    assert_eq!(got.header("authorization"), Some("Bearer keep-me"));
    assert_eq!(got.header("x-team"), Some("b"));
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["name"],
        "renamed"
    );

    let confirm = b.get("/settings/webhooks/1/delete");
    assert!(
        confirm
            .body
            .contains("Delete webhook <strong>renamed</strong>? Its delivery history is kept."),
        "{}",
        confirm.body
    );
    assert_eq!(b.post("/settings/webhooks/1/delete", &[]).status, 303);
    env.run(&["webhooks", "show", "1"]).fails(1, "not found");
    assert_eq!(
        b.get("/settings/webhooks/deliveries/1").status,
        200,
        "history kept"
    );
    assert_eq!(b.get("/settings/webhooks/1/edit").status, 404);
}

#[test]
fn a_url_token_shows_redacted_and_the_form_sent_back_as_it_is_keeps_the_url() {
    let rx = Receiver::ok();
    let env = Env::local();
    env.customer("acme");
    let stored = rx.url("/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw");
    env.local_webhook(1, "chat", &stored, &[]);
    let acme = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &acme);
    let list = b.get("/settings/webhooks/");
    assert!(!list.body.contains("xk7b3oq9"), "{}", list.body);
    let shown = rx.url("/hooks/[redacted]");
    assert!(list.body.contains(&shown), "{}", list.body);
    let edit = b.get("/settings/webhooks/1/edit");
    assert!(!edit.body.contains("xk7b3oq9"), "{}", edit.body);
    assert!(
        edit.body.contains(&format!("value=\"{shown}\"")),
        "{}",
        edit.body
    );
    let mut fields = vec![
        ("name", "renamed"),
        ("url", shown.as_str()),
        ("event_types", "job.failed"),
        ("enabled", "on"),
        ("payload_format", "auto"),
    ];
    let r = b.post("/settings/webhooks/1", &fields);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(b.post("/settings/webhooks/1/test", &[]).status, 303);
    assert_eq!(rx.requests()[0].path, "/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw");
    // Another URL with "[redacted]" in it is the form again, naming the URL.
    let other = rx.url("/other/[redacted]");
    fields[1] = ("url", other.as_str());
    let again = b.post("/settings/webhooks/1", &fields);
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("id=\"error-url\""), "{}", again.body);
}

#[test]
fn a_pagerduty_webhook_is_made_from_the_form_with_its_routing_key_never_shown() {
    let env = Env::new();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    // PagerDuty's real URL: created disabled (never sent to).
    let mut fields = vec![
        ("customer", "1"),
        ("name", "paging"),
        ("url", "https://events.pagerduty.com/v2/enqueue"),
        ("event_types", "job.failed"),
        ("payload_format", "pagerduty"),
    ];
    let missing = b.post("/settings/webhooks/", &fields);
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert!(
        missing.body.contains("id=\"error-routing_key\""),
        "{}",
        missing.body
    );
    fields.push(("routing_key", "R0UTINGKEY0123456789abcdefABCDEF"));
    let made = b.post("/settings/webhooks/", &fields);
    assert_eq!(made.status, 303, "{}", made.body);
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(
        (w["has_routing_key"].clone(), w["enabled"].clone()),
        (serde_json::json!(true), serde_json::json!(false))
    );
    let edit = b.get("/settings/webhooks/1/edit");
    assert!(!edit.body.contains("R0UTINGKEY"), "never shown back");
    // Saving the form again without it keeps the stored key.
    fields.retain(|(k, _)| *k != "routing_key");
    fields.retain(|(k, _)| *k != "customer");
    let saved = b.post("/settings/webhooks/1", &fields);
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["has_routing_key"],
        true
    );
}
