//! `customers` and `webhooks` commands, success paths, in JSON and table output.

use crate::common;

use common::Env;
use serde_json::json;

#[test]
fn customers_create_and_list() {
    let env = Env::new();
    let out = env.run(&["customers", "create", "acme"]).ok();
    let c = out.json();
    assert_eq!(c["id"], 1);
    assert_eq!(c["name"], "acme");
    env.customer("globex");
    let list = env.run(&["customers", "list"]).ok().json();
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, [json!("acme"), json!("globex")]);

    let table = env
        .run(&["--output", "table", "customers", "list"])
        .ok()
        .stdout;
    assert!(
        table.contains("acme") && table.contains("globex") && table.contains("NAME"),
        "{table}"
    );
    // In table output, create prints just the id on stdout (for `id=$(...)` on a terminal).
    let out = env
        .run(&["--output", "table", "customers", "create", "initech"])
        .ok();
    assert_eq!(out.stdout.trim(), "3");
}

#[test]
fn create_with_defaults_then_show_and_list() {
    let env = Env::new();
    let c = env.customer("acme");
    let out = env
        .create_webhook("https://hooks.slack.com/services/T/B/X")
        .name("Slack Notifications")
        .events(&["job.completed", "job.failed,compliance.violation_detected"])
        .run()
        .ok();
    let w = out.json();
    assert_eq!(w["id"], 1);
    assert_eq!(w["customer"], c);
    assert_eq!(w["name"], "Slack Notifications");
    // Slack's token (the last part) is never shown.
    assert_eq!(w["url"], "https://hooks.slack.com/services/T/B/[redacted]");
    assert_eq!(
        w["event_types"],
        json!([
            "job.completed",
            "job.failed",
            "compliance.violation_detected"
        ])
    );
    assert_eq!(w["has_secret"], false);
    assert_eq!(w["enabled"], true);
    assert_eq!(w["verify_ssl"], true);
    assert_eq!(w["timeout_seconds"], 10);
    assert_eq!(w["max_retries"], 3);
    assert_eq!(w["retry_backoff"], 60);
    assert_eq!(w["headers"], json!({}));
    assert!(w["created_at"].as_str().unwrap().ends_with('Z'));

    let shown = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(shown, w);
    let list = env.run(&["webhooks", "list"]).ok().json();
    assert_eq!(list, json!([w]));

    let table = env
        .run(&["--output", "table", "webhooks", "show", "1"])
        .ok()
        .stdout;
    for field in [
        "timeout_seconds",
        "retry_backoff",
        "Slack Notifications",
        "job.failed",
    ] {
        assert!(table.contains(field), "{field} missing from\n{table}");
    }
    let table = env
        .run(&["--output", "table", "webhooks", "list"])
        .ok()
        .stdout;
    assert!(
        table.contains("Slack Notifications") && table.contains("URL"),
        "{table}"
    );
}

#[test]
fn create_with_every_option() {
    let env = Env::new();
    env.customer("acme");
    let w = env
        .create_webhook("http://93.184.216.34:8080/hook")
        .name("ops")
        .events(&["device.deleted"])
        .args(&[
            "--secret",
            "s3cr3t",
            "--disabled",
            "--no-verify-ssl",
            "--timeout",
            "30s",
            "--max-retries",
            "5",
            "--retry-backoff",
            "2m",
            "--header",
            "X-Team: netops",
            "--header",
            "X-Env:prod",
        ])
        .run()
        .ok()
        .json();
    assert_eq!(w["has_secret"], true);
    assert_eq!(w["enabled"], false);
    assert_eq!(w["verify_ssl"], false);
    assert_eq!(w["timeout_seconds"], 30);
    assert_eq!(w["max_retries"], 5);
    assert_eq!(w["retry_backoff"], 120);
    assert_eq!(w["headers"], json!({"X-Env": "prod", "X-Team": "netops"}));
}

#[test]
fn create_in_table_output_prints_the_id() {
    let env = Env::new();
    env.customer("acme");
    let out = env
        .run(&[
            "--output",
            "table",
            "webhooks",
            "create",
            "--customer",
            "1",
            "--name",
            "a",
            "--url",
            "https://a.example.com/",
            "--event",
            "job.failed",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "1");
    assert!(out.stderr.contains("created webhook 1"), "{}", out.stderr);
    // The hint names this webhook, ready to run.
    assert!(
        out.stderr
            .contains("add a secret with `webnet webhooks update 1 --secret-stdin`"),
        "{}",
        out.stderr
    );
}

#[test]
fn list_filters_by_state_and_event() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "a", "https://a.example.com/", &["--event", "job.failed"]);
    env.webhook(
        c,
        "b",
        "https://b.example.com/",
        &["--event", "device.created", "--disabled"],
    );
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["webhooks", "list"];
        full.extend(args);
        common::column(&env.run(&full).ok().json(), "name")
    };
    assert_eq!(names(&[]), ["a", "b"]);
    assert_eq!(names(&["--enabled"]), ["a"]);
    assert_eq!(names(&["--disabled"]), ["b"]);
    assert_eq!(names(&["--event", "device.created"]), ["b"]);
    assert!(names(&["--event", "config.changed"]).is_empty());
    let empty = env
        .run(&[
            "--output",
            "table",
            "webhooks",
            "list",
            "--event",
            "config.changed",
        ])
        .ok();
    assert!(empty.stdout.is_empty());
    assert!(empty.stderr.contains("no webhooks"));
}

#[test]
fn update_changes_only_what_is_given() {
    let env = Env::new();
    let c = env.customer("acme");
    let id = env.webhook(
        c,
        "a",
        "https://a.example.com/",
        &["--header", "X-A: 1", "--secret", "x1"],
    );
    let before = env.run(&["webhooks", "show", "1"]).ok().json();
    let after = env
        .run(&[
            "webhooks",
            "update",
            &id.to_string(),
            "--timeout",
            "1m",
            "--header",
            "X-B: 2",
        ])
        .ok()
        .json();
    assert_eq!(after["timeout_seconds"], 60);
    assert_eq!(after["headers"], json!({"X-A": "1", "X-B": "2"}));
    for same in [
        "name",
        "url",
        "event_types",
        "has_secret",
        "enabled",
        "max_retries",
        "retry_backoff",
        "created_at",
    ] {
        assert_eq!(after[same], before[same], "{same} changed");
    }
    let after = env
        .run(&[
            "webhooks",
            "update",
            "1",
            "--name",
            "renamed",
            "--url",
            "https://b.example.com/x",
            "--event",
            "config.changed",
            "--max-retries",
            "0",
            "--retry-backoff",
            "5s",
            "--no-verify-ssl",
            "--clear-secret",
            "--clear-headers",
            "--disabled",
        ])
        .ok()
        .json();
    assert_eq!(after["name"], "renamed");
    assert_eq!(after["url"], "https://b.example.com/x");
    assert_eq!(after["event_types"], json!(["config.changed"]));
    assert_eq!(after["max_retries"], 0);
    assert_eq!(after["retry_backoff"], 5);
    assert_eq!(after["verify_ssl"], false);
    assert_eq!(after["has_secret"], false);
    assert_eq!(after["headers"], json!({}));
    assert_eq!(after["enabled"], false);
    let back = env
        .run(&["webhooks", "update", "1", "--verify-ssl", "--enabled"])
        .ok()
        .json();
    assert_eq!(back["verify_ssl"], true);
    assert_eq!(back["enabled"], true);
}

#[test]
fn enable_disable_and_delete() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "a", "https://a.example.com/", &[]);
    assert_eq!(
        env.run(&["webhooks", "disable", "1"]).ok().json()["enabled"],
        false
    );
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["enabled"],
        false
    );
    let table = env
        .run(&["--output", "table", "webhooks", "enable", "1"])
        .ok();
    assert!(table.stderr.contains("enabled"), "{}", table.stderr);
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["enabled"],
        true
    );

    // Without a terminal there is nobody to ask: delete goes ahead, as in scripts.
    let out = env.run(&["webhooks", "delete", "1"]).ok().json();
    assert_eq!(out, json!({"id": 1, "deleted": true}));
    env.run(&["webhooks", "show", "1"])
        .fails(1, "webhook 1 not found");
    env.webhook(c, "b", "https://b.example.com/", &[]);
    env.run(&["webhooks", "delete", "2", "--yes"]).ok();
    assert_eq!(env.run(&["webhooks", "list"]).ok().json(), json!([]));
    env.run(&["webhooks", "delete", "2", "--yes"])
        .fails(1, "not found");
}

#[test]
fn private_targets_are_allowed_only_when_asked() {
    let env = Env::new();
    let c = env.customer("acme").to_string();
    let args = [
        "webhooks",
        "create",
        "--customer",
        &c,
        "--name",
        "local",
        "--url",
        "http://127.0.0.1:9/x",
        "--event",
        "job.failed",
    ];
    env.run(&args).fails(2, "--url");
    let mut flagged = vec!["--allow-private-targets"];
    flagged.extend(args);
    env.run(&flagged).ok();
    env.run_env(
        &[("WEBNET_ALLOW_PRIVATE_TARGETS", "1")],
        &["webhooks", "update", "1", "--url", "http://10.0.0.1/"],
    )
    .ok();
    env.run_env(
        &[("WEBNET_ALLOW_PRIVATE_TARGETS", "0")],
        &["webhooks", "update", "1", "--url", "http://10.0.0.2/"],
    )
    .fails(2, "--url");
}

#[test]
fn secret_from_stdin() {
    let env = Env::new();
    env.customer("acme");
    let w = env
        .create_webhook("https://a.example.com/")
        .name("a")
        .events(&["job.failed"])
        .args(&["--secret-stdin"])
        .stdin("from-stdin-secret\n")
        .run()
        .ok()
        .json();
    assert_eq!(w["has_secret"], true);
    env.run_stdin(&["webhooks", "update", "1", "--secret-stdin"], "")
        .fails(2, "--secret-stdin");
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]).ok();
        assert!(out.stdout.contains("webhooks"), "{shell}");
    }
    env.run(&["completions", "tcsh"]).fails(2, "tcsh");
}

/// `webnet completions bash | head -2`: a reader that stops early ends the output quietly.
#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    let env = Env::new();
    let (reader, writer) = std::io::pipe().unwrap();
    // Closed before webnet writes a byte: every write meets a broken pipe.
    drop(reader);
    let out = env
        .cmd()
        .args(["completions", "bash"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two deliberate choices, said in the commands' help: `webhooks delete` asks only a terminal
/// (a script deletes at once), `key reset` needs --yes off a terminal; `retry --failed` exits
/// 0 with counts, like `drain`, while `retry ID` exits 1 unless it succeeded.
#[test]
fn help_says_who_is_asked_and_how_retry_exits() {
    let env = Env::new();
    let help = |args: &[&str]| {
        let out = env.run(args).ok().stdout;
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let delete = help(&["webhooks", "delete", "--help"]);
    assert!(
        delete.contains("Asks first on a terminal; from a script (no terminal) it deletes at once, without --yes"),
        "{delete}"
    );
    let reset = help(&["key", "reset", "--help"]);
    assert!(
        reset.contains("Asks on a terminal; elsewhere it needs --yes (it cannot be undone and affects every customer)"),
        "{reset}"
    );
    let retry = help(&["deliveries", "retry", "--help"]);
    assert!(
        retry.contains("on one failed or retrying delivery (exit 1 unless it succeeded), or with --failed on many (exit 0, with counts, like `drain`)"),
        "{retry}"
    );
}

/// Output that cannot be written (a full disk) makes the command exit 1 saying so, though what
/// it did is done; a reader that stops early (`| head`) is not a failure.
#[test]
fn output_lost_to_a_full_disk_is_an_error_and_a_closed_pipe_is_not() {
    let env = Env::new();
    env.customer("acme");
    for args in [
        &["customers", "list"][..],
        &["--output", "table", "customers", "list"],
        &["metrics"],
    ] {
        let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
            crate::skipped!("SKIPPED: no /dev/full here");
            return;
        };
        let out = env.cmd().args(args).stdout(full).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: writing the output failed (")
                && stderr.contains("the command itself was done"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env.cmd().args(args).stdout(writer).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A creating command's work is done even so.
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = env
        .cmd()
        .args(["customers", "create", "globex"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let names: Vec<String> = env
        .run(&["customers", "list"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["acme", "globex"]);
}
