//! `webnet targets allow|list|remove`: non-public destinations allowed in the database, applied
//! by every process without `--allow-private-targets` (DESIGN §7). Receivers are on loopback.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::receiver::Receiver;
use common::Env;
use serde_json::json;

fn create(env: &Env, name: &str, url: &str) -> common::Out {
    env.create_webhook(url).name(name).run()
}

fn emit(env: &Env, queue: bool) -> Vec<i64> {
    let mut args = vec!["emit", "job.completed", "--customer", "1"];
    if queue {
        args.push("--queue");
    }
    env.run(&args).ok().json()["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn an_allowed_range_lets_every_process_reach_loopback_without_the_flag() {
    let env = Env::new();
    let rx = Receiver::ok();
    env.customer("acme");
    create(&env, "local", &rx.url("/")).fails(2, "--url").fails(
        2,
        "refused: 127.0.0.1 is a loopback address (allow it with \"webnet targets allow 127.0.0.1/32\"",
    );

    env.run(&[
        "targets",
        "allow",
        "127.0.0.1/32",
        "--note",
        "test receiver",
    ])
    .ok();
    let hook = create(&env, "local", &rx.url("/")).ok().json();
    assert_eq!(hook["url"], rx.url("/"));

    // emit delivers at once; a queued event is delivered by a later drain; no flag anywhere.
    let first = emit(&env, false);
    assert_eq!(env.delivery(first[0])["status"], "success");
    let queued = emit(&env, true);
    let out = env.run(&["drain"]).ok().json();
    assert_eq!(out["succeeded"], 1, "{out}");
    assert_eq!(env.delivery(queued[0])["status"], "success");
    assert_eq!(env.run(&["webhooks", "test", "1"]).ok().code, 0);
    assert_eq!(rx.count(), 3);
}

#[test]
fn removing_a_range_refuses_creation_and_queued_deliveries_before_connecting() {
    let env = Env::new();
    let rx = Receiver::ok();
    env.customer("acme");
    env.run(&["targets", "allow", "127.0.0.1"]).ok();
    create(&env, "local", &rx.url("/")).ok();
    let queued = emit(&env, true);

    env.run(&["targets", "remove", "127.0.0.1/32"]).ok();
    env.run(&["drain"]).ok();
    let d = env.delivery(queued[0]);
    assert_eq!(d["status"], "failed", "refused is final: {d}");
    assert_eq!(
        d["error_message"],
        "refused: 127.0.0.1 is a loopback address (allow it with \"webnet targets allow 127.0.0.1/32\")"
    );
    assert_eq!(d["attempts"], 1);
    create(&env, "again", &rx.url("/other"))
        .fails(2, "--url")
        .fails(2, "webnet targets allow 127.0.0.1/32");
    let retry = env.run(&["deliveries", "retry", &queued[0].to_string()]);
    assert_eq!(retry.code, 1);
    assert!(
        retry.stderr.contains("refused: 127.0.0.1"),
        "{}",
        retry.stderr
    );
    let test = env.run(&["webhooks", "test", "1"]);
    assert_eq!(test.code, 1);
    assert!(test.stderr.contains("refused"), "{}", test.stderr);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        rx.count(),
        0,
        "no request left toward a refused destination"
    );

    // Allowed again, the failed delivery can be retried by hand.
    env.run(&["targets", "allow", "127.0.0.1/32"]).ok();
    env.run(&["deliveries", "retry", &queued[0].to_string()])
        .ok();
    assert_eq!(rx.count(), 1);
}

/// An allowed host name admits URLs with that name, whatever it resolves to; it never admits
/// an IP literal, which only a range does.
/// A process sends only where an allow list it actually read admits: one it cannot read fails
/// the command, rather than standing in as an empty list that refuses allowed destinations for
/// good (a refusal is not retried).
#[test]
fn an_unreadable_allow_list_fails_the_command_and_refuses_nothing() {
    let env = Env::new();
    let rx = Receiver::ok();
    env.customer("acme");
    env.run(&["targets", "allow", "127.0.0.1/32"]).ok();
    create(&env, "local", &rx.url("/")).ok();
    let queued = emit(&env, true);
    let sql = |statement: &str| env.exec(statement);
    sql("ALTER TABLE allowed_targets RENAME TO hidden_targets");
    env.run(&["drain"]).fails(1, "allowed_targets");
    assert_eq!(env.delivery(queued[0])["status"], "pending");
    assert_eq!(rx.count(), 0);
    sql("ALTER TABLE hidden_targets RENAME TO allowed_targets");
    assert_eq!(env.run(&["drain"]).ok().json()["succeeded"], 1);
    assert_eq!(env.delivery(queued[0])["status"], "success");
}

#[test]
fn a_host_name_entry_admits_that_name_but_not_the_literal_address() {
    let env = Env::new();
    let rx = Receiver::ok();
    env.customer("acme");
    let by_name = format!("http://localhost:{}/by-name", rx.port);
    create(&env, "name", &by_name)
        .fails(2, "--url")
        .fails(2, "webnet targets allow localhost");

    env.run(&["targets", "allow", "LocalHost."]).ok();
    assert_eq!(
        env.run(&["targets", "list"]).ok().json()[0]["target"],
        "localhost"
    );
    create(&env, "name", &by_name).ok();
    create(&env, "literal", &rx.url("/literal"))
        .fails(2, "--url")
        .fails(2, "127.0.0.1/32");
    // Created with the development flag, the literal is still refused when sending.
    env.create_webhook(&rx.url("/literal"))
        .name("literal")
        .local()
        .run()
        .ok();
    let ids = emit(&env, false);
    assert_eq!(env.delivery(ids[0])["status"], "success");
    let literal = env.delivery(ids[1]);
    assert_eq!(literal["status"], "failed");
    assert!(
        literal["error_message"]
            .as_str()
            .unwrap()
            .starts_with("refused: 127.0.0.1 is a loopback address"),
        "{literal}"
    );
    std::thread::sleep(Duration::from_millis(100));
    let paths: Vec<String> = rx.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/by-name"]);
}

#[test]
fn an_ipv6_loopback_range() {
    let env = Env::new();
    let rx = Receiver::start_on("::1".parse().unwrap(), |_| common::receiver::Reply::ok());
    env.customer("acme");
    let url = rx.url("/v6");
    assert!(url.starts_with("http://[::1]:"), "{url}");
    create(&env, "v6", &url)
        .fails(2, "--url")
        .fails(2, "webnet targets allow ::1/128");
    env.run(&["targets", "allow", "::1/128"]).ok();
    env.run(&["targets", "allow", "[::1]", "--note", "same entry"])
        .ok();
    let list = env.run(&["targets", "list"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["target"], "::1/128");
    assert_eq!(list[0]["note"], "same entry");
    create(&env, "v6", &url).ok();
    let ids = emit(&env, false);
    assert_eq!(env.delivery(ids[0])["status"], "success");
    assert_eq!(rx.count(), 1);
    // 127.0.0.1 is another family: still refused.
    let v4 = Receiver::ok();
    create(&env, "v4", &v4.url("/")).fails(2, "--url");
}

#[test]
fn allow_is_idempotent_and_lists_as_json_or_a_table() {
    let env = Env::new();
    let first = env
        .run(&["targets", "allow", "10.20.0.0/16", "--note", "monitoring"])
        .ok()
        .json();
    assert_eq!(first["target"], "10.20.0.0/16");
    assert_eq!(first["kind"], "range");
    assert_eq!(first["note"], "monitoring");
    let again = env
        .run(&[
            "targets",
            "allow",
            "10.20.0.0/16",
            "--note",
            "monitoring VLAN",
        ])
        .ok()
        .json();
    assert_eq!(again["note"], "monitoring VLAN");
    assert_eq!(again["created_at"], first["created_at"]);
    // Without --note the note stays.
    env.run(&["targets", "allow", "10.20.0.0/16"]).ok();
    env.run(&["targets", "allow", "monitor.corp.lan"]).ok();
    let list = env.run(&["targets", "list"]).ok().json();
    let rows: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["target"].clone(), r["kind"].clone(), r["note"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                json!("10.20.0.0/16"),
                json!("range"),
                json!("monitoring VLAN")
            ),
            (json!("monitor.corp.lan"), json!("host"), json!(null)),
        ]
    );
    let table = env
        .run(&["--output", "table", "targets", "list"])
        .ok()
        .stdout;
    for word in [
        "TARGET",
        "NOTE",
        "CREATED",
        "10.20.0.0/16",
        "monitoring VLAN",
    ] {
        assert!(table.contains(word), "{word}: {table}");
    }
    env.run(&["targets", "remove", "MONITOR.corp.lan."]).ok();
    env.run(&["targets", "remove", "monitor.corp.lan"])
        .fails(1, "not found");
    env.run(&["targets", "remove", "10.9.0.0/16"])
        .fails(1, "not found");
    assert_eq!(
        env.run(&["targets", "list"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn bad_targets_are_refused_naming_the_argument_and_nothing_is_created() {
    let env = Env::new();
    for bad in [
        "10.20.1.0/16",
        "10.0.0.0/33",
        "300.1.2.3",
        "fd00::/129",
        "not a host",
        "*.corp.lan",
        "http://monitor.corp.lan/",
        "10.0.0.0/",
        "",
    ] {
        env.run(&["targets", "allow", bad]).fails(2, "CIDR|HOST");
        env.run(&["targets", "remove", bad]).fails(2, "CIDR|HOST");
    }
    let out = env
        .run(&["targets", "allow", "10.20.1.0/16"])
        .fails(2, "host bits");
    assert!(
        out.stderr.contains("10.20.0.0/16") && out.stderr.contains("10.20.1.0/24"),
        "names what was probably meant: {}",
        out.stderr
    );
    env.run(&["targets", "allow", "10.0.0.0/8", "--note", "two\nlines"])
        .fails(2, "--note");
    assert!(!env.db.exists(), "nothing was created");
}

#[test]
fn a_url_or_user_info_given_as_a_target_never_shows_its_password() {
    let env = Env::new();
    for (given, shown) in [
        (
            "https://user:hunter2@monitor.corp.lan/",
            "(e.g. monitor.corp.lan)",
        ),
        (
            "https://user:hun/ter2@monitor.corp.lan/",
            "\"https://user:***@monitor.corp.lan/\"",
        ),
        ("user:hunter2@10.0.0.1", "\"user:***@10.0.0.1\""),
        ("user:hunter2@10.0.0.0/8", "\"user:***@10.0.0.0/8\""),
    ] {
        for cmd in ["allow", "remove"] {
            let out = env.run(&["targets", cmd, given]).fails(2, "CIDR|HOST");
            assert!(
                !out.stderr.contains("hunter2") && !out.stderr.contains("ter2"),
                "{given}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(shown), "{given}: {}", out.stderr);
        }
    }
    // Whatever was typed is quoted cut short.
    let long = format!("{}.example", "a".repeat(300));
    let out = env.run(&["targets", "allow", &long]).fails(2, "CIDR|HOST");
    assert!(out.stderr.len() < 300, "{}", out.stderr);
    assert!(!env.db.exists(), "nothing was created");
}

#[test]
fn targets_are_operator_only() {
    let env = Env::new();
    env.customer("acme");
    env.run(&["targets", "allow", "10.0.0.0/8"]).ok();
    let before = env.dump();
    for args in [
        &["targets", "allow", "127.0.0.1/32"][..],
        &["targets", "list"],
        &["targets", "remove", "10.0.0.0/8"],
    ] {
        let mut pinned = vec!["--customer", "1"];
        pinned.extend(args);
        env.run(&pinned).fails(2, "--customer");
        env.run_env(&[("WEBNET_CUSTOMER", "1")], args)
            .fails(2, "WEBNET_CUSTOMER: this shell is pinned to customer 1");
    }
    assert_eq!(env.dump(), before, "nothing changed");
    let fresh = Env::new();
    fresh
        .run(&["--customer", "1", "targets", "allow", "10.0.0.0/8"])
        .fails(2, "--customer");
    assert!(!fresh.db.exists());
}

/// A running `drain --watch` follows the list: what it claims after a removal is refused, even
/// though it holds a kept-alive connection to the receiver from before.
#[test]
fn a_running_drain_follows_a_removal() {
    let env = Env::new();
    let rx = Receiver::ok();
    env.customer("acme");
    env.run(&["targets", "allow", "127.0.0.1/32"]).ok();
    create(&env, "local", &rx.url("/")).ok();
    let mut watch = env
        .cmd()
        .args(["drain", "--watch", "--max-time", "20s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = emit(&env, true);
    let end = Instant::now() + Duration::from_secs(10);
    while env.delivery(first[0])["status"] != "success" && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(env.delivery(first[0])["status"], "success");

    env.run(&["targets", "remove", "127.0.0.1/32"]).ok();
    let second = emit(&env, true);
    let end = Instant::now() + Duration::from_secs(10);
    while env.delivery(second[0])["status"] == "pending" && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let d = env.delivery(second[0]);
    assert_eq!(d["status"], "failed", "{d}");
    assert!(
        d["error_message"]
            .as_str()
            .unwrap()
            .contains("webnet targets allow 127.0.0.1/32"),
        "{d}"
    );
    assert_eq!(rx.count(), 1, "the second event never reached the receiver");
}

/// The README's `webnet listen` flow: one `targets allow`, then no flag on any command.
#[test]
fn the_listen_flow_needs_one_allow_and_no_flag() {
    let env = Env::new();
    env.customer("acme");
    let mut listen = env
        .cmd()
        .args(["listen", "--port", "0", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(listen.stderr.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.contains("webnet targets allow 127.0.0.1/32") && !banner.contains("--allow"),
        "{banner}"
    );
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the URL in the banner")
        .to_string();
    env.run(&["targets", "allow", "127.0.0.1/32"]).ok();
    create(&env, "dev", &url).ok();
    let ids = emit(&env, false);
    let end = Instant::now() + Duration::from_secs(10);
    while listen.try_wait().unwrap().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    if listen.try_wait().unwrap().is_none() {
        let _ = listen.kill();
    }
    let out = listen.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("job.completed"),
        "listen printed the event"
    );
    assert_eq!(env.delivery(ids[0])["status"], "success");
}

/// The interactive URL prompt applies the stored list too, and says what to allow.
#[test]
fn the_url_prompt_follows_the_allow_list() {
    let env = Env::new();
    env.customer("acme");
    env.run(&["targets", "allow", "10.20.0.0/16"]).ok();
    let mut cmd = env.tty_cmd();
    cmd.args([
        "--output",
        "json",
        "webhooks",
        "create",
        "--customer",
        "1",
        "--name",
        "prompted",
        "--event",
        "job.failed",
        "--secret",
        "typed-secret",
    ]);
    let mut p = rexpect::session::spawn_command(cmd, Some(10_000)).expect("spawn in a pty");
    p.exp_string("URL").unwrap();
    p.send_line("http://10.1.2.3/hook").unwrap();
    p.exp_string("targets allow 10.1.2.3/32").unwrap();
    p.send_line("http://10.20.0.5/hook").unwrap();
    p.exp_eof().unwrap();
    let w = env.run(&["webhooks", "show", "1"]).ok().json();
    assert_eq!(w["url"], "http://10.20.0.5/hook");
}
