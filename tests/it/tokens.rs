//! `webnet tokens create|list|revoke`: the API tokens of `webnet serve` (DESIGN §12). A token is
//! printed once, by `create`, and stored only as its SHA-256; tokens are the operator's. What a
//! token grants (`ops::tokens::authenticate`) is unit-tested in `src/ops/tokens/tests.rs`.

use crate::common;

use common::Env;
use sha2::{Digest, Sha256};

/// The ids of the tokens `tokens list` shows (with `--all`, revoked ones too).
fn listed(env: &Env, all: bool) -> Vec<i64> {
    let mut args = vec!["tokens", "list"];
    if all {
        args.push("--all");
    }
    env.run(&args)
        .ok()
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| t["id"].as_i64().expect("id"))
        .collect()
}

/// Each stored token's id and hash, as lower-case hex.
fn stored_hashes(env: &Env) -> Vec<(i64, String)> {
    let sql = match env.pg {
        Some(_) => "SELECT id, encode(hash, 'hex') FROM api_tokens ORDER BY id",
        None => "SELECT id, lower(hex(hash)) FROM api_tokens ORDER BY id",
    };
    env.rows(sql)
        .into_iter()
        .map(|r| {
            (
                r[0].as_i64().expect("id"),
                r[1].as_str().expect("hex").into(),
            )
        })
        .collect()
}

#[test]
fn a_token_is_printed_once_and_then_never_by_any_command() {
    let env = Env::new();
    env.customer("acme");
    // On a terminal's table output: the token alone on stdout, a note on stderr.
    let admin = env
        .run(&[
            "--output", "table", "tokens", "create", "--name", "ops", "--admin",
        ])
        .ok();
    let admin_token = admin.stdout.trim().to_string();
    assert!(
        admin_token.starts_with("wnt_") && admin_token.len() == 47,
        "{admin_token:?}"
    );
    assert!(
        admin.stderr.contains("shown this once only"),
        "{}",
        admin.stderr
    );
    // In JSON: the token's fields and the token.
    let made = env
        .run(&[
            "tokens",
            "create",
            "--name",
            "acme portal",
            "--customer",
            "1",
            "--read-only",
        ])
        .ok();
    let v = made.json();
    let token = v["token"].as_str().expect("token").to_string();
    assert_eq!(v["scope"], "customer");
    assert_eq!(v["customer"], 1);
    assert_eq!(v["customer_name"], "acme");
    assert_eq!(v["read_only"], true);
    assert_eq!(
        v["token_hint"],
        format!("wnt_…{}", &token[token.len() - 4..])
    );
    assert_ne!(token, admin_token);
    for t in [&admin_token, &token] {
        assert!(!admin.stderr.contains(&t[4..]) && !made.stderr.contains(&t[4..]));
    }

    let id = v["id"].as_i64().expect("id").to_string();
    let later = [
        env.run(&["tokens", "list"]).ok(),
        env.run(&["--output", "table", "tokens", "list", "--all"])
            .ok(),
        env.run(&["db", "check"]).ok(),
        env.run(&["--output", "table", "db", "check"]).ok(),
        env.run(&["tokens", "revoke", &id]).ok(),
        env.run(&["--output", "table", "tokens", "revoke", &id])
            .ok(),
        env.run(&["tokens", "list", "--all"]).ok(),
    ];
    for out in &later {
        for t in [&admin_token, &token] {
            assert!(
                !out.stdout.contains(&t[4..]) && !out.stderr.contains(&t[4..]),
                "{}{}",
                out.stdout,
                out.stderr
            );
        }
    }
    assert!(later[1]
        .stdout
        .contains(&format!("wnt_…{}", &token[token.len() - 4..])));

    // The database holds each token's SHA-256, and nowhere the token itself.
    let expected: Vec<(i64, String)> = [&admin_token, &token]
        .iter()
        .enumerate()
        .map(|(i, t)| (i as i64 + 1, hex::encode(Sha256::digest(t.as_bytes()))))
        .collect();
    assert_eq!(stored_hashes(&env), expected);
    let dump = env.dump();
    for t in [&admin_token, &token] {
        assert!(!dump.contains(&t[4..]), "the token is in the database");
    }
    crate::sqlite_only!("the file's bytes on disk");
    for file in ["webhooks.db", "webhooks.db-wal"] {
        let Ok(bytes) = std::fs::read(env.dir.path().join(file)) else {
            continue;
        };
        for t in [&admin_token, &token] {
            let needle = &t.as_bytes()[4..];
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the token is in {file}"
            );
        }
    }
}

#[test]
fn create_takes_exactly_one_of_customer_or_admin_and_an_existing_customer() {
    let env = Env::new();
    env.customer("acme");
    let before = env.dump();
    env.run(&["tokens", "create", "--name", "ci"])
        .fails(2, "--customer: give --customer ID");
    env.run(&[
        "tokens",
        "create",
        "--name",
        "ci",
        "--customer",
        "1",
        "--admin",
    ])
    .fails(2, "--admin: give either --customer ID");
    env.run(&["tokens", "create", "--name", "ci", "--customer", "9"])
        .fails(
            2,
            "--customer: no customer 9; create one with `webnet customers create NAME`",
        );
    env.run(&["tokens", "create", "--name", "ci", "--customer", "x"])
        .fails(2, "--customer");
    assert_eq!(env.dump(), before, "nothing created");

    // Neither on a database that does not exist yet (a mistyped --db): nothing is made, not
    // even for an admin, whose token no server of the real database would take.
    let fresh = Env::new();
    fresh
        .run(&["tokens", "create", "--name", "ci"])
        .fails(2, "--customer");
    fresh
        .run(&["tokens", "create", "--name", "ci", "--admin"])
        .fails(1, "error: no webnet");
    // No database made either: listing finds none (a file, or webnet's schema on PostgreSQL).
    fresh.run(&["tokens", "list"]).fails(1, "create");
}

#[test]
fn a_bad_name_is_refused_naming_the_option() {
    let env = Env::new();
    let long = "x".repeat(101);
    for bad in ["", "   ", "a\u{7}b", "zero\u{200b}width", &long] {
        env.run(&["tokens", "create", "--name", bad, "--admin"])
            .fails(2, "--name");
    }
    env.run(&["tokens", "create", "--admin"]).fails(2, "--name");
}

#[test]
fn revoked_tokens_leave_the_list_stay_in_list_all_and_revoke_is_idempotent() {
    let env = Env::new();
    env.customer("acme");
    env.run(&["tokens", "create", "--name", "a", "--admin"])
        .ok();
    env.run(&["tokens", "create", "--name", "b", "--admin"])
        .ok();
    assert_eq!(listed(&env, false), [2, 1], "newest first");

    let out = env.run(&["tokens", "revoke", "1"]).ok();
    let revoked_at = out.json()["revoked_at"].clone();
    assert!(revoked_at.is_string(), "{}", out.stdout);
    assert!(out.stderr.contains("revoked token 1 (a)"), "{}", out.stderr);
    assert_eq!(listed(&env, false), [2]);
    assert_eq!(listed(&env, true), [2, 1]);

    let again = env.run_after(
        std::time::Duration::from_secs(60),
        &["tokens", "revoke", "1"],
    );
    let again = again.ok();
    assert_eq!(
        again.json()["revoked_at"],
        revoked_at,
        "first revocation kept"
    );
    assert!(again.stderr.contains("revoked already"), "{}", again.stderr);

    env.run(&["tokens", "revoke", "9"])
        .fails(1, "token 9 not found");
    env.run(&["tokens", "revoke", "0"]).fails(2, "ID");
    env.run(&["tokens", "revoke", "2"]).ok();
    let empty = env.run(&["--output", "table", "tokens", "list"]).ok();
    assert!(
        empty.stderr.contains("no active API tokens (2 revoked"),
        "{}",
        empty.stderr
    );
}

#[test]
fn a_pinned_customer_may_not_create_list_or_revoke_tokens() {
    let env = Env::new();
    env.customer("acme");
    env.run(&["tokens", "create", "--name", "ops", "--admin"])
        .ok();
    let before = env.dump();
    let pinned = [("WEBNET_CUSTOMER", "1")];
    env.run_env(&pinned, &["tokens", "create", "--name", "x", "--admin"])
        .fails(2, "WEBNET_CUSTOMER: this shell is pinned to customer 1");
    env.run_env(&pinned, &["tokens", "create", "--name", "x"])
        .fails(2, "WEBNET_CUSTOMER: this shell is pinned to customer 1");
    env.run_env(
        &pinned,
        &["tokens", "create", "--name", "x", "--customer", "1"],
    )
    .fails(2, "WEBNET_CUSTOMER");
    for args in [&["tokens", "list"][..], &["tokens", "revoke", "1"]] {
        env.run_env(&pinned, args)
            .fails(2, "API tokens are the operator's");
        let mut with_option = vec!["--customer", "1"];
        with_option.extend(args);
        env.run(&with_option).fails(2, "--customer");
    }
    assert_eq!(env.dump(), before, "nothing changed");
}

/// A new token that could not be printed (a full disk, a closed pipe) was never seen, so it is
/// revoked at once and the command fails saying so; it is not left working unseen.
#[test]
fn a_token_that_cannot_be_printed_is_revoked_and_an_error() {
    let env = Env::new();
    env.customer("acme");
    for format in ["json", "table"] {
        let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
            crate::skipped!("SKIPPED: no /dev/full here");
            return;
        };
        let out = env
            .cmd()
            .args([
                "--output", format, "tokens", "create", "--name", "lost", "--admin",
            ])
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{format}: {stderr}");
        assert!(
            stderr.starts_with("error: token ")
                && stderr.contains("was created, but printing it failed")
                && stderr.contains("it was revoked at once: create another"),
            "{format}: {stderr}"
        );
        assert!(!stderr.contains("wnt_"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    assert_eq!(listed(&env, false), Vec::<i64>::new(), "none left working");
    assert_eq!(listed(&env, true).len(), 2, "both revoked");
}
