//! `webnet serve` as the benchmark's child process (scenario 10): started on a bench database,
//! its port read from its listening line, its health polled, its memory read from /proc, and
//! stopped with SIGTERM. Every wait is bounded.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::scenarios::{Db, CONCURRENCY};
use crate::serve::agent;

/// `webnet serve --listen 127.0.0.1:0` as a child process: its port once it says where it
/// listens; its stderr (a request-log line per request) read and mostly dropped, so the pipe
/// never fills.
pub(crate) struct Server {
    child: Child,
    base: String,
    pub(crate) spawned: Instant,
    /// The last lines it logged, for a harness failure's message.
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Server {
    /// Spawns serve on `db` (with `bin`, so `WEBNET_BENCH_BIN` is measured) and waits,
    /// bounded, for its listening line; `None` (after saying why) if it never comes.
    pub(crate) fn start(bin: &Path, db: &Db) -> Option<Server> {
        let mut c = Command::new(bin);
        // The tests' environment for this database (its WEBNET_DB, none of the caller's
        // WEBNET_* settings, loopback receivers allowed), on this binary.
        for (k, v) in db.cmd().get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.args(["serve", "--listen", "127.0.0.1:0", "--concurrency"])
            .arg(CONCURRENCY.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawned = Instant::now();
        let mut child = c.spawn().expect("spawn webnet serve");
        let stderr = child.stderr.take().expect("stderr");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                }
                let mut t = lines.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == 20 {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => Some(Server {
                child,
                base: format!("http://{addr}"),
                spawned,
                tail,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("serve did not start: {:?}", tail.lock().map(|t| t.clone()));
                None
            }
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Polls the health check every millisecond until it answers 200: when it did.
    pub(crate) fn wait_healthy(&self, timeout: Duration) -> Option<Instant> {
        let agent = agent(1);
        let url = self.url("/api/v1/health/");
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(mut r) = agent.get(&url).call() {
                let _ = r.body_mut().read_to_vec();
                if r.status() == 200 {
                    return Some(Instant::now());
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        None
    }

    /// Resident memory now (VmRSS), in MiB.
    pub(crate) fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }

    pub(crate) fn complain(&self, what: &str) {
        eprintln!(
            "serve: {what}; its last log lines: {:?}",
            self.tail.lock().map(|t| t.clone())
        );
    }

    /// Profiling knob: `WEBNET_BENCH_PERF=/tmp/perf.data` records the server with `perf` during
    /// the ingest (from the first POST until the receiver has every event).
    pub(crate) fn perf_record(&self) -> Option<Child> {
        let out = std::env::var("WEBNET_BENCH_PERF").ok()?;
        let perf = Command::new("perf")
            .args(["record", "-F", "2000", "-g", "-o", &out, "-p"])
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("WEBNET_BENCH_PERF: cannot run perf: {e}"))
            .ok()?;
        // perf needs a moment to attach before the first POST.
        std::thread::sleep(Duration::from_millis(500));
        Some(perf)
    }

    /// SIGTERM, then a bounded wait for a clean exit (killed after 10 s).
    pub(crate) fn stop(mut self) {
        crate::common::server::signal(self.child.id(), "TERM");
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.complain("did not stop within 10 s of SIGTERM; killed");
        let _ = self.child.kill();
        let _ = self.child.wait();
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
