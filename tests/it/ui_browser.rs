//! The web UI (DESIGN §12) in a real headless Chromium driven over WebDriver: what a person
//! signed in with a token sees and does. Each test skips, saying so, where chromedriver or
//! Chromium is missing (`.ci/run` installs both).

use crate::common::browser::Browser;
use crate::common::server::Server;
use crate::common::Env;

/// The harness itself: the browser reaches `webnet serve` on loopback and reads what it says.
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
    let size = browser.execute("return [window.innerWidth, window.innerHeight];");
    assert_eq!(size, serde_json::json!([1280, 800]));
    browser.set_window(390, 844);
    let size = browser.execute("return [window.innerWidth, window.innerHeight];");
    assert_eq!(size, serde_json::json!([390, 844]));
}
