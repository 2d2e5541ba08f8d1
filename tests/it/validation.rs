//! Every validation rule: exit 2, a one-line message naming the option, and nothing changed.

use crate::common;

use common::Env;

/// A database with one customer and one webhook, to check that bad input changes nothing.
fn seeded() -> Env {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "existing", "https://a.example.com/", &[]);
    env
}

fn create(extra: &[&'static str]) -> Vec<&'static str> {
    let mut base = vec!["webhooks", "create", "--customer", "1"];
    let defaults: &[(&str, &[&str])] = &[
        ("--name", &["--name", "new"]),
        ("--url", &["--url", "https://b.example.com/"]),
        ("--event", &["--event", "job.failed"]),
    ];
    for (flag, args) in defaults {
        if !extra.contains(flag) {
            base.extend(*args);
        }
    }
    base.extend(extra);
    base
}

#[test]
fn bad_create_options_exit_2_naming_the_option_and_change_nothing() {
    let env = seeded();
    let before = env.dump();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (create(&["--event", "job.exploded"]), "--event"),
        (create(&["--event", "webhook.test"]), "--event"),
        (create(&["--url", "ftp://files.example.com/"]), "--url"),
        (create(&["--url", "not a url"]), "--url"),
        (create(&["--url", "https://user:pw@example.com/"]), "--url"),
        (
            create(&["--url", "http://169.254.169.254/latest/meta-data"]),
            "--url",
        ),
        (create(&["--url", "http://[::1]:8080/"]), "--url"),
        (create(&["--name", ""]), "--name"),
        (create(&["--name", "   "]), "--name"),
        (create(&["--name", &*"x".repeat(101).leak()]), "--name"),
        (create(&["--name", "existing"]), "--name"),
        (create(&["--timeout", "0s"]), "--timeout"),
        (create(&["--timeout", "121s"]), "--timeout"),
        (create(&["--timeout", "1500ms"]), "--timeout"),
        (create(&["--timeout", "soon"]), "--timeout"),
        (create(&["--max-retries", "21"]), "--max-retries"),
        (create(&["--max-retries", "-1"]), "--max-retries"),
        (create(&["--max-retries", "many"]), "--max-retries"),
        (create(&["--retry-backoff", "0s"]), "--retry-backoff"),
        (create(&["--retry-backoff", "25h"]), "--retry-backoff"),
        (create(&["--header", "NoColon"]), "--header"),
        (create(&["--header", "Bad Name: x"]), "--header"),
        (create(&["--header", "Content-Length: 1"]), "--header"),
        (
            create(&["--header", "X-Webhook-Signature: forged"]),
            "--header",
        ),
        (
            create(&["--header", "X-A: 1", "--header", "x-a: 2"]),
            "--header",
        ),
        (create(&["--secret", ""]), "--secret"),
        (create(&["--secret", "a", "--secret-stdin"]), "--secret"),
        (
            vec![
                "webhooks",
                "create",
                "--customer",
                "99",
                "--name",
                "n",
                "--url",
                "https://x.example.com/",
                "--event",
                "job.failed",
            ],
            "--customer",
        ),
        (
            vec!["webhooks", "create", "--customer", "abc", "--name", "n"],
            "--customer",
        ),
        (
            vec![
                "webhooks",
                "create",
                "--name",
                "n",
                "--url",
                "https://x.example.com/",
                "--event",
                "job.failed",
            ],
            "--customer",
        ),
        (
            vec![
                "webhooks",
                "create",
                "--customer",
                "1",
                "--url",
                "https://x.example.com/",
                "--event",
                "job.failed",
            ],
            "--name",
        ),
        (
            vec![
                "webhooks",
                "create",
                "--customer",
                "1",
                "--name",
                "n",
                "--event",
                "job.failed",
            ],
            "--url",
        ),
        (
            vec![
                "webhooks",
                "create",
                "--customer",
                "1",
                "--name",
                "n",
                "--url",
                "https://x.example.com/",
            ],
            "--event",
        ),
        (
            vec!["webhooks", "update", "1"],
            "error: update: nothing to change; give at least one option",
        ),
        (
            vec![
                "webhooks",
                "update",
                "1",
                "--name",
                "x",
                "--timeout",
                "999s",
            ],
            "--timeout",
        ),
        (
            vec!["webhooks", "update", "1", "--url", "gopher://x/"],
            "--url",
        ),
        (
            vec!["webhooks", "update", "1", "--enabled", "--disabled"],
            "--enabled",
        ),
        (vec!["webhooks", "show", "one"], "ID"),
        (vec!["webhooks", "list", "--event", "nope"], "--event"),
        (vec!["customers", "create", ""], "NAME"),
        (vec!["customers", "create", "acme"], "NAME"),
        (vec!["--output", "yaml", "webhooks", "list"], "--output"),
        (vec!["webhooks", "frobnicate"], "frobnicate"),
    ];
    for (args, needle) in cases {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{args:?} should exit 2: {}", out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{args:?}: message should name {needle}: {}",
            out.stderr
        );
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert_eq!(env.dump(), before, "{args:?} changed the database");
    }
}

#[test]
fn not_found_is_exit_1() {
    let env = seeded();
    env.run(&["webhooks", "show", "42"])
        .fails(1, "webhook 42 not found");
    env.run(&["webhooks", "update", "42", "--name", "x"])
        .fails(1, "webhook 42 not found");
    env.run(&["webhooks", "enable", "42"]).fails(1, "not found");
    env.run(&["webhooks", "disable", "42"])
        .fails(1, "not found");
}

#[test]
fn a_refused_url_never_shows_its_password() {
    let env = seeded();
    let before = env.dump();
    for (url, shown) in [
        (
            "ftp://u:hunter2@h",
            "\"ftp://u:***@h\" is not http or https",
        ),
        (
            "ftp://u:hun/ter2@h/x",
            "\"ftp://u:***@h/…\" is not a valid URL",
        ),
        (
            "https://u:hunter2@exa mple.com/",
            "\"https://u:***@exa mple.com/…\" contains a space or a control character",
        ),
    ] {
        for args in [
            create(&["--url", url]),
            vec!["webhooks", "update", "1", "--url", url],
        ] {
            let out = env.run(&args).fails(2, "--url");
            assert!(
                !out.stderr.contains("hunter2") && !out.stderr.contains("ter2"),
                "{args:?}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(shown), "{args:?}: {}", out.stderr);
        }
    }
    assert_eq!(env.dump(), before);
}

#[test]
fn invalid_input_does_not_create_a_database() {
    let env = Env::new();
    env.create_webhook("ftp://x/")
        .name("a")
        .events(&["job.failed"])
        .run()
        .fails(2, "--url");
    assert!(
        !env.db.exists(),
        "a rejected command should not create the database"
    );
}

#[test]
fn a_misspelt_allow_private_targets_is_refused_not_taken_for_yes() {
    let env = seeded();
    let before = env.dump();
    let private = create(&["--url", "http://127.0.0.1:9/x"]);
    for word in ["flase", "disabled", "nope", "2", "y"] {
        for args in [
            private.clone(),
            vec!["webhooks", "list"],
            vec!["schedule", "install", "--cron", "--print"],
        ] {
            let out = env.run_env(&[("WEBNET_ALLOW_PRIVATE_TARGETS", word)], &args);
            let out = out.fails(2, "error: WEBNET_ALLOW_PRIVATE_TARGETS: ");
            assert!(
                out.stderr
                    .contains(&format!("\"{word}\" is not a yes/no value")),
                "{word}: {}",
                out.stderr
            );
        }
    }
    // The usual words for "no" (and empty) keep the guard on; those for "yes" lift it.
    for word in ["0", "false", "FALSE", "no", "Off", ""] {
        env.run_env(&[("WEBNET_ALLOW_PRIVATE_TARGETS", word)], &private)
            .fails(2, "--url");
    }
    assert_eq!(env.dump(), before, "nothing changed");
    for (i, word) in ["1", "True", "YES", "on"].into_iter().enumerate() {
        let name = format!("local-{i}");
        let mut args = create(&["--url", "http://127.0.0.1:9/x"]);
        let at = args.iter().position(|a| *a == "new").unwrap();
        args[at] = &name;
        env.run_env(&[("WEBNET_ALLOW_PRIVATE_TARGETS", word)], &args)
            .ok();
    }
}

/// Messages QA found inaccurate or garbled, as they read now: each says what is wrong with
/// what, in the units the help uses, and never repeats a password.
#[test]
fn messages_say_exactly_what_is_wrong() {
    let env = seeded();
    let before = env.dump();
    let long_url: &'static str = format!("https://b.example.com/{}", "x".repeat(2048)).leak();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            create(&["--max-retries", "99999999999999999999"]),
            "error: --max-retries: \"99999999999999999999\" is too large: must be 0 to 20",
        ),
        (
            vec!["deliveries", "list", "--limit", "99999999999"],
            "error: --limit: \"99999999999\" is too large: must be 1 to 4294967295",
        ),
        (
            vec!["emit", "job.failed", "--customer", "1", "--event-id", "99999999999999999999"],
            "error: --event-id: \"99999999999999999999\" is too large: must be at most 9223372036854775807",
        ),
        (
            create(&["--url", "https://user:hunter2@example.com/"]),
            "error: --url: the URL contains a user name or password; send credentials with --header 'Authorization: …'",
        ),
        (
            create(&["--url", long_url]),
            "error: --url: the URL is longer than 2048 characters",
        ),
        (
            create(&["--retry-backoff", "25h"]),
            "error: --retry-backoff: \"25h\" is out of range: must be 1s to 24h",
        ),
        (
            create(&["--timeout", "121s"]),
            "error: --timeout: \"121s\" is out of range: must be 1s to 2m",
        ),
        (
            create(&["--auto-disable-after", "31days"]),
            "error: --auto-disable-after: \"31days\" is out of range: must be 0s to 30days",
        ),
        (
            vec!["targets", "allow", "10.0.0.0/8", "--note", &*"n".repeat(201).leak()],
            "error: --note: the note is longer than 200 characters",
        ),
        (
            vec!["emit", "job.failed", "--customer", "999"],
            "error: --customer: no customer 999; create one with `webnet customers create NAME`",
        ),
        (
            vec!["webhooks", "rotate-secret", "1"],
            "error: the following required arguments were not provided: <--secret-stdin|--secret <S>|--generate-secret>",
        ),
        (
            vec!["deliveries", "retry"],
            "error: the following required arguments were not provided: <ID|--failed>",
        ),
    ];
    for (args, says) in cases {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(says), "{args:?}:\n{}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert_eq!(env.dump(), before, "nothing changed");
}

/// An event's member that is no valid value is quoted as it was written, not as serde_json
/// writes the float back (`1e+23`).
#[test]
fn a_bad_member_is_quoted_as_typed() {
    let env = seeded();
    for (typed, shown) in [
        ("1e23", "line 1: customer: 1e23 is not a customer id"),
        (
            "100000000000000000000000",
            "line 1: customer: 100000000000000000000000 is not a customer id",
        ),
    ] {
        let out = env.run_stdin(
            &["emit"],
            &format!(r#"{{"customer": {typed}, "event_type": "job.failed", "job": {{}}}}"#),
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(shown), "{}", out.stderr);
        assert!(!out.stderr.contains("e+23"), "{}", out.stderr);
    }
}

#[test]
fn names_and_notes_refuse_invisible_direction_and_format_characters() {
    let env = seeded();
    let before = env.dump();
    for hidden in [
        "abc\u{202E}evil",
        "\u{202A}x",
        "a\u{2066}b\u{2069}",
        "left\u{200E}",
        "right\u{200F}",
        "arabic\u{061C}mark",
        "zero\u{200B}width",
        "\u{FEFF}bom",
    ] {
        let codepoint = format!(
            "(U+{:04X})",
            u32::from(hidden.chars().find(|c| !c.is_ascii()).unwrap())
        );
        for (args, field) in [
            (vec!["customers", "create", hidden], "NAME"),
            (create(&["--name", hidden]), "--name"),
            (vec!["webhooks", "update", "1", "--name", hidden], "--name"),
            (
                vec!["targets", "allow", "10.0.0.0/8", "--note", hidden],
                "--note",
            ),
        ] {
            let out = env.run(&args).fails(2, &format!("error: {field}: "));
            assert!(
                out.stderr.contains("invisible formatting character")
                    && out.stderr.contains(&codepoint),
                "{args:?}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains('\u{202E}'), "{}", out.stderr);
        }
    }
    assert_eq!(env.dump(), before, "nothing stored");
    // Text in any script, with the joiners it needs, is still a name.
    env.run(&[
        "customers",
        "create",
        "Zürich \u{0645}\u{06CC}\u{200C}\u{062E} 👩\u{200D}💻",
    ])
    .ok();
}

#[test]
fn emit_of_one_event_for_no_customer_is_refused_as_an_option() {
    let env = seeded();
    let before = env.dump();
    // Not "line 1: …" and "the others were recorded": there are no lines and no others.
    let out = env
        .run(&["emit", "job.failed", "--customer", "999"])
        .fails(2, "--customer: no customer 999");
    assert!(!out.stderr.contains("line 1"), "{}", out.stderr);
    assert_eq!(env.dump(), before);
    // The stdin form keeps its per-line report.
    let out = env.run_stdin(
        &["emit"],
        "{\"customer\": 999, \"event_type\": \"job.failed\", \"job\": {}}\n",
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("line 1: customer: no customer 999"),
        "{}",
        out.stderr
    );
}
