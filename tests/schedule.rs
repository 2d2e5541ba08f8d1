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
