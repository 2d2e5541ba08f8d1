//! `webnet key rotate` and `webnet key reset`: the key that seals secrets and credential headers
//! can be replaced, and a database whose key is lost can store secrets again.

use crate::common;

use std::path::PathBuf;
use std::time::Duration;

use common::receiver::{Receiver, Reply};
use common::{hmac_hex, Env, Out};

const SECRET: &str = "swordfish-rotate-7d1c0e";
const TOKEN: &str = "tok-sealed-4242";
const PASSPHRASE: &str = "correct horse battery staple";

fn key_file(env: &Env) -> PathBuf {
    env.dir.path().join("webhooks.db.key")
}

fn pending_key_file(env: &Env) -> PathBuf {
    env.dir.path().join("webhooks.db.key.new")
}

/// Every output a test saw, to check that no secret ever appears.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn keep(&mut self, o: Out) -> Out {
        self.0.push(format!("{}\n{}", o.stdout, o.stderr));
        o
    }

    #[track_caller]
    fn assert_no_secrets(&self) {
        for o in &self.0 {
            for s in [SECRET, TOKEN, PASSPHRASE] {
                assert!(!o.contains(s), "{s:?} leaked: {o}");
            }
        }
    }
}

/// A customer and a loopback webhook with a secret and a sealed credential header.
fn signed_webhook(env: &Env, rx: &Receiver) -> i64 {
    let c = env.customer("acme");
    env.local_webhook(
        c,
        "signed",
        &rx.url("/"),
        &[
            "--secret",
            SECRET,
            "--header",
            &format!("Authorization: Bearer {TOKEN}"),
        ],
    )
}

/// Emits one event and returns the request the receiver got for it.
#[track_caller]
fn emit_and_receive(
    env: &Env,
    extra_env: &[(&str, &str)],
    rx: &Receiver,
) -> common::receiver::Received {
    let before = rx.count();
    env.run_env(extra_env, &["emit", "job.completed", "--customer", "1"])
        .ok();
    rx.wait_for(before + 1, Duration::from_secs(10))
        .pop()
        .expect("a request")
}

#[track_caller]
fn assert_signed(r: &common::receiver::Received, secret: &str) {
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex(secret, &r.body).as_str()),
        "signed with the secret as given"
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str()),
        "the credential header is still sent"
    );
}

#[test]
fn rotating_to_a_new_key_file_keeps_secrets_and_headers_working() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    signed_webhook(&env, &rx);
    let old_key = std::fs::read_to_string(key_file(&env)).unwrap();

    let out = seen.keep(env.run(&["key", "rotate"]).ok());
    let report = out.json();
    assert_eq!(report["webhooks"], 1, "{report}");
    assert_eq!(report["secrets"], 1);
    assert_eq!(report["headers"], 1);
    assert_eq!(report["key"], "file");
    assert!(
        out.stderr.contains("back up the new key file"),
        "{}",
        out.stderr
    );
    // A server database is shared: the other hosts need the new file too.
    assert_eq!(
        out.stderr
            .contains("copy it to every other host that uses this database"),
        env.pg.is_some(),
        "{}",
        out.stderr
    );
    let new_key = std::fs::read_to_string(key_file(&env)).unwrap();
    assert_ne!(new_key.trim(), old_key.trim(), "a new key");
    assert_eq!(new_key.trim().len(), 64);
    assert!(!pending_key_file(&env).exists(), "no .key.new left behind");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(key_file(&env))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Deliveries are still signed with the same secret and carry the header.
    assert_signed(&emit_and_receive(&env, &[], &rx), SECRET);
    // The secret can still be rotated (and stored under the new key).
    seen.keep(
        env.run(&[
            "webhooks",
            "rotate-secret",
            "1",
            "--grace",
            "0s",
            "--secret",
            "next-secret-abc",
        ])
        .ok(),
    );
    assert_signed(&emit_and_receive(&env, &[], &rx), "next-secret-abc");

    // Everything was re-sealed: the old key no longer opens anything.
    std::fs::write(key_file(&env), &old_key).unwrap();
    let before = env.dump();
    seen.keep(
        env.run(&["webhooks", "update", "1", "--secret", "another-secret-1"])
            .fails(1, "does not open the secrets"),
    );
    assert_eq!(env.dump(), before, "nothing changed");
    seen.assert_no_secrets();
}

#[test]
fn rotating_to_a_passphrase_removes_the_key_file() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    signed_webhook(&env, &rx);
    // A rotation's previous secret is re-sealed too.
    seen.keep(
        env.run(&[
            "webhooks",
            "rotate-secret",
            "1",
            "--grace",
            "1h",
            "--secret",
            "new-secret-xyz",
        ])
        .ok(),
    );

    let out = seen.keep(
        env.run_stdin(
            &["key", "rotate", "--new-passphrase-stdin"],
            &format!("{PASSPHRASE}\n"),
        )
        .ok(),
    );
    assert!(
        !out.stderr.contains("under 16 characters"),
        "{}",
        out.stderr
    );
    let report = out.json();
    assert_eq!(report["key"], "passphrase", "{report}");
    assert_eq!(report["secrets"], 1);
    assert_eq!(report["previous_secrets"], 1);
    assert_eq!(report["headers"], 1);
    assert!(report["key_file_removed"].as_str().is_some());
    assert!(
        out.stderr
            .contains("WEBNET_SECRET_KEY must carry the new passphrase"),
        "{}",
        out.stderr
    );
    assert!(!key_file(&env).exists(), "the key file is removed");

    // With the passphrase everything works: both secrets sign during the grace period.
    let r = emit_and_receive(&env, &[("WEBNET_SECRET_KEY", PASSPHRASE)], &rx);
    assert_signed(&r, SECRET);
    assert_eq!(
        r.header("x-webhook-signature-next"),
        Some(hmac_hex("new-secret-xyz", &r.body).as_str())
    );

    // Without it (or with another one), storing a secret fails cleanly and sending fails the
    // attempt with the same words.
    let before = env.dump();
    seen.keep(
        env.run(&["webhooks", "update", "1", "--secret", "s3-secret-value"])
            .fails(1, "WEBNET_SECRET_KEY"),
    );
    seen.keep(
        env.run_env(
            &[("WEBNET_SECRET_KEY", "not the passphrase")],
            &["webhooks", "update", "1", "--secret", "s3-secret-value"],
        )
        .fails(1, "WEBNET_SECRET_KEY does not open"),
    );
    assert_eq!(env.dump(), before, "nothing changed");
    assert!(
        !key_file(&env).exists(),
        "no key file written by a failed command"
    );
    seen.keep(env.run(&["emit", "job.completed", "--customer", "1"]).ok());
    let d = seen.keep(env.run(&["deliveries", "show", "2"]).ok()).json();
    assert_eq!(d["status"], "retrying", "{d}");
    assert!(
        d["error_message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("could not be signed: secret key: this database's secrets are sealed with a passphrase and WEBNET_SECRET_KEY is not set"),
        "{d}"
    );
    seen.assert_no_secrets();
}

/// The webhook's `failing_since` and `enabled`, as `webhooks show` prints them.
fn health(env: &Env) -> (serde_json::Value, serde_json::Value) {
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    (w["failing_since"].clone(), w["enabled"].clone())
}

#[test]
fn a_delivery_that_cannot_be_signed_warns_is_retried_and_does_not_blame_the_receiver() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    signed_webhook(&env, &rx);
    env.run(&["webhooks", "update", "1", "--auto-disable-after", "1s"])
        .ok();
    std::fs::remove_file(key_file(&env)).unwrap();

    let out = seen.keep(env.run(&["emit", "job.completed", "--customer", "1"]).ok());
    let warning = out
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("a warning on stderr: {}", out.stderr));
    assert!(
        warning.starts_with(
            "warning: delivery 1 to webhook 1 \"signed\" could not be signed: secret key: the key file "
        ) && warning.contains("is missing")
            && warning.contains("; it will be retried at "),
        "{warning}"
    );
    let d = env.delivery(1);
    assert_eq!(d["status"], "retrying", "{d}");
    assert!(
        d["error_message"]
            .as_str()
            .unwrap()
            .starts_with("could not be signed: "),
        "{d}"
    );
    assert_eq!(rx.count(), 0, "nothing was sent");
    // The receiver was never asked: its webhook is not failing, and is not disabled however
    // long this lasts.
    assert_eq!(health(&env), (serde_json::Value::Null, true.into()));
    env.make_due();
    let out = seen.keep(env.run_after(Duration::from_millis(1100), &["drain"]));
    assert!(
        out.stderr.contains(
            "drain: delivery 1 (job.completed) to webhook 1 \"signed\": attempt 2 of 4 could not be signed: secret key: the key file "
        ),
        "{}",
        out.stderr
    );
    // The run did not do its job: exit 1, naming the host's key as the cause, and counting.
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().last().unwrap_or_default(),
        NOT_SIGNED_ERROR
    );
    assert_eq!(out.json()["not_signed"], 1, "{}", out.stdout);
    assert_eq!(health(&env), (serde_json::Value::Null, true.into()));
    assert_eq!(env.delivery(1)["attempts"], 2);
    // A watching drain says so once when it starts, before it claims anything.
    let out = seen.keep(env.run(&["drain", "--watch", "--max-time", "1s"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let warning = out
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: "))
        .unwrap_or_else(|| panic!("a warning at the start: {}", out.stderr));
    assert!(
        warning.starts_with("warning: secret key: the key file ")
            && warning.ends_with("until that is fixed this host cannot sign, and each delivery it claims for a webhook with a secret fails an attempt"),
        "{warning}"
    );
    seen.assert_no_secrets();
}

/// What a run that met attempts it could not sign ends with (exit 1).
const NOT_SIGNED_ERROR: &str = "error: 1 attempt(s) could not be signed on this host (see above for why; `webnet db check` checks its key); each counts against its webhook's retries";

#[test]
fn retrying_failed_deliveries_on_a_host_that_cannot_sign_exits_1() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    signed_webhook(&env, &rx);
    env.run(&["webhooks", "update", "1", "--max-retries", "0"])
        .ok();
    std::fs::remove_file(key_file(&env)).unwrap();
    // The one attempt allowed could not be signed: the delivery failed for good (each such
    // attempt counts against the retries).
    seen.keep(env.run(&["emit", "job.completed", "--customer", "1"]).ok());
    assert_eq!(env.delivery(1)["status"], "failed");
    // Retried here, it fails the same way: exit 1, unlike receivers still failing (exit 0).
    let out = seen.keep(env.run(&["deliveries", "retry", "--failed"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        out.stderr.lines().last().unwrap_or_default(),
        NOT_SIGNED_ERROR
    );
    assert_eq!(out.json()["not_signed"], 1, "{}", out.stdout);
    assert_eq!(rx.count(), 0, "nothing unsigned was sent");
    seen.assert_no_secrets();
}

#[test]
fn a_passphrase_database_without_webnet_secret_key_says_to_set_it() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    let with_key = [("WEBNET_SECRET_KEY", PASSPHRASE)];
    let c = env.customer("acme");
    seen.keep(
        env.create_webhook(&rx.url("/"))
            .customer(c)
            .name("signed")
            .args(&["--secret", SECRET])
            .var("WEBNET_SECRET_KEY", PASSPHRASE)
            .run()
            .ok(),
    );
    assert!(
        !key_file(&env).exists(),
        "a passphrase database has no key file"
    );

    // Sending: a warning naming WEBNET_SECRET_KEY, not a key file that never existed.
    let out = seen.keep(env.run(&["emit", "job.completed", "--customer", "1"]).ok());
    assert!(
        out.stderr.contains(
            "could not be signed: secret key: this database's secrets are sealed with a passphrase and WEBNET_SECRET_KEY is not set"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(".key"), "{}", out.stderr);
    assert_eq!(health(&env), (serde_json::Value::Null, true.into()));
    // Storing a secret says the same.
    let out = seen.keep(
        env.run(&[
            "webhooks",
            "update",
            "1",
            "--secret",
            "another-secret-value",
        ])
        .fails(
            1,
            "sealed with a passphrase and WEBNET_SECRET_KEY is not set",
        ),
    );
    assert!(!out.stderr.contains(".key"), "{}", out.stderr);
    // `key reset` without the passphrase set takes this for a forgotten export, not a lost key:
    // it clears nothing without --yes, even where it could ask.
    let before = env.dump();
    env.run(&["key", "reset"]).fails(
        2,
        "if you know the passphrase, set WEBNET_SECRET_KEY instead",
    );
    assert_eq!(env.dump(), before);
    // With it set again, the retry is sent, signed.
    env.make_due();
    seen.keep(env.run_env(&with_key, &["drain"]).ok());
    let r = rx.wait_for(1, Duration::from_secs(10)).pop().expect("sent");
    assert_eq!(
        r.header("x-webhook-signature"),
        Some(hmac_hex(SECRET, &r.body).as_str())
    );
    assert_eq!(env.delivery(1)["status"], "success");
    seen.assert_no_secrets();
}

#[test]
fn a_change_to_or_from_a_passphrase_says_running_and_scheduled_drains_need_it() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    signed_webhook(&env, &rx);
    // On a server database every other host needs the change too, and is told so.
    let shared = env.pg.is_some();
    let restart_and_reinstall = |stderr: &str| {
        stderr.contains("drain --watch")
            && stderr.contains("restart it")
            && stderr.contains("webnet schedule install")
            && stderr.contains("Do the same on every other host that uses this database") == shared
    };
    let other = "another passphrase 2";
    for (current, new) in [(None, PASSPHRASE), (Some(PASSPHRASE), other)] {
        let vars: Vec<(&str, &str)> = current
            .map(|p| ("WEBNET_SECRET_KEY", p))
            .into_iter()
            .collect();
        let out = seen.keep(
            env.run_stdin_env(
                &vars,
                &["key", "rotate", "--new-passphrase-stdin"],
                &format!("{new}\n"),
            )
            .ok(),
        );
        assert!(restart_and_reinstall(&out.stderr), "{}", out.stderr);
        assert!(
            out.stderr.contains("with the new WEBNET_SECRET_KEY"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    }
    // Back to a key file: the running drains must lose the passphrase.
    let out = seen.keep(
        env.run_env(&[("WEBNET_SECRET_KEY", other)], &["key", "rotate"])
            .ok(),
    );
    assert!(restart_and_reinstall(&out.stderr), "{}", out.stderr);
    assert!(
        out.stderr.contains("without WEBNET_SECRET_KEY"),
        "{}",
        out.stderr
    );
    // From one key file to the next, a running drain follows by itself: nothing to restart.
    let out = seen.keep(env.run(&["key", "rotate"]).ok());
    assert!(!out.stderr.contains("restart"), "{}", out.stderr);
    assert_signed(&emit_and_receive(&env, &[], &rx), SECRET);
    seen.assert_no_secrets();
}

#[test]
fn a_lost_key_file_is_recovered_with_key_reset() {
    let env = Env::local();
    let rx = Receiver::ok();
    let mut seen = Seen::default();
    signed_webhook(&env, &rx);
    // Another webhook without anything sealed keeps its plain headers.
    env.local_webhook(
        1,
        "plain",
        &rx.url("/plain"),
        &["--header", "X-Team: netops", "--event", "job.failed"],
    );
    // Before: the key opens the secrets. After: `db check` says the key is gone (exit 1), not
    // "none is needed yet" as for a database that never sealed anything.
    let check = env.run(&["db", "check"]).ok().json();
    assert_eq!(check["secret_key"], "opens the stored secrets", "{check}");
    std::fs::remove_file(key_file(&env)).unwrap();
    let out = seen.keep(env.run(&["db", "check"]).fails(1, "is missing"));
    assert!(out.stderr.contains("key reset --yes"), "{}", out.stderr);

    // Storing a secret is refused, says what to do, and writes no key file.
    let before = env.dump();
    let create = env
        .create_webhook("https://third.example.com/")
        .name("third")
        .events(&["job.failed"])
        .args(&["--secret", "third-secret-value"]);
    let out = seen.keep(create.clone().run().fails(1, "key reset --yes"));
    assert!(out.stderr.contains("is missing"), "{}", out.stderr);
    assert!(
        !key_file(&env).exists(),
        "no key file written by a failed create"
    );
    assert_eq!(env.dump(), before, "nothing changed");

    // Not on a terminal: --yes is required.
    seen.keep(env.run(&["key", "reset"]).fails(2, "--yes"));
    assert_eq!(env.dump(), before, "nothing changed");

    let report = seen.keep(env.run(&["key", "reset", "--yes"]).ok()).json();
    assert_eq!(report["webhooks_lost_secret"], 1, "{report}");
    assert_eq!(report["webhooks_lost_headers"], 1);
    assert_eq!(report["secrets"], serde_json::json!([1]));
    assert_eq!(
        report["headers"],
        serde_json::json!([{"webhook": 1, "headers": ["Authorization"]}])
    );
    let hook = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(hook["has_secret"], false);
    assert_eq!(hook["headers"], serde_json::json!({}));
    let plain = env.run(&["webhooks", "show", "2"]).ok().json();
    assert_eq!(plain["headers"], serde_json::json!({"X-Team": "netops"}));
    let table = seen.keep(
        env.run(&["--output", "table", "key", "reset", "--yes"])
            .ok(),
    );
    assert!(
        table.stdout.contains("0 webhook(s) lost their secret"),
        "{}",
        table.stdout
    );

    // New secrets can be stored: a new key file is created, and deliveries are signed.
    seen.keep(create.run().ok());
    assert!(key_file(&env).exists());
    seen.keep(
        env.run(&[
            "webhooks",
            "update",
            "1",
            "--secret",
            SECRET,
            "--header",
            &format!("Authorization: Bearer {TOKEN}"),
        ])
        .ok(),
    );
    assert_signed(&emit_and_receive(&env, &[], &rx), SECRET);
    seen.assert_no_secrets();
}

#[test]
fn a_replaced_key_file_is_kept_aside_by_reset() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &["--secret", SECRET]);
    let wrong = "ab".repeat(32);
    std::fs::write(key_file(&env), &wrong).unwrap();
    env.run(&["webhooks", "update", "1", "--secret", "x-secret-value"])
        .fails(1, "does not open the secrets");
    assert_eq!(std::fs::read_to_string(key_file(&env)).unwrap(), wrong);
    let report = env.run(&["key", "reset", "--yes"]).ok().json();
    let old = env.dir.path().join("webhooks.db.key.old");
    assert_eq!(report["old_key_file"], old.display().to_string());
    assert_eq!(std::fs::read_to_string(&old).unwrap(), wrong);
    assert!(!key_file(&env).exists());
    env.run(&["webhooks", "update", "1", "--secret", "x-secret-value"])
        .ok();
    assert_ne!(std::fs::read_to_string(key_file(&env)).unwrap(), wrong);
}

#[test]
fn a_key_file_that_is_not_hex_or_not_text_is_called_malformed() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &["--secret", SECRET]);
    let key = std::fs::read(key_file(&env)).unwrap();
    let before = env.dump();
    for contents in [
        b"not a key\n".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28],
    ] {
        std::fs::write(key_file(&env), &contents).unwrap();
        let out = env
            .run(&["webhooks", "update", "1", "--secret", "x-secret-value"])
            .fails(1, "is malformed (expected 64 hex digits)");
        assert!(out.stderr.contains("webhooks.db.key"), "{}", out.stderr);
        assert_eq!(std::fs::read(key_file(&env)).unwrap(), contents);
    }
    std::fs::write(key_file(&env), &key).unwrap();
    assert_eq!(env.dump(), before, "nothing changed");
}

#[test]
fn a_working_or_wrong_key_is_never_reset_or_rotated_by_mistake() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &["--secret", SECRET]);
    let key = std::fs::read_to_string(key_file(&env)).unwrap();
    let before = env.dump();
    // The key works: reset is refused and points at rotate.
    env.run(&["key", "reset", "--yes"]).fails(1, "key rotate");
    // WEBNET_SECRET_KEY is wrong but the key file is right: say so.
    env.run_env(
        &[("WEBNET_SECRET_KEY", "wrong")],
        &["key", "reset", "--yes"],
    )
    .fails(1, "unset WEBNET_SECRET_KEY");
    // Rotation with a key that does not open the database is refused, saying what to do.
    env.run_env(&[("WEBNET_SECRET_KEY", "wrong")], &["key", "rotate"])
        .fails(1, "unset WEBNET_SECRET_KEY");
    std::fs::write(key_file(&env), "ab".repeat(32)).unwrap();
    env.run(&["key", "rotate"]).fails(1, "key reset --yes");
    std::fs::write(key_file(&env), &key).unwrap();
    env.run_stdin(&["key", "rotate", "--new-passphrase-stdin"], "\n")
        .fails(2, "--new-passphrase-stdin");
    assert_eq!(env.dump(), before, "nothing changed");
    assert_eq!(std::fs::read_to_string(key_file(&env)).unwrap(), key);
    assert!(!pending_key_file(&env).exists());
}

#[test]
fn key_commands_are_operator_only() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &["--secret", SECRET]);
    let before = env.dump();
    let key = std::fs::read(key_file(&env)).unwrap();
    for args in [&["key", "rotate"][..], &["key", "reset", "--yes"]] {
        // Named by what pins it: the shell's variable, or the option on the command line.
        env.run_env(&[("WEBNET_CUSTOMER", "1")], args)
            .fails(2, "WEBNET_CUSTOMER: this shell is pinned to customer 1; ");
        let mut pinned = vec!["--customer", "1"];
        pinned.extend(args);
        env.run(&pinned)
            .fails(2, "--customer: this command is pinned to customer 1; ");
    }
    env.run_stdin(
        &["--customer", "1", "key", "rotate", "--new-passphrase-stdin"],
        "p\n",
    )
    .fails(2, "--customer");
    assert_eq!(env.dump(), before);
    assert_eq!(std::fs::read(key_file(&env)).unwrap(), key);
}

#[test]
fn an_interrupted_rotation_is_finished_by_the_next_command() {
    let env = Env::local();
    let rx = Receiver::ok();
    signed_webhook(&env, &rx);
    let old_key = std::fs::read_to_string(key_file(&env)).unwrap();
    env.run(&["key", "rotate"]).ok();
    let new_key = std::fs::read_to_string(key_file(&env)).unwrap();
    // As if the process died after committing, before renaming `.key.new` into place.
    std::fs::rename(key_file(&env), pending_key_file(&env)).unwrap();
    std::fs::write(key_file(&env), &old_key).unwrap();

    assert_signed(&emit_and_receive(&env, &[], &rx), SECRET);
    assert_eq!(
        std::fs::read_to_string(key_file(&env)).unwrap(),
        new_key,
        "the new key was put in place"
    );
    assert!(!pending_key_file(&env).exists());
    // A stale `.key.new` from a rotation that never committed is ignored.
    std::fs::write(pending_key_file(&env), "cd".repeat(32)).unwrap();
    assert_signed(&emit_and_receive(&env, &[], &rx), SECRET);
    env.run(&["key", "rotate"]).ok();
    assert!(!pending_key_file(&env).exists());
    assert_signed(&emit_and_receive(&env, &[], &rx), SECRET);
}

#[test]
fn a_running_drain_watch_follows_a_rotation_at_once() {
    let env = Env::local();
    // The first request is held for a while: meanwhile the watcher is busy and claims new work
    // within about 100 ms (not at its next 1 s poll).
    let rx = Receiver::start(|r| {
        let reply = Reply::ok();
        if r.path == "/slow" {
            reply.delay(Duration::from_secs(3))
        } else {
            reply
        }
    });
    let c = env.customer("acme");
    let auth = format!("Authorization: Bearer {TOKEN}");
    for (name, event) in [("slow", "job.completed"), ("fast", "job.failed")] {
        let url = rx.url(&format!("/{name}"));
        let signed = ["--secret", SECRET, "--header", &auth, "--event", event];
        env.local_webhook(c, name, &url, &signed);
    }
    let mut watch = env
        .cmd()
        .args(["drain", "--watch", "--max-time", "30s"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    env.run(&["emit", "--queue", "job.completed", "--customer", "1"])
        .ok();
    let first = rx.wait_for(1, Duration::from_secs(10));
    assert_eq!(first.len(), 1, "the watcher sent the first delivery");
    assert_signed(&first[0], SECRET);
    // The watcher loaded the key for that request just now. Rotate and queue a delivery to the
    // other webhook while the first is held: the watcher meets the new key well within a
    // second of loading the old one, and must reload it rather than fail the attempt.
    env.run(&["key", "rotate"]).ok();
    env.run(&["emit", "--queue", "job.failed", "--customer", "1"])
        .ok();
    let got = rx.wait_for(2, Duration::from_secs(10));
    let fast: Vec<_> = got.iter().filter(|r| r.path == "/fast").collect();
    assert_eq!(fast.len(), 1, "the watcher sent the second delivery");
    assert_signed(fast[0], SECRET);
    // The receiver has it; the watcher records the answer a moment later (bounded wait).
    let end = std::time::Instant::now() + Duration::from_secs(10);
    let mut d = env.delivery(2);
    while d["status"] == "pending" && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        d = env.delivery(2);
    }
    let _ = watch.kill();
    let _ = watch.wait();
    assert_eq!(d["status"], "success", "{d}");
    assert_eq!(d["attempts"], 1, "no attempt was lost to the rotation: {d}");
}

#[test]
fn a_failed_command_writes_no_key_file() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "taken", "https://a.example.com/", &[]);
    let create = |name: &str| {
        env.create_webhook("https://b.example.com/")
            .name(name)
            .events(&["job.failed"])
            .args(&["--secret", SECRET])
            .run()
    };
    create("taken").fails(2, "--name");
    env.run(&["webhooks", "update", "9", "--secret", SECRET])
        .fails(1, "not found");
    // Its id, not 2: on PostgreSQL the refused create above used one up.
    let other = env
        .webhook(1, "other", "https://c.example.com/", &[])
        .to_string();
    env.run(&[
        "webhooks",
        "update",
        &other,
        "--name",
        "taken",
        "--header",
        "X-Api-Key: k-123",
    ])
    .fails(2, "--name");
    assert!(!key_file(&env).exists(), "no key file for nothing stored");
    create("fresh").ok();
    assert!(
        key_file(&env).exists(),
        "the first stored secret creates it"
    );
}

#[test]
fn on_a_terminal_reset_asks_and_rotate_asks_for_the_passphrase_twice() {
    use rexpect::session::spawn_command;
    let settle = || std::thread::sleep(Duration::from_millis(150));
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &["--secret", SECRET]);
    std::fs::remove_file(key_file(&env)).unwrap();
    let has_secret = || env.run(&["webhooks", "show", "1"]).ok().json()["has_secret"].clone();

    for (answer, cleared) in [("n", false), ("y", true)] {
        let mut cmd = env.tty_cmd();
        cmd.args(["key", "reset"]);
        let mut p = spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
        p.exp_string("(y/n)").unwrap();
        settle();
        p.send(answer).unwrap();
        p.flush().unwrap();
        if !cleared {
            p.exp_string("nothing was changed").unwrap();
        }
        p.exp_eof().unwrap();
        assert_eq!(has_secret(), !cleared, "answer {answer}");
    }

    env.run(&["webhooks", "update", "1", "--secret", SECRET])
        .ok();
    let mut cmd = env.tty_cmd();
    cmd.args(["key", "rotate", "--new-passphrase-stdin"]);
    let mut p = spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
    p.exp_string("New passphrase").unwrap();
    p.send_line(PASSPHRASE).unwrap();
    p.exp_string("Again").unwrap();
    p.send_line(PASSPHRASE).unwrap();
    p.exp_eof().unwrap();
    assert!(!key_file(&env).exists());
    env.run_env(
        &[("WEBNET_SECRET_KEY", PASSPHRASE)],
        &["webhooks", "update", "1", "--secret", "after-rotation-1"],
    )
    .ok();
}

/// A key file other users may read (a copy made with `cp` under a usual umask) gives away
/// every stored secret: `db check`, run when a host is set up, says so and how to mend it,
/// and still passes (the key works). The file webnet writes is its owner's alone.
#[test]
fn db_check_warns_of_a_key_file_other_users_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::local();
    let rx = Receiver::ok();
    signed_webhook(&env, &rx);
    let path = key_file(&env);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file webnet wrote");
    let out = env.run(&["db", "check"]).ok();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["db", "check"]).ok();
    assert_eq!(out.json()["secret_key"], "opens the stored secrets");
    let warning = out.stderr.trim();
    assert_eq!(warning.lines().count(), 1, "{warning}");
    for part in [
        "warning: the key file",
        "(mode 0644)",
        &format!("run chmod 600 {}", path.display()),
    ] {
        assert!(warning.contains(part), "{part:?} in {warning}");
    }
    // Mended as it says: quiet again.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.run(&["--output", "table", "db", "check"]).ok();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

/// A database that never sealed anything needs no key yet: `db check` says so and passes.
#[test]
fn db_check_passes_before_any_secret_is_stored() {
    let env = Env::new();
    env.customer("acme");
    let check = env.run(&["db", "check"]).ok().json();
    assert!(
        check["secret_key"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no key file yet"),
        "{check}"
    );
    // A passphrase given before anything is sealed opens nothing yet, and says so.
    let with_key = [("WEBNET_SECRET_KEY", PASSPHRASE)];
    let check = env.run_env(&with_key, &["db", "check"]).ok().json();
    assert_eq!(
        check["secret_key"], "given; nothing is sealed with it yet",
        "{check}"
    );
    env.create_webhook("https://a.example.com/")
        .customer(1)
        .name("signed")
        .args(&["--secret", SECRET, "--disabled"])
        .var("WEBNET_SECRET_KEY", PASSPHRASE)
        .run()
        .ok();
    let check = env.run_env(&with_key, &["db", "check"]).ok().json();
    assert_eq!(check["secret_key"], "opens the stored secrets", "{check}");
}

/// A short passphrase is taken, with a warning: the key is derived from it, so whoever has a
/// copy of the database can try passphrases offline.
#[test]
fn a_short_new_passphrase_is_warned_about() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(
        1,
        "s",
        "https://a.example.com/",
        &["--secret", SECRET, "--disabled"],
    );
    let out = env
        .run_stdin(&["key", "rotate", "--new-passphrase-stdin"], "a\n")
        .ok();
    assert!(
        out.stderr
            .contains("warning: the passphrase is under 16 characters"),
        "{}",
        out.stderr
    );
    assert_eq!(out.json()["key"], "passphrase");
}
