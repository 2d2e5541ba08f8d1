//! `webnet listen`: a local receiver that checks signatures and prints each event.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

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
            "3",
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
    env.local_webhook(c, "unsigned", &url, &["--event", "device.created"]);
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
    let output = finish(listen);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let mut verdicts: Vec<&str> = lines
        .iter()
        .map(|l| l["signature"].as_str().unwrap())
        .collect();
    verdicts.sort();
    assert_eq!(verdicts, ["invalid", "missing", "valid"]);
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

/// Starts `webnet listen` on a free port with `args` (and `secret` on stdin when given);
/// returns it and its URL.
fn start_listen(
    env: &Env,
    args: &[&str],
    vars: &[(&str, &str)],
    stdin: Option<&str>,
) -> (Child, String) {
    use std::io::Write;
    let mut cmd = env.cmd();
    cmd.args(["listen", "--port", "0"])
        .args(args)
        .envs(vars.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut listen = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        let mut input = listen.stdin.take().unwrap();
        input.write_all(text.as_bytes()).unwrap();
        // Left open: the listener reads one line and must not depend on end of input.
        std::mem::forget(input);
    }
    let mut first = String::new();
    BufReader::new(listen.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("the URL on stderr: {first}"))
        .to_string();
    (listen, url)
}

/// Waits for the listener to end by itself, for at most 20 s (should the events never
/// arrive), then kills it through its handle: never by PID, which another test's process
/// may have taken over once this one was reaped. (Its output is a few lines: the pipe holds
/// them until read.)
fn finish(mut listen: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while listen.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if listen.try_wait().unwrap().is_none() {
        let _ = listen.kill();
    }
    listen.wait_with_output().unwrap()
}

/// Emits one device.created to a webhook signed with `secret`; the listener's verdict.
fn verdict_for(env: &Env, listen: Child, url: &str, secret: &str) -> String {
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "w",
        url,
        &["--secret", secret, "--event", "device.created"],
    );
    let out = env
        .run(&["emit", "device.created", "--customer", "1", "--data", "{}"])
        .ok()
        .json();
    let output = finish(listen);
    assert!(output.status.success());
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
    let id = out["deliveries"][0]["id"].as_i64().unwrap();
    let status = &env.delivery(id)["status"];
    let verdict = line["signature"].as_str().unwrap().to_string();
    assert_eq!(
        *status == "success",
        verdict == "valid",
        "{status} {verdict}"
    );
    verdict
}

#[test]
fn listen_takes_the_secret_from_stdin() {
    let env = Env::local();
    let (listen, url) = start_listen(
        &env,
        &["--secret-stdin", "--count", "1"],
        &[],
        Some("stdin-secret\n"),
    );
    assert_eq!(verdict_for(&env, listen, &url, "stdin-secret"), "valid");

    let env = Env::local();
    let (listen, url) = start_listen(
        &env,
        &["--secret-stdin", "--count", "1"],
        &[],
        Some("stdin-secret\n"),
    );
    assert_eq!(verdict_for(&env, listen, &url, "another"), "invalid");
}

#[test]
fn listen_takes_the_secret_from_the_environment() {
    let env = Env::local();
    let (listen, url) = start_listen(
        &env,
        &["--count", "1"],
        &[("WEBNET_LISTEN_SECRET", "env-secret")],
        None,
    );
    assert_eq!(verdict_for(&env, listen, &url, "env-secret"), "valid");
    // Neither the secret nor its value appear in the help.
    let help = env.run(&["listen", "--help"]).ok().stdout;
    assert!(help.contains("--secret-stdin"), "{help}");
    assert!(help.contains("WEBNET_LISTEN_SECRET"), "{help}");
    assert!(!help.contains("env-secret"), "{help}");
}

/// During a rotation the new secret signs `X-Webhook-Signature-Next`: `listen` given the new
/// secret takes the delivery as valid (either header), and one given neither secret does not.
#[test]
fn listen_checks_the_next_signature_during_a_rotation() {
    for (given, want) in [
        ("brand-new-secret-xyz", "valid"),
        ("old-secret-abcdefgh", "valid"),
        ("neither-of-them", "invalid"),
    ] {
        let env = Env::local();
        let (listen, url) = start_listen(
            &env,
            &["--count", "1"],
            &[("WEBNET_LISTEN_SECRET", given)],
            None,
        );
        let c = env.customer("acme");
        env.local_webhook(
            c,
            "w",
            &url,
            &[
                "--secret",
                "old-secret-abcdefgh",
                "--event",
                "device.created",
            ],
        );
        env.run_stdin(
            &[
                "webhooks",
                "rotate-secret",
                "1",
                "--grace",
                "24h",
                "--secret-stdin",
            ],
            "brand-new-secret-xyz\n",
        )
        .ok();
        env.run(&["emit", "device.created", "--customer", "1", "--data", "{}"])
            .ok();
        let output = finish(listen);
        let line: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).unwrap();
        assert_eq!(line["signature"], want, "{given}: {line}");
    }
}

#[test]
fn listen_secret_options_are_checked() {
    let env = Env::new();
    env.run(&["listen", "--port", "0", "--secret", "a", "--secret-stdin"])
        .fails(2, "--secret");
    // stdin is empty here.
    env.run(&["listen", "--port", "0", "--secret-stdin"])
        .fails(2, "--secret-stdin");
    // It would stop before the first event: refused, not "listening on …" and exit 0.
    env.run(&["listen", "--port", "0", "--count", "0"])
        .fails(2, "--count: \"0\" is too small: must be at least 1");
}

#[test]
fn listen_escapes_what_it_prints_in_a_table() {
    use std::io::{Read, Write};
    let env = Env::new();
    let (listen, url) = start_listen(&env, &["--count", "1", "--output", "table"], &[], None);
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Control characters in the request line or a header are not HTTP: hyper refuses them
    // (400) before anything is printed.
    let mut bad = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    bad.write_all(b"POST /hook\x1b[31m HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut refused = String::new();
    let _ = bad.read_to_string(&mut refused);
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused:?}");
    // What HTTP allows still carries them: the body, and header bytes past ASCII (U+009B is
    // a terminal's one-byte CSI).
    let body = "\u{1b}[2J\u{1b}]0;owned\u{7}\r\u{9b}31mnot json";
    let request = format!(
        "POST /hook HTTP/1.1\r\nHost: x\r\nX-Webhook-Event: job\u{9b}2J.completed\r\nX-Webhook-Delivery: 7\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = [0u8; 12];
    let _ = s.read(&mut answer);
    let output = finish(listen);
    assert!(output.status.success());
    let printed = String::from_utf8_lossy(&output.stdout);
    for raw in ['\u{1b}', '\u{7}', '\r', '\u{9b}'] {
        assert!(!printed.contains(raw), "{raw:?} printed raw: {printed:?}");
    }
    assert!(
        printed.contains("job\\u{9b}2J.completed") || printed.contains("job\\x9b2J.completed"),
        "{printed}"
    );
    assert!(
        !printed.contains("/hook\\x1b"),
        "the refused request printed: {printed}"
    );
}

/// `serve --listen` takes an IP address and a port, and says which part is wrong; a port
/// already taken is refused alike by `serve` and `listen` (exit 2, naming the option).
#[test]
fn listening_addresses_are_judged_and_a_taken_port_is_named() {
    let env = Env::local();
    env.customer("acme");
    for (given, says) in [
        ("localhost", "error: --listen: \"localhost\" is not an IP address and port (names are not looked up); use an IP address and a port, such as 127.0.0.1:8080"),
        ("127.0.0.1", "error: --listen: \"127.0.0.1\" has no port; use"),
        ("[::1]", "error: --listen: \"[::1]\" has no port; use"),
        ("127.0.0.1:", "error: --listen: \"127.0.0.1:\" has no port; use"),
        ("127.0.0.1:http", "error: --listen: \"127.0.0.1:http\" has a port that is not a number; use"),
        ("127.0.0.1:99999", "error: --listen: \"127.0.0.1:99999\" has a port out of range (0 to 65535); use"),
    ] {
        let out = env.run(&["serve", "--listen", given]);
        assert_eq!(out.code, 2, "{given}: {}", out.stderr);
        assert!(out.stderr.starts_with(says), "{given}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let at = format!("127.0.0.1:{port}");
    for (args, option) in [
        (vec!["serve", "--no-worker", "--listen", &at], "--listen"),
        (vec!["listen", "--port", &port], "--port"),
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("error: {option}: cannot listen on {at}: ")),
            "{args:?}: {}",
            out.stderr
        );
    }
}
