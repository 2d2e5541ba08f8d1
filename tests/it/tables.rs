//! Tables for people: fitted to the terminal (or `COLUMNS`), never collapsed on a terminal that
//! reports no size, times shown short; JSON keeps everything in full.

use crate::common;

use common::receiver::Receiver;
use common::Env;

fn setup() -> (Env, Receiver) {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "ops-notifications", &rx.url("/hook"), &[]);
    for _ in 0..3 {
        env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    }
    (env, rx)
}

#[test]
fn tables_fit_columns_and_show_times_short() {
    let (env, _rx) = setup();
    let out = env
        .run_env(
            &[("COLUMNS", "80")],
            &["--output", "table", "deliveries", "list"],
        )
        .ok();
    for line in out.stdout.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    // Headers stay on one line and times are short ("0s ago"), not wrapped RFC 3339.
    let header = out.stdout.lines().next().unwrap_or_default();
    for h in ["ID", "WEBHOOK", "EVENT", "STATUS", "ATTEMPTS", "CREATED"] {
        assert!(
            header.contains(h),
            "{h} not on the header line: {}",
            out.stdout
        );
    }
    assert!(out.stdout.contains(" ago"), "{}", out.stdout);
    // JSON keeps the full time.
    let json = env.run(&["deliveries", "list"]).ok().json();
    let created = json[0]["created_at"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(created).is_ok(), "{created}");
    assert!(!out.stdout.contains(created), "{}", out.stdout);
    // Every row is one line, with the whole event type.
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
    assert_eq!(
        out.stdout.matches("job.completed").count(),
        3,
        "{}",
        out.stdout
    );
}

#[test]
fn a_terminal_with_no_size_does_not_collapse_columns() {
    let (env, _rx) = setup();
    let mut cmd = env.tty_cmd();
    cmd.env_remove("COLUMNS").args(["deliveries", "list"]);
    let mut p = rexpect::session::spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
    // Whole words in one cell: columns were not squeezed to a character each.
    p.exp_string("ops-notifications")
        .expect("the webhook name in one piece");
    p.exp_string("job.completed")
        .expect("the event type in one piece");
    p.exp_eof().unwrap();
}

#[test]
fn long_values_are_cut_on_one_line_and_a_pinned_list_drops_the_customer() {
    let env = Env::local();
    let c = env.customer("acme");
    let long_url =
        "https://receiver.example.com/a/very/long/path/that/does/not/fit/in/eighty/columns";
    for i in 0..2 {
        env.local_webhook(
            c,
            &format!("a-rather-long-webhook-name-{i}"),
            long_url,
            &[
                "--event",
                "job.*,compliance.violation_detected",
                "--disabled",
            ],
        );
    }
    let table = |pinned: bool| {
        let mut args = vec!["--output", "table"];
        if pinned {
            args.extend(["--customer", "1"]);
        }
        args.extend(["webhooks", "list"]);
        env.run_env(&[("COLUMNS", "80")], &args).ok().stdout
    };
    for pinned in [false, true] {
        let out = table(pinned);
        assert_eq!(out.lines().count(), 3, "one line per webhook:\n{out}");
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "wider than 80: {line}");
        }
        assert!(out.contains('…'), "long values are cut:\n{out}");
        let header = out.lines().next().unwrap();
        assert_eq!(header.contains("CUSTOMER"), !pinned, "{header}");
    }
    // JSON keeps the whole URL.
    let json = env.run(&["webhooks", "list"]).ok().json();
    assert_eq!(json[0]["url"], long_url);
    // A list cut short by --limit says so (on stderr, tables only).
    env.run(&["webhooks", "enable", "1"]).ok();
    for _ in 0..2 {
        env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
            .ok();
    }
    let out = env
        .run(&["--output", "table", "deliveries", "list", "--limit", "1"])
        .ok();
    assert!(out.stderr.contains("more with --limit"), "{}", out.stderr);
    assert!(
        out.stdout.contains("due now"),
        "a queued delivery is due now:\n{}",
        out.stdout
    );
    // Deliveries too: the customer column, unless pinned.
    for pinned in [false, true] {
        let mut args = vec!["--output", "table"];
        if pinned {
            args.extend(["--customer", "1"]);
        }
        args.extend(["deliveries", "list"]);
        let out = env.run_env(&[("COLUMNS", "120")], &args).ok().stdout;
        let header = out.lines().next().unwrap_or_default();
        assert_eq!(header.contains("CUSTOMER"), !pinned, "{out}");
    }
}
