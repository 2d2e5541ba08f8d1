//! Secrets are write-only: never in any output, never in clear in the database file.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use common::Env;

const SECRET: &str = "swordfish-7d1c0e";

#[test]
fn secret_never_appears_in_any_output() {
    let env = Env::new();
    env.customer("acme");
    let mut outputs = Vec::new();
    let mut run = |args: &[&str]| {
        let out = env.run(args);
        outputs.push(format!("{}\n{}", out.stdout, out.stderr));
        out
    };
    let create = env
        .create_webhook("https://a.example.com/")
        .name("a")
        .events(&["job.failed"])
        .args(&["--secret", SECRET])
        .argv();
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    run(&create).ok();
    run(&create);
    run(&["webhooks", "show", "1"]).ok();
    run(&["--output", "table", "webhooks", "show", "1"]).ok();
    run(&["webhooks", "list"]).ok();
    run(&["--output", "table", "webhooks", "list"]).ok();
    run(&[
        "webhooks",
        "update",
        "1",
        "--secret",
        SECRET,
        "--timeout",
        "5s",
    ])
    .ok();
    run(&[
        "webhooks",
        "update",
        "1",
        "--secret",
        SECRET,
        "--timeout",
        "500s",
    ]);
    run(&["webhooks", "disable", "1"]).ok();
    for o in &outputs {
        assert!(!o.contains(SECRET), "secret leaked in {o}");
    }
    assert!(outputs[2].contains("\"has_secret\":true"));
    if env.pg.is_some() {
        // Every row as text (bytea as hex).
        let dump = env.dump();
        assert!(
            dump.contains("\\x"),
            "the sealed secret is in the dump: {dump}"
        );
        for clear in [SECRET.to_string(), hex::encode(SECRET)] {
            assert!(
                !dump.contains(&clear),
                "secret in clear in the database: {dump}"
            );
        }
        return;
    }
    let raw = std::fs::read(&env.db).unwrap();
    let wal = std::fs::read(env.db.with_extension("db-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "secret in clear in the database"
        );
    }
}

#[test]
fn credential_headers_are_redacted_in_output() {
    let env = Env::new();
    env.customer("acme");
    let w = env
        .create_webhook("https://a.example.com/")
        .name("a")
        .events(&["job.failed"])
        .args(&[
            "--header",
            "Authorization: Bearer tok-123",
            "--header",
            "X-Api-Key: key-456",
            "--header",
            "X-Team: netops",
        ])
        .run()
        .ok();
    assert!(
        !w.stdout.contains("tok-123") && !w.stdout.contains("key-456"),
        "{}",
        w.stdout
    );
    assert!(w.stdout.contains("netops"));
    let shown = env
        .run(&["--output", "table", "webhooks", "show", "1"])
        .ok()
        .stdout;
    assert!(
        !shown.contains("tok-123") && shown.contains("[redacted]"),
        "{shown}"
    );
}

#[test]
fn database_and_key_file_are_private() {
    let env = Env::new();
    env.customer("acme");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    if env.pg.is_none() {
        assert_eq!(mode(&env.db), 0o600);
    }
    // On PostgreSQL, the file WEBNET_KEY_FILE names (the same path).
    let key = env.key_file();
    assert!(!key.exists(), "no key file until a secret is stored");
    env.webhook(1, "a", "https://a.example.com/", &["--secret", SECRET]);
    assert_eq!(mode(&key), 0o600);
    let first = std::fs::read(&key).unwrap();
    env.webhook(1, "b", "https://b.example.com/", &["--secret", "another"]);
    assert_eq!(
        std::fs::read(&key).unwrap(),
        first,
        "the key file is created once"
    );
}

#[test]
fn a_changed_key_is_refused_before_storing_a_secret() {
    let env = Env::new();
    env.customer("acme");
    env.create_webhook("https://a.example.com/")
        .name("a")
        .events(&["job.failed"])
        .args(&["--secret", "s1"])
        .var("WEBNET_SECRET_KEY", "first passphrase")
        .run()
        .ok();
    assert!(
        !env.dir.path().join("webhooks.db.key").exists(),
        "WEBNET_SECRET_KEY replaces the key file"
    );
    let before = env.dump();
    env.run_env(
        &[("WEBNET_SECRET_KEY", "second passphrase")],
        &["webhooks", "update", "1", "--secret", "s2"],
    )
    .fails(1, "secret key");
    assert_eq!(env.dump(), before);
    env.run_env(
        &[("WEBNET_SECRET_KEY", "first passphrase")],
        &["webhooks", "update", "1", "--secret", "s2"],
    )
    .ok();
}

#[test]
fn secret_never_appears_in_delivery_output_attempt_logs_or_errors() {
    use common::receiver::{Receiver, Reply};
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.index == 0 {
            Reply::status(500).body("bad")
        } else {
            Reply::ok()
        }
    });
    env.customer("acme");
    let mut outputs = Vec::new();
    let mut keep = |o: common::Out| {
        outputs.push(format!("{}\n{}", o.stdout, o.stderr));
    };
    keep(
        env.create_webhook(&rx.url("/"))
            .name("s")
            .args(&[
                "--secret-stdin",
                "--header",
                &format!("X-Api-Key: {SECRET}-header"),
            ])
            .stdin(&format!("{SECRET}\n"))
            .run(),
    );
    keep(env.run(&["emit", "job.completed", "--customer", "1"]));
    keep(env.run(&["deliveries", "show", "1"]));
    keep(env.run(&["--output", "table", "deliveries", "show", "1"]));
    keep(env.run(&["deliveries", "list"]));
    keep(env.run(&["deliveries", "retry", "1"]));
    keep(env.run(&["webhooks", "test", "1"]));
    keep(env.run(&["drain"]));
    keep(env.run(&["deliveries", "retry", "42"]));
    keep(env.run_env(
        &[("WEBNET_SECRET_KEY", "wrong")],
        &["webhooks", "test", "1"],
    ));
    assert!(
        outputs[2].contains("X-Webhook-Signature"),
        "the attempt log lists the signature header"
    );
    for o in &outputs {
        assert!(!o.contains(SECRET), "secret leaked: {o}");
    }
    for path in [env.db.clone(), env.db.with_extension("db-wal")] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "secret in clear in {}",
            path.display()
        );
    }
    assert_eq!(
        rx.requests()[0]
            .header("x-api-key")
            .map(|v| v.starts_with(SECRET)),
        Some(true),
        "the header itself is sent"
    );
}

#[test]
fn every_secret_read_from_stdin_names_its_errors_alike() {
    let env = Env::new();
    env.customer("acme");
    env.webhook(1, "a", "https://a.example.com/", &[]);
    let readers: [&[&str]; 4] = [
        &["webhooks", "update", "1", "--secret-stdin"],
        &["webhooks", "rotate-secret", "1", "--secret-stdin"],
        &["listen", "--port", "0", "--count", "1", "--secret-stdin"],
        &[
            "webhooks",
            "create",
            "--customer",
            "1",
            "--name",
            "b",
            "--url",
            "https://b.example.com/",
            "--event",
            "job.failed",
            "--secret-stdin",
        ],
    ];
    let before = env.dump();
    for args in readers {
        // A problem with standard input names the option that reads it.
        env.run_stdin(args, "")
            .fails(2, "error: --secret-stdin: standard input held no secret");
        // A value that is no secret names --secret, wherever it came from, and is not echoed.
        let out = env
            .run_stdin(args, "tab\tinside-7f3a\n")
            .fails(2, "error: --secret: ");
        assert!(!out.stderr.contains("inside-7f3a"), "{}", out.stderr);
    }
    env.run_stdin(&["key", "rotate", "--new-passphrase-stdin"], "")
        .fails(
            2,
            "error: --new-passphrase-stdin: standard input held no passphrase",
        );
    assert_eq!(env.dump(), before, "nothing changed");
}

#[test]
fn header_values_that_are_credentials_are_hidden_whatever_the_header_is_called() {
    use common::receiver::Receiver;
    let env = Env::local();
    let rx = Receiver::ok();
    env.customer("acme");
    let bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1cHN0cmVhbSJ9.Zm9vYmFyYmF6";
    let basic = "Basic dXNlcjpodW50ZXIyLXBhc3N3b3Jk";
    let github = "ghp_R8x2TqLm0Zk4Vn7Yp1Ws9Hd3Jf6Gb5Nc2Ae0";
    let aws = "AKIAZ7QW3ERT5YUI8OPL";
    let values = [bearer, basic, github, aws];
    // What would leak: each value without its (ordinary) scheme word.
    let needles: Vec<&str> = values
        .iter()
        .map(|v| v.rsplit(' ').next().unwrap())
        .collect();
    let mut outputs = Vec::new();
    let mut keep = |o: common::Out| {
        outputs.push(format!("{}\n{}", o.stdout, o.stderr));
        o
    };
    let upstream = format!("X-Upstream: {bearer}");
    let creds = format!("X-Creds: {basic}");
    keep(
        env.create_webhook(&rx.url("/"))
            .name("h")
            .args(&[
                "--header",
                &upstream,
                "--header",
                &creds,
                "--header",
                "X-Team: netops",
            ])
            .run(),
    )
    .ok();
    let github_header = format!("X-Gh: {github}");
    let aws_header = format!("X-Aws-Id: {aws}");
    keep(env.run(&[
        "webhooks",
        "update",
        "1",
        "--header",
        &github_header,
        "--header",
        &aws_header,
    ]))
    .ok();
    let shown = keep(env.run(&["webhooks", "show", "1"])).ok().json();
    assert_eq!(shown["headers"]["X-Upstream"], "[redacted]");
    assert_eq!(shown["headers"]["X-Creds"], "[redacted]");
    assert_eq!(shown["headers"]["X-Gh"], "[redacted]");
    assert_eq!(shown["headers"]["X-Aws-Id"], "[redacted]");
    assert_eq!(shown["headers"]["X-Team"], "netops");
    keep(env.run(&["--output", "table", "webhooks", "show", "1"])).ok();
    keep(env.run(&["webhooks", "list"])).ok();
    keep(env.run(&["--output", "table", "webhooks", "list"])).ok();
    keep(env.run(&["emit", "job.completed", "--customer", "1"])).ok();
    keep(env.run(&["webhooks", "test", "1"])).ok();
    let logged = keep(env.run(&["deliveries", "show", "1"])).ok().json();
    let sent = &logged["attempt_log"][0]["request_headers"];
    for name in ["X-Upstream", "X-Creds", "X-Gh", "X-Aws-Id"] {
        assert_eq!(sent[name], "[redacted]", "{name}: {sent}");
    }
    assert_eq!(sent["X-Team"], "netops");
    keep(env.run(&["--output", "table", "deliveries", "show", "1"])).ok();
    keep(env.run(&["--output", "table", "deliveries", "show", "2"])).ok();
    keep(env.run(&["deliveries", "list"])).ok();
    for o in &outputs {
        for needle in &needles {
            assert!(!o.contains(needle), "{needle} leaked: {o}");
        }
    }
    for path in [env.db.clone(), env.db.with_extension("db-wal")] {
        let bytes = std::fs::read(&path).unwrap_or_default();
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in clear in {}",
                path.display()
            );
        }
    }
    // The receiver gets every header as given.
    let r = rx.wait_for(2, std::time::Duration::from_secs(5));
    for req in &r {
        assert_eq!(req.header("x-upstream"), Some(bearer));
        assert_eq!(req.header("x-creds"), Some(basic));
        assert_eq!(req.header("x-gh"), Some(github));
        assert_eq!(req.header("x-aws-id"), Some(aws));
    }
}

/// A Slack-, Mattermost- or Teams-style URL authenticates by itself: whoever reads it can post.
#[test]
fn a_token_in_the_url_is_never_shown_but_is_what_gets_sent() {
    let env = Env::local();
    let rx = common::receiver::Receiver::ok();
    env.customer("acme");
    let token_path = "/hooks/xk7b3oq9bjfg8ngmaaa4zt4cuw";
    let url = rx.url(&format!("{token_path}?sig=Zm9vYmFyMTIz&team=netops"));
    let masked = rx.url("/hooks/[redacted]?sig=[redacted]&team=netops");
    let created = env.create_webhook(&url).name("chat").local().run().ok();
    let mut shown = vec![created.stdout.clone()];
    assert_eq!(created.json()["url"], masked.as_str());
    for args in [
        &["webhooks", "show", "1"][..],
        &["--output", "table", "webhooks", "show", "1"],
        &["webhooks", "list"],
        &["--output", "table", "webhooks", "list"],
    ] {
        let out = env.run(args).ok();
        shown.push(out.stdout + &out.stderr);
    }
    for out in &shown {
        assert!(
            !out.contains("xk7b3oq9") && !out.contains("Zm9vYmFy"),
            "{out}"
        );
    }
    assert!(shown[1].contains("[redacted]"), "{}", shown[1]);

    // The stored URL is sent whole.
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    assert_eq!(
        rx.wait_for(1, std::time::Duration::from_secs(10))[0].path,
        format!("{token_path}?sig=Zm9vYmFyMTIz&team=netops")
    );

    // On the command line a URL is typed: one with "[redacted]" in it, even the one shown, is
    // refused (the API and the web form keep the stored URL when given back what they showed).
    env.run_local(&[
        "webhooks", "update", "1", "--url", &masked, "--name", "chat2",
    ])
    .fails(2, "give the whole URL");
    env.run_local(&["webhooks", "update", "1", "--name", "chat2"])
        .ok();
    let other = rx.url("/hooks/[redacted]");
    env.run_local(&["webhooks", "update", "1", "--url", &other])
        .fails(2, "--url");
    env.run_local(&[
        "webhooks",
        "update",
        "1",
        "--url",
        &other.replace("[redacted]", "%5Bredacted%5D"),
    ])
    .fails(2, "[redacted]");
    env.create_webhook(&masked)
        .name("copy")
        .local()
        .run()
        .fails(2, "give the whole URL");
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let got = rx.wait_for(2, std::time::Duration::from_secs(10));
    assert_eq!(got[1].path, got[0].path, "the stored URL is unchanged");
    assert_eq!(
        env.run(&["webhooks", "show", "1"]).ok().json()["name"],
        "chat2"
    );
}

/// `[redacted]` given back for a credential header keeps the stored value, whatever the case
/// of its name or of the placeholder; with nothing stored under that name it is refused, never
/// stored or sent as it is.
#[test]
fn a_redacted_header_given_back_keeps_the_stored_credential() {
    let env = Env::local();
    let rx = common::receiver::Receiver::ok();
    env.customer("acme");
    env.local_webhook(
        1,
        "h",
        &rx.url("/in"),
        &["--header", "Authorization: Bearer keep-me"],
    );
    env.run(&[
        "webhooks",
        "update",
        "1",
        "--header",
        "authorization: [REDACTED]",
        "--header",
        "X-Team: sre",
    ])
    .ok();
    env.run(&[
        "webhooks",
        "update",
        "1",
        "--header",
        "X-Api-Key: [redacted]",
    ])
    .fails(2, "none is stored under this name");
    env.run(&["webhooks", "test", "1"]).ok();
    let got = &rx.wait_for(1, std::time::Duration::from_secs(5))[0];
    assert_eq!(got.header("authorization"), Some("Bearer keep-me"));
    assert_eq!(got.header("x-team"), Some("sre"));
    assert_eq!(got.header("x-api-key"), None);
}
