//! `webnet schedule install`: units and crontab lines that work as written, for this database.

mod common;

use std::process::Command;

use common::{bin, Env};

#[test]
fn systemd_units_are_written_for_this_database_and_verify() {
    let env = Env::new();
    let config = env.dir.path().join("config");
    let out = env
        .run_env(
            &[("XDG_CONFIG_HOME", config.to_str().unwrap())],
            &["schedule", "install", "--systemd"],
        )
        .ok();
    let v = out.json();
    assert!(v["next"]
        .as_str()
        .unwrap()
        .contains("enable --now webnet-drain.timer"));
    let dir = config.join("systemd/user");
    let service = std::fs::read_to_string(dir.join("webnet-drain.service")).unwrap();
    assert!(
        service.contains(&format!(
            "ExecStart={} --db {} drain --max-time 50s",
            bin(),
            env.db.display()
        )),
        "{service}"
    );
    assert!(dir.join("webnet-drain.timer").exists());
    env.run_env(
        &[("XDG_CONFIG_HOME", config.to_str().unwrap())],
        &["schedule", "install", "--systemd", "--watch"],
    )
    .ok();
    let watch = std::fs::read_to_string(dir.join("webnet-drain-watch.service")).unwrap();
    assert!(
        watch.contains("drain --watch") && watch.contains("Restart=always"),
        "{watch}"
    );
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-analyze is not available here");
        return;
    }
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("webnet-drain.service"))
        .arg(dir.join("webnet-drain.timer"))
        .arg(dir.join("webnet-drain-watch.service"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn the_cron_line_runs_as_printed() {
    let env = Env::new();
    env.customer("acme"); // drain refuses a database that does not exist
    let line = env
        .run(&["schedule", "install", "--cron", "--print"])
        .ok()
        .stdout;
    assert!(line.starts_with("* * * * * "), "{line}");
    let command = line.trim().trim_start_matches("* * * * * ");
    let out = Command::new("sh").arg("-c").arg(command).output().unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env.db.exists(), "the line names this database");
    env.run(&["schedule", "install", "--cron", "--watch"])
        .fails(2, "--watch");
    env.run(&["schedule", "install"]).fails(2, "--cron");
    let printed = env
        .run(&["schedule", "install", "--systemd", "--print"])
        .ok()
        .stdout;
    assert!(printed.contains("[Timer]"), "{printed}");
}

/// A passphrase a shell or systemd would mangle if it were not quoted right.
const PASSPHRASE: &str = r#"pass phrase 'single' "double" $HOME ${X} `id` \back; # %n"#;

/// The environment file `schedule install` writes under `config`.
fn env_file(config: &std::path::Path) -> std::path::PathBuf {
    config.join("webnet/drain.env")
}

#[test]
fn the_cron_line_reads_the_key_from_a_private_file_and_the_drain_it_runs_can_sign() {
    use std::os::unix::fs::PermissionsExt;

    let env = Env::new();
    let rx = common::receiver::Receiver::ok();
    let config = env.dir.path().join("config");
    let key = [("WEBNET_SECRET_KEY", PASSPHRASE)];
    let c = env.customer("acme").to_string();
    let created = env
        .run_env(
            &key,
            &[
                "--allow-private-targets",
                "webhooks",
                "create",
                "--customer",
                &c,
                "--name",
                "signed",
                "--url",
                &rx.url("/"),
                "--event",
                "job.completed",
                "--secret",
                "the-webhook-secret",
            ],
        )
        .ok();
    assert!(created.json()["has_secret"].as_bool().unwrap());
    assert!(
        !env.dir.path().join("webhooks.db.key").exists(),
        "sealed with the passphrase, not a key file"
    );
    env.run(&["emit", "job.completed", "--customer", &c, "--queue"])
        .ok();

    let out = env
        .run_env(
            &[
                ("WEBNET_SECRET_KEY", PASSPHRASE),
                ("WEBNET_ALLOW_PRIVATE_TARGETS", "1"),
                ("XDG_CONFIG_HOME", config.to_str().unwrap()),
            ],
            &[
                "schedule", "install", "--cron", "--print", "--retain", "90d",
            ],
        )
        .ok();
    assert!(
        !out.stdout.contains("pass phrase") && !out.stderr.contains("pass phrase"),
        "the passphrase is never printed: {}{}",
        out.stdout,
        out.stderr
    );
    let file = env_file(&config);
    let meta = std::fs::metadata(&file).expect("the environment file");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let line = out.stdout.trim();
    assert!(line.contains(file.to_str().unwrap()), "{line}");
    assert!(line.contains("--allow-private-targets"), "{line}");
    assert!(line.contains("drain --max-time 50s --retain 90d"), "{line}");
    // The file holds the key as the shell reads it back.
    let read = Command::new("sh")
        .arg("-c")
        .arg("set -a && . \"$1\" && printf %s \"$WEBNET_SECRET_KEY\"")
        .arg("sh")
        .arg(&file)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&read.stdout), PASSPHRASE);

    // Run the line as cron would (cron turns `\%` into `%`), with no WEBNET_* of ours.
    let command = line.trim_start_matches("* * * * * ").replace(r"\%", "%");
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&command);
    for (k, _) in std::env::vars() {
        if k.starts_with("WEBNET_") {
            sh.env_remove(k);
        }
    }
    let ran = sh.output().unwrap();
    assert!(
        ran.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let got = rx.wait_for(1, std::time::Duration::from_secs(5));
    assert_eq!(got.len(), 1, "the scheduled drain sent the queued delivery");
    assert_eq!(
        got[0].header("x-webhook-signature"),
        Some(common::hmac_hex("the-webhook-secret", &got[0].body).as_str()),
        "signed: the drain could open the secret with the key from the file"
    );
    assert_eq!(env.delivery(1)["status"], "success");
}

#[test]
fn systemd_units_read_the_key_from_a_private_file_and_verify() {
    let env = Env::new();
    let config = env.dir.path().join("config");
    let vars = [
        ("WEBNET_SECRET_KEY", PASSPHRASE),
        ("XDG_CONFIG_HOME", config.to_str().unwrap()),
    ];
    let printed = env
        .run_env(
            &vars,
            &[
                "--allow-private-targets",
                "schedule",
                "install",
                "--systemd",
                "--print",
                "--retain",
                "2weeks",
            ],
        )
        .ok();
    assert!(
        !printed.stdout.contains("pass phrase"),
        "{}",
        printed.stdout
    );
    assert!(
        !printed.stderr.contains("pass phrase"),
        "{}",
        printed.stderr
    );
    let file = env_file(&config);
    assert!(
        printed
            .stdout
            .contains(&format!("EnvironmentFile={}\n", file.display())),
        "{}",
        printed.stdout
    );
    env.run_env(
        &vars,
        &["schedule", "install", "--systemd", "--retain", "90d"],
    )
    .ok();
    env.run_env(
        &vars,
        &[
            "schedule",
            "install",
            "--systemd",
            "--watch",
            "--retain",
            "90d",
        ],
    )
    .ok();
    let dir = config.join("systemd/user");
    for unit in ["webnet-drain.service", "webnet-drain-watch.service"] {
        let text = std::fs::read_to_string(dir.join(unit)).unwrap();
        assert!(!text.contains("pass phrase"), "{text}");
        assert!(
            text.contains(&format!("EnvironmentFile={}\n", file.display())),
            "{text}"
        );
        assert!(text.contains(" drain "), "{text}");
        assert!(text.contains("--retain 90d"), "{text}");
        assert!(
            !text.contains("--allow-private-targets"),
            "not asked for: {text}"
        );
    }
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("WEBNET_SECRET_KEY="));
    // Without a key: the key file beside the database, as before, and no environment file.
    let plain = Env::new();
    let plain_config = plain.dir.path().join("config");
    let out = plain
        .run_env(
            &[("XDG_CONFIG_HOME", plain_config.to_str().unwrap())],
            &["schedule", "install", "--systemd", "--print"],
        )
        .ok();
    assert!(!out.stdout.contains("EnvironmentFile"), "{}", out.stdout);
    assert!(!env_file(&plain_config).exists());
    env.run(&["schedule", "install", "--cron", "--print", "--retain", "0s"])
        .fails(2, "--retain");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: systemd-analyze is not available here");
        return;
    }
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("webnet-drain.service"))
        .arg(dir.join("webnet-drain.timer"))
        .arg(dir.join("webnet-drain-watch.service"))
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// Runs a crontab line as cron would (`\%` is `%`), with none of our WEBNET_* variables.
fn run_as_cron(line: &str) {
    let command = line
        .trim()
        .trim_start_matches("* * * * * ")
        .replace(r"\%", "%");
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&command);
    for (k, _) in std::env::vars() {
        if k.starts_with("WEBNET_") {
            sh.env_remove(k);
        }
    }
    let ran = sh.output().unwrap();
    assert!(
        ran.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
}

#[test]
fn a_pinned_caller_schedules_a_drain_that_sends_and_prunes_only_its_customer() {
    let env = Env::new();
    let rx = common::receiver::Receiver::ok();
    env.run(&["targets", "allow", "127.0.0.1/32"]).ok();
    for name in ["acme", "globex"] {
        let c = env.customer(name);
        env.webhook(c, name, &rx.url(&format!("/{name}")), &[]);
        // One delivery sent long ago (history), one queued now.
        env.run(&["emit", "job.completed", "--customer", &c.to_string()])
            .ok();
    }
    let ms = 40 * 24 * 3600 * 1000_i64;
    rusqlite::Connection::open(&env.db)
        .unwrap()
        .execute_batch(&format!(
            "UPDATE events SET created_at = created_at - {ms};
             UPDATE deliveries SET created_at = created_at - {ms}, updated_at = updated_at - {ms};
             UPDATE attempts SET started_at = started_at - {ms};"
        ))
        .unwrap();
    for c in ["1", "2"] {
        env.run(&["emit", "job.completed", "--customer", c, "--queue"])
            .ok();
    }
    let sent_before = rx.count();

    let out = env
        .run_env(
            &[("WEBNET_CUSTOMER", "1")],
            &[
                "schedule", "install", "--cron", "--print", "--retain", "30d",
            ],
        )
        .ok();
    let line = out.stdout.trim();
    assert!(
        line.contains(&format!("--db {} --customer 1 drain", env.db.display())),
        "{line}"
    );
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    run_as_cron(line);

    let sent: Vec<String> = rx.requests()[sent_before..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        sent,
        ["/acme"],
        "only the pinned customer's delivery was sent"
    );
    let list = env.run(&["deliveries", "list"]).ok().json();
    let ids: Vec<(i64, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_i64().unwrap(), d["status"].as_str().unwrap()))
        .collect();
    // 1 (acme, old) was pruned; 2 (globex, old) is kept; 3 sent; 4 still waits.
    assert_eq!(
        ids,
        [(4, "pending"), (3, "success"), (2, "success")],
        "{list}"
    );

    // Unpinned, the line is for every customer, as before.
    let line = env
        .run(&["schedule", "install", "--cron", "--print"])
        .ok()
        .stdout;
    assert!(!line.contains("--customer"), "{line}");
}

#[test]
fn scheduling_with_allow_private_targets_warns_and_suggests_the_allow_list() {
    let env = Env::new();
    env.customer("acme");
    for given in [vec![("WEBNET_ALLOW_PRIVATE_TARGETS", "1")], Vec::new()] {
        let args: &[&str] = if given.is_empty() {
            &[
                "--allow-private-targets",
                "schedule",
                "install",
                "--cron",
                "--print",
            ]
        } else {
            &["schedule", "install", "--cron", "--print"]
        };
        let out = env.run_env(&given, args).ok();
        assert!(
            out.stdout.contains("--allow-private-targets"),
            "{}",
            out.stdout
        );
        let warning: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(warning.len(), 1, "{}", out.stderr);
        assert!(
            warning[0].starts_with("warning: ") && warning[0].contains("webnet targets allow"),
            "{}",
            out.stderr
        );
    }
    let out = env.run(&["schedule", "install", "--cron", "--print"]).ok();
    assert!(
        out.stderr.is_empty(),
        "no warning without it: {}",
        out.stderr
    );
}
