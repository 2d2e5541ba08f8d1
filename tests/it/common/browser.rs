//! A real headless Chromium, driven over WebDriver (chromedriver) with fantoccini, for the web
//! UI's tests (`ui_client.rs` is the plain-HTTP client of the UI's own tests). fantoccini is
//! async; the tests are not, so `Browser` keeps its own current-thread tokio runtime and every
//! method blocks on it. Every wait is bounded polling (never a fixed sleep): a page that never
//! shows what a test expects fails it in seconds.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long any wait for the page (an element, a navigation, a text) lasts before failing.
const WAIT: Duration = Duration::from_secs(15);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

pub struct Browser {
    /// Declared before `rt` and `driver`: closed (on the runtime) before either goes.
    client: Option<Client>,
    rt: tokio::runtime::Runtime,
    /// chromedriver, stopped by its PID on drop (it stops the browser it started).
    driver: Child,
}

/// The first of `names` found on PATH, else the first of `fallbacks` that exists.
fn find_program(names: &[&str], fallbacks: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

/// A loopback port nothing listens on right now (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Whether chromedriver on `port` says it is ready (its `/status`).
fn driver_ready(port: u16) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    agent
        .get(format!("http://127.0.0.1:{port}/status"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|body| serde_json::from_str::<Value>(&body).ok())
        .is_some_and(|v| v["value"]["ready"] == true)
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session at
    /// 1280×800. `None` (after saying `SKIPPED … why`) when chromedriver or Chromium is not
    /// installed here; `.ci/run` installs both. When both are there and still no session
    /// opens, the test fails: that is a broken browser set-up, not a missing one.
    pub fn start() -> Option<Browser> {
        let Some(driver) = find_program(
            &["chromedriver"],
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        ) else {
            crate::skipped!(
                "SKIPPED: no chromedriver here (Debian: apt-get install chromium chromium-driver; .ci/run does)"
            );
            return None;
        };
        let Some(chromium) = find_program(
            &["chromium", "chromium-browser", "google-chrome"],
            &["/usr/bin/chromium", "/usr/lib/chromium/chromium"],
        ) else {
            crate::skipped!(
                "SKIPPED: chromedriver is here but no Chromium (Debian: apt-get install chromium; .ci/run does)"
            );
            return None;
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // The port is free when chosen but could be taken before chromedriver binds it: a few
        // tries, each with a fresh port.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {}: {e}", driver.display()));
            let until = Instant::now() + WAIT;
            let ready = loop {
                if driver_ready(port) {
                    break true;
                }
                if Instant::now() > until || matches!(child.try_wait(), Ok(Some(_))) {
                    break false;
                }
                std::thread::sleep(POLL);
            };
            if !ready {
                let _ = child.kill();
                let _ = child.wait();
                failures.push(format!("chromedriver did not answer on port {port}"));
                continue;
            }
            let caps = json!({
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless=new",
                        // The tests run as root, where Chromium's sandbox cannot start.
                        "--no-sandbox",
                        "--disable-gpu",
                        // Containers often have a tiny /dev/shm.
                        "--disable-dev-shm-usage",
                        "--window-size=1280,800",
                        // Everything the tests open is on loopback: no proxy of the environment.
                        "--no-proxy-server",
                    ],
                },
            });
            let Value::Object(caps) = caps else {
                unreachable!("an object literal")
            };
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let session = rt.block_on(
                ClientBuilder::new(connector)
                    .capabilities(caps)
                    .connect(&format!("http://127.0.0.1:{port}")),
            );
            match session {
                Ok(client) => {
                    let browser = Browser {
                        client: Some(client),
                        rt,
                        driver: child,
                    };
                    browser.set_window(1280, 800);
                    return Some(browser);
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(format!("no browser session: {e}"));
                }
            }
        }
        panic!(
            "chromedriver ({}) and Chromium ({}) are installed but no session opened: {failures:?}",
            driver.display(),
            chromium.display()
        );
    }

    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the session is open until drop")
    }

    /// Runs one WebDriver exchange to its end; a failure fails the test, saying what was done.
    fn block<T>(&self, what: &str, f: impl Future<Output = Result<T, CmdError>>) -> T {
        self.rt
            .block_on(f)
            .unwrap_or_else(|e| panic!("browser: {what}: {e}"))
    }

    /// Polls `probe` until it gives `Some`, up to [`WAIT`]; `None` when it never did.
    fn poll<T>(&self, mut probe: impl FnMut(&Browser) -> Option<T>) -> Option<T> {
        let until = Instant::now() + WAIT;
        loop {
            if let Some(found) = probe(self) {
                return Some(found);
            }
            if Instant::now() > until {
                return None;
            }
            self.rt.block_on(async { tokio::time::sleep(POLL).await });
        }
    }

    /// Opens `url` and waits until it has loaded.
    pub fn goto(&self, url: &str) {
        self.block(&format!("open {url}"), self.client().goto(url));
    }

    /// The page's address now (after any redirects).
    pub fn url(&self) -> String {
        self.block("read the URL", self.client().current_url())
            .to_string()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> Element {
        let wait = self.client().wait().at_most(WAIT).every(POLL);
        self.rt
            .block_on(wait.for_element(Locator::Css(css)))
            .unwrap_or_else(|e| {
                panic!(
                    "browser: no {css:?} on {} ({e}); the page:\n{}",
                    self.url(),
                    self.html()
                )
            })
    }

    /// Every element matching `css` now (no waiting: for counting what a loaded page holds).
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.block(
            &format!("find {css:?}"),
            self.client().find_all(Locator::Css(css)),
        )
    }

    /// Whether anything on the page matches `css` now.
    pub fn exists(&self, css: &str) -> bool {
        !self.find_all(css).is_empty()
    }

    /// Types `value` into the form field named `name`, replacing what was there.
    pub fn fill(&self, name: &str, value: &str) {
        let field = self.find(&format!("[name=\"{name}\"]"));
        self.block(&format!("clear {name}"), field.clear());
        self.block(&format!("type into {name}"), field.send_keys(value));
    }

    /// Ticks the checkbox named `name` whose value is `value` (left ticked if it was).
    pub fn check(&self, name: &str, value: &str) {
        self.set_checked(name, value, true);
    }

    /// Unticks the checkbox named `name` whose value is `value`.
    pub fn uncheck(&self, name: &str, value: &str) {
        self.set_checked(name, value, false);
    }

    fn set_checked(&self, name: &str, value: &str, on: bool) {
        let css = format!("input[name=\"{name}\"][value=\"{value}\"]");
        let box_ = self.find(&css);
        if self.block(&format!("read {css}"), box_.is_selected()) != on {
            self.block(&format!("click {css}"), box_.click());
        }
    }

    /// Chooses the option whose value is `value` in the select named `name`.
    pub fn select(&self, name: &str, value: &str) {
        let select = self.find(&format!("select[name=\"{name}\"]"));
        self.block(
            &format!("choose {value:?} in {name}"),
            select.select_by_value(value),
        );
    }

    /// Clicks the element matching `css` (a link or a submit button) and waits until the page
    /// it leads to has replaced this one.
    pub fn click(&self, css: &str) {
        let target = self.find(css);
        self.follow(css, target);
    }

    /// Clicks the button or link reading `label` (as a person finds it) and waits for the page
    /// it leads to.
    pub fn press(&self, label: &str) {
        self.press_in("body", label);
    }

    /// As [`Browser::press`], within the element matching `scope` (one row of a table).
    pub fn press_in(&self, scope: &str, label: &str) {
        let scope_el = self.find(scope);
        let xpath = format!(
            ".//button[normalize-space()='{label}'] | .//a[normalize-space()='{label}'] \
             | .//input[@type='submit'][@value='{label}']"
        );
        let found = self.poll(|b| b.rt.block_on(scope_el.find(Locator::XPath(&xpath))).ok());
        let target = found.unwrap_or_else(|| {
            panic!(
                "browser: no button or link {label:?} in {scope:?} on {}; the page:\n{}",
                self.url(),
                self.html()
            )
        });
        self.follow(label, target);
    }

    /// Clicks `target` and waits until it has gone stale: the page it leads to has replaced
    /// this one. A redirect back to the same address (a form posting back to its list) is a
    /// new page all the same, which waiting for the address to change would miss.
    fn follow(&self, what: &str, target: Element) {
        self.block(&format!("click {what:?}"), target.click());
        let replaced = self.poll(|b| match b.rt.block_on(target.tag_name()) {
            Err(e) if e.is_stale_element_reference() => Some(()),
            _ => None,
        });
        assert!(
            replaced.is_some(),
            "browser: clicking {what:?} on {} led nowhere; the page:\n{}",
            self.url(),
            self.html()
        );
    }

    /// An attribute of the first element matching `css` (waiting for it); `None` when the
    /// element has no such attribute.
    pub fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.find(css);
        self.block(&format!("read {name} of {css:?}"), el.attr(name))
    }

    /// The visible text of the first element matching `css` (waiting for it).
    pub fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.block(&format!("read {css:?}"), el.text())
    }

    /// The page reloaded until the element matching `css` shows `needle` (a delivery that
    /// the server's worker finishes in the background): its text then.
    pub fn reload_until(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        let found = self.poll(|b| {
            let els = b.find_all(css);
            last = match els.first() {
                Some(el) => b.rt.block_on(el.text()).unwrap_or_default(),
                None => String::new(),
            };
            if last.contains(needle) {
                return Some(last.clone());
            }
            b.block("reload", b.client().refresh());
            None
        });
        found.unwrap_or_else(|| {
            panic!(
                "browser: {css:?} on {} never showed {needle:?}; last: {last:?}",
                self.url()
            )
        })
    }

    /// The page's HTML as the browser holds it now.
    pub fn html(&self) -> String {
        self.block("read the page", self.client().source())
    }

    /// Runs `script` (a function body; `return` gives the value) in the page.
    pub fn execute(&self, script: &str) -> Value {
        self.block(
            &format!("run {script:?}"),
            self.client().execute(script, Vec::new()),
        )
    }

    /// The cookies the browser holds for the page's site, as name and value.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.block("read the cookies", self.client().get_all_cookies())
            .into_iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect()
    }

    /// Saves a PNG of the visible part of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        let png = self.block("take a screenshot", self.client().screenshot());
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Resizes the window so the page itself gets `width`×`height` CSS pixels (a laptop:
    /// 1280×800, a phone: 390×844). Even headless, Chromium counts a window's frame and tool
    /// bar in its size: the window is made that much larger.
    pub fn set_window(&self, width: u32, height: u32) {
        let resize = |w: u32, h: u32| {
            self.block(
                &format!("resize to {w}×{h}"),
                self.client().set_window_size(w, h),
            )
        };
        resize(width, height);
        let inner = self.execute("return [window.innerWidth, window.innerHeight];");
        let (Some(w), Some(h)) = (inner[0].as_u64(), inner[1].as_u64()) else {
            panic!("browser: the page's size is {inner}");
        };
        let grow = |want: u32, got: u64| (2 * u64::from(want)).saturating_sub(got) as u32;
        if (w, h) != (u64::from(width), u64::from(height)) {
            resize(grow(width, w), grow(height, h));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closing the session makes chromedriver stop the browser; bounded, for a browser that
        // hangs (the driver is killed next in any case).
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
