//! Input and output safety: large and cut event input on stdin, receiver text shown in tables,
//! error messages that never echo credentials and stay short, option values named in errors.

use crate::common;

use std::time::{Duration, Instant};

use common::Env;
use serde_json::json;

#[test]
fn a_one_megabyte_pretty_printed_event_is_recorded() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "big", "https://big.example.com/", &[]);
    let items: serde_json::Map<String, serde_json::Value> = (0..30_000)
        .map(|i| (format!("item{i:05}"), json!(format!("value-{i:05}"))))
        .collect();
    let event = json!({
        "customer": c,
        "event_type": "job.completed",
        "job": {"id": 1, "items": items},
    });
    let doc = serde_json::to_string_pretty(&event).unwrap();
    assert!(
        (900_000..1_040_000).contains(&doc.len()),
        "about 1 MB: {}",
        doc.len()
    );
    let started = Instant::now();
    let out = env.run_stdin(&["emit", "--queue"], &doc).ok();
    // The old splitter re-parsed the document on every line: minutes for this one.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let recorded = out.json_lines();
    assert_eq!(recorded.len(), 1, "{}", out.stderr);
    assert_eq!(recorded[0]["line"], 1);
    let id = recorded[0]["deliveries"][0]["id"].as_i64().unwrap();
    let d = env.delivery(id);
    assert_eq!(d["status"], "pending");
    assert_eq!(d["payload"]["job"]["items"]["item29999"], "value-29999");
}

#[test]
fn a_line_cut_short_is_reported_and_the_next_line_is_recorded() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "w", "https://w.example.com/", &[]);
    let valid = r#"{"customer": 1, "event_type": "job.completed", "job": {"id": 2}}"#;
    let input = format!("{{\"customer\": 1, \"event_type\":\n{valid}\n");
    let out = env.run_stdin(&["emit", "--queue"], &input);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("line 1: event: incomplete JSON"),
        "{}",
        out.stderr
    );
    let recorded = out.json_lines();
    assert_eq!(recorded.len(), 1, "{}", out.stderr);
    assert_eq!(recorded[0]["line"], 2);
}

/// Input that reopens a document on every line read again: `[`, an event, `,` repeated, then
/// a line that is not JSON. The first document breaks at the last line; the lines it held back
/// are read again once (not once per document begun among them, which took minutes).
#[test]
fn input_that_reopens_documents_is_split_in_linear_time() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "w", "https://w.example.com/", &[]);
    let event =
        format!(r#"{{"customer": {c}, "event_type": "job.completed", "job": {{"id": 1}}}}"#);
    // Under a megabyte, so the first document holds every line back to the end.
    let repeats = 12_000;
    let mut input = format!("[\n{event}\n,\n").repeat(repeats);
    input.push_str("x\n");
    let last = 3 * repeats + 1;
    let started = Instant::now();
    let out = env.run_stdin(&["emit", "--queue"], &input);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let recorded: Vec<_> = out.json_lines().iter().map(|r| r["line"].clone()).collect();
    assert_eq!(recorded, [json!(2)], "{}", out.stderr);
    let reported: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(": event: "))
        .collect();
    assert_eq!(reported.len(), 4, "{}", out.stderr);
    for (line, what) in [
        (1, "incomplete JSON"),
        (3, "not valid JSON"),
        (4, "incomplete JSON"),
        (last, "not valid JSON"),
    ] {
        assert!(
            reported
                .iter()
                .any(|l| l.contains(&format!("line {line}: event: {what}"))),
            "line {line}: {}",
            out.stderr
        );
    }
}

/// Whatever a receiver sends, a table shows it with control characters escaped.
#[test]
fn receiver_text_in_tables_has_control_characters_escaped() {
    use common::receiver::{Receiver, Reply};
    let body = "\u{1b}[2J\u{1b}]0;owned\u{7}\rboom\u{9b}31m\u{202e}txt.exe";
    let rx = Receiver::start(move |_| Reply::status(500).body(body));
    let env = Env::local();
    let c = env.customer("acme");
    let hook = env.local_webhook(c, "evil", &rx.url("/"), &[]);
    let out = env
        .run(&["emit", "job.completed", "--customer", "1"])
        .ok()
        .json();
    let id = out["deliveries"][0]["id"].as_i64().unwrap();
    // JSON stays full and exact.
    let d = env.delivery(id);
    assert_eq!(d["response_body"], body);
    assert!(d["error_message"].as_str().unwrap().contains('\u{1b}'));

    let hook = hook.to_string();
    let id = id.to_string();
    let runs = [
        env.run(&["--output", "table", "deliveries", "list"]),
        env.run(&["--output", "table", "deliveries", "show", &id]),
        env.run(&["--output", "table", "deliveries", "retry", &id]),
        env.run(&["--output", "table", "webhooks", "test", &hook]),
        env.run(&["--output", "table", "stats"]),
    ];
    for out in &runs {
        for text in [&out.stdout, &out.stderr] {
            for raw in ['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}'] {
                assert!(!text.contains(raw), "{raw:?} shown raw: {text:?}");
            }
        }
    }
    assert!(
        runs[0].stdout.contains("HTTP 500: \\x1b[2J"),
        "{}",
        runs[0].stdout
    );
    assert!(
        runs[1]
            .stdout
            .contains("\\x1b]0;owned\\x07\\rboom\\u{9b}31m\\u{202e}txt.exe"),
        "{}",
        runs[1].stdout
    );
    assert!(
        runs[3].stdout.contains("failed: HTTP 500"),
        "{}",
        runs[3].stdout
    );
    assert!(runs[3].stderr.contains("\\x1b[2J"), "{}", runs[3].stderr);
}

/// Headers no receiver would take (a value of 5,000 bytes, 33 of them) are refused when given,
/// naming `--header`, rather than making every delivery fail.
#[test]
fn headers_too_large_for_a_receiver_are_refused() {
    let env = Env::new();
    let c = env.customer("acme");
    let hook = env
        .webhook(c, "w", "https://w.example.com/", &[])
        .to_string();
    let big = format!("X-Big: {}", "v".repeat(5000));
    env.run(&["webhooks", "update", &hook, "--header", &big])
        .fails(
            2,
            "--header: the value of \"X-Big\" is 5000 bytes long: at most 4096",
        );
    let many: Vec<String> = (0..33).map(|i| format!("X-H{i}: v")).collect();
    let mut args = vec!["webhooks", "update", &hook];
    for h in &many {
        args.extend(["--header", h.as_str()]);
    }
    env.run(&args)
        .fails(2, "--header: 33 custom headers: at most 32");
    args.truncate(3 + 2 * 32);
    env.run(&args).ok();
    assert_eq!(
        env.run(&["webhooks", "show", &hook]).ok().json()["headers"]
            .as_object()
            .map(|h| h.len()),
        Some(32)
    );
}

#[test]
fn a_malformed_header_never_echoes_its_value() {
    let env = Env::new();
    let c = env.customer("acme");
    let hook = env
        .webhook(c, "w", "https://w.example.com/", &[])
        .to_string();
    let create = |header: &str| {
        env.create_webhook("https://n.example.com/")
            .name("n")
            .events(&["job.failed"])
            .args(&["--header", header])
            .run()
    };
    for header in [
        "Authorization Bearer TOPSECRET42",
        "Authorization Bearer abc:TOPSECRET42",
        "X-Api-Key TOPSECRET42",
        "TOPSECRET42",
        ": TOPSECRET42",
    ] {
        for out in [
            create(header),
            env.run(&["webhooks", "update", &hook, "--header", header]),
        ] {
            let out = out.fails(2, "--header");
            assert!(
                !out.stderr.contains("TOPSECRET42"),
                "{header}: {}",
                out.stderr
            );
        }
    }
    let out = create("Authorization Bearer TOPSECRET42");
    assert!(
        out.stderr
            .contains("--header: \"Authorization …\" is not of the form 'Name: value'"),
        "{}",
        out.stderr
    );
}

#[test]
fn long_input_is_cut_short_in_error_messages() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "w", "https://w.example.com/", &[]);
    // One megabyte of event type on stdin, and as much as an argument may hold.
    let huge = "x".repeat(1024 * 1024);
    let line = format!("{{\"customer\": 1, \"event_type\": \"{huge}\", \"job\": {{}}}}\n");
    let out = env.run_stdin(&["emit", "--queue"], &line);
    assert_eq!(out.code, 2, "{}", &out.stderr[..out.stderr.len().min(300)]);
    assert!(
        out.stderr.len() < 1000,
        "{} bytes on stderr",
        out.stderr.len()
    );
    assert!(
        out.stderr.contains("line 1: event_type: \"xxx"),
        "{}",
        out.stderr
    );
    let long = "y".repeat(100_000);
    for args in [
        vec!["emit", long.as_str(), "--customer", "1"],
        vec!["webhooks", "list", "--event", &long],
        vec![
            "webhooks",
            "create",
            "--customer",
            "1",
            "--name",
            "n",
            "--event",
            "job.failed",
            "--url",
            &long,
        ],
        vec![
            "webhooks",
            "create",
            "--customer",
            "1",
            "--name",
            "n",
            "--event",
            "job.failed",
            "--url",
            "https://n.example.com/",
            "--timeout",
            &long,
        ],
        vec!["deliveries", "list", "--since", &long],
        vec!["webhooks", "show", &long],
        vec!["webhooks", &long],
        vec!["webhooks", "list", &long],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{}: {}", args[..2].join(" "), out.stderr);
        assert!(
            out.stderr.len() < 1000,
            "{}: {} bytes",
            args[..2].join(" "),
            out.stderr.len()
        );
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("yyy…") || !out.stderr.contains("yyy"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn negative_and_malformed_values_name_the_option() {
    let env = Env::new();
    let c = env.customer("acme");
    let hook = env
        .webhook(c, "w", "https://w.example.com/", &[])
        .to_string();
    let before = env.dump();
    let create = |extra: &[&'static str]| {
        let mut args = vec![
            "webhooks",
            "create",
            "--customer",
            "1",
            "--name",
            "n",
            "--url",
            "https://n.example.com/",
            "--event",
            "job.failed",
        ];
        args.extend(extra);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--customer", "-1", "webhooks", "list"],
            "error: --customer: \"-1\" is not a customer id (a positive whole number",
        ),
        (
            vec!["deliveries", "list", "--since", "-1h"],
            "error: --since: \"-1h\" is not a duration (it cannot be negative); use e.g.",
        ),
        (
            vec!["deliveries", "list", "--since", "yesterday"],
            "error: --since: \"yesterday\" is not a duration; use e.g. 30s, 10m, 1h, 7days",
        ),
        (
            vec!["deliveries", "retry", "--failed", "--since", "-2d"],
            "error: --since: \"-2d\"",
        ),
        (
            vec!["stats", "--since", "1fortnight"],
            "error: --since: \"1fortnight\" is not a duration (unknown unit \"fortnight\")",
        ),
        (
            vec!["drain", "--max-time", "-5m"],
            "error: --max-time: \"-5m\" is not a duration",
        ),
        (
            vec![
                "webhooks",
                "rotate-secret",
                &hook,
                "--grace",
                "-1h",
                "--secret",
                "s",
            ],
            "error: --grace: \"-1h\" is not a duration",
        ),
        (
            create(&["--timeout", "-1s"]),
            "error: --timeout: \"-1s\" is not a duration",
        ),
        (
            create(&["--retry-backoff", "-60"]),
            "error: --retry-backoff: \"-60\" is not a duration",
        ),
        (
            create(&["--auto-disable-after", "never"]),
            "error: --auto-disable-after: \"never\" is not a duration",
        ),
        (
            create(&["--max-retries", "many"]),
            "error: --max-retries: \"many\" is not a whole number",
        ),
        (
            vec!["deliveries", "list", "--webhook", "-2"],
            "error: --webhook: \"-2\" is not a webhook id (a positive whole number)",
        ),
        (
            vec!["stats", "--webhook", "x"],
            "error: --webhook: \"x\" is not a webhook id",
        ),
        (
            vec!["deliveries", "list", "--limit", "-5"],
            "error: --limit: \"-5\" is not a whole number of at least 1",
        ),
        // A folder is never a key file (it would fail later with "Is a directory").
        (
            vec!["--key-file", "/", "db", "check"],
            "error: --key-file: \"/\" is a directory; give the key file's own path (e.g. /webnet.key)",
        ),
        // Zero would list nothing whatever is stored: refused as for drain.
        (
            vec!["deliveries", "list", "--limit", "0"],
            "error: --limit: \"0\" is too small: must be at least 1",
        ),
        (
            vec!["drain", "--limit", "-1"],
            "error: --limit: \"-1\" is not a whole number of at least 1",
        ),
        // Zero would send nothing and exit 0 with work due: refused, not taken for "no limit".
        (
            vec!["drain", "--limit", "0"],
            "error: --limit: \"0\" is too small: must be at least 1",
        ),
        (
            vec!["drain", "--max-time", "0s"],
            "error: --max-time: \"0s\" must be longer than 0, e.g. 30s, 10m, 90d",
        ),
        // A bare 0 is refused the same way (not for lacking a unit: 0 needs none).
        (
            vec!["drain", "--retain", "0"],
            "error: --retain: \"0\" must be longer than 0",
        ),
        (
            vec!["drain", "--concurrency", "-3"],
            "error: --concurrency: \"-3\" is out of range: must be 1 to 256",
        ),
        (
            vec!["webhooks", "show", "-1"],
            "error: ID: \"-1\" is not a webhook id (a positive whole number)",
        ),
        (
            vec!["webhooks", "update", "-1", "--name", "x"],
            "error: ID: \"-1\" is not a webhook id",
        ),
        (
            vec!["webhooks", "delete", "-7", "--yes"],
            "error: ID: \"-7\" is not a webhook id",
        ),
        (
            vec!["deliveries", "show", "-3"],
            "error: ID: \"-3\" is not a delivery id (a positive whole number)",
        ),
        (
            vec!["deliveries", "retry", "0"],
            "error: ID: \"0\" is not a delivery id",
        ),
        (
            vec!["--output", "yaml", "webhooks", "list"],
            "error: --output: \"yaml\" is not one of: table, json",
        ),
        // An option at the end of the line with nothing after it.
        (
            vec!["webhooks", "create", "--customer", "1", "--name", "z", "--url"],
            "error: --url needs a value (--url <URL>); see --help",
        ),
        (
            vec!["webhooks", "list", "--output"],
            "error: --output needs a value (--output <OUTPUT>): one of table, json; see --help",
        ),
    ];
    for (args, says) in cases {
        let out = env.run(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(says), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    assert_eq!(env.dump(), before, "nothing changed");
    // Negative numbers are still values where they are allowed.
    env.run(&[
        "emit",
        "job.failed",
        "--customer",
        "1",
        "--event-id",
        "-4",
        "--queue",
    ])
    .ok();
}

#[test]
fn a_key_given_twice_at_the_top_of_an_event_is_refused_with_its_line() {
    let env = Env::new();
    let a = env.customer("acme");
    let b = env.customer("globex");
    env.webhook(a, "a", "https://a.example.com/", &["--event", "*"]);
    env.webhook(b, "b", "https://b.example.com/", &["--event", "*"]);
    let good = r#"{"customer": 1, "event_type": "job.completed", "job": {"id": 1, "id": 2}}"#;
    let input = [
        r#"{"customer": 1, "event_type": "job.completed", "job": {}, "customer": 2}"#,
        good,
        r#"{"customer": 1, "event_type": "job.completed", "event_type": "job.failed", "job": {}}"#,
        r#"{"customer": 1, "event_type": "job.completed", "event_id": 1, "event_id": 2, "job": {}}"#,
        "{\"customer\": 1,\n \"event_type\": \"job.completed\",\n \"actor\": null,\n \"job\": {},\n \"actor\": {\"id\": 1}\n}",
        r#"{"customer": 1, "event_type": "job.completed", "job": {}, "job": {"id": 9}}"#,
        r#"{"customer": 1, "event_type": "job.completed", "event_timestamp": "2025-01-01T00:00:00Z", "event_timestamp": "2025-01-02T00:00:00Z", "job": {}}"#,
        r#"{"customer": 1, "event_type": "job.completed", "job": {}, "extra": 1, "extra": 2}"#,
    ]
    .join("\n");
    let before = env.dump();
    let out = env.run_stdin(&["emit", "--queue"], &input);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (line, key) in [
        (1, "customer"),
        (3, "event_type"),
        (4, "event_id"),
        (5, "actor"),
        (11, "job"),
        (12, "event_timestamp"),
        (13, "extra"),
    ] {
        assert!(
            out.stderr.lines().any(|l| l.starts_with(&format!(
                "error: line {line}: event: duplicate key \"{key}\""
            ))),
            "line {line} ({key}): {}",
            out.stderr
        );
    }
    let recorded = out.json_lines();
    assert_eq!(recorded.len(), 1, "only the good line: {}", out.stdout);
    assert_eq!(recorded[0]["line"], 2);
    assert_eq!(recorded[0]["customer"], 1);
    // A nested object is payload, read as before (its last key wins).
    let id = recorded[0]["deliveries"][0]["id"].as_i64().unwrap();
    assert_eq!(env.delivery(id)["payload"]["job"]["id"], 2);
    // One document on stdin, and the argument form's --data, are checked alike.
    let after_good = env.dump();
    assert_ne!(after_good, before);
    let pretty = "{\n  \"customer\": 2,\n  \"event_type\": \"job.failed\",\n  \"job\": {},\n  \"customer\": 1\n}\n";
    let out = env.run_stdin(&["emit", "--queue"], pretty);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("line 1: event: duplicate key \"customer\" (at line 5, column 12)"),
        "{}",
        out.stderr
    );
    env.run(&[
        "emit",
        "job.failed",
        "--customer",
        "1",
        "--data",
        r#"{"id": 1, "id": 2}"#,
    ])
    .fails(2, "--data: duplicate key \"id\"");
    assert_eq!(env.dump(), after_good, "nothing recorded");
}

#[test]
fn bare_numbers_are_refused_where_they_are_not_the_specs_seconds() {
    let env = Env::new();
    let c = env.customer("acme");
    let hook = env
        .webhook(c, "w", "https://w.example.com/", &["--secret", "s"])
        .to_string();
    let before = env.dump();
    for (args, says) in [
        (
            vec![
                "webhooks",
                "rotate-secret",
                &hook,
                "--grace",
                "24",
                "--secret",
                "t",
            ],
            "error: --grace: \"24\" has no unit; say which, e.g. 24h",
        ),
        (
            vec!["deliveries", "list", "--since", "5"],
            "error: --since: \"5\" has no unit",
        ),
        (
            vec!["deliveries", "retry", "--failed", "--since", "5"],
            "error: --since: \"5\" has no unit",
        ),
        (
            vec!["stats", "--since", "3600"],
            "error: --since: \"3600\" has no unit",
        ),
        (
            vec!["drain", "--max-time", "10"],
            "error: --max-time: \"10\" has no unit",
        ),
        (
            vec!["drain", "--summary-every", "60"],
            "error: --summary-every: \"60\" has no unit",
        ),
        (
            vec!["drain", "--retain", "90"],
            "error: --retain: \"90\" has no unit",
        ),
        (
            vec!["deliveries", "prune", "--older-than", "90"],
            "error: --older-than: \"90\" has no unit; say which, e.g. 90d, 90h",
        ),
    ] {
        env.run(&args).fails(2, says);
    }
    assert_eq!(env.dump(), before, "nothing changed");
    // With a unit they work; 0 needs none (the same in every unit).
    env.run(&["deliveries", "list", "--since", "5m"]).ok();
    env.run(&["drain", "--max-time", "10s"]).ok();
    env.run(&[
        "webhooks",
        "rotate-secret",
        &hook,
        "--grace",
        "0",
        "--secret",
        "t",
    ])
    .ok();
    // The spec's seconds fields still take bare seconds.
    let w = env
        .run(&[
            "webhooks",
            "update",
            &hook,
            "--timeout",
            "30",
            "--retry-backoff",
            "120",
            "--auto-disable-after",
            "3600",
        ])
        .ok()
        .json();
    assert_eq!(
        (
            &w["timeout_seconds"],
            &w["retry_backoff"],
            &w["auto_disable_after"]
        ),
        (&json!(30), &json!(120), &json!(3600))
    );
}

#[test]
fn a_database_failure_while_emit_records_is_exit_1_with_the_databases_message_not_invalid_input() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;

    let env = Env::new();
    let acme = env.customer("acme");
    let globex = env.customer("globex");
    let event = |customer: i64| {
        format!("{{\"customer\": {customer}, \"event_type\": \"job.completed\", \"job\": {{}}}}\n")
    };
    let mut child = env
        .cmd()
        .args(["emit", "--queue"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(event(acme).as_bytes()).unwrap();
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("\"line\":1"), "{first}");
    // The database changes under the running emit (a damaged file, another program): the next
    // line's customer cannot be looked up. That is the database's failure, not the line's.
    env.exec("ALTER TABLE customers RENAME TO customers_elsewhere");
    stdin.write_all(event(globex).as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Each backend's own words for the missing table.
    let missing = match env.pg {
        Some(_) => "relation \"customers\" does not exist",
        None => "no such table: customers",
    };
    assert_eq!(
        stderr,
        format!("error: database error: {missing}: line 2 and every line after it were not recorded: send them again once the database is fixed\n"),
        "no line is blamed as invalid; the user is told which lines to send again"
    );
}

/// What a new user plausibly types: spaces after the commas of `--event`, a URL without its
/// scheme, a JSON array on stdin.
#[test]
fn near_misses_are_read_or_explained() {
    let env = Env::new();
    env.customer("acme");
    let w = env
        .create_webhook("https://a.example.com/")
        .name("a")
        .events(&["job.failed, job.completed"])
        .args(&["--disabled"])
        .run()
        .ok()
        .json();
    assert_eq!(w["event_types"], json!(["job.completed", "job.failed"]));
    for url in ["127.0.0.1:9000", "localhost:9000/hook"] {
        env.create_webhook(url).name("b").run().fails(
            2,
            "has no scheme: write it with https:// (or http://) in front",
        );
    }
    let out = env.run_stdin(&["emit"], "[{\"customer\": 1}]\n");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("is a JSON array, not an event object"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("none was recorded"), "{}", out.stderr);
}

/// `event_timestamp` takes any RFC 3339 time and is sent as the spec writes it, in UTC with a
/// `Z`; what is not one is refused naming the field, and nothing of that line is recorded.
#[test]
fn event_timestamps_in_any_rfc3339_form_are_sent_in_utc() {
    let env = Env::new();
    let c = env.customer("acme");
    env.webhook(c, "a", "https://a.example.com/", &["--event", "*"]);
    let input = [
        r#"{"customer": 1, "event_type": "job.completed", "event_timestamp": "2025-12-02T03:00:00+02:00", "job": {}}"#,
        r#"{"customer": 1, "event_type": "job.completed", "event_timestamp": "2025-12-02 01:00:00.5z", "job": {}}"#,
        r#"{"customer": 1, "event_type": "job.completed", "event_timestamp": "2025-12-02T01:00:00.123456", "job": {}}"#,
    ]
    .join("\n");
    let recorded = env
        .run_stdin(&["emit", "--queue"], &input)
        .ok()
        .json_lines();
    let sent: Vec<_> = recorded
        .iter()
        .map(|r| {
            let id = r["deliveries"][0]["id"].as_i64().unwrap();
            env.delivery(id)["payload"]["event_timestamp"].clone()
        })
        .collect();
    assert_eq!(
        sent,
        [
            "2025-12-02T01:00:00Z",
            "2025-12-02T01:00:00.500Z",
            // No zone (Python's isoformat() of a UTC time) is UTC.
            "2025-12-02T01:00:00.123456Z"
        ]
    );

    let before = env.dump();
    let wrong = r#"{"customer": 1, "event_type": "job.completed", "event_timestamp": "2025-12-02T01:00+02:00", "job": {}}"#;
    let out = env.run_stdin(&["emit", "--queue"], wrong);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "event_timestamp: \"2025-12-02T01:00+02:00\" is not an RFC 3339 time such as 2025-12-02T01:00:00Z"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(env.dump(), before, "nothing recorded");
}
