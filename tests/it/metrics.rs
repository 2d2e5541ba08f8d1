//! Prometheus metrics: `webnet metrics` and `drain --metrics-file` count what the database
//! holds (deliveries by status and webhook, attempts, what is due, failing webhooks, attempt
//! durations), escape webhook names, respect a pinned customer, and are accepted by
//! `promtool check metrics` (Debian's `prometheus` package; skipped visibly without it).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::receiver::{Receiver, Reply};
use common::Env;

/// The value of the one sample written exactly `series` (name and labels), if there is one.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
}

/// `promtool check metrics` on `text`: panics with its complaint if it refuses; says SKIPPED
/// when promtool is not installed.
fn promtool_accepts(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        crate::skipped!(
            "SKIPPED: `promtool` is not available here (Debian's prometheus package); .ci/run installs it"
        );
        return;
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(text.as_bytes()).expect("write to promtool");
    }
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics refused it: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const ODD: &str = r#"bad "quoted" \ hook"#;
const ODD_LABEL: &str = r#"bad \"quoted\" \\ hook"#;

#[test]
fn metrics_count_deliveries_attempts_backlog_and_failing_webhooks() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.path == "/bad" {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    });
    let acme = env.customer("acme");
    let globex = env.customer("globex");
    let good = env.local_webhook(acme, "good", &rx.url("/good"), &[]);
    let bad = env.local_webhook(acme, ODD, &rx.url("/bad"), &["--max-retries", "1"]);
    let other = env.local_webhook(globex, "other", &rx.url("/other"), &[]);
    for _ in 0..2 {
        env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    }
    env.run(&["emit", "job.completed", "--customer", "2"]).ok();
    let good_l = format!(r#"customer="1",webhook="{good}",webhook_name="good""#);
    let bad_l = format!(r#"customer="1",webhook="{bad}",webhook_name="{ODD_LABEL}""#);
    let other_l = format!(r#"customer="2",webhook="{other}",webhook_name="other""#);

    // Two hours on, the failed first attempts (retried a minute after) are due.
    let later = env
        .run_after(Duration::from_secs(7200), &["metrics"])
        .ok()
        .stdout;
    assert_eq!(value(&later, "webnet_deliveries_due"), 2.0, "{later}");
    let age = value(&later, "webnet_oldest_due_age_seconds");
    assert!((7000.0..=7200.0).contains(&age), "due since ~7140 s: {age}");
    let now = env.run(&["metrics"]).ok().stdout;
    assert_eq!(value(&now, "webnet_deliveries_due"), 0.0, "{now}");
    assert_eq!(value(&now, "webnet_oldest_due_age_seconds"), 0.0);
    let status =
        |t: &str, l: &str, s: &str| value(t, &format!(r#"webnet_deliveries{{{l},status="{s}"}}"#));
    assert_eq!(status(&now, &bad_l, "retrying"), 2.0, "{now}");

    // The retries fail too: the bad webhook's deliveries end failed.
    env.run_after(Duration::from_secs(7200), &["drain"]).ok();
    let text = env.run(&["metrics"]).ok().stdout;
    assert_eq!(status(&text, &good_l, "success"), 2.0, "{text}");
    assert_eq!(status(&text, &good_l, "failed"), 0.0);
    assert_eq!(status(&text, &bad_l, "failed"), 2.0);
    assert_eq!(status(&text, &bad_l, "retrying"), 0.0);
    assert_eq!(status(&text, &other_l, "success"), 1.0);
    let result =
        |l: &str, r: &str| value(&text, &format!(r#"webnet_attempts{{{l},result="{r}"}}"#));
    assert_eq!(result(&good_l, "success"), 2.0);
    assert_eq!(result(&bad_l, "failure"), 4.0);
    assert_eq!(result(&bad_l, "success"), 0.0);
    assert_eq!(result(&other_l, "success"), 1.0);
    assert_eq!(
        value(&text, "webnet_attempt_duration_seconds_count"),
        7.0,
        "the histogram counts every attempt"
    );
    assert_eq!(
        value(
            &text,
            r#"webnet_attempt_duration_seconds_bucket{le="+Inf"}"#
        ),
        7.0
    );
    assert_eq!(
        value(&text, r#"webnet_webhooks_failing{customer="1"}"#),
        1.0
    );
    assert_eq!(
        value(&text, r#"webnet_webhooks_failing{customer="2"}"#),
        0.0
    );
    assert!(sample(&text, &format!("webnet_webhook_failing_seconds{{{bad_l}}}")).is_some());
    assert!(sample(
        &text,
        &format!("webnet_webhook_failing_seconds{{{good_l}}}")
    )
    .is_none());
    assert_eq!(
        value(&text, r#"webnet_webhooks{customer="1",state="enabled"}"#),
        2.0
    );
    promtool_accepts(&text);

    // A deleted webhook's history keeps its series, under the name it had.
    env.run(&["webhooks", "delete", &good.to_string(), "--yes"])
        .ok();
    let text = env.run(&["metrics"]).ok().stdout;
    assert_eq!(status(&text, &good_l, "success"), 2.0, "{text}");
    assert_eq!(
        value(&text, r#"webnet_webhooks{customer="1",state="enabled"}"#),
        1.0
    );

    // A pinned customer sees only its own.
    let pinned = env
        .run_env(&[("WEBNET_CUSTOMER", "2")], &["metrics"])
        .ok()
        .stdout;
    assert!(!pinned.contains(r#"customer="1""#), "{pinned}");
    assert_eq!(status(&pinned, &other_l, "success"), 1.0, "{pinned}");
    assert_eq!(value(&pinned, "webnet_attempt_duration_seconds_count"), 1.0);
    promtool_accepts(&pinned);
}

#[test]
fn drain_writes_the_metrics_file_atomically_and_refuses_a_missing_directory() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ops", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();

    // A directory that does not exist is refused before anything is sent.
    let missing = env.dir.path().join("missing").join("webnet.prom");
    let missing = missing.to_str().expect("utf-8 path");
    env.run(&["drain", "--metrics-file", missing])
        .fails(2, "--metrics-file");
    assert_eq!(rx.count(), 0, "the drain did not start");
    env.run(&[
        "drain",
        "--metrics-file",
        env.dir.path().to_str().expect("utf-8"),
    ])
    .fails(2, "is a directory");
    env.run(&["drain", "--metrics-file", ""])
        .fails(2, "--metrics-file");
    assert_eq!(rx.count(), 0);

    let dir = env.dir.path().join("textfile");
    std::fs::create_dir(&dir).expect("mkdir");
    let file = dir.join("webnet.prom");
    let path = file.to_str().expect("utf-8 path");
    env.run(&["drain", "--metrics-file", path]).ok();
    assert_eq!(rx.count(), 1);
    let text = std::fs::read_to_string(&file).expect("the file is written");
    let series =
        r#"webnet_deliveries{customer="1",webhook="1",webhook_name="ops",status="success"}"#;
    assert_eq!(value(&text, series), 1.0, "written after the run: {text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "readable by node_exporter's user");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["webnet.prom"], "no temporary file left behind");
    promtool_accepts(&text);

    // The next run replaces it.
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    env.run(&["drain", "--metrics-file", path]).ok();
    let text = std::fs::read_to_string(&file).expect("the file is written");
    assert_eq!(value(&text, series), 2.0, "{text}");
}

#[test]
fn drain_watch_writes_the_metrics_file_while_it_runs() {
    let env = Env::local();
    env.customer("acme");
    let file = env.dir.path().join("webnet.prom");
    let path = file.to_str().expect("utf-8 path");
    let mut drain = env
        .cmd()
        .args(["drain", "--watch", "--quiet", "--metrics-file", path])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drain --watch");
    let end = Instant::now() + Duration::from_secs(20);
    while !file.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let running = drain.try_wait().expect("try_wait").is_none();
    let _ = drain.kill();
    let out = drain.wait_with_output().expect("wait");
    assert!(
        running,
        "drain --watch exited: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("written while the drain runs");
    assert_eq!(value(&text, "webnet_deliveries_due"), 0.0, "{text}");
}

#[test]
fn schedule_install_passes_the_metrics_file_on_as_an_absolute_path() {
    let env = Env::new();
    env.customer("acme");
    std::fs::create_dir(env.dir.path().join("textfile")).expect("mkdir");
    let out = env
        .cmd()
        .current_dir(env.dir.path())
        .args(["schedule", "install", "--cron", "--print"])
        .args(["--metrics-file", "textfile/webnet.prom"])
        .output()
        .expect("run webnet");
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let abs = env.dir.path().join("textfile").join("webnet.prom");
    assert!(
        line.contains(&format!(
            "drain --max-time 50s --metrics-file {}",
            abs.display()
        )),
        "{line}"
    );
    env.run(&[
        "schedule",
        "install",
        "--cron",
        "--print",
        "--metrics-file",
        "/nonexistent/dir/w.prom",
    ])
    .fails(2, "--metrics-file");
}
