//! Delivery history as people and scripts query it: a deleted webhook's deliveries stay
//! findable by its id, `stats` columns agree with each other, and filters that cannot match
//! anything say so instead of printing `[]`.

use crate::common;

use common::receiver::{Receiver, Reply};
use common::Env;
use serde_json::Value;

fn array(v: Value) -> Vec<Value> {
    v.as_array()
        .cloned()
        .unwrap_or_else(|| panic!("not an array: {v}"))
}

#[test]
fn a_deleted_webhooks_history_stays_findable_by_its_id() {
    let env = Env::local();
    let rx = Receiver::ok();
    let acme = env.customer("acme");
    let globex = env.customer("globex");
    // Named otherwise for its first delivery: once deleted, its whole history goes under the
    // name it had last.
    let ops = env.local_webhook(acme, "ops-old", &rx.url("/ops"), &[]);
    let other = env.local_webhook(globex, "other", &rx.url("/other"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&["webhooks", "update", &ops.to_string(), "--name", "ops"])
        .ok();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&["emit", "job.completed", "--customer", "2"]).ok();
    env.run(&["webhooks", "delete", &ops.to_string(), "--yes"])
        .ok();

    let list = array(
        env.run(&["deliveries", "list", "--webhook", &ops.to_string()])
            .ok()
            .json(),
    );
    assert_eq!(list.len(), 2, "{list:?}");
    for d in &list {
        assert_eq!(d["webhook"], ops);
        assert_eq!(d["webhook_name"], "ops");
        assert_eq!(d["webhook_deleted"], true);
    }
    let theirs = array(
        env.run(&["deliveries", "list", "--webhook", &other.to_string()])
            .ok()
            .json(),
    );
    assert_eq!(theirs[0]["webhook_deleted"], false);
    assert_eq!(env.delivery(1)["webhook_deleted"], true);
    let table = env
        .run(&["--output", "table", "deliveries", "list"])
        .ok()
        .stdout;
    assert!(table.contains("ops (deleted)"), "{table}");
    assert!(!table.contains("other (deleted)"), "{table}");
    let shown = env
        .run(&["--output", "table", "deliveries", "show", "1"])
        .ok()
        .stdout;
    assert!(shown.contains("ops (deleted)"), "{shown}");

    // stats keeps its row, by id.
    let rows = array(env.run(&["stats"]).ok().json());
    let row = rows.iter().find(|r| r["webhook"] == ops).expect("a row");
    assert_eq!(row["webhook_deleted"], true);
    assert_eq!(row["deliveries"], 2);
    assert_eq!(row["attempts"], 2);
    let one = array(
        env.run(&["stats", "--webhook", &ops.to_string()])
            .ok()
            .json(),
    );
    assert_eq!(one.len(), 1);
    let table = env.run(&["--output", "table", "stats"]).ok().stdout;
    assert!(table.contains("ops (deleted)"), "{table}");

    // Its id is never reused.
    let next = env.local_webhook(acme, "ops", &rx.url("/ops"), &[]);
    assert!(next > other, "{next}");
    assert_eq!(
        array(
            env.run(&["deliveries", "list", "--webhook", &ops.to_string()])
                .ok()
                .json()
        )
        .len(),
        2
    );

    // Another customer never sees it: the id is "not found" there, as for any other.
    let pinned = [("WEBNET_CUSTOMER", "2")];
    let id = ops.to_string();
    for args in [
        &["deliveries", "list", "--webhook", &id][..],
        &["stats", "--webhook", &id],
        &["deliveries", "retry", "--failed", "--webhook", &id],
    ] {
        env.run_env(&pinned, args)
            .fails(1, &format!("webhook {ops} not found"));
    }
    let all = array(env.run_env(&pinned, &["deliveries", "list"]).ok().json());
    assert!(all.iter().all(|d| d["customer"] == 2), "{all:?}");
    let stats = array(env.run_env(&pinned, &["stats"]).ok().json());
    assert!(stats.iter().all(|r| r["webhook"] != ops), "{stats:?}");
    // Its own customer does.
    let own = env
        .run_env(
            &[("WEBNET_CUSTOMER", "1")],
            &["deliveries", "list", "--webhook", &id],
        )
        .ok()
        .json();
    assert_eq!(array(own).len(), 2);
}

#[test]
fn stats_counts_the_same_deliveries_in_every_column() {
    let env = Env::local();
    let rx = Receiver::start(|r| {
        if r.index == 0 {
            Reply::status(500)
        } else {
            Reply::ok()
        }
    });
    let c = env.customer("acme");
    let w = env.local_webhook(c, "ops", &rx.url("/"), &["--max-retries", "0"]);
    // Delivery 1 fails, and is made two days old; a manual retry now succeeds: an attempt in
    // the period of a delivery created before it.
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.exec("UPDATE deliveries SET created_at = created_at - 2 * 86400 * 1000 WHERE id = 1");
    env.run(&["deliveries", "retry", "1"]).ok();
    // Two events and a test in the period.
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    env.run(&["webhooks", "test", &w.to_string()]).ok();

    let rows = array(env.run(&["stats", "--since", "1day"]).ok().json());
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["deliveries"], 3, "two events and the test: {row}");
    assert_eq!(
        row["attempts"], 3,
        "their attempts, not the old delivery's: {row}"
    );
    assert_eq!(row["succeeded"], 3);
    assert_eq!(row["failed_attempts"], 0);
    let listed = array(
        env.run(&["deliveries", "list", "--since", "1day"])
            .ok()
            .json(),
    );
    assert_eq!(
        row["deliveries"],
        listed.len(),
        "as many as deliveries list shows"
    );

    // Over three days the old delivery counts, with both its attempts.
    let rows = array(env.run(&["stats", "--since", "3days"]).ok().json());
    assert_eq!(rows[0]["deliveries"], 4);
    assert_eq!(rows[0]["attempts"], 5);
    assert_eq!(rows[0]["failed_attempts"], 1);

    // A renamed webhook is one row, under its current name.
    env.run(&["webhooks", "update", &w.to_string(), "--name", "renamed"])
        .ok();
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();
    let rows = array(env.run(&["stats"]).ok().json());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["webhook_name"], "renamed");
    assert_eq!(rows[0]["deliveries"], 4);
}

#[test]
fn history_filters_that_cannot_match_are_refused() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    let w = env.local_webhook(c, "ops", &rx.url("/"), &[]);
    env.run(&["emit", "job.completed", "--customer", "1"]).ok();

    for args in [
        &["deliveries", "list", "--webhook", "999"][..],
        &["deliveries", "retry", "--failed", "--webhook", "999"],
        &[
            "deliveries",
            "retry",
            "--failed",
            "--webhook",
            "999",
            "--dry-run",
        ],
        &["stats", "--webhook", "999"],
    ] {
        env.run(args).fails(1, "webhook 999 not found");
    }
    let out = env
        .run(&["deliveries", "list", "--event-type", "job.bogus"])
        .fails(2, "--event-type");
    assert!(
        out.stderr.contains("job.completed") && out.stderr.contains("webhook.test"),
        "names the known types: {}",
        out.stderr
    );

    // Known ones answer, even when nothing matches.
    let id = w.to_string();
    assert_eq!(
        array(
            env.run(&["deliveries", "list", "--webhook", &id])
                .ok()
                .json()
        )
        .len(),
        1
    );
    assert!(array(
        env.run(&["deliveries", "list", "--event-type", "job.failed"])
            .ok()
            .json()
    )
    .is_empty());
    env.run(&["webhooks", "test", &id]).ok();
    let tests = array(
        env.run(&["deliveries", "list", "--event-type", "webhook.test"])
            .ok()
            .json(),
    );
    assert_eq!(tests.len(), 1);
    // A family: its events' deliveries (not the test's). Not `*`: as a subscription it leaves
    // `webhook.test` out, as a filter it would be none; leaving the option out says that.
    let of = |t: &str| {
        let list = env
            .run(&["deliveries", "list", "--event-type", t])
            .ok()
            .json();
        common::column(&list, "event_type")
    };
    assert_eq!(of("job.*"), ["job.completed"]);
    assert!(of("device.*").is_empty());
    for refused in ["webhook.*", "*"] {
        env.run(&["deliveries", "list", "--event-type", refused])
            .fails(2, "--event-type");
    }
    env.run(&[
        "deliveries",
        "retry",
        "--failed",
        "--webhook",
        &id,
        "--dry-run",
    ])
    .ok();
    env.run(&["stats", "--webhook", &id]).ok();
    let quiet = env.local_webhook(c, "quiet", &rx.url("/q"), &["--event", "job.failed"]);
    assert!(array(
        env.run(&["deliveries", "list", "--webhook", &quiet.to_string()])
            .ok()
            .json()
    )
    .is_empty());
}
