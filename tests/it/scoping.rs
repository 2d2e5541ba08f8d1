//! DESIGN §3: a command pinned to one customer sees and changes only that customer's data.

use crate::common;

use common::Env;

fn two_customers() -> Env {
    let env = Env::new();
    let a = env.customer("acme");
    let b = env.customer("globex");
    env.webhook(a, "acme-hook", "https://a.example.com/", &[]);
    env.webhook(
        b,
        "globex-hook",
        "https://b.example.com/",
        &["--secret", "globex-secret"],
    );
    env
}

#[test]
fn pinned_lists_show_only_the_customer() {
    let env = two_customers();
    for pin in [vec!["--customer", "1"], vec![]] {
        let mut args = pin.clone();
        args.extend(["webhooks", "list"]);
        let out = if pin.is_empty() {
            env.run_env(&[("WEBNET_CUSTOMER", "1")], &args)
        } else {
            env.run(&args)
        }
        .ok();
        assert!(out.stdout.contains("acme-hook"));
        assert!(!out.stdout.contains("globex"), "{}", out.stdout);
    }
    let customers = env.run(&["--customer", "2", "customers", "list"]).ok();
    assert!(customers.stdout.contains("globex") && !customers.stdout.contains("acme"));
    // Unpinned, everything is visible.
    let all = env.run(&["webhooks", "list"]).ok().stdout;
    assert!(all.contains("acme-hook") && all.contains("globex-hook"));
}

#[test]
fn pinned_cannot_see_or_change_another_customers_webhook() {
    let env = two_customers();
    let before = env.dump();
    for args in [
        vec!["webhooks", "show", "2"],
        vec!["webhooks", "update", "2", "--name", "stolen"],
        vec![
            "webhooks",
            "update",
            "2",
            "--url",
            "https://evil.example.com/",
        ],
        vec!["webhooks", "enable", "2"],
        vec!["webhooks", "disable", "2"],
        vec!["webhooks", "delete", "2", "--yes"],
    ] {
        let out = env.run_env(&[("WEBNET_CUSTOMER", "1")], &args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("webhook 2 not found"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("globex"));
    }
    assert_eq!(env.dump(), before);
    // Its own webhook is fine.
    env.run_env(&[("WEBNET_CUSTOMER", "1")], &["webhooks", "disable", "1"])
        .ok();
}

#[test]
fn pinned_cannot_create_for_another_customer() {
    let env = two_customers();
    let before = env.dump();
    env.create_webhook("https://x.example.com/")
        .customer(2)
        .name("x")
        .events(&["job.failed"])
        .var("WEBNET_CUSTOMER", "1")
        .run()
        .fails(2, "WEBNET_CUSTOMER");
    env.run_env(
        &[("WEBNET_CUSTOMER", "1")],
        &["customers", "create", "initech"],
    )
    .fails(2, "WEBNET_CUSTOMER: this shell is pinned to customer 1");
    assert_eq!(env.dump(), before);
    // Pinned by the environment, the webhook goes to the pinned customer.
    let w = env
        .run_env(
            &[("WEBNET_CUSTOMER", "2")],
            &[
                "webhooks",
                "create",
                "--name",
                "x",
                "--url",
                "https://x.example.com/",
                "--event",
                "job.failed",
            ],
        )
        .ok()
        .json();
    assert_eq!(w["customer"], 2);
}

#[test]
fn names_are_unique_per_customer_only() {
    let env = two_customers();
    env.webhook(2, "acme-hook", "https://c.example.com/", &[]);
    env.create_webhook("https://d.example.com/")
        .name("acme-hook")
        .events(&["job.failed"])
        .run()
        .fails(2, "--name");
}

#[test]
fn pinned_to_a_customer_that_does_not_exist_fails_instead_of_finding_nothing() {
    let env = two_customers();
    env.run(&["emit", "job.completed", "--customer", "1", "--queue"])
        .ok();
    let before = env.dump();
    for args in [
        &["webhooks", "list"][..],
        &["webhooks", "show", "1"],
        &["webhooks", "update", "1", "--name", "x"],
        &["customers", "list"],
        &["deliveries", "list"],
        &["deliveries", "retry", "--failed"],
        &["stats"],
        &["drain"],
    ] {
        env.run_env(&[("WEBNET_CUSTOMER", "999")], args)
            .fails(1, "customer 999 not found (see \"webnet customers list\")");
        let mut flagged = vec!["--customer", "999"];
        flagged.extend(args);
        env.run(&flagged).fails(1, "customer 999 not found");
    }
    assert_eq!(env.dump(), before, "nothing sent or changed");
    // Creating for a customer that does not exist keeps its usage error.
    env.run_env(
        &[("WEBNET_CUSTOMER", "999")],
        &[
            "webhooks",
            "create",
            "--name",
            "x",
            "--url",
            "https://x.example.com/",
            "--event",
            "job.failed",
        ],
    )
    .fails(2, "--customer: no customer 999");
    // A customer that exists still works when pinned.
    env.run_env(&[("WEBNET_CUSTOMER", "2")], &["webhooks", "list"])
        .ok();
}

#[test]
fn empty_webnet_variables_count_as_unset() {
    let env = two_customers();
    let home = env.dir.path().join("home");
    for (var, value) in [
        ("WEBNET_CUSTOMER", ""),
        ("WEBNET_CUSTOMER", "  "),
        ("WEBNET_OUTPUT", ""),
        ("WEBNET_ALLOW_PRIVATE_TARGETS", ""),
        ("WEBNET_SECRET_KEY", ""),
    ] {
        let out = env.run_env(&[(var, value)], &["webhooks", "list"]).ok();
        let all = out.json();
        assert_eq!(
            all.as_array().map(Vec::len),
            Some(2),
            "{var}={value:?}: unpinned"
        );
    }
    // An empty WEBNET_DB is the default path, not an empty one.
    let out = env.run_env(
        &[
            ("WEBNET_DB", ""),
            ("HOME", home.to_str().unwrap()),
            ("XDG_DATA_HOME", ""),
        ],
        &["customers", "list"],
    );
    out.fails(1, &format!("no webnet database at {}", home.display()));
    // Empty on the command line is still refused: that is a value given.
    env.run(&["--customer", "", "webhooks", "list"])
        .fails(2, "--customer");
}

/// `--customer` before and after the subcommand with different customers: refused, never the
/// last one taken (a script pinned with the first must not act for another customer).
#[test]
fn two_different_customer_flags_are_refused() {
    let env = Env::new();
    env.customer("acme");
    env.customer("globex");
    env.webhook(1, "a", "https://a.example.com/", &["--disabled"]);
    let before = env.dump();
    for args in [
        &[
            "--customer",
            "2",
            "emit",
            "job.failed",
            "--customer",
            "1",
            "--queue",
        ][..],
        &["--customer=2", "webhooks", "list", "--customer", "1"],
        // clap may take `--` as a value (here the secret's): the scan goes past it.
        &[
            "--customer",
            "2",
            "webhooks",
            "rotate-secret",
            "1",
            "--secret",
            "--",
            "--customer",
            "1",
        ],
        &[
            "--customer",
            "2",
            "webhooks",
            "create",
            "--customer",
            "1",
            "--name",
            "b",
            "--url",
            "https://b.example.com/",
            "--event",
            "*",
        ],
    ] {
        env.run(args).fails(2, "--customer: given as 2 and as 1");
    }
    assert_eq!(env.dump(), before);
    // The same customer twice is one pin.
    env.run(&["--customer", "1", "webhooks", "list", "--customer", "1"])
        .ok();
}
