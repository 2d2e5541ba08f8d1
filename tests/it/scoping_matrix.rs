//! Every command × pinned or not × own or foreign id: a pinned command never shows another
//! customer's data and never changes it.

use crate::common;

use common::receiver::{Receiver, Reply};
use common::Env;

const FOREIGN_MARK: &str = "globex-private";

/// acme (1) owns webhook 1 and delivery 1; globex (2) owns webhook 2 and delivery 2. Both
/// deliveries failed, so both can be retried.
fn setup(rx: &Receiver) -> Env {
    let env = Env::local();
    env.customer("acme");
    env.customer(FOREIGN_MARK);
    env.local_webhook(1, "acme-hook", &rx.url("/acme"), &["--max-retries", "0"]);
    env.local_webhook(
        2,
        &format!("{FOREIGN_MARK}-hook"),
        &rx.url("/globex"),
        &[
            "--max-retries",
            "0",
            "--header",
            "X-Tenant: globex-private-tenant",
        ],
    );
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&[
        "emit",
        "job.completed",
        "--customer",
        "2",
        "--data",
        "{\"note\": \"globex-private-payload\"}",
    ])
    .ok();
    env
}

fn commands(id: &str) -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.replace("ID", id)).collect::<Vec<_>>();
    vec![
        v(&["webhooks", "show", "ID"]),
        v(&["webhooks", "update", "ID", "--timeout", "5s"]),
        v(&["webhooks", "disable", "ID"]),
        v(&["webhooks", "enable", "ID"]),
        v(&["webhooks", "test", "ID"]),
        v(&["deliveries", "show", "ID"]),
        v(&["deliveries", "retry", "ID"]),
        v(&["webhooks", "delete", "ID", "--yes"]),
    ]
}

#[test]
fn pinned_commands_on_foreign_ids_say_not_found_and_change_nothing() {
    let rx = Receiver::start(|_| Reply::status(500));
    let env = setup(&rx);
    let pin = [("WEBNET_CUSTOMER", "1")];
    let before = env.dump();
    let requests_before = rx.count();
    for args in commands("2") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = env.run_env(&pin, &args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("not found"), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(
            !out.stderr.contains(FOREIGN_MARK),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert_eq!(
        env.dump(),
        before,
        "a pinned command changed another customer's data"
    );
    assert_eq!(
        rx.count(),
        requests_before,
        "a pinned command sent to another customer's receiver"
    );
    // Creating or emitting for the other customer is refused as invalid input.
    for args in [
        vec![
            "webhooks",
            "create",
            "--customer",
            "2",
            "--name",
            "x",
            "--url",
            "http://127.0.0.1:9/",
            "--event",
            "job.failed",
        ],
        vec!["emit", "job.completed", "--customer", "2"],
        vec!["customers", "create", "initech"],
    ] {
        // Named by what pins it: `--customer` when given, else the shell's variable.
        let named = if args.contains(&"--customer") {
            "--customer"
        } else {
            "WEBNET_CUSTOMER"
        };
        env.run_env(&pin, &args).fails(2, named);
    }
    assert_eq!(env.dump(), before);
}

#[test]
fn pinned_lists_show_no_foreign_data() {
    let rx = Receiver::start(|_| Reply::status(500));
    let env = setup(&rx);
    let pin = [("WEBNET_CUSTOMER", "1")];
    for args in [
        vec!["customers", "list"],
        vec!["webhooks", "list"],
        vec!["deliveries", "list"],
        vec!["deliveries", "list", "--status", "failed"],
        vec!["--output", "table", "webhooks", "list"],
        vec!["--output", "table", "deliveries", "list"],
    ] {
        let out = env.run_env(&pin, &args).ok();
        for mark in [FOREIGN_MARK, "globex"] {
            assert!(
                !out.stdout.contains(mark) && !out.stderr.contains(mark),
                "{args:?} shows {mark}: {}",
                out.stdout
            );
        }
    }
    // Another customer's webhook id is "not found", like any id that never existed here.
    let out = env
        .run_env(&pin, &["deliveries", "list", "--webhook", "2"])
        .fails(1, "webhook 2 not found");
    assert!(!out.stderr.contains(FOREIGN_MARK) && !out.stderr.contains("globex"));
    // Bulk retry, drain and the drain a pinned shell schedules touch only the pinned
    // customer's deliveries.
    let before = rx.requests().iter().filter(|r| r.path == "/globex").count();
    env.run_env(&pin, &["deliveries", "retry", "--failed"]).ok();
    env.run(&["emit", "job.completed", "--customer", "2", "--queue"])
        .ok();
    assert_eq!(env.run_env(&pin, &["drain"]).ok().json()["attempted"], 0);
    let line = env
        .run_env(&pin, &["schedule", "install", "--cron", "--print"])
        .ok()
        .stdout;
    let command = line.trim().trim_start_matches("* * * * * ");
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env_remove("WEBNET_CUSTOMER")
        .output()
        .unwrap();
    assert!(ran.status.success(), "{command}");
    assert_eq!(
        rx.requests().iter().filter(|r| r.path == "/globex").count(),
        before
    );
    assert_eq!(
        env.delivery(3)["status"],
        "pending",
        "globex's queued one waits"
    );
}

#[test]
fn own_ids_work_pinned_and_every_id_works_unpinned() {
    let rx = Receiver::start(|_| Reply::status(500));
    let env = setup(&rx);
    for (pin, id) in [(Some("1"), "1"), (None, "2")] {
        for args in commands(id) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = match pin {
                Some(p) => env.run_env(&[("WEBNET_CUSTOMER", p)], &args),
                None => env.run(&args),
            };
            // `webhooks test` and `deliveries retry` exit 1 when the receiver answers 500;
            // what matters here is that the command reached the webhook or delivery.
            assert!(
                !out.stderr.contains("not found"),
                "{pin:?} {args:?}: {}",
                out.stderr
            );
            assert!(
                out.code == 0 || args[1] == "test" || args[1] == "retry",
                "{pin:?} {args:?}: {}",
                out.stderr
            );
        }
    }
}
