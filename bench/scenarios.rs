//! The scenarios of BENCHMARKS.md. Each builds its own database, drives the real binary and
//! returns figures beside the baseline they are judged against.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::Env;
use crate::receiver::Receiver;
use crate::Sizes;

const SECRET: &str = "bench-secret";
pub(crate) const CONCURRENCY: usize = 8;
/// A realistic event object (about 300 bytes of payload).
pub(crate) const JOB: &str = r#"{"id": 123, "type": "config_backup", "status": "success", "requested_at": "2025-12-02T00:59:00Z", "started_at": "2025-12-02T00:59:05Z", "finished_at": "2025-12-02T01:00:00Z", "target_summary": {"device_count": 5}, "result_summary": {"backed_up": 5}}"#;

#[derive(Debug, Clone)]
pub struct Figure {
    pub scenario: &'static str,
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// What the value is judged against, and that baseline's value (same unit).
    pub baseline: Option<(String, f64)>,
    /// The target in words, and whether it is met.
    pub target: Option<(String, bool)>,
    pub broken: bool,
}

pub(crate) fn fig(
    scenario: &'static str,
    name: impl Into<String>,
    value: f64,
    unit: &'static str,
) -> Figure {
    Figure {
        scenario,
        name: name.into(),
        value,
        unit,
        baseline: None,
        target: None,
        broken: false,
    }
}

impl Figure {
    pub(crate) fn against(mut self, name: impl Into<String>, value: f64) -> Figure {
        self.baseline = Some((name.into(), value));
        self
    }
    pub(crate) fn target(mut self, words: impl Into<String>, met: bool) -> Figure {
        self.target = Some((words.into(), met));
        self
    }
    pub(crate) fn broken_if(mut self, broken: bool) -> Figure {
        self.broken = broken;
        self
    }
}

/// A database of its own with helpers to run webnet on it: the tests' `Env` (loopback
/// receivers allowed, none of the caller's WEBNET_* settings), JSON output.
pub(crate) struct Db {
    env: Env,
    pub(crate) path: PathBuf,
    bin: PathBuf,
}

impl Db {
    pub(crate) fn new(bin: &Path) -> Db {
        let mut env = Env::local();
        // These scenarios measure SQLite (PostgreSQL's have their own, `postgres.rs`).
        env.pg = None;
        Db {
            path: env.db.clone(),
            env,
            bin: bin.to_path_buf(),
        }
    }

    pub(crate) fn cmd(&self) -> Command {
        let mut c = self.env.cmd();
        c.env("WEBNET_OUTPUT", "json");
        c
    }

    fn run_stdin(&self, args: &[&str], input: Vec<u8>) -> (Output, Duration) {
        let start = Instant::now();
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn webnet");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait webnet");
        let _ = writer.join();
        (out, start.elapsed())
    }

    /// Runs under /usr/bin/time: (wall, user + system CPU, peak RSS in KiB).
    fn timed(&self, args: &[&str]) -> (Duration, Duration, u64) {
        let stats = self.path.with_extension("time");
        let start = Instant::now();
        let mut c = Command::new("/usr/bin/time");
        c.arg("-f").arg("%U %S %M").arg("-o").arg(&stats);
        // Profiling knob: WEBNET_BENCH_PERF=/tmp/perf.data records the timed command with perf.
        if let Ok(out) = std::env::var("WEBNET_BENCH_PERF") {
            c.args(["perf", "record", "-F", "2000", "-g", "-o", &out, "--"]);
        }
        c.arg(&self.bin).args(args);
        c.env("WEBNET_DB", &self.path)
            .env("WEBNET_ALLOW_PRIVATE_TARGETS", "1")
            .env("WEBNET_OUTPUT", "json");
        let out = c
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .expect("run /usr/bin/time");
        let wall = start.elapsed();
        assert!(
            out.status.success(),
            "webnet {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&stats).unwrap_or_default();
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let cpu = Duration::from_secs_f64(
            v.first().copied().unwrap_or(0.0) + v.get(1).copied().unwrap_or(0.0),
        );
        (wall, cpu, v.get(2).copied().unwrap_or(0.0) as u64)
    }

    /// One customer and `n` webhooks, created through the CLI.
    pub(crate) fn setup(&self, hooks: &[(String, String, Vec<&str>)]) {
        if self.path.exists() {
            return;
        }
        self.env.customer("bench");
        for (name, url, extra) in hooks {
            self.env.create_webhook(url).name(name).args(extra).id();
        }
    }

    pub(crate) fn size(&self) -> u64 {
        let wal = self.path.with_extension("db-wal");
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
    }
}

fn ndjson(events: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(events as usize * 350);
    for i in 0..events {
        out.extend_from_slice(
            format!("{{\"customer\": 1, \"event_type\": \"job.completed\", \"event_id\": {i}, \"actor\": {{\"id\": 1, \"username\": \"admin\"}}, \"job\": {JOB}}}\n").as_bytes(),
        );
    }
    out
}

fn hooks(
    rx: &Receiver,
    n: u64,
    prefix: &str,
    extra: &[&'static str],
) -> Vec<(String, String, Vec<&'static str>)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i}"),
                rx.url(&format!("/{prefix}{i}")),
                extra.to_vec(),
            )
        })
        .collect()
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run_all(bin: &Path, s: &Sizes) -> Vec<Figure> {
    let rx = Receiver::start();
    let mut out = Vec::new();
    // Profiling knob: WEBNET_BENCH_ONLY=drain runs just the one-webhook drain, judged against
    // a ceiling measured in this run (as every ratio is); isolation and prune measure their
    // own baselines.
    match std::env::var("WEBNET_BENCH_ONLY").as_deref() {
        Ok("drain") => {
            let (figure, ceiling) = ceiling(&rx, s);
            out.push(figure);
            out.extend(drain(bin, &rx, s.drain, 1, ceiling));
            return out;
        }
        Ok("postgres") => {
            let (figure, ceiling) = ceiling(&rx, s);
            out.push(figure);
            let sqlite = drain(bin, &rx, s.drain, 1, ceiling);
            let rate = sqlite.first().map_or(0.0, |f| f.value);
            let emit = emit_rate(&sqlite);
            out.extend(sqlite);
            out.extend(crate::postgres::drains(
                bin, &rx, s.drain, rate, emit, ceiling,
            ));
            return out;
        }
        Ok("isolation") => return isolation(bin, &rx, s.isolation),
        Ok("prune") => return crate::retention::prune_under_load(bin, &rx, s.prune, s.emit_runs),
        _ => {}
    }
    let (figure, ceiling) = ceiling(&rx, s);
    out.push(figure);
    let (curl50, curl99) = curl_latency(&rx, s.emit_runs);
    out.push(fig(
        "1 baseline",
        "curl + openssl, one signed POST, p50",
        curl50,
        "ms",
    ));
    out.push(fig(
        "1 baseline",
        "curl + openssl, one signed POST, p99",
        curl99,
        "ms",
    ));
    out.extend(emit_latency(bin, &rx, s.emit_runs, curl50, curl99));
    let sqlite = drain(bin, &rx, s.drain, 1, ceiling);
    let sqlite_rate = sqlite.first().map_or(0.0, |f| f.value);
    let sqlite_emit = emit_rate(&sqlite);
    out.extend(sqlite);
    out.extend(drain(bin, &rx, s.drain, s.drain_webhooks, ceiling));
    out.extend(crate::postgres::drains(
        bin,
        &rx,
        s.drain,
        sqlite_rate,
        sqlite_emit,
        ceiling,
    ));
    out.extend(ndjson_emit(bin, &rx, s.ndjson, ceiling));
    out.push(fanout(bin, &rx, s.fanout));
    out.extend(isolation(bin, &rx, s.isolation));
    out.push(list_startup(bin, &rx, s.list_webhooks, s.list_runs));
    out.extend(crate::retention::prune_under_load(
        bin,
        &rx,
        s.prune,
        s.emit_runs,
    ));
    out
}

/// The ceiling the drain figures are judged against, measured now, and its row.
fn ceiling(rx: &Receiver, s: &Sizes) -> (Figure, f64) {
    let ceiling = baseline_ceiling(rx, s.drain.min(50_000));
    let figure = fig(
        "1 baseline",
        format!("keep-alive client, {CONCURRENCY} connections"),
        ceiling,
        "req/s",
    );
    (figure, ceiling)
}

/// The ceiling: the same payloads POSTed straight to the receiver over keep-alive connections.
fn baseline_ceiling(rx: &Receiver, n: u64) -> f64 {
    let agent = ureq::Agent::config_builder()
        .max_idle_connections_per_host(CONCURRENCY)
        .http_status_as_error(false)
        .build()
        .new_agent();
    let body: Arc<[u8]> =
        Arc::from(format!("{{\"event_type\": \"job.completed\", \"job\": {JOB}}}").into_bytes());
    let url = rx.url("/ceiling");
    let per = n / CONCURRENCY as u64;
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONCURRENCY {
            let (agent, body, url) = (agent.clone(), body.clone(), url.clone());
            scope.spawn(move || {
                for _ in 0..per {
                    let _ = agent
                        .post(&url)
                        .header("Content-Type", "application/json")
                        .header("X-Webhook-Signature", "sha256=00")
                        .send(&body[..])
                        .map(|mut r| r.body_mut().read_to_vec());
                }
            });
        }
    });
    (per * CONCURRENCY as u64) as f64 / start.elapsed().as_secs_f64()
}

/// What a shell script does today: sign with openssl, POST with curl. Start → receipt.
fn curl_latency(rx: &Receiver, runs: usize) -> (f64, f64) {
    let script = r#"sig=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //'); curl -s -o /dev/null -H 'Content-Type: application/json' -H "X-Webhook-Signature: sha256=$sig" --data-binary "$BODY" "$URL""#;
    let body = format!("{{\"event_type\": \"job.completed\", \"job\": {JOB}}}");
    let mut times = Vec::new();
    for _ in 0..runs {
        let before = rx.healthy();
        let start = Instant::now();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("BODY", &body)
            .env("SECRET", SECRET)
            .env("URL", rx.url("/curl"))
            .spawn()
            .expect("sh");
        if let Some(at) = rx.wait_healthy(before + 1, Duration::from_secs(10)) {
            times.push(at.duration_since(start).as_secs_f64() * 1000.0);
        }
        let _ = child.wait();
    }
    times.sort_by(f64::total_cmp);
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

fn emit_latency(bin: &Path, rx: &Receiver, runs: usize, curl50: f64, curl99: f64) -> Vec<Figure> {
    let db = Db::new(bin);
    db.setup(&[("one".into(), rx.url("/emit"), vec!["--secret", SECRET])]);
    let mut times = Vec::new();
    for _ in 0..runs {
        let before = rx.healthy();
        let start = Instant::now();
        let mut child = db
            .cmd()
            .args(["emit", "job.completed", "--customer", "1", "--data", JOB])
            .stdout(Stdio::null())
            .spawn()
            .expect("emit");
        if let Some(at) = rx.wait_healthy(before + 1, Duration::from_secs(10)) {
            times.push(at.duration_since(start).as_secs_f64() * 1000.0);
        }
        let _ = child.wait();
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
    vec![
        fig("2 emit one event", "start → receipt, p50", p50, "ms")
            .against("curl p50", curl50)
            .target("≤ 0.30 × curl", p50 <= 0.30 * curl50)
            .broken_if(times.len() != runs),
        fig("2 emit one event", "start → receipt, p99", p99, "ms").against("curl p99", curl99),
    ]
}

/// The `emit --queue` rate among [`drain`]'s figures.
fn emit_rate(figures: &[Figure]) -> f64 {
    figures
        .iter()
        .find(|f| f.scenario == "4 NDJSON emit")
        .map_or(0.0, |f| f.value)
}

fn drain(bin: &Path, rx: &Receiver, n: u64, webhooks: u64, ceiling: f64) -> Vec<Figure> {
    let db = Db::new(bin);
    db.setup(&hooks(rx, webhooks, "d", &[]));
    let events = n / webhooks;
    let (out, queued_in) = db.run_stdin(&["emit", "--queue"], ndjson(events));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deliveries = events * webhooks;
    rx.reset();
    let machine = crate::cpu::MachineCpu::now();
    let (wall, cpu, rss) = db.timed(&[
        "drain",
        "--max-time",
        "30m",
        "--concurrency",
        &CONCURRENCY.to_string(),
    ]);
    let received = rx.healthy();
    let rate = deliveries as f64 / wall.as_secs_f64();
    let scenario = "3 drain throughput";
    let mut v = vec![
        fig(
            scenario,
            format!("{deliveries} queued deliveries to {webhooks} webhook(s)"),
            rate,
            "deliveries/s",
        )
        .against("keep-alive ceiling", ceiling)
        .target("≥ 40 % of the ceiling", rate >= 0.4 * ceiling)
        .broken_if(received != deliveries),
        fig(
            scenario,
            format!("CPU per delivery ({webhooks} webhook(s))"),
            cpu.as_secs_f64() * 1e6 / deliveries as f64,
            "µs",
        ),
    ];
    if webhooks == 1 {
        if let Some(busy) = machine.and_then(|m| m.busy_percent_since()) {
            v.push(fig(
                scenario,
                "machine CPU busy while the drain ran (every process, all cores)",
                busy,
                "%",
            ));
        }
        v.push(
            fig(
                "7 footprint",
                format!("peak RSS of drain ({deliveries} deliveries)"),
                rss as f64 / 1024.0,
                "MiB",
            )
            .target("≤ 50 MiB", rss < 50 * 1024),
        );
        v.push(fig(
            "7 footprint",
            "database size per 100,000 deliveries",
            db.size() as f64 / deliveries as f64 * 100_000.0 / 1_048_576.0,
            "MiB",
        ));
        v.push(fig(
            "4 NDJSON emit",
            format!("{events} events, --queue"),
            events as f64 / queued_in.as_secs_f64(),
            "events/s",
        ));
    }
    v
}

fn ndjson_emit(bin: &Path, rx: &Receiver, n: u64, ceiling: f64) -> Vec<Figure> {
    let db = Db::new(bin);
    db.setup(&hooks(rx, 1, "n", &[]));
    rx.reset();
    let (out, took) = db.run_stdin(&["emit"], ndjson(n));
    let ok = out.status.success() && rx.healthy() == n;
    vec![fig(
        "4 NDJSON emit",
        format!("{n} events, delivering"),
        n as f64 / took.as_secs_f64(),
        "events/s",
    )
    .against("keep-alive ceiling", ceiling)
    .target(
        "≥ 30 % of the ceiling",
        n as f64 / took.as_secs_f64() >= 0.3 * ceiling,
    )
    .broken_if(!ok)]
}

fn fanout(bin: &Path, rx: &Receiver, n: u64) -> Figure {
    let db = Db::new(bin);
    db.setup(&hooks(rx, n, "f", &[]));
    rx.reset();
    let start = Instant::now();
    let mut child = db
        .cmd()
        .args(["emit", "job.completed", "--customer", "1", "--data", JOB])
        .stdout(Stdio::null())
        .spawn()
        .expect("emit");
    let done = rx.wait_healthy(n, Duration::from_secs(60));
    let _ = child.wait();
    let took = done
        .map(|d| d.duration_since(start).as_secs_f64())
        .unwrap_or(f64::NAN);
    fig(
        "5 fan-out",
        format!("one event to {n} webhooks, until all received"),
        took * 1000.0,
        "ms",
    )
    .target("≤ 1 s (1,000 webhooks)", took <= 1.0)
    .broken_if(done.is_none())
}

/// Half the webhooks hang until their 1 s timeout: what does that cost the healthy half?
fn isolation(bin: &Path, rx: &Receiver, n: u64) -> Vec<Figure> {
    let healthy_hooks = 50;
    let events = n / healthy_hooks;
    let mut rates = Vec::new();
    for with_hanging in [false, true] {
        let db = Db::new(bin);
        let mut all = hooks(rx, healthy_hooks, "ok", &["--timeout", "1s"]);
        if with_hanging {
            all.extend(hooks(rx, healthy_hooks, "hang", &["--timeout", "1s"]));
        }
        db.setup(&all);
        let (out, _) = db.run_stdin(&["emit", "--queue"], ndjson(events));
        assert!(out.status.success());
        rx.reset();
        let start = Instant::now();
        let mut child = db
            .cmd()
            .args(["drain", "--max-time", "120s"])
            .stdout(Stdio::null())
            .spawn()
            .expect("drain");
        let target = events * healthy_hooks;
        if std::env::var("WEBNET_BENCH_TRACE").is_ok() {
            for _ in 0..200 {
                std::thread::sleep(Duration::from_millis(50));
                eprintln!(
                    "{:?} healthy={} all={}",
                    start.elapsed(),
                    rx.healthy(),
                    rx.count()
                );
                if rx.healthy() >= target {
                    break;
                }
            }
        }
        let done = rx.wait_healthy(target, Duration::from_secs(120));
        let took = done.map_or(start.elapsed(), |d| d.duration_since(start));
        let _ = child.kill();
        let _ = child.wait();
        rates.push(rx.healthy() as f64 / took.as_secs_f64());
    }
    let cost = 1.0 - rates[1] / rates[0];
    vec![fig(
        "6 isolation",
        format!("healthy half's drain throughput with {healthy_hooks} hanging webhooks"),
        rates[1],
        "deliveries/s",
    )
    .against("the same without them", rates[0])
    .target("costs ≤ 10 %", cost <= 0.1)]
}

fn list_startup(bin: &Path, rx: &Receiver, webhooks: u64, runs: usize) -> Figure {
    let db = Db::new(bin);
    db.setup(&hooks(rx, webhooks, "l", &[]));
    // `webnet --version` in the same run is the baseline: what starting the process costs on
    // this machine today (absolute milliseconds drift by 2× from day to day).
    let p50_of = |args: &[&str]| {
        let mut times = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let out = db
                .cmd()
                .args(args)
                .stdout(Stdio::null())
                .output()
                .expect("webnet");
            assert!(out.status.success());
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        percentile(&times, 0.5)
    };
    let version = p50_of(&["--version"]);
    let p50 = p50_of(&["webhooks", "list", "--output", "table"]);
    fig(
        "7 footprint",
        format!("`webhooks list` with {webhooks} webhooks, p50"),
        p50,
        "ms",
    )
    .against("`webnet --version` p50", version)
    .target("≤ 3 × `--version`", p50 <= 3.0 * version)
}
