//! The web UI (DESIGN §12) in a real headless Chromium driven over WebDriver: what a person
//! signed in with a token sees and does, against `webnet serve` and real receivers on loopback.
//! Each test skips, saying so, where chromedriver or Chromium is missing (`.ci/run` installs
//! both). With `WEBNET_SCREENSHOTS=DIR` the flow saves the README's screenshots into DIR.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::receiver::{Receiver, Reply};
use crate::common::server::{token, Server};
use crate::common::{hmac_hex, Env};

/// What the failing receiver answers: a stranger's body that would run if the page did not
/// escape it.
const HOSTILE: &str = "<script>document.title='pwned'</script>";

/// Where to save screenshots (`WEBNET_SCREENSHOTS`), if anywhere.
fn screenshots() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("WEBNET_SCREENSHOTS")?);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    Some(dir)
}

/// Saves a screenshot of the page scrolled to `y` (0: the top; a large number: the bottom).
fn shoot(browser: &Browser, name: &str, y: u32) {
    if let Some(dir) = screenshots() {
        // Typing scrolls the field into view and leaves a caret: neither belongs in the README.
        browser.execute(&format!(
            "document.activeElement && document.activeElement.blur(); window.scrollTo(0, {y});"
        ));
        browser.screenshot(&dir.join(name));
    }
}

/// The harness itself: the browser reaches `webnet serve` on loopback and reads what it says,
/// at the sizes the screenshots are taken at.
#[test]
fn the_browser_reaches_the_server_and_reads_its_health() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::new();
    let srv = Server::start(&env, &["--no-worker"]);
    browser.goto(&format!("{}/api/v1/health/", srv.base));
    let body = browser.text("body");
    let health: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(health["status"], "ok", "{body}");
    let size = "return [window.innerWidth, window.innerHeight];";
    assert_eq!(browser.execute(size), serde_json::json!([1280, 800]));
    browser.set_window(390, 844);
    assert_eq!(browser.execute(size), serde_json::json!([390, 844]));
}

/// Signs in on the sign-in page the list redirected to; lands on the list.
fn sign_in(browser: &Browser, srv: &Server, token: &str) {
    browser.goto(&format!("{}/settings/webhooks/", srv.base));
    let url = browser.url();
    assert!(
        url.starts_with(&format!("{}/settings/sign-in?next=", srv.base)),
        "not sent to sign in: {url}"
    );
    assert_eq!(
        browser.attr("input[name=\"token\"]", "type").as_deref(),
        Some("password")
    );
    browser.fill("token", token);
    browser.press("Sign in");
    assert_eq!(browser.url(), format!("{}/settings/webhooks/", srv.base));
    assert_eq!(browser.text("h1"), "Webhooks");
}

/// The id of the list's row for the webhook named `name`.
fn row_id(browser: &Browser, name: &str) -> String {
    let script = format!(
        "return [...document.querySelectorAll('#webhooks tr[data-webhook-id]')]\
         .filter(r => r.textContent.includes({})).map(r => r.dataset.webhookId);",
        serde_json::Value::from(name)
    );
    match browser.execute(&script).as_array().map(Vec::as_slice) {
        Some([id]) => id.as_str().expect("an id").to_string(),
        other => panic!(
            "not one row for {name:?} ({other:?}) in:\n{}",
            browser.html()
        ),
    }
}

#[test]
fn a_person_signs_in_creates_a_webhook_tests_it_and_retries_a_failed_delivery() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::local();
    assert_eq!(env.customer("acme"), 1);
    let tok = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &[]);
    let good = Receiver::ok();
    let healthy = Arc::new(AtomicBool::new(false));
    let bad = Receiver::start({
        let healthy = Arc::clone(&healthy);
        move |_| {
            if healthy.load(Ordering::SeqCst) {
                Reply::ok()
            } else {
                Reply::status(500)
                    .header("Content-Type", "text/html")
                    .body(HOSTILE)
            }
        }
    });

    sign_in(&browser, &srv, &tok);
    assert!(
        browser.cookies().iter().any(|(k, _)| k == "webnet_session"),
        "{:?}",
        browser.cookies()
    );
    let nav = browser.text("nav");
    assert!(nav.contains("acme") && nav.contains("Sign out"), "{nav}");

    // A webhook made through the form.
    browser.press("New webhook");
    browser.fill("name", "Deploys");
    browser.fill("url", &good.url("/hooks"));
    browser.check("event_types", "job.completed");
    browser.fill("secret", "ui-test-secret");
    shoot(&browser, "webhook-form.png", 0);
    browser.press("Create webhook");
    assert_eq!(browser.url(), format!("{}/settings/webhooks/", srv.base));
    let deploys = row_id(&browser, "Deploys");
    let row = format!("#webhooks tr[data-webhook-id=\"{deploys}\"]");
    assert!(browser.text(&row).contains(&good.url("/hooks")));

    // Test: the flash says how it went, the receiver got a signed webhook.test.
    browser.press_in(&row, "Test");
    let flash = browser.text(".flash");
    assert!(
        flash.contains("success") && flash.contains("HTTP 200"),
        "{flash}"
    );
    let got = good.wait_for(1, Duration::from_secs(10));
    assert_eq!(got[0].json()["event_type"], "webhook.test");
    assert_eq!(
        got[0].header("x-webhook-signature"),
        Some(hmac_hex("ui-test-secret", &got[0].body).as_str())
    );
    // Shown once: the list again has no flash.
    browser.goto(&format!("{}/settings/webhooks/", srv.base));
    assert!(!browser.exists(".flash"), "{}", browser.html());

    // The deliveries page shows the test delivery.
    browser.goto(&format!("{}/settings/webhooks/deliveries", srv.base));
    assert_eq!(browser.text("h1"), "Deliveries");
    let rows = browser.text("#deliveries");
    assert!(
        rows.contains("webhook.test") && rows.contains("success"),
        "{rows}"
    );

    // A second webhook, at a receiver that fails with a hostile body, no retries.
    browser.goto(&format!("{}/settings/webhooks/new", srv.base));
    browser.fill("name", "Fragile");
    browser.fill("url", &bad.url("/hooks"));
    browser.check("event_types", "job.completed");
    browser.fill("max_retries", "0");
    browser.press("Create webhook");
    let fragile = row_id(&browser, "Fragile");
    shoot(&browser, "webhooks.png", 0);
    env.run(&[
        "emit",
        "job.completed",
        "--customer",
        "1",
        "--data",
        r#"{"id": 7, "status": "completed"}"#,
    ])
    .ok();
    assert_eq!(bad.wait_for(1, Duration::from_secs(10)).len(), 1);

    // Its delivery is failed; the page shows the receiver's body as text, and runs nothing.
    browser.goto(&format!(
        "{}/settings/webhooks/deliveries?webhook={fragile}&status=failed",
        srv.base
    ));
    browser.reload_until("#deliveries", "failed");
    shoot(&browser, "deliveries.png", 0);
    let failed = browser
        .attr("#deliveries tr[data-delivery-id]", "data-delivery-id")
        .expect("a delivery row");
    assert_eq!(
        browser.find_all("#deliveries tr[data-delivery-id]").len(),
        1
    );
    browser.click(&format!("#deliveries tr[data-delivery-id=\"{failed}\"] a"));
    assert_eq!(
        browser.url(),
        format!("{}/settings/webhooks/deliveries/{failed}", srv.base)
    );
    let attempts = browser.text("#attempts");
    assert!(attempts.contains(HOSTILE), "{attempts}");
    assert_ne!(browser.execute("return document.title;"), "pwned");
    assert_eq!(
        browser.execute("return document.scripts.length;"),
        serde_json::json!(0)
    );
    // The bottom of the page: the attempt with the receiver's body, and "Retry now".
    shoot(&browser, "delivery.png", 100_000);

    // The receiver recovers; "Retry now" sends it again and the delivery succeeds.
    healthy.store(true, Ordering::SeqCst);
    browser.press("Retry now");
    assert!(browser.exists(".flash"), "{}", browser.html());
    browser.reload_until(".status", "success");
    assert_eq!(bad.wait_for(2, Duration::from_secs(10)).len(), 2);

    // On a phone every page fits its width (tables become cards, long lines wrap or scroll
    // inside their box), and the list is shown as the README's phone screenshot.
    browser.set_window(390, 844);
    for page in [
        String::new(),
        "new".into(),
        format!("{deploys}/edit"),
        "deliveries".into(),
        format!("deliveries/{failed}"),
    ] {
        browser.goto(&format!("{}/settings/webhooks/{page}", srv.base));
        let wide = browser.execute("return document.documentElement.scrollWidth;");
        assert!(
            wide.as_u64().is_some_and(|w| w <= 390),
            "/settings/webhooks/{page} is {wide} px wide on a 390 px phone"
        );
        if page.is_empty() {
            shoot(&browser, "webhooks-phone.png", 0);
        }
    }
}

/// A POST carrying the browser's session cookie.
fn post_form(srv: &Server, path: &str, cookie: &str, form: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut res = agent
        .post(format!("{}{path}", srv.base))
        .header("Cookie", format!("webnet_session={cookie}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(form)
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = res.status().as_u16();
    (status, res.body_mut().read_to_string().unwrap_or_default())
}

/// Another site's page posting to the UI with the signed-in person's cookie: refused without
/// the session's CSRF token, and nothing changes. The same post with the token (as the UI's
/// own form sends it) works, so it is the missing token that was refused.
#[test]
fn a_forged_form_post_without_the_csrf_token_is_refused() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let env = Env::local();
    assert_eq!(env.customer("acme"), 1);
    let rx = Receiver::ok();
    let id = env.local_webhook(1, "Deploys", &rx.url("/hooks"), &[]);
    let tok = token(&env, &["--customer", "1"]);
    let srv = Server::start(&env, &["--no-worker"]);
    sign_in(&browser, &srv, &tok);
    let cookie = browser
        .cookies()
        .into_iter()
        .find(|(k, _)| k == "webnet_session")
        .map(|(_, v)| v)
        .expect("the session cookie");
    let enabled = || env.run(&["webhooks", "show", &id.to_string()]).ok().json()["enabled"].clone();
    let disable = format!("/settings/webhooks/{id}/disable");

    for forged in ["", "csrf=", "csrf=not-the-token"] {
        let (status, body) = post_form(&srv, &disable, &cookie, forged);
        assert_eq!(status, 403, "{forged:?}: {body}");
        assert!(body.contains("out of date or not from this site"), "{body}");
        assert_eq!(enabled(), true, "{forged:?} changed the webhook");
    }

    let csrf = browser
        .attr("input[name=\"csrf\"]", "value")
        .expect("the page's CSRF token");
    let form = format!("csrf={}", url_encode(&csrf));
    let (status, body) = post_form(&srv, &disable, &cookie, &form);
    assert_eq!(status, 303, "{body}");
    assert_eq!(enabled(), false);
}

/// Percent-encodes a form value (the CSRF token is base64url, but nothing is assumed).
fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
