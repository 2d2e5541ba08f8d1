//! `webnet serve` as a test's child process, and a real HTTP client (ureq) to talk to it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Env;

pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
}

/// A response: its status, headers and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status; returns the body as JSON.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }
}

impl Server {
    /// Starts `webnet serve --listen 127.0.0.1:0 EXTRA…` and waits until it listens.
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        let mut child = env
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn webnet serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                }
                lines.lock().unwrap().push(line);
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start: {:?}", log.lock().unwrap());
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            log,
            agent,
        }
    }

    /// What the server logged on stderr so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A request with `token` (if any) and a JSON body (if any).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let text = body.map(|b| b.to_string());
        let mut headers = vec![];
        if let Some(t) = token {
            headers.push(("Authorization".to_string(), format!("Bearer {t}")));
        }
        if text.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        self.raw(
            method,
            path,
            &headers,
            text.as_deref().unwrap_or("").as_bytes(),
        )
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.call("POST", path, Some(token), Some(body))
    }

    /// Any request, headers and body as given.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Reply {
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req.body(body.to_vec()).expect("request");
        let mut res = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Reply {
            status: res.status().as_u16(),
            headers,
            body: res
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .unwrap_or_default(),
        }
    }

    /// A browser's request to the web UI: the session `cookie` (if any) and a form body (if
    /// any); redirects are returned, not followed.
    pub fn page(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        form: Option<&str>,
    ) -> Reply {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("Cookie", format!("webnet_session={c}"));
        }
        if form.is_some() {
            req = req.header("Content-Type", "application/x-www-form-urlencoded");
        }
        let req = req
            .body(form.unwrap_or("").as_bytes().to_vec())
            .expect("request");
        let mut res = agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Reply {
            status: res.status().as_u16(),
            headers,
            body: res.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    /// Sends SIGTERM and waits for the exit (up to `within`): the exit status.
    pub fn stop(mut self, within: Duration) -> std::process::ExitStatus {
        signal(self.child.id(), "TERM");
        let until = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < until,
                "serve did not stop: {:?}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{name} {pid}");
}

/// A token made with `webnet tokens create` (`who`: `--admin` or `--customer ID`, and any
/// other options).
pub fn token(env: &Env, who: &[&str]) -> String {
    let mut args = vec!["tokens", "create", "--name", "test", "--output", "json"];
    args.extend(who);
    let out = env.run(&args).ok();
    out.json()["token"]
        .as_str()
        .expect("the token in the output")
        .to_string()
}
