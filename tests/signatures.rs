//! `X-Webhook-Signature` is accepted unchanged by the spec's Python and Node.js snippets and by
//! its Flask receiver, on real deliveries. Where Python, Node.js or Flask cannot exist, the test
//! says so on stderr and skips (`.ci/run` installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::receiver::Receiver;
use common::Env;

/// The spec's own example secret, which its snippets use literally.
const SPEC_SECRET: &str = "your-secret-key";

fn snippet(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snippets")
        .join(name)
}

fn have(program: &str, check: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(check)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: `{program} {}` is not available here; .ci/run installs it",
            check.join(" ")
        );
    }
    ok
}

/// Delivers one event to a webhook whose secret is `secret`; returns (body, signature).
fn captured(secret: &str) -> (Env, Vec<u8>, String) {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "snip", &rx.url("/"), &["--secret", secret]);
    env.run(&[
        "emit",
        "job.completed",
        "--customer",
        "1",
        "--data",
        r#"{"id": 123, "status": "success", "note": "ünïcødé ✓"}"#,
    ])
    .ok();
    let r = rx.wait_for(1, Duration::from_secs(5)).remove(0);
    let sig = r.header("x-webhook-signature").expect("signed").to_string();
    (env, r.body, sig)
}

fn verdict(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "snippet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_spec_python_snippet_accepts_our_signature() {
    if !have("python3", &["--version"]) {
        return;
    }
    for (secret, expected) in [(SPEC_SECRET, "valid"), ("another-secret", "invalid")] {
        let (env, body, sig) = captured(secret);
        let body_file = env.dir.path().join("body.json");
        std::fs::write(&body_file, &body).unwrap();
        let out = Command::new("python3")
            .arg(snippet("run_python.py"))
            .arg(snippet("spec_verify.py"))
            .arg(&body_file)
            .arg(&sig)
            .output()
            .unwrap();
        assert_eq!(verdict(out), expected, "secret {secret}");
    }
}

#[test]
fn the_spec_node_snippet_accepts_our_signature() {
    if !have("node", &["--version"]) {
        return;
    }
    let (env, body, sig) = captured(SPEC_SECRET);
    let body_file = env.dir.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    for (secret, expected) in [(SPEC_SECRET, "valid"), ("wrong", "invalid")] {
        let out = Command::new("node")
            .arg(snippet("run_node.js"))
            .arg(snippet("spec_verify.js"))
            .arg(&body_file)
            .arg(&sig)
            .arg(secret)
            .output()
            .unwrap();
        assert_eq!(verdict(out), expected);
    }
}

#[test]
fn the_spec_flask_receiver_accepts_our_deliveries() {
    if !have("python3", &["-c", "import flask"]) {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .arg(snippet("run_flask.py"))
        .arg(snippet("spec_flask_receiver.py"))
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = common::wait_for_port(port);
    let result = std::panic::catch_unwind(|| {
        assert!(up, "the Flask receiver did not start");
        let env = Env::local();
        let c = env.customer("acme");
        let url = format!("http://127.0.0.1:{port}/webhook");
        env.local_webhook(
            c,
            "right",
            &url,
            &[
                "--secret",
                SPEC_SECRET,
                "--event",
                "compliance.violation_detected",
            ],
        );
        env.local_webhook(
            c,
            "wrong",
            &url,
            &[
                "--secret",
                "not-the-secret",
                "--event",
                "compliance.violation_detected",
            ],
        );
        let out = env
            .run(&[
                "emit",
                "compliance.violation_detected",
                "--customer",
                "1",
                "--data",
                r#"{"device": "core-sw-1", "rule": "ntp-server"}"#,
            ])
            .ok()
            .json();
        let ids: Vec<i64> = out["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        let right = env.delivery(ids[0]);
        assert_eq!(right["status"], "success", "{right}");
        assert_eq!(right["http_status"], 200);
        assert!(right["response_body"]
            .as_str()
            .unwrap()
            .contains("received"));
        let wrong = env.delivery(ids[1]);
        assert_eq!(wrong["http_status"], 401, "{wrong}");
        assert!(wrong["response_body"]
            .as_str()
            .unwrap()
            .contains("Invalid signature"));
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn the_snippet_copies_match_the_spec() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/webhook-integration.md");
    let Ok(text) = std::fs::read_to_string(&spec) else {
        eprintln!("SKIPPED: {} is not beside the repository", spec.display());
        return;
    };
    let blocks: Vec<(&str, String)> = text
        .split("```")
        .collect::<Vec<_>>()
        .chunks(2)
        .filter_map(|pair| pair.get(1))
        .filter_map(|b| {
            b.split_once('\n')
                .map(|(lang, code)| (lang.trim(), code.to_string()))
        })
        .collect();
    let python: Vec<&String> = blocks
        .iter()
        .filter(|(l, _)| *l == "python")
        .map(|(_, c)| c)
        .collect();
    let js: Vec<&String> = blocks
        .iter()
        .filter(|(l, _)| *l == "javascript")
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        &std::fs::read_to_string(snippet("spec_verify.py")).unwrap(),
        python[0]
    );
    assert_eq!(
        &std::fs::read_to_string(snippet("spec_flask_receiver.py")).unwrap(),
        python[1]
    );
    assert_eq!(
        &std::fs::read_to_string(snippet("spec_verify.js")).unwrap(),
        js[0]
    );
}

#[test]
fn the_standardwebhooks_library_accepts_our_signature() {
    if !have("python3", &["-c", "import standardwebhooks"]) {
        return;
    }
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "std", &rx.url("/"), &["--secret", SPEC_SECRET]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let r = rx.wait_for(1, Duration::from_secs(5)).remove(0);
    assert_eq!(
        r.header("webhook-id"),
        Some(r.delivery().to_string().as_str())
    );
    let headers = serde_json::json!({
        "webhook-id": r.header("webhook-id"),
        "webhook-timestamp": r.header("webhook-timestamp"),
        "webhook-signature": r.header("webhook-signature"),
    });
    let body_file = env.dir.path().join("body.json");
    std::fs::write(&body_file, &r.body).unwrap();
    for (secret, expected) in [(SPEC_SECRET, "valid"), ("another-secret", "invalid")] {
        let out = Command::new("python3")
            .arg(snippet("run_standardwebhooks.py"))
            .arg(&body_file)
            .arg(headers.to_string())
            .arg(secret)
            .output()
            .unwrap();
        assert_eq!(verdict(out), expected, "secret {secret}");
    }
    // Unsigned webhooks carry none of the signature headers.
    env.local_webhook(c, "plain", &rx.url("/plain"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let plain = rx
        .wait_for(3, Duration::from_secs(5))
        .into_iter()
        .find(|r| r.path == "/plain")
        .unwrap();
    assert_eq!(plain.header("webhook-signature"), None);
    assert_eq!(plain.header("x-webhook-signature"), None);
}

#[test]
fn the_readme_go_example_accepts_our_signature() {
    if !have("go", &["version"]) {
        return;
    }
    let (env, body, sig) = captured(SPEC_SECRET);
    let body_file = env.dir.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    for (secret, expected) in [(SPEC_SECRET, "valid"), ("wrong", "invalid")] {
        let out = Command::new("go")
            .arg("run")
            .arg(snippet("verify.go"))
            .arg(&body_file)
            .arg(&sig)
            .arg(secret)
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "off")
            .output()
            .unwrap();
        assert_eq!(verdict(out), expected);
    }
}
