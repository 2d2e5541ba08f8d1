//! What only a server database has (DESIGN §11): many processes on many connections sharing one
//! queue, a server that restarts under a running drain, `LISTEN/NOTIFY`, connection errors, the
//! key kept outside the database. On a SQLite run these say so and skip; `.ci/test-postgres`
//! runs them (and the whole suite) on a real PostgreSQL server.

use crate::common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::pg::Cluster;
use common::receiver::{Receiver, Reply};
use common::Env;

/// An env on this run's PostgreSQL server, or `None` (saying so) on a SQLite run.
fn pg_env(test: &str) -> Option<Env> {
    let env = Env::local();
    if env.pg.is_none() {
        crate::skipped!("SKIPPED {test}: needs PostgreSQL (WEBNET_TEST_PG; run .ci/test-postgres)");
        return None;
    }
    Some(env)
}

fn events(customer: i64, from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| {
            format!(
                "{{\"customer\": {customer}, \"event_type\": \"job.completed\", \"event_id\": {i}, \"job\": {{\"n\": {i}}}}}\n"
            )
        })
        .collect()
}

fn spawn_with_stdin(env: &Env, args: &[&str], input: String) -> Child {
    let mut child = env
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    child
}

fn watching_drain(env: &Env) -> Child {
    env.cmd()
        .args(["drain", "--watch", "--concurrency", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    err
}

/// Waits (bounded) until `count` deliveries are `success`.
fn wait_delivered(env: &Env, count: i64, limit: Duration) -> i64 {
    let start = Instant::now();
    loop {
        let done = env.count(
            "SELECT count(*) FROM deliveries WHERE status = 'success'",
            &[],
        );
        if done >= count || start.elapsed() > limit {
            return done;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn four_drains_two_killed_mid_run_lose_nothing_and_never_send_twice_at_once() {
    let Some(env) = pg_env("four_drains_two_killed_mid_run…") else {
        return;
    };
    let rx = Receiver::start(|_| Reply::ok().delay(Duration::from_millis(20)));
    let c = env.customer("acme");
    for name in ["a", "b"] {
        env.local_webhook(c, name, &rx.url(&format!("/{name}")), &["--timeout", "1s"]);
    }
    env.run_stdin(&["emit", "--queue"], &events(c, 0, 300)).ok();
    let total = 600;
    let mut drains: Vec<Child> = (0..4).map(|_| watching_drain(&env)).collect();
    // Let all four get going, then kill two of them with SIGKILL while they hold leases.
    let start = Instant::now();
    while rx.count() < 60 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut held_by_killed = 0;
    for _ in 0..2 {
        let mut victim = drains.remove(0);
        let pid = victim.id();
        victim.kill().unwrap();
        victim.wait().unwrap();
        held_by_killed += env.count(
            "SELECT count(*) FROM queue WHERE lease_owner LIKE ?1",
            &[&format!("{pid}-%")],
        );
    }
    // The killed drains' leases run out (2 × 1 s timeout + 5 s) and the others take them over.
    let done = wait_delivered(&env, total, Duration::from_secs(90));
    for d in drains {
        stop(d);
    }
    assert_eq!(done, total, "every delivery ends delivered");
    let mut received: HashMap<i64, usize> = HashMap::new();
    for r in rx.requests() {
        *received.entry(r.delivery()).or_default() += 1;
    }
    assert_eq!(
        received.len() as i64,
        total,
        "every delivery reached its receiver"
    );
    let duplicates: usize = received.values().map(|n| n - 1).sum();
    eprintln!("held by the killed drains {held_by_killed}, duplicates {duplicates}");
    assert!(
        duplicates as i64 <= held_by_killed,
        "{duplicates} sent twice, but the killed drains held only {held_by_killed}"
    );
    assert_eq!(
        rx.overlaps(),
        0,
        "a delivery was sent twice at the same time"
    );
}

#[test]
fn eight_concurrent_emits_lose_nothing() {
    let Some(env) = pg_env("eight_concurrent_emits_lose_nothing") else {
        return;
    };
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "hook", &rx.url("/"), &[]);
    let emits: Vec<Child> = (0..8)
        .map(|i| spawn_with_stdin(&env, &["emit"], events(c, i * 1000, 40)))
        .collect();
    for child in emits {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "an emit failed: {stderr}");
        assert!(stderr.trim().is_empty(), "an emit complained: {stderr}");
    }
    assert_eq!(env.count("SELECT count(*) FROM events", &[]), 320);
    env.run(&["drain"]).ok();
    assert_eq!(wait_delivered(&env, 320, Duration::from_secs(30)), 320);
    let mut ids: Vec<i64> = rx.requests().iter().map(|r| r.delivery()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 320, "each delivery received, once");
}

#[test]
fn an_emit_on_one_connection_wakes_a_watching_drain_on_another() {
    let Some(env) = pg_env("an_emit_on_one_connection_wakes_a_watching_drain_on_another") else {
        return;
    };
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "hook", &rx.url("/"), &[]);
    let drain = watching_drain(&env);
    // Idle, the drain waits on LISTEN with nothing due: without NOTIFY it would look again
    // only after its 10 s poll.
    std::thread::sleep(Duration::from_millis(1500));
    let mut latencies = Vec::new();
    for i in 0..3 {
        let queued = env.run_stdin(&["emit", "--queue"], &events(c, i, 1)).ok();
        drop(queued);
        let t = Instant::now();
        let got = rx.wait_for(i + 1, Duration::from_secs(8));
        assert_eq!(
            got.len(),
            i + 1,
            "the drain did not wake for a queued event"
        );
        latencies.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(300));
    }
    let err = stop(drain);
    eprintln!("queued → received: {latencies:?}");
    let best = latencies.iter().min().copied().unwrap_or_default();
    assert!(
        best < Duration::from_secs(1),
        "NOTIFY should wake the drain at once: {latencies:?}\n{err}"
    );
}

#[test]
fn a_watching_drain_survives_a_server_restart() {
    let Some(cluster) = Cluster::start("a_watching_drain_survives_a_server_restart") else {
        return;
    };
    let env = Env::on_postgres(&cluster.url);
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "hook", &rx.url("/"), &[]);
    let drain = watching_drain(&env);
    env.run_stdin(&["emit", "--queue"], &events(c, 0, 5)).ok();
    assert_eq!(rx.wait_for(5, Duration::from_secs(15)).len(), 5);
    cluster.ctl("restart");
    env.run_stdin(&["emit", "--queue"], &events(c, 100, 5)).ok();
    let got = rx.wait_for(10, Duration::from_secs(60));
    // The receiver has them before the drain has recorded the answers: wait for those too.
    let done = wait_delivered(&env, 10, Duration::from_secs(30));
    let err = stop(drain);
    assert_eq!(
        got.len(),
        10,
        "the drain did not resume after the restart:\n{err}"
    );
    assert_eq!(done, 10, "recorded as delivered:\n{err}");
    // The log says the server was lost, and then that it answers again.
    let lost = err.find("drain: database unavailable");
    let back = err.find("drain: the database answers again; carrying on");
    assert!(
        lost.is_some() && back > lost,
        "lost, then back, in the log:\n{err}"
    );
}

#[test]
fn a_streaming_emit_waits_out_a_stopped_server_and_says_why() {
    let Some(cluster) = Cluster::start("a_streaming_emit_waits_out_a_stopped_server_and_says_why")
    else {
        return;
    };
    let env = Env::on_postgres(&cluster.url);
    let rx = Receiver::ok();
    let c = env.customer("acme");
    env.local_webhook(c, "hook", &rx.url("/"), &[]);
    // Patience: ten busy timeouts (10 s here).
    let (child, mut stdin) = env.streaming_emit("1000");
    stdin.write_all(events(c, 0, 2).as_bytes()).unwrap();
    assert_eq!(rx.wait_for(2, Duration::from_secs(15)).len(), 2);
    wait_delivered(&env, 2, Duration::from_secs(15));
    cluster.ctl("stop");
    // Lines 3 and 4 arrive while the server is down.
    stdin.write_all(events(c, 2, 2).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    cluster.ctl("start");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "warning: the database is unreachable (the connection to the server was lost); lines 3 to 4 are not recorded yet: trying again"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("locked"), "not a lock: {stderr}");
    let sent = rx.wait_for(4, Duration::from_secs(15));
    let ids: std::collections::HashSet<i64> = sent.iter().map(|r| r.delivery()).collect();
    assert_eq!((sent.len(), ids.len()), (4, 4), "{stderr}");
    assert_eq!(env.count("SELECT count(*) FROM events", &[]), 4);
}

#[test]
fn connection_errors_name_host_port_and_database_but_never_the_password() {
    let Some(env) = pg_env("connection_errors_name_host_port_and_database…") else {
        return;
    };
    let url = env.pg.as_ref().unwrap().url.clone();
    let parsed = url::Url::parse(&url).unwrap();
    let port = parsed.port().unwrap();
    let mut wrong_password = parsed.clone();
    wrong_password
        .set_password(Some("not-the-password"))
        .unwrap();
    let mut missing_db = parsed.clone();
    missing_db.set_path("webnet_no_such_database");
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut unreachable = parsed.clone();
    unreachable.set_port(Some(closed_port)).unwrap();
    for (case, db, needle) in [
        (
            "wrong password",
            wrong_password.to_string(),
            "password authentication failed",
        ),
        ("missing database", missing_db.to_string(), "does not exist"),
        ("unreachable", unreachable.to_string(), "refused"),
    ] {
        let t = Instant::now();
        let out = env
            .run(&["--db", &db, "customers", "list"])
            .fails(1, needle);
        assert!(t.elapsed() < Duration::from_secs(30), "{case}: too slow");
        let p = if case == "unreachable" {
            closed_port
        } else {
            port
        };
        assert!(
            out.stderr.contains(&format!("127.0.0.1:{p}")),
            "{case}: names host and port: {}",
            out.stderr
        );
        for secret in ["not-the-password", parsed.password().unwrap()] {
            assert!(
                !out.stderr.contains(secret),
                "{case}: shows a password: {}",
                out.stderr
            );
        }
    }
    // A URL that cannot be used is bad input: exit 2, password masked.
    let out = env
        .run(&[
            "--db",
            "postgres://u:hunter2@h/x?sslmode=sometimes",
            "customers",
            "list",
        ])
        .fails(2, "sslmode");
    assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    // A password holding a '/' reads as a port: the message says to percent-encode it.
    let out = env
        .run(&["--db", "postgres://u:hun/ter2@h/x", "customers", "list"])
        .fails(
            2,
            "a password holding / ? # or @ is written percent-encoded",
        );
    assert!(!out.stderr.contains("ter2"), "{}", out.stderr);
    // No password at all where the server wants one: says where to put it.
    let mut no_password = parsed.clone();
    no_password.set_password(None).unwrap();
    let out = env
        .run_env(
            &[("PGPASSWORD", "")],
            &["--db", no_password.as_str(), "customers", "list"],
        )
        .fails(1, "put it in the URL or set PGPASSWORD");
    assert!(
        !out.stderr.contains(parsed.password().unwrap()),
        "{}",
        out.stderr
    );
}

/// A server (or a proxy in front of it) that takes connections and never answers: the connect
/// timeout bounds the whole connection, not only the socket's, so commands (and cron drains)
/// do not hang. Needs no PostgreSQL server: a listener of the test's own that says nothing.
#[test]
fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accepted connections are kept open, unanswered, until the test ends.
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = std::sync::Arc::clone(&held);
    std::thread::spawn(move || {
        for conn in silent.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    let env = Env::new();
    let db = format!("postgres://webnet:hunter2@127.0.0.1:{port}/x?connect_timeout=2");
    for args in [&["deliveries", "list"][..], &["drain"][..]] {
        let t = Instant::now();
        let mut child = env
            .cmd()
            .args(["--db", &db])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{args:?} still waiting for the server after 20 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot connect to PostgreSQL at 127.0.0.1:{port}"))
                && stderr.contains("no answer within 2s"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "{args:?}: {:?}",
            t.elapsed()
        );
    }
    assert!(!held.lock().unwrap().is_empty(), "the listener was reached");
}

#[test]
fn reading_a_database_without_the_schema_says_how_to_make_it() {
    let Some(env) = pg_env("reading_a_database_without_the_schema_says_how_to_make_it") else {
        return;
    };
    env.run(&["deliveries", "list"])
        .fails(1, "no webnet schema in postgres://");
    env.run(&["drain"]).fails(1, "run `webnet db migrate`");
    let out = env.run(&["db", "migrate"]).ok();
    assert!(out.stdout.contains("postgresql"), "{}", out.stdout);
    // Nothing said of the key, which migrating does not touch (no `"secret_key": null`).
    assert_eq!(out.json().get("secret_key"), None, "{}", out.stdout);
    let check = env.run(&["db", "check"]).ok().json();
    assert_eq!(check["backend"], "postgresql");
    assert!(check["schema"].as_i64().unwrap() >= 1);
    assert!(
        !check["database"].as_str().unwrap().contains(':') || {
            let shown = check["database"].as_str().unwrap();
            let pw = url::Url::parse(&env.pg.as_ref().unwrap().url).unwrap();
            !shown.contains(pw.password().unwrap())
        }
    );
    env.run(&["deliveries", "list"]).ok();
}

#[test]
fn secrets_on_a_server_database_need_a_key_from_outside_it() {
    let Some(env) = pg_env("secrets_on_a_server_database_need_a_key_from_outside_it") else {
        return;
    };
    let rx = Receiver::ok();
    let c = env.customer("acme");
    let without_key = |args: &[&str]| {
        common::Out::from(
            env.cmd()
                .env_remove("WEBNET_KEY_FILE")
                .args(args)
                .output()
                .unwrap(),
        )
    };
    // Nothing sealed yet: a host without a key is fine (it needs one only to store a secret).
    let check = without_key(&["db", "check"]).ok().json();
    assert!(
        check["secret_key"]
            .as_str()
            .unwrap()
            .starts_with("none given"),
        "{check}"
    );
    // The env gives every command WEBNET_KEY_FILE; without it (and WEBNET_SECRET_KEY) a secret
    // is refused, naming both, and nothing is stored.
    let out = env
        .cmd()
        .env_remove("WEBNET_KEY_FILE")
        .env("WEBNET_ALLOW_PRIVATE_TARGETS", "1")
        .args([
            "webhooks",
            "create",
            "--customer",
            &c.to_string(),
            "--name",
            "h",
            "--url",
        ])
        .arg(rx.url("/"))
        .args(["--event", "job.completed", "--secret", "s3cret-value-123"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("WEBNET_SECRET_KEY") && stderr.contains("--key-file"),
        "{stderr}"
    );
    assert_eq!(env.count("SELECT count(*) FROM webhooks", &[]), 0);
    // With the key file: stored, and the file is created mode 0600.
    let id = env.local_webhook(c, "h", &rx.url("/"), &["--secret", "s3cret-value-123"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.key_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Once a secret is sealed, a host without the key is not healthy: `db check` fails
    // (exit 1) and `schedule install` refuses to set up drains that could not sign.
    // The message names what they were sealed with: a key file here.
    let needed = "sealed with a key file and none was given: give --key-file PATH";
    without_key(&["db", "check"]).fails(1, needed);
    without_key(&["schedule", "install", "--cron", "--print"]).fails(1, needed);
    assert!(
        !env.dir.path().join("config").exists(),
        "schedule wrote nothing"
    );
    // A host without the key cannot sign: the attempt fails saying so and the delivery waits
    // for a retry.
    let out = env
        .cmd()
        .env_remove("WEBNET_KEY_FILE")
        .env("WEBNET_ALLOW_PRIVATE_TARGETS", "1")
        .args(["emit", "job.completed", "--customer", &c.to_string()])
        .output()
        .unwrap();
    assert_eq!(rx.count(), 0, "nothing unsigned was sent");
    let list = env.run(&["deliveries", "list"]).ok().json();
    let d = &list[0];
    assert_eq!(
        d["status"],
        "retrying",
        "{d} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        d["error_message"].as_str().unwrap_or("").contains(needed),
        "{d}"
    );
    // The host with the key delivers it, signed.
    env.run_after(Duration::from_secs(3600), &["drain"]).ok();
    let got = rx.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    assert!(got[0].header("x-webhook-signature").is_some());
    let _ = id;
}

#[test]
fn a_key_file_given_is_where_the_key_lives_on_either_backend() {
    let env = Env::local();
    let rx = Receiver::ok();
    let c = env.customer("acme");
    let key = env.dir.path().join("elsewhere").join("webnet.key");
    let key_arg = key.display().to_string();
    // In a folder that does not exist: said so (not a temporary file's name), nothing made.
    let out = env
        .create_webhook(&rx.url("/"))
        .customer(c)
        .name("h")
        .args(&["--key-file", &key_arg, "--secret", "s3cret-value-123"])
        .local()
        .run()
        .fails(
            1,
            "the key file's folder does not exist; create it first (mkdir -m 700 ",
        );
    assert!(!out.stderr.contains("webnet.key"), "{}", out.stderr);
    assert!(!key.parent().unwrap().exists());
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let id = env
        .create_webhook(&rx.url("/"))
        .customer(c)
        .name("h")
        .args(&["--key-file", &key_arg, "--secret", "s3cret-value-123"])
        .local()
        .id();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key file given is created private");
    assert!(
        !env.db.with_extension("db.key").exists(),
        "nothing beside the database"
    );
    // Without it the secret cannot be opened: the attempt fails and waits for a retry.
    env.run_local(&["emit", "job.completed", "--customer", &c.to_string()]);
    assert_eq!(rx.count(), 0);
    // With it, the retry is signed with the secret.
    env.run_env(
        &[
            ("WEBNET_KEY_FILE", &key_arg),
            ("WEBNET_ALLOW_PRIVATE_TARGETS", "1"),
        ],
        &["deliveries", "retry", "1"],
    )
    .ok();
    let got = rx.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    let body = &got[0].body;
    assert_eq!(
        got[0].header("x-webhook-signature"),
        Some(common::hmac_hex("s3cret-value-123", body).as_str()),
        "webhook {id}"
    );
}

/// Makes a certificate authority and a server certificate for 127.0.0.1 signed by it, in
/// `dir` (`ca.pem`, `server.crt`, `server.key`), with openssl.
fn certificates(dir: &std::path::Path) -> bool {
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=webnet test CA",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]) && { std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").is_ok() }
        && run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ])
}

#[test]
fn tls_is_used_and_checked_as_sslmode_says() {
    let certs = tempfile::tempdir().unwrap();
    if !certificates(certs.path()) {
        crate::skipped!(
            "SKIPPED tls_is_used_and_checked_as_sslmode_says: openssl could not make certificates"
        );
        return;
    }
    let Some(cluster) =
        Cluster::start_with("tls_is_used_and_checked_as_sslmode_says", "", |data| {
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.conf"))
                .unwrap();
            writeln!(
                conf,
                "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'"
            )
            .unwrap();
            for f in ["server.crt", "server.key"] {
                std::fs::copy(certs.path().join(f), data.join(f)).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                data.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        })
    else {
        return;
    };
    // Only encrypted connections from loopback: a connection without TLS is refused.
    std::fs::write(
        cluster.dir.path().join("data/pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    cluster.ctl("reload");
    let ca = certs.path().join("ca.pem").display().to_string();
    let base = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let run = |query: &str| {
        let env = Env::on_postgres(&format!("{base}{query}"));
        env.run(&["db", "migrate"])
    };
    run("?sslmode=disable").fails(1, "no encryption");
    run("?sslmode=require").ok();
    run("").ok();
    run(&format!("?sslmode=verify-full&sslrootcert={ca}")).ok();
    // Checked against the public roots, a private CA's certificate is refused.
    run("?sslmode=verify-full").fails(1, "certificate");
    // Checked against an unrelated CA, too.
    let other = tempfile::tempdir().unwrap();
    assert!(certificates(other.path()));
    let wrong = other.path().join("ca.pem").display().to_string();
    run(&format!("?sslmode=require&sslrootcert={wrong}")).fails(1, "certificate");
}

/// `serve` keeps connections for requests and one for recording events; the server ending them
/// while idle (a restart, a failover, `pg_terminate_backend`) costs no request a 503: a
/// connection that sat idle for a second is checked before use and made again.
#[test]
fn serve_answers_at_once_after_its_idle_connections_were_ended() {
    let Some(env) = pg_env("serve_answers_at_once_after_its_idle_connections_were_ended") else {
        return;
    };
    let c = env.customer("acme");
    let rx = Receiver::ok();
    env.local_webhook(c, "w", &rx.url("/"), &[]);
    let admin = common::server::token(&env, &["--admin"]);
    let srv = common::server::Server::start(&env, &[]);
    let event = serde_json::json!({
        "event_type": "job.completed", "customer": c, "job": {"id": 1}
    });
    // Several at once: the pool holds more than one connection.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..3 {
                    srv.post("/api/v1/events/", &admin, &event).expect(202);
                    srv.get("/api/v1/webhooks/", &admin).expect(200);
                }
            });
        }
    });
    let db = env.pg.as_ref().unwrap();
    let ended: i64 = db
        .client()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ended >= 2, "serve held {ended} connection(s)");
    std::thread::sleep(Duration::from_millis(1500));
    for i in 0..6 {
        let r = srv.post("/api/v1/events/", &admin, &event);
        assert_eq!(r.status, 202, "request {i} after: {}", r.body);
        let r = srv.get("/api/v1/webhooks/", &admin);
        assert_eq!(r.status, 200, "request {i} after: {}", r.body);
    }
    assert_eq!(rx.wait_for(18, Duration::from_secs(20)).len(), 18);
}
