//! Standard Webhooks secrets as a user meets them (DESIGN §9): `--generate-secret` makes a
//! secret and shows it in that command's output only, never again; a `whsec_` secret that does
//! not decode is refused, naming `--secret`, without quoting it; a short secret is accepted with
//! a one-line warning. (That receivers verify what is signed with them: tests/it/signatures.rs.)

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use common::receiver::Receiver;
use common::{Env, Out};

const CREATE: [&str; 8] = [
    "webhooks",
    "create",
    "--customer",
    "1",
    "--event",
    "job.completed",
    "--url",
    "https://hooks.example.com/in",
];

/// `webhooks create` with `CREATE`, `--name name` and `extra`.
fn create(env: &Env, name: &str, extra: &[&str]) -> Out {
    let mut args = CREATE.to_vec();
    args.extend(["--name", name]);
    args.extend(extra);
    env.run(&args)
}

/// The key bytes of a generated secret, checking its form: `whsec_` + padded standard base64
/// of 32 bytes.
fn key_of(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    assert_eq!(encoded.len(), 44, "{secret}");
    assert!(encoded.ends_with('='), "padded: {secret}");
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("standard base64");
    assert_eq!(key.len(), 32);
    key
}

/// The names of a JSON object's fields, in order.
fn fields(v: &serde_json::Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn a_generated_secret_is_shown_once_and_never_again() {
    let env = Env::local();
    let rx = Receiver::ok();
    env.customer("acme");
    let out = env
        .create_webhook(&rx.url("/in"))
        .name("generated")
        .args(&["--generate-secret"])
        .local()
        .run()
        .ok();
    let created = out.json();
    let secret = created["secret"].as_str().expect("the secret").to_string();
    let key = key_of(&secret);
    assert_eq!(created["has_secret"], true);
    let names = fields(&created);
    let at = names.iter().position(|n| *n == "has_secret").unwrap();
    assert_eq!(names[at + 1], "secret", "beside has_secret: {names:?}");
    assert!(!out.stderr.contains(&secret), "{}", out.stderr);
    // Every generated secret is new.
    let second = create(&env, "second", &["--generate-secret"]).ok().json();
    assert_ne!(second["secret"].as_str().unwrap(), secret);
    key_of(second["secret"].as_str().unwrap());

    // Everything a user can ask for afterwards, in both output forms, errors included.
    let mut seen = Vec::new();
    for args in [
        &["webhooks", "show", "1"][..],
        &["webhooks", "list"],
        &[
            "emit",
            "job.completed",
            "--customer",
            "1",
            "--event-id",
            "5",
        ],
        &["webhooks", "test", "1"],
        &["deliveries", "list"],
        &["deliveries", "show", "1"],
        &["deliveries", "show", "2"],
        &["drain"],
        &["stats"],
        &["webhooks", "update", "1", "--timeout", "5s"],
        &["webhooks", "update", "1", "--url", "ftp://nowhere"],
        &[
            "webhooks",
            "rotate-secret",
            "1",
            "--secret",
            "a-new-and-long-secret",
        ],
        &["webhooks", "show", "1"],
    ] {
        for output in ["json", "table"] {
            let mut all = vec!["--output", output];
            all.extend(args);
            let out = env.run_local(&all);
            if output == "json" && args.starts_with(&["webhooks", "show"]) {
                assert!(out.json().get("secret").is_none(), "{}", out.stdout);
            }
            seen.push((all.join(" "), out.code, out.stdout, out.stderr));
        }
    }
    let encoded = &secret["whsec_".len()..];
    for (command, _, stdout, stderr) in &seen {
        for text in [stdout, stderr] {
            assert!(
                !text.contains(encoded),
                "`{command}` shows the secret: {text}"
            );
        }
    }
    // The commands did run (the error on purpose).
    for (command, code, _, stderr) in &seen {
        let expected = if command.contains("ftp:") { 2 } else { 0 };
        assert_eq!(*code, expected, "{command}: {stderr}");
    }
    // Nor is it in any file beside the database (sealed), nor sent to the receiver.
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for needle in [encoded.as_bytes(), &key, hex::encode(&key).as_bytes()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds the secret",
                path.display()
            );
        }
    }
    let got = rx.wait_for(2, Duration::from_secs(5));
    for r in &got {
        let all = format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body));
        assert!(!all.contains(encoded), "sent to the receiver: {all}");
    }
}

#[test]
fn a_generated_secret_in_a_table_is_alone_on_stdout_with_a_note_on_stderr() {
    let env = Env::new();
    env.customer("acme");
    let mut args = vec!["--output", "table"];
    args.extend(CREATE);
    args.extend(["--name", "table", "--generate-secret"]);
    let out = env.run(&args).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "the id, then the secret: {}", out.stdout);
    assert_eq!(lines[0], "1");
    key_of(lines[1]);
    assert!(
        out.stderr.contains("shown this once only"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("store it"), "{}", out.stderr);
    assert!(!out.stderr.contains(lines[1]));

    let out = env
        .run(&[
            "--output",
            "table",
            "webhooks",
            "rotate-secret",
            "1",
            "--generate-secret",
        ])
        .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stdout);
    key_of(lines[0]);
    assert!(out.stderr.contains("new secret in use"), "{}", out.stderr);
    assert!(out.stderr.contains("the one it replaced also signs until"));
    assert!(out.stderr.contains("shown this once only"));
    assert!(
        !out.stderr.contains("stopped signing now"),
        "{}",
        out.stderr
    );

    // In JSON, rotate-secret's object carries it beside has_secret. A second rotation within
    // the first one's grace says the secret before it stops signing now.
    let out = env
        .run(&["webhooks", "rotate-secret", "1", "--generate-secret"])
        .ok();
    assert!(
        out.stderr
            .contains("warning: webhook 1: the secret from before the last rotation")
            && out.stderr.contains("stopped signing now"),
        "{}",
        out.stderr
    );
    let rotated = out.json();
    key_of(rotated["secret"].as_str().unwrap());
    assert_ne!(rotated["secret"].as_str().unwrap(), lines[0]);
    let names = fields(&rotated);
    let at = names.iter().position(|n| *n == "has_secret").unwrap();
    assert_eq!(names[at + 1], "secret");
}

#[test]
fn a_generated_secret_that_cannot_be_printed_is_an_error_that_says_what_to_do() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        crate::skipped!("SKIPPED: no /dev/full here");
        return;
    };
    let env = Env::new();
    env.customer("acme");
    let mut args = CREATE.to_vec();
    args.extend(["--name", "lost", "--generate-secret"]);
    let out = env.cmd().args(&args).stdout(full).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("printing it failed"), "{stderr}");
    assert!(
        stderr.contains("webnet webhooks rotate-secret 1 --generate-secret"),
        "{stderr}"
    );
    assert!(!stderr.contains("whsec_"), "{stderr}");
    // The webhook was made; only its secret is unknown.
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["has_secret"],
        true
    );
}

#[test]
fn generate_secret_goes_with_no_other_secret() {
    let env = Env::new();
    env.customer("acme");
    let before = env.dump();
    create(&env, "both", &["--generate-secret", "--secret", "x"]).fails(2, "--generate-secret");
    let out = {
        let mut args = CREATE.to_vec();
        args.extend(["--name", "both", "--generate-secret", "--secret-stdin"]);
        env.run_stdin(&args, "from-stdin\n")
    };
    out.fails(2, "--generate-secret");
    assert_eq!(env.dump(), before, "nothing created");

    create(&env, "one", &["--secret", "the-first-long-secret"]).ok();
    let before = env.dump();
    env.run(&[
        "webhooks",
        "rotate-secret",
        "1",
        "--generate-secret",
        "--secret",
        "x",
    ])
    .fails(2, "--generate-secret");
    // Without any, the message names the three ways.
    env.run(&["webhooks", "rotate-secret", "1"])
        .fails(2, "--generate-secret")
        .fails(2, "--secret-stdin");
    assert_eq!(env.dump(), before, "nothing changed");
    // update keeps --secret / --secret-stdin only: generating is for create and rotate-secret.
    let out = env.run(&["webhooks", "update", "1", "--generate-secret"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(env.dump(), before, "nothing changed");
}

#[test]
fn a_bad_whsec_secret_is_refused_naming_secret_without_quoting_it() {
    let env = Env::new();
    env.customer("acme");
    create(&env, "kept", &["--secret", "the-first-long-secret"]).ok();
    let before = env.dump();
    for (bad, why) in [
        ("whsec_not$base64=", "not base64"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw_-8=", "URL-safe"),
        (
            "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
            "padded",
        ),
        ("whsec_", "nothing after"),
    ] {
        let body = &bad["whsec_".len()..];
        let check = |out: Out| {
            let out = out.fails(2, "error: --secret: ").fails(2, why);
            assert!(out.stderr.contains("Standard Webhooks"), "{}", out.stderr);
            assert!(
                body.is_empty() || !out.stderr.contains(body),
                "{}",
                out.stderr
            );
        };
        check(create(&env, "new", &["--secret", bad]));
        let mut args = CREATE.to_vec();
        args.extend(["--name", "new", "--secret-stdin"]);
        check(env.run_stdin(&args, &format!("{bad}\n")));
        check(env.run(&["webhooks", "update", "1", "--secret", bad]));
        check(env.run_stdin(
            &["webhooks", "rotate-secret", "1", "--secret-stdin"],
            &format!("{bad}\n"),
        ));
    }
    assert_eq!(env.dump(), before, "nothing changed");
    // A good one of the same shape is taken.
    create(
        &env,
        "good",
        &["--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )
    .ok();
}

/// The `warning:` lines of `out`'s stderr.
fn warnings(out: &Out) -> Vec<&str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect()
}

#[test]
fn a_short_secret_is_accepted_with_a_one_line_warning() {
    let env = Env::new();
    env.customer("acme");
    let short = "tiny-pw"; // 7 bytes
    let out = create(&env, "short", &["--secret", short]).ok();
    assert_eq!(out.json()["has_secret"], true);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{}", out.stderr);
    assert!(w[0].contains("only 7 bytes"), "{}", w[0]);
    assert!(w[0].contains("16 bytes"), "{}", w[0]);
    assert!(
        w[0].contains("webnet webhooks rotate-secret 1 --generate-secret"),
        "{}",
        w[0]
    );
    assert!(!w[0].contains(short));

    // 16 bytes, and characters that take more bytes than one, are enough.
    let out = create(&env, "sixteen", &["--secret", "0123456789abcdef"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let out = create(&env, "accented", &["--secret", "éééééééé"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    // From standard input too.
    let mut args = CREATE.to_vec();
    args.extend(["--name", "stdin", "--secret-stdin"]);
    let out = env.run_stdin(&args, "fifteen-bytes!!\n").ok();
    assert!(
        warnings(&out)[0].contains("only 15 bytes"),
        "{}",
        out.stderr
    );
    // A whsec_ secret counts its decoded bytes: 15 (20 characters), then 16.
    let out = create(
        &env,
        "whsec-15",
        &["--secret", "whsec_AAECAwQFBgcICQoLDA0O"],
    )
    .ok();
    assert!(
        warnings(&out)[0].contains("decodes to only 15 bytes"),
        "{}",
        out.stderr
    );
    let out = create(
        &env,
        "whsec-16",
        &["--secret", "whsec_AAECAwQFBgcICQoLDA0ODw=="],
    )
    .ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);

    // update and rotate-secret warn as create does; nothing else does.
    let out = env
        .run(&["webhooks", "update", "2", "--secret", short])
        .ok();
    assert_eq!(warnings(&out).len(), 1, "{}", out.stderr);
    assert!(warnings(&out)[0].contains("webhook 2"));
    let out = env
        .run(&["webhooks", "update", "1", "--timeout", "5s"])
        .ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let out = env
        .run(&["webhooks", "rotate-secret", "2", "--secret", short])
        .ok();
    assert_eq!(warnings(&out).len(), 1, "{}", out.stderr);
    let out = env
        .run(&["webhooks", "rotate-secret", "2", "--generate-secret"])
        .ok();
    // No short-secret warning; only the one for the earlier rotation's grace cut short.
    assert!(
        warnings(&out)
            .iter()
            .all(|w| w.contains("stopped signing now")),
        "{}",
        out.stderr
    );
}

#[test]
fn listen_takes_a_short_secret_without_a_warning() {
    let env = Env::new();
    let mut child = env
        .cmd()
        .args(["listen", "--port", "0", "--secret", "tiny"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The secret is read before listening starts: what comes first is the listening line.
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // Our own child: ended by its handle (its PID).
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.starts_with("listening on"), "{first}");
}
