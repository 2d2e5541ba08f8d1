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
