//! The web UI under `/settings/` over plain HTTP (cookies and forms by hand): signing in,
//! the session cookie, forms that create and change webhooks, CSRF, escaping of what strangers
//! send, scoping by token, read-only tokens, revocation, and the security headers.

use crate::common::receiver::{Receiver, Reply as Answer};
use crate::common::server::{token, Server};
use crate::common::ui_client::{form, sign_in};
use crate::common::Env;

/// acme (1) has webhook 1 and globex (2) webhook 2 at `rx`, each with one failed delivery
/// (ids 1 and 2).
fn setup(rx: &Receiver) -> Env {
    let env = Env::local();
    env.customer("acme");
    env.customer("globex");
    env.local_webhook(1, "acme-hook", &rx.url("/a"), &["--max-retries", "0"]);
    env.local_webhook(2, "globex-hook", &rx.url("/g"), &["--max-retries", "0"]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&["emit", "job.completed", "--customer", "2"]).ok();
    env
}

/// Every POST of the UI that changes something, for webhook `w` and delivery `d`.
fn actions(w: i64, d: i64) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let fields = vec![
        ("name", "renamed"),
        ("url", "https://changed.example.com/"),
        ("event_types", "job.failed"),
    ];
    vec![
        (format!("/settings/webhooks/{w}"), fields.clone()),
        ("/settings/webhooks/".to_string(), {
            let mut f = fields;
            f.push(("customer", "1"));
            f
        }),
        (format!("/settings/webhooks/{w}/test"), vec![]),
        (format!("/settings/webhooks/{w}/disable"), vec![]),
        (format!("/settings/webhooks/{w}/enable"), vec![]),
        (format!("/settings/webhooks/deliveries/{d}/retry"), vec![]),
        (format!("/settings/webhooks/{w}/delete"), vec![]),
    ]
}

#[test]
fn signing_in_takes_a_valid_token_and_sets_a_strict_cookie() {
    let env = Env::local();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let r = srv.page(
        "GET",
        "/settings/webhooks/deliveries?status=failed",
        None,
        None,
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/settings/sign-in?next=%2Fsettings%2Fwebhooks%2Fdeliveries%3Fstatus%3Dfailed")
    );
    let page = srv.page(
        "GET",
        "/settings/sign-in?next=/settings/webhooks/new",
        None,
        None,
    );
    assert!(page.body.contains("name=\"token\""), "{}", page.body);
    assert!(page.body.contains("value=\"/settings/webhooks/new\""));

    // Nothing typed is asked for, not called invalid.
    let empty = srv.page(
        "POST",
        "/settings/sign-in",
        None,
        Some(&form(&[("token", "  ")])),
    );
    assert_eq!(empty.status, 400);
    assert!(
        empty
            .body
            .contains("Paste an API token (webnet tokens create)."),
        "{}",
        empty.body
    );
    let wrong = format!("{}x", &admin[..admin.len() - 1]);
    let bad = srv.page(
        "POST",
        "/settings/sign-in",
        None,
        Some(&form(&[("token", &wrong)])),
    );
    assert_eq!(bad.status, 401);
    assert!(
        bad.body.contains("That token is not valid."),
        "{}",
        bad.body
    );
    assert!(!bad.body.contains(&wrong[4..]), "the token is echoed");
    assert!(bad.header("set-cookie").is_none());

    // Only local UI paths are followed after signing in.
    for (next, to) in [
        ("/settings/webhooks/new", "/settings/webhooks/new"),
        ("https://evil.example/", "/settings/webhooks/"),
        ("//evil.example/settings/", "/settings/webhooks/"),
    ] {
        let ok = srv.page(
            "POST",
            "/settings/sign-in",
            None,
            Some(&form(&[("token", &admin), ("next", next)])),
        );
        assert_eq!(ok.status, 303);
        assert_eq!(ok.header("location"), Some(to));
        let cookie = ok.header("set-cookie").unwrap();
        assert!(cookie.starts_with("webnet_session="), "{cookie}");
        for part in ["HttpOnly", "SameSite=Strict", "Path=/settings"] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        assert!(!cookie.contains(&admin));
    }
    assert!(
        srv.log().iter().all(|l| !l.contains(&admin[4..])),
        "{:?}",
        srv.log()
    );
}

#[test]
fn ui_pages_carry_the_security_headers() {
    let rx = Receiver::ok();
    let env = setup(&rx);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    for path in [
        "/settings/webhooks/",
        "/settings/webhooks/new",
        "/settings/webhooks/1/edit",
        "/settings/webhooks/deliveries",
        "/settings/webhooks/deliveries/1",
        "/settings/webhooks/99/edit",
        "/settings/sign-in",
    ] {
        let r = b.get(path);
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        assert!(r.body.contains("width=device-width"), "{path}");
    }
    assert_eq!(b.get("/settings/webhooks/99/edit").status, 404);
}

#[test]
fn a_post_without_the_right_csrf_token_is_403_and_changes_nothing() {
    let rx = Receiver::start(|_| Answer::status(500));
    let env = setup(&rx);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    let before = env.dump();
    for (path, fields) in actions(1, 1) {
        for csrf in [None, Some("wrong"), Some("")] {
            let mut all: Vec<(&str, &str)> = fields.clone();
            if let Some(c) = csrf {
                all.push(("csrf", c));
            }
            let r = b.post_raw(&path, &form(&all));
            assert_eq!(r.status, 403, "{path} {csrf:?}: {}", r.body);
            assert!(
                r.body
                    .contains("The form was out of date or not from this site"),
                "{}",
                r.body
            );
        }
    }
    let r = b.post_raw("/settings/sign-out", "");
    assert_eq!(r.status, 403);
    assert_eq!(b.get("/settings/webhooks/").status, 200, "still signed in");
    assert_eq!(env.dump(), before);
    assert_eq!(rx.count(), 2, "nothing was sent");
    // The right token does it (the same request shape is not refused for another reason).
    assert_eq!(b.post("/settings/webhooks/1/disable", &[]).status, 303);
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["enabled"],
        false
    );
    let out = b.post("/settings/sign-out", &[]);
    assert_eq!(out.header("location"), Some("/settings/sign-in"));
    assert_eq!(b.get("/settings/webhooks/").status, 303);
}

#[test]
fn what_strangers_send_is_shown_escaped() {
    let rx = Receiver::start(|_| {
        Answer::status(500).body("<script>alert(1)</script>\r\n\x1b[31mred\tcell\u{7}")
    });
    let env = Env::local();
    env.customer("acme");
    env.local_webhook(1, "<b>x</b>", &rx.url("/h"), &["--max-retries", "0"]);
    env.run(&[
        "emit",
        "job.completed",
        "--customer",
        "1",
        "--data",
        "{\"note\": \"<img src=x>\"}",
    ])
    .ok();
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    let d = b.get("/settings/webhooks/deliveries/1");
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(
        d.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        d.body
    );
    assert!(!d.body.contains("<script"), "{}", d.body);
    // Control characters are shown as the CLI shows them, never sent raw; lines and tabs kept.
    assert!(
        !d.body.contains('\x1b') && !d.body.contains('\u{7}'),
        "{}",
        d.body
    );
    assert!(d.body.contains("\\x1b[31mred\tcell\\x07"), "{}", d.body);
    assert!(!d.body.contains("<img") && d.body.contains("&lt;img src=x&gt;"));
    assert!(d.body.contains("status-failed"));
    assert!(
        d.body.contains("/settings/webhooks/deliveries/1/retry"),
        "a Retry now form"
    );
    for page in ["/settings/webhooks/", "/settings/webhooks/deliveries"] {
        let body = b.get(page).body;
        assert!(body.contains("&lt;b&gt;x&lt;/b&gt;"), "{page}: {body}");
        assert!(!body.contains("<b>x</b>"), "{page}");
    }
    let list = b.get("/settings/webhooks/deliveries?status=failed&webhook=1");
    assert!(
        list.body.contains("data-delivery-id=\"1\""),
        "{}",
        list.body
    );
    assert!(!b
        .get("/settings/webhooks/deliveries?status=success")
        .body
        .contains("data-delivery-id="));
    // By event type or family, as the API filters; the choice stays selected.
    let jobs = b.get("/settings/webhooks/deliveries?event_type=job.*");
    assert!(
        jobs.body.contains("data-delivery-id=\"1\""),
        "{}",
        jobs.body
    );
    assert!(
        jobs.body.contains("<option value=\"job.*\" selected>"),
        "{}",
        jobs.body
    );
    for none in ["device.*", "job.failed", "webhook.test"] {
        let page = b.get(&format!("/settings/webhooks/deliveries?event_type={none}"));
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("data-delivery-id="), "{none}");
    }
    let wrong = b.get("/settings/webhooks/deliveries?event_type=*");
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("Choose an event type from the list."));
}

#[test]
fn a_customer_session_cannot_see_or_touch_another_customers_ids() {
    let rx = Receiver::start(|_| Answer::status(500));
    let env = setup(&rx);
    let acme = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &acme);
    let list = b.get("/settings/webhooks/");
    assert!(list.body.contains("acme-hook") && !list.body.contains("globex-hook"));
    assert!(!list.body.contains("name=\"customer\""));
    let before = env.dump();
    for path in [
        "/settings/webhooks/2/edit",
        "/settings/webhooks/2/delete",
        "/settings/webhooks/deliveries/2",
        "/settings/webhooks/deliveries?webhook=2",
    ] {
        assert_eq!(b.get(path).status, 404, "{path}");
    }
    for (path, fields) in actions(2, 2) {
        if path == "/settings/webhooks/" {
            continue;
        }
        let r = b.post(&path, &fields);
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    assert_eq!(env.dump(), before);
    assert_eq!(rx.count(), 2);
}

#[test]
fn a_read_only_session_shows_no_action_forms_and_its_posts_are_403() {
    let rx = Receiver::start(|_| Answer::status(500));
    let env = setup(&rx);
    let ro = token(&env, &["--customer", "1", "--read-only"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &ro);
    let list = b.get("/settings/webhooks/").body;
    assert!(list.contains("acme-hook"));
    for action in [
        "/test",
        "/disable",
        "/delete",
        "/edit",
        "/settings/webhooks/new",
    ] {
        assert!(!list.contains(action), "{action} shown: {list}");
    }
    assert!(!b
        .get("/settings/webhooks/deliveries/1")
        .body
        .contains("/retry"));
    assert_eq!(b.get("/settings/webhooks/new").status, 403);
    let before = env.dump();
    for (path, fields) in actions(1, 1) {
        assert_eq!(b.post(&path, &fields).status, 403, "{path}");
    }
    assert_eq!(env.dump(), before);
    assert_eq!(rx.count(), 2);
}

#[test]
fn revoking_the_token_ends_the_session() {
    let env = Env::local();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    env.run(&["tokens", "revoke", "1"]).ok();
    let r = b.get("/settings/webhooks/deliveries");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/settings/sign-in?next=%2Fsettings%2Fwebhooks%2Fdeliveries")
    );
    assert_eq!(
        b.get("/settings/webhooks/").status,
        303,
        "the session is gone"
    );
}

/// A retry the UI cannot make is said on the delivery's page, never a bare error page; a
/// deleted webhook's delivery offers no "Retry now" at all.
#[test]
fn a_refused_retry_is_explained_and_a_deleted_webhooks_delivery_offers_none() {
    let rx = Receiver::start(|_| Answer::status(500));
    let env = setup(&rx);
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    assert!(b
        .get("/settings/webhooks/deliveries/1")
        .body
        .contains("/settings/webhooks/deliveries/1/retry"));
    env.run(&["webhooks", "disable", "1"]).ok();
    let r = b.post("/settings/webhooks/deliveries/1/retry", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    let after = b.get("/settings/webhooks/deliveries/1");
    assert!(
        after.body.contains("Not retried: its webhook is disabled"),
        "{}",
        after.body
    );
    assert_eq!(rx.count(), 2, "nothing sent");
    env.run(&["webhooks", "delete", "1", "--yes"]).ok();
    let deleted = b.get("/settings/webhooks/deliveries/1");
    assert!(deleted.body.contains("(deleted)"), "{}", deleted.body);
    let history = b.get("/settings/webhooks/deliveries?webhook=1");
    assert!(
        history
            .body
            .contains("<option value=\"1\" selected>acme-hook (deleted)</option>"),
        "the filter names the deleted webhook: {}",
        history.body
    );
    assert!(!deleted.body.contains("/retry"), "{}", deleted.body);
    let r = b.post("/settings/webhooks/deliveries/1/retry", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(b
        .get("/settings/webhooks/deliveries/1")
        .body
        .contains("Not retried: delivery 1: its webhook 1 was deleted"),);
}

/// A sign-in sent from another site (login CSRF: a page elsewhere signing the visitor in with
/// a token of its choosing) is refused, and opens no session; the server's own page works.
#[test]
fn a_sign_in_from_another_site_is_refused() {
    let env = Env::local();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let body = form(&[("token", &admin)]);
    let post = |site: &str| {
        srv.raw(
            "POST",
            "/settings/sign-in",
            &[
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Sec-Fetch-Site".into(), site.into()),
            ],
            body.as_bytes(),
        )
    };
    let refused = post("cross-site");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Signing in is only possible from this server's own sign-in page."),
        "{}",
        refused.body
    );
    assert!(refused.header("set-cookie").is_none());
    let own = post("same-origin");
    assert!(
        own.status == 303 || own.status == 200,
        "{}: {}",
        own.status,
        own.body
    );
}

/// A form whose decoded text is not UTF-8 (made by hand: browsers send UTF-8) is refused, not
/// stored with U+FFFD in place of what was sent.
#[test]
fn a_form_that_is_not_utf8_is_refused_and_changes_nothing() {
    let env = Env::local();
    env.customer("acme");
    let admin = token(&env, &["--admin"]);
    let srv = Server::start(&env, &["--no-worker"]);
    let b = sign_in(&srv, &admin);
    let before = env.dump();
    let r = b.post_raw(
        "/settings/webhooks/",
        &format!(
            "csrf={}&customer=1&name=%ff%fe&url=https%3A%2F%2Fa.example.com%2F&event_types=job.failed",
            b.csrf
        ),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("the form is not UTF-8"), "{}", r.body);
    assert_eq!(env.dump(), before, "nothing stored");
}
