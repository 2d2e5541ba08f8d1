//! `X-Webhook-Signature` is accepted unchanged by the spec's Python and Node.js snippets and by
//! its Flask receiver, on real deliveries; `webhook-signature` by the `standardwebhooks`
//! libraries (PyPI and npm) as the README's receiver examples use them: given a `whsec_` secret
//! as it is, or a plain secret's UTF-8 bytes. Where Python, Node.js, Flask or a library cannot
//! exist, the test says so on stderr and skips (`.ci/run` installs them).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::receiver::{Received, Receiver};
use common::{hmac_hex, Env};

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
        crate::skipped!(
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

/// The README's guards around the spec's snippets: a receiver that copies them answers "not
/// valid" for a missing, empty, short, non-ASCII or wrong signature instead of raising (the
/// spec's code alone raises for some, so the receiver would answer 500).
#[test]
fn the_readme_guards_answer_invalid_for_any_malformed_signature_and_never_raise() {
    let (env, body, sig) = captured(SPEC_SECRET);
    let body_file = env.dir.path().join("body.json");
    std::fs::write(&body_file, &body).unwrap();
    let want = "valid\ninvalid\ninvalid\ninvalid\ninvalid\ninvalid";
    for (program, runner, spec, guard) in [
        (
            "python3",
            "run_guarded.py",
            "spec_verify.py",
            "guarded_verify.py",
        ),
        (
            "node",
            "run_guarded.js",
            "spec_verify.js",
            "guarded_verify.js",
        ),
    ] {
        if !have(program, &["--version"]) {
            continue;
        }
        let out = Command::new(program)
            .arg(snippet(runner))
            .arg(snippet(spec))
            .arg(snippet(guard))
            .arg(&body_file)
            .arg(&sig)
            .arg(SPEC_SECRET)
            .output()
            .unwrap();
        assert_eq!(verdict(out), want, "{program}");
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
        crate::skipped!("SKIPPED: {} is not beside the repository", spec.display());
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

/// A `standardwebhooks` library: the PyPI package or the npm one.
#[derive(Clone, Copy, Debug)]
enum Lib {
    Python,
    Node,
}

/// How the README's example hands the secret to the library.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// `verify_generated`: a `whsec_` secret as it is.
    Generated,
    /// `verify_plain`: the secret's UTF-8 bytes (Node: a Buffer with `{format: "raw"}`).
    Plain,
}

/// Where `.ci/run` installs the npm package.
fn npm_modules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/npm/node_modules")
}

/// The libraries this machine has, each missing one named on stderr as skipped.
fn libraries() -> Vec<Lib> {
    let mut libs = Vec::new();
    if have("python3", &["-c", "import standardwebhooks"]) {
        libs.push(Lib::Python);
    }
    if npm_modules().join("standardwebhooks").is_dir() && have("node", &["--version"]) {
        libs.push(Lib::Node);
    } else {
        crate::skipped!(
            "SKIPPED: the npm package standardwebhooks is not in {}; .ci/run installs it \
             (npm install --prefix target/npm standardwebhooks)",
            npm_modules().display()
        );
    }
    libs
}

/// A captured delivery, as the library harnesses take it.
struct Captured {
    body_file: PathBuf,
    headers: String,
}

impl Captured {
    fn of(env: &Env, r: &Received) -> Captured {
        let body_file = env.dir.path().join(format!("body-{}.json", r.index));
        std::fs::write(&body_file, &r.body).unwrap();
        let headers = serde_json::json!({
            "webhook-id": r.header("webhook-id").expect("webhook-id"),
            "webhook-timestamp": r.header("webhook-timestamp").expect("webhook-timestamp"),
            "webhook-signature": r.header("webhook-signature").expect("webhook-signature"),
        });
        Captured {
            body_file,
            headers: headers.to_string(),
        }
    }

    /// What the README's example says of this delivery with `secret` handed over as `form`:
    /// "valid", "invalid" or "refused: …".
    fn verify(&self, lib: Lib, form: Form, secret: &str) -> String {
        let out = match lib {
            Lib::Python => Command::new("python3")
                .arg(snippet("run_standardwebhooks.py"))
                .arg(snippet("standard_verify.py"))
                .arg(match form {
                    Form::Generated => "verify_generated",
                    Form::Plain => "verify_plain",
                })
                .arg(&self.body_file)
                .arg(&self.headers)
                .arg(secret)
                .output(),
            Lib::Node => Command::new("node")
                .arg(snippet("run_standardwebhooks.js"))
                .arg(snippet("standard_verify.js"))
                .arg(match form {
                    Form::Generated => "verifyGenerated",
                    Form::Plain => "verifyPlain",
                })
                .arg(&self.body_file)
                .arg(&self.headers)
                .arg(secret)
                .env("NODE_PATH", npm_modules())
                .output(),
        };
        verdict(out.unwrap())
    }
}

/// Creates a webhook for `url` with `--generate-secret`; returns its id and the secret shown.
fn generated_webhook(env: &Env, name: &str, url: &str) -> (i64, String) {
    let out = env
        .create_webhook(url)
        .name(name)
        .args(&["--generate-secret"])
        .local()
        .run()
        .ok()
        .json();
    let secret = out["secret"].as_str().expect("the secret, shown once");
    (out["id"].as_i64().unwrap(), secret.to_string())
}

/// Emits one `job.completed` and returns the `n`-th request the receiver has got.
fn emit_and_capture(env: &Env, rx: &Receiver, n: usize) -> Received {
    env.run(&[
        "emit",
        "job.completed",
        "--customer",
        "1",
        "--data",
        r#"{"id": 9, "status": "success", "note": "ünïcødé ✓"}"#,
    ])
    .ok();
    rx.wait_for(n, Duration::from_secs(5)).remove(n - 1)
}

/// A Standard Webhooks secret webnet did not make (Svix-style: 24 bytes).
const OTHER_WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[test]
fn the_standardwebhooks_libraries_verify_a_generated_secret_given_as_is() {
    let libs = libraries();
    let env = Env::local();
    let rx = Receiver::ok();
    env.customer("acme");
    let (_, secret) = generated_webhook(&env, "generated", &rx.url("/"));
    let r = emit_and_capture(&env, &rx, 1);
    assert_eq!(
        r.header("webhook-id"),
        Some(r.delivery().to_string().as_str())
    );
    let captured = Captured::of(&env, &r);
    for lib in libs {
        assert_eq!(
            captured.verify(lib, Form::Generated, &secret),
            "valid",
            "{lib:?}"
        );
        assert_eq!(
            captured.verify(lib, Form::Generated, OTHER_WHSEC),
            "invalid",
            "{lib:?}"
        );
        // The key is the decoded bytes, not the string's.
        assert_ne!(
            captured.verify(lib, Form::Plain, &secret),
            "valid",
            "{lib:?}"
        );
    }
}

#[test]
fn the_standardwebhooks_libraries_verify_a_given_secret_in_its_form() {
    let libs = libraries();
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    // A plain secret, not ASCII (the trap of a string with {format: "raw"}), and a whsec_
    // secret made elsewhere.
    let plain = "pässwörd ✓ plain-secret";
    env.local_webhook(c, "plain", &rx.url("/plain"), &["--secret", plain]);
    env.local_webhook(c, "whsec", &rx.url("/whsec"), &["--secret", OTHER_WHSEC]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let got = rx.wait_for(2, Duration::from_secs(5));
    let at = |path: &str| {
        let r = got.iter().find(|r| r.path == path).unwrap();
        Captured::of(&env, r)
    };
    let (to_plain, to_whsec) = (at("/plain"), at("/whsec"));
    for lib in libs {
        assert_eq!(to_plain.verify(lib, Form::Plain, plain), "valid", "{lib:?}");
        assert_eq!(to_plain.verify(lib, Form::Plain, "pässwörd"), "invalid");
        // Given as a str, the library base64-decodes it into another key, or refuses it.
        assert_ne!(to_plain.verify(lib, Form::Generated, plain), "valid");
        assert_eq!(to_whsec.verify(lib, Form::Generated, OTHER_WHSEC), "valid");
        assert_ne!(to_whsec.verify(lib, Form::Plain, OTHER_WHSEC), "valid");
    }
    // Unsigned webhooks carry none of the signature headers.
    env.local_webhook(c, "unsigned", &rx.url("/unsigned"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let unsigned = rx
        .wait_for(5, Duration::from_secs(5))
        .into_iter()
        .find(|r| r.path == "/unsigned")
        .unwrap();
    assert_eq!(unsigned.header("webhook-signature"), None);
    assert_eq!(unsigned.header("x-webhook-signature"), None);
}

#[test]
fn the_spec_snippets_verify_a_generated_secret_as_a_string() {
    let (python, node) = (
        have("python3", &["--version"]),
        have("node", &["--version"]),
    );
    let env = Env::local();
    let rx = Receiver::ok();
    env.customer("acme");
    let (_, secret) = generated_webhook(&env, "generated", &rx.url("/"));
    let r = emit_and_capture(&env, &rx, 1);
    let sig = r.header("x-webhook-signature").unwrap().to_string();
    // Keyed with the whole string, prefix and all.
    assert_eq!(sig, hmac_hex(&secret, &r.body));
    let body_file = env.dir.path().join("body.json");
    std::fs::write(&body_file, &r.body).unwrap();
    for (key, expected) in [(secret.as_str(), "valid"), (OTHER_WHSEC, "invalid")] {
        if python {
            let out = Command::new("python3")
                .arg(snippet("run_python.py"))
                .arg(snippet("spec_verify.py"))
                .arg(&body_file)
                .arg(&sig)
                .arg(key)
                .output()
                .unwrap();
            assert_eq!(verdict(out), expected, "python, {key}");
        }
        if node {
            let out = Command::new("node")
                .arg(snippet("run_node.js"))
                .arg(snippet("spec_verify.js"))
                .arg(&body_file)
                .arg(&sig)
                .arg(key)
                .output()
                .unwrap();
            assert_eq!(verdict(out), expected, "node, {key}");
        }
    }
}

#[test]
fn during_a_rotation_old_and_new_secrets_both_verify() {
    let libs = libraries();
    let env = Env::local();
    let rx = Receiver::ok();
    env.customer("acme");
    let (id, old) = generated_webhook(&env, "rotating", &rx.url("/"));
    let id = id.to_string();
    // From a generated secret to a plain one, with a grace period: both sign.
    let new = "the-new-plain-secret";
    env.run(&[
        "webhooks",
        "rotate-secret",
        &id,
        "--grace",
        "1h",
        "--secret",
        new,
    ])
    .ok();
    let r = emit_and_capture(&env, &rx, 1);
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex(&old, &r.body).as_str())
    );
    assert_eq!(
        r.header("x-webhook-signature-next"),
        Some(hmac_hex(new, &r.body).as_str())
    );
    assert_eq!(
        r.header("webhook-signature").unwrap().split(' ').count(),
        2,
        "both sign"
    );
    let both = Captured::of(&env, &r);
    // Then to a generated one at once: only it signs.
    let rotated = env
        .run(&[
            "webhooks",
            "rotate-secret",
            &id,
            "--grace",
            "0s",
            "--generate-secret",
        ])
        .ok()
        .json();
    let newest = rotated["secret"].as_str().unwrap();
    assert_ne!(newest, old);
    let r = emit_and_capture(&env, &rx, 2);
    assert_eq!(r.header("x-webhook-signature-next"), None);
    assert_eq!(r.header("webhook-signature").unwrap().split(' ').count(), 1);
    let one = Captured::of(&env, &r);
    for lib in libs {
        assert_eq!(both.verify(lib, Form::Generated, &old), "valid", "{lib:?}");
        assert_eq!(both.verify(lib, Form::Plain, new), "valid", "{lib:?}");
        assert_eq!(one.verify(lib, Form::Generated, newest), "valid", "{lib:?}");
        assert_eq!(one.verify(lib, Form::Plain, new), "invalid", "{lib:?}");
        assert_eq!(one.verify(lib, Form::Generated, &old), "invalid", "{lib:?}");
    }
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
