//! `webnet listen`: a local receiver that checks signatures and prints each event.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::Env;

#[test]
fn listen_prints_events_and_checks_signatures() {
    let env = Env::local();
    let mut listen = env
        .cmd()
        .args([
            "listen",
            "--port",
            "0",
            "--secret",
            "dev-secret",
            "--count",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(listen.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the URL on stderr")
        .to_string();
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "right",
        &url,
        &["--secret", "dev-secret", "--event", "device.created"],
    );
    env.local_webhook(
        c,
        "wrong",
        &url,
        &["--secret", "not-it", "--event", "device.created"],
    );
    let out = env
        .run(&[
            "emit",
            "device.created",
            "--customer",
            "1",
            "--data",
            "{\"hostname\": \"edge-1\"}",
        ])
        .ok()
        .json();
    // Bounded: should the events never arrive, stop the listener after 20 s.
    let pid = listen.id();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    });
    let output = listen.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let mut verdicts: Vec<&str> = lines
        .iter()
        .map(|l| l["signature"].as_str().unwrap())
        .collect();
    verdicts.sort();
    assert_eq!(verdicts, ["invalid", "valid"]);
    assert!(lines
        .iter()
        .all(|l| l["event_type"] == "device.created"
            && l["payload"]["device"]["hostname"] == "edge-1"));
    let ids: Vec<i64> = out["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(env.delivery(ids[0])["status"], "success");
    assert_eq!(
        env.delivery(ids[1])["http_status"],
        401,
        "a wrong signature is refused"
    );
}
