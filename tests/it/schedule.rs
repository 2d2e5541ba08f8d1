//! `webnet schedule install`: units and crontab lines that work as written, for this database.

use crate::common;

use std::process::Command;

use common::{bin, Env};

/// `XDG_CONFIG_HOME` and `XDG_DATA_HOME` under the test's folder, and a `crontab` that keeps
/// the table in a file there (`crontab -l`, `crontab -`), ahead of any real one on `PATH`.
struct Home {
    config: std::path::PathBuf,
    data: std::path::PathBuf,
    table: std::path::PathBuf,
    path: String,
}

impl Home {
    fn new(env: &Env) -> Home {
        use std::os::unix::fs::PermissionsExt;
        let root = env.dir.path();
        let bin = root.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let table = root.join("crontab.txt");
        let script = bin.join("crontab");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncase \"$1\" in\n  -l) [ -f '{t}' ] || {{ echo 'no crontab' >&2; exit 1; }}; cat '{t}' ;;\n  -) cat > '{t}' ;;\n  *) exit 2 ;;\nesac\n",
                t = table.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Home {
            config: root.join("config"),
            data: root.join("data"),
            table,
            path: format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        }
    }

    /// The default database's path under this home.
    fn default_db(&self) -> std::path::PathBuf {
        self.data.join("webnet/webhooks.db")
    }

    fn vars(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("XDG_CONFIG_HOME", self.config.to_str().unwrap()),
            ("XDG_DATA_HOME", self.data.to_str().unwrap()),
            ("PATH", &self.path),
        ]
    }

    /// Runs webnet with this home (and `extra` variables) on the database `db`.
    fn run(
        &self,
        env: &Env,
        db: &std::path::Path,
        extra: &[(&str, &str)],
        args: &[&str],
    ) -> common::Out {
        let mut vars = self.vars();
        vars.push(("WEBNET_DB", db.to_str().unwrap()));
        vars.extend(extra.iter().copied());
        env.run_env(&vars, args)
    }

    fn crontab(&self) -> String {
        std::fs::read_to_string(&self.table).unwrap_or_default()
    }

    fn units(&self) -> std::path::PathBuf {
        self.config.join("systemd/user")
    }
}

/// A database as a line or unit shows it: a SQLite path as is, a PostgreSQL URL without its
/// password.
fn shown(db: &std::path::Path) -> String {
    let text = db.to_str().unwrap();
    if !text.starts_with("postgres") {
        return text.to_string();
    }
    let mut url = url::Url::parse(text).unwrap();
    url.set_password(None).unwrap();
    url.to_string()
}

/// The words a scheduled drain's command line starts with for `db`: `--db` and the database
/// ([`shown`]), then on a PostgreSQL run the `--key-file` every [`Env`] there sets
/// (`WEBNET_KEY_FILE`), passed on as given.
fn db_words(env: &Env, db: &std::path::Path) -> String {
    match &env.pg {
        Some(_) => format!("--db {} --key-file {}", shown(db), env.key_file().display()),
        None => format!("--db {}", shown(db)),
    }
}

/// This env's own database: its SQLite file, or on a PostgreSQL run its URL (as a path, as
/// [`Home::run`] takes one).
fn own_db(env: &Env) -> std::path::PathBuf {
    env.db_arg().into()
}

/// The readable part of the names of this env's database's schedule: the SQLite file's stem,
/// or the PostgreSQL database's name and host.
fn stem(env: &Env) -> String {
    match &env.pg {
        Some(db) => format!(
            "{}-{}",
            db.name,
            url::Url::parse(&db.url).unwrap().host_str().unwrap()
        ),
        None => "webhooks".to_string(),
    }
}

/// The private folder `schedule install` writes its environment file to (on PostgreSQL it
/// always writes one, for the password): `XDG_CONFIG_HOME` in the test's folder.
fn config_var(env: &Env) -> (&'static str, String) {
    (
        "XDG_CONFIG_HOME",
        env.dir.path().join("config").display().to_string(),
    )
}

/// Runs with `extra` and this env's [`config_var`].
fn run_in(env: &Env, extra: &[(&str, &str)], args: &[&str]) -> common::Out {
    let (k, v) = config_var(env);
    let mut vars = vec![(k, v.as_str())];
    vars.extend(extra.iter().copied());
    env.run_env(&vars, args)
}

#[test]
fn systemd_units_are_written_for_this_database_and_verify() {
    let env = Env::new();
    let home = Home::new(&env);
    let default = home.default_db();
    home.run(&env, &default, &[], &["customers", "create", "acme"])
        .ok();
    let out = home
        .run(&env, &default, &[], &["schedule", "install", "--systemd"])
        .ok();
    let v = out.json();
    assert!(v["next"]
        .as_str()
        .unwrap()
        .contains("enable --now webnet-drain.timer"));
    let dir = home.units();
    let service = std::fs::read_to_string(dir.join("webnet-drain.service")).unwrap();
    assert!(
        service.contains(&format!(
            "ExecStart={} {} drain --max-time 50s",
            bin(),
            db_words(&env, &default)
        )),
        "{service}"
    );
    assert!(dir.join("webnet-drain.timer").exists());
    home.run(
        &env,
        &default,
        &[],
        &["schedule", "install", "--systemd", "--watch"],
    )
    .ok();
    let watch = std::fs::read_to_string(dir.join("webnet-drain-watch.service")).unwrap();
    assert!(
        watch.contains("drain --watch") && watch.contains("Restart=always"),
        "{watch}"
    );
    verify(&[
        dir.join("webnet-drain.service"),
        dir.join("webnet-drain.timer"),
        dir.join("webnet-drain-watch.service"),
    ]);
}

/// `systemd-analyze verify` accepts the units (skipped where it is not installed).
fn verify(units: &[std::path::PathBuf]) {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::skipped!("SKIPPED: systemd-analyze is not available here");
        return;
    }
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .args(units)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn a_second_database_gets_its_own_units_and_environment_file() {
    let env = Env::new();
    let home = Home::new(&env);
    let default = home.default_db();
    let other = own_db(&env);
    let key = [("WEBNET_SECRET_KEY", "pass phrase")];
    for db in [&default, &other] {
        home.run(&env, db, &[], &["customers", "create", "acme"])
            .ok();
    }
    let first = home
        .run(&env, &default, &key, &["schedule", "install", "--systemd"])
        .ok()
        .json();
    let second = home
        .run(
            &env,
            &other,
            &key,
            &["schedule", "install", "--systemd", "--retain", "30d"],
        )
        .ok()
        .json();
    let dir = home.units();
    let files = |v: &serde_json::Value| -> Vec<String> {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    // The default database keeps the names README shows.
    let env_default = home.config.join("webnet/drain.env");
    assert_eq!(
        files(&first),
        [
            env_default.display().to_string(),
            dir.join("webnet-drain.service").display().to_string(),
            dir.join("webnet-drain.timer").display().to_string(),
        ]
    );
    // The other one: the same names with its own suffix, written beside them.
    let written = files(&second);
    assert_eq!(written.len(), 3, "{written:?}");
    let name = |path: &str| {
        std::path::Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let env_other = &written[0];
    let service = &written[1];
    let timer = &written[2];
    let stem = stem(&env);
    assert!(
        name(env_other).starts_with(&format!("drain-{stem}-")),
        "{written:?}"
    );
    assert!(name(env_other).ends_with(".env"), "{written:?}");
    let suffix = name(service)
        .strip_prefix(&format!("webnet-drain-{stem}-"))
        .and_then(|s| s.strip_suffix(".service"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{written:?}"));
    assert_eq!(suffix.len(), 8, "{written:?}");
    assert_eq!(name(timer), format!("webnet-drain-{stem}-{suffix}.timer"));
    assert_eq!(name(env_other), format!("drain-{stem}-{suffix}.env"));
    assert!(
        second["next"]
            .as_str()
            .unwrap()
            .ends_with(&format!("enable --now webnet-drain-{stem}-{suffix}.timer")),
        "{second}"
    );
    // Each service runs its own database, with its own options and environment file; the
    // first was not overwritten.
    let text = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let first_service = text(&dir.join("webnet-drain.service"));
    assert!(
        first_service.contains(&format!("{} drain", db_words(&env, &default)))
            && first_service.contains(&format!("EnvironmentFile={}\n", env_default.display()))
            && !first_service.contains("--retain"),
        "{first_service}"
    );
    let second_service = text(std::path::Path::new(service));
    assert!(
        second_service.contains(&format!("{} drain", db_words(&env, &other)))
            && second_service.contains(&format!("EnvironmentFile={env_other}\n"))
            && second_service.contains("--retain 30d")
            && second_service.contains(&format!("({})", shown(&other))),
        "{second_service}"
    );
    // On PostgreSQL the password is in the private file only, as PGPASSWORD.
    if let Some(db) = &env.pg {
        let password = url::Url::parse(&db.url)
            .unwrap()
            .password()
            .unwrap()
            .to_string();
        assert!(!second_service.contains(&password), "{second_service}");
        let file = text(std::path::Path::new(env_other));
        assert!(
            file.contains(&format!("\nPGPASSWORD=\"{password}\"\n")),
            "{file}"
        );
        assert!(
            file.starts_with("# The secret key and the database password for"),
            "{file}"
        );
    }
    for f in [env_default.to_str().unwrap(), env_other] {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(f).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
        assert!(text(std::path::Path::new(f)).contains("WEBNET_SECRET_KEY=\"pass phrase\""));
    }
    // On a terminal, the files written are listed, and the next step named.
    let out = home
        .run(
            &env,
            &other,
            &key,
            &[
                "--output",
                "table",
                "schedule",
                "install",
                "--systemd",
                "--watch",
            ],
        )
        .ok();
    let watch = dir.join(format!("webnet-drain-watch-{stem}-{suffix}.service"));
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [env_other.as_str(), watch.to_str().unwrap()],
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(&format!(
            "now run: systemctl --user daemon-reload && systemctl --user enable --now webnet-drain-watch-{stem}-{suffix}.service"
        )),
        "{}",
        out.stderr
    );
    verify(&[
        dir.join("webnet-drain.service"),
        dir.join("webnet-drain.timer"),
        service.into(),
        timer.into(),
        watch,
    ]);
}

#[test]
fn each_database_gets_its_own_crontab_line() {
    let env = Env::new();
    let home = Home::new(&env);
    let default = home.default_db();
    let other = own_db(&env);
    let key = [("WEBNET_SECRET_KEY", "pass phrase")];
    for db in [&default, &other] {
        home.run(&env, db, &[], &["customers", "create", "acme"])
            .ok();
    }
    std::fs::write(&home.table, "MAILTO=ops@example.com\n0 3 * * * backup.sh\n").unwrap();

    let first = home
        .run(&env, &default, &key, &["schedule", "install", "--cron"])
        .ok();
    let line = first.json()["crontab"].as_str().unwrap().to_string();
    assert!(
        line.ends_with(&format!("# webnet drain {}", default.display())),
        "{line}"
    );
    assert!(
        first.stderr.contains("added to your crontab"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("drain.env"), "{}", first.stderr);
    assert_eq!(
        home.crontab(),
        format!("MAILTO=ops@example.com\n0 3 * * * backup.sh\n{line}\n")
    );

    // The same database again: nothing changed, and the line it has is shown.
    let again = home
        .run(
            &env,
            &default,
            &key,
            &[
                "--output", "table", "schedule", "install", "--cron", "--retain", "9d",
            ],
        )
        .ok();
    assert!(
        again.stderr.contains("already installed"),
        "{}",
        again.stderr
    );
    assert_eq!(again.stdout.trim(), line);
    assert_eq!(home.crontab().lines().count(), 3);

    // Another database: its own line, with its own --retain and environment file.
    let second = home
        .run(
            &env,
            &other,
            &key,
            &["schedule", "install", "--cron", "--retain", "30d"],
        )
        .ok()
        .json();
    assert_eq!(second["added"], true);
    let other_line = second["crontab"].as_str().unwrap();
    let env_other = second["environment_file"].as_str().unwrap();
    assert!(
        env_other.contains(&format!("/webnet/drain-{}-", stem(&env)))
            && other_line.contains(env_other),
        "{second}"
    );
    assert!(
        other_line.contains(&format!(
            "{} drain --max-time 50s --retain 30d",
            db_words(&env, &other)
        )),
        "{other_line}"
    );
    let table = home.crontab();
    assert_eq!(
        table.lines().collect::<Vec<_>>()[2..],
        [line.as_str(), other_line]
    );

    // Each line runs its own database's drain (on a PostgreSQL run the second one is on the
    // server, its password from its own file), reading its own key file.
    for l in table.lines().skip(2) {
        run_as_cron(l);
    }

    // A line written before lines named their database counts as that database's.
    let old = format!(
        "* * * * * {} --db {} drain --max-time 50s > /dev/null # webnet drain",
        bin(),
        default.display()
    );
    std::fs::write(&home.table, format!("{old}\n")).unwrap();
    let out = home
        .run(&env, &default, &[], &["schedule", "install", "--cron"])
        .ok();
    assert!(out.stderr.contains("already installed"), "{}", out.stderr);
    assert_eq!(out.json()["crontab"], old.as_str());
    home.run(&env, &other, &[], &["schedule", "install", "--cron"])
        .ok();
    assert_eq!(home.crontab().lines().count(), 2);
}

/// A second schedule for one database (cron, then systemd; the timer, then the watching
/// service) is installed as asked, with one warning naming the schedule already there and how
/// to stop it; installing the same one again, or another database's, warns of nothing.
#[test]
fn a_second_schedule_for_one_database_is_warned_about() {
    let env = Env::new();
    let home = Home::new(&env);
    let db = own_db(&env);
    let other = home.default_db();
    for d in [&db, &other] {
        home.run(&env, d, &[], &["customers", "create", "acme"])
            .ok();
    }
    let install = |db: &std::path::Path, how: &[&str]| {
        let mut args = vec!["schedule", "install"];
        args.extend_from_slice(how);
        let out = home.run(&env, db, &[], &args).ok();
        let warnings: Vec<String> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("warning:"))
            .map(str::to_string)
            .collect();
        assert!(warnings.len() <= 1, "{}", out.stderr);
        warnings.into_iter().next().unwrap_or_default()
    };
    let crontab = "a line in your crontab (remove it with `crontab -e`)";
    let stop = "(stop it with `systemctl --user disable --now webnet-drain";

    assert_eq!(install(&db, &["--cron"]), "");
    assert_eq!(install(&db, &["--cron"]), "", "the same schedule again");
    let warning = install(&db, &["--systemd"]);
    assert!(
        warning.contains(&format!("{} already has a drain schedule: ", shown(&db)))
            && warning.contains(crontab)
            && warning.ends_with("keep one"),
        "{warning}"
    );
    assert!(
        !warning.contains("systemd"),
        "not the timer it installed: {warning}"
    );
    assert!(home.crontab().contains("# webnet drain"), "nothing removed");
    assert_eq!(install(&other, &["--systemd"]), "", "another database's");

    std::fs::write(&home.table, "").unwrap();
    assert_eq!(install(&db, &["--systemd"]), "", "the crontab line removed");
    let warning = install(&db, &["--systemd", "--watch"]);
    assert!(
        warning.contains("the systemd timer webnet-drain")
            && warning.contains(stop)
            && !warning.contains("crontab"),
        "{warning}"
    );
    let warning = install(&db, &["--cron"]);
    assert!(
        warning.contains("the systemd timer webnet-drain")
            && warning.contains("the systemd service webnet-drain-watch")
            && warning.matches(stop).count() == 2
            && warning.contains("already has drain schedules: ")
            && warning.contains("all of them would drain it"),
        "{warning}"
    );
}

#[test]
fn schedule_install_refuses_a_database_that_does_not_exist() {
    let env = Env::new();
    let home = Home::new(&env);
    for args in [
        vec!["schedule", "install", "--cron"],
        vec!["schedule", "install", "--cron", "--print"],
        vec!["schedule", "install", "--systemd"],
    ] {
        home.run(&env, &env.db, &[("WEBNET_SECRET_KEY", "k")], &args)
            .fails(1, "no webnet database at");
    }
    assert!(!env.db.exists(), "nothing created");
    assert!(!home.config.exists(), "nothing written");
    assert!(!home.table.exists(), "no crontab");
}

#[test]
fn schedule_install_names_both_schedulers_when_neither_is_given() {
    let env = Env::new();
    env.customer("acme");
    env.run(&["schedule", "install", "--print"])
        .fails(2, "<--cron|--systemd>");
    env.run(&["schedule", "install"])
        .fails(2, "<--cron|--systemd>");
    let help = env.run(&["schedule", "install", "--help"]).ok().stdout;
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        help.contains("--print Print the line or units instead of installing them. With WEBNET_SECRET_KEY or a proxy set, the private environment file they read is still written (mode 0600)"),
        "{help}"
    );
}

#[test]
fn the_cron_line_runs_as_printed() {
    let env = Env::new();
    env.customer("acme"); // drain refuses a database that does not exist
    let line = run_in(&env, &[], &["schedule", "install", "--cron", "--print"])
        .ok()
        .stdout;
    assert!(line.starts_with("* * * * * "), "{line}");
    assert!(
        line.contains(&format!("{} drain ", db_words(&env, &own_db(&env)))),
        "the line names this database: {line}"
    );
    let command = line.trim().trim_start_matches("* * * * * ");
    let out = Command::new("sh").arg("-c").arg(command).output().unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if env.pg.is_none() {
        assert!(env.db.exists(), "the line names this database");
    }
    run_in(&env, &[], &["schedule", "install", "--cron", "--watch"]).fails(2, "--watch");
    let printed = run_in(&env, &[], &["schedule", "install", "--systemd", "--print"])
        .ok()
        .stdout;
    assert!(printed.contains("[Timer]"), "{printed}");
}

/// A passphrase a shell or systemd would mangle if it were not quoted right.
const PASSPHRASE: &str = r#"pass phrase 'single' "double" $HOME ${X} `id` \back; # %n"#;

/// The environment file `schedule install` wrote under `config` (for a database that is not
/// the default one: `drain-<stem>-<hash>.env`); `None` when there is none.
fn env_file(config: &std::path::Path) -> Option<std::path::PathBuf> {
    let files: Vec<_> = std::fs::read_dir(config.join("webnet"))
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "env"))
        .collect();
    assert!(files.len() <= 1, "{files:?}");
    files.into_iter().next()
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
    let file = env_file(&config).expect("the environment file");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // --print installs nothing else, and says that it wrote the file.
    // On PostgreSQL, with the database password the drain needs too.
    let holds = match &env.pg {
        Some(_) => "the secret key (WEBNET_SECRET_KEY) and the database password (PGPASSWORD): the printed line reads them",
        None => "the secret key (WEBNET_SECRET_KEY): the printed line reads it",
    };
    assert!(
        out.stderr.contains(&format!(
            "wrote {} (mode 0600) with {holds} from there; nothing else was installed",
            file.display()
        )),
        "{}",
        out.stderr
    );
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
    env.customer("acme");
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
    let file = env_file(&config).expect("the environment file");
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
    // This database is not the default one: its units carry its suffix.
    let unit = |base: &str, kind: &str| {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with(&format!("{base}-{}-", stem(&env))) && name.ends_with(kind)
            })
            .unwrap_or_else(|| panic!("no {base} {kind} in {}", dir.display()))
    };
    let (service, timer, watch) = (
        unit("webnet-drain", ".service"),
        unit("webnet-drain", ".timer"),
        unit("webnet-drain-watch", ".service"),
    );
    for unit in [&service, &watch] {
        let text = std::fs::read_to_string(unit).unwrap();
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
    // Without a key: the key file beside the database, as before, and no environment file
    // (on PostgreSQL: one with the database password only).
    let plain = Env::new();
    plain.customer("acme");
    let plain_config = plain.dir.path().join("config");
    let out = plain
        .run_env(
            &[("XDG_CONFIG_HOME", plain_config.to_str().unwrap())],
            &["schedule", "install", "--systemd", "--print"],
        )
        .ok();
    match &plain.pg {
        None => {
            assert!(!out.stdout.contains("EnvironmentFile"), "{}", out.stdout);
            assert!(env_file(&plain_config).is_none());
        }
        Some(_) => {
            let file = env_file(&plain_config).expect("the environment file");
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                text.starts_with("# The database password for")
                    && text.contains("\nPGPASSWORD=\"")
                    && !text.contains("WEBNET_SECRET_KEY"),
                "{text}"
            );
            assert!(
                out.stdout
                    .contains(&format!("EnvironmentFile={}\n", file.display())),
                "{}",
                out.stdout
            );
        }
    }
    env.run(&["schedule", "install", "--cron", "--print", "--retain", "0s"])
        .fails(2, "--retain");
    verify(&[service, timer, watch]);
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
    env.exec(&format!(
        "UPDATE events SET created_at = created_at - {ms};
         UPDATE deliveries SET created_at = created_at - {ms}, updated_at = updated_at - {ms};
         UPDATE attempts SET started_at = started_at - {ms};"
    ));
    for c in ["1", "2"] {
        env.run(&["emit", "job.completed", "--customer", c, "--queue"])
            .ok();
    }
    let sent_before = rx.count();

    let out = run_in(
        &env,
        &[("WEBNET_CUSTOMER", "1")],
        &[
            "schedule", "install", "--cron", "--print", "--retain", "30d",
        ],
    )
    .ok();
    let line = out.stdout.trim();
    assert!(
        line.contains(&format!(
            "{} --customer 1 drain",
            db_words(&env, &own_db(&env))
        )),
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
    let line = run_in(&env, &[], &["schedule", "install", "--cron", "--print"])
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
        let out = run_in(&env, &given, args).ok();
        assert!(
            out.stdout.contains("--allow-private-targets"),
            "{}",
            out.stdout
        );
        // On PostgreSQL a second line says where the database password went.
        let (warning, other): (Vec<&str>, Vec<&str>) = out
            .stderr
            .lines()
            .partition(|l| !l.starts_with("wrote ") || env.pg.is_none());
        assert_eq!(warning.len(), 1, "{}", out.stderr);
        assert!(other.len() <= 1, "{}", out.stderr);
        assert!(
            warning[0].starts_with("warning: ") && warning[0].contains("webnet targets allow"),
            "{}",
            out.stderr
        );
    }
    let out = run_in(&env, &[], &["schedule", "install", "--cron", "--print"]).ok();
    let expected = match env.pg {
        Some(_) => 1, // where the database password went
        None => 0,
    };
    assert!(
        !out.stderr.contains("warning") && out.stderr.lines().count() == expected,
        "no warning without it: {}",
        out.stderr
    );
}

/// `--print` installs nothing: it never replaces the environment file an installed schedule
/// reads with other settings. And a key that does not open the stored secrets is refused, as
/// every scheduled run would fail to sign with it.
#[test]
fn print_leaves_an_installed_schedules_environment_file_alone() {
    let env = Env::new();
    let c = env.customer("acme").to_string();
    let config = env.dir.path().join("config");
    let with = |pairs: &[(&'static str, &'static str)]| {
        let mut v = vec![("XDG_CONFIG_HOME", config.to_str().unwrap().to_string())];
        v.extend(pairs.iter().map(|(k, val)| (*k, val.to_string())));
        v
    };
    let run = |pairs: &[(&'static str, &'static str)], args: &[&str]| {
        let vars = with(pairs);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.run_env(&refs, args)
    };
    let key = ("WEBNET_SECRET_KEY", PASSPHRASE);
    run(
        &[key],
        &[
            "webhooks",
            "create",
            "--customer",
            &c,
            "--name",
            "s",
            "--url",
            "https://a.example.com/",
            "--event",
            "*",
            "--secret",
            "the-webhook-secret",
            "--disabled",
        ],
    )
    .ok();
    run(&[key], &["schedule", "install", "--cron", "--print"]).ok();
    let file = env_file(&config).expect("written for the printed line");
    let installed = std::fs::read(&file).unwrap();
    // Another shell: a proxy set, no key. Printing must not make the schedule lose its key.
    run(
        &[key, ("HTTPS_PROXY", "http://proxy.example:3128")],
        &["schedule", "install", "--cron", "--print"],
    )
    .fails(1, "--print installs nothing and leaves it as it is");
    assert_eq!(std::fs::read(&file).unwrap(), installed);
    // The same settings again: nothing to change, fine.
    run(&[key], &["schedule", "install", "--cron", "--print"]).ok();
    // A key that does not open the secrets is refused before anything is written.
    run(
        &[("WEBNET_SECRET_KEY", "not the passphrase")],
        &["schedule", "install", "--cron", "--print"],
    )
    .fails(1, "WEBNET_SECRET_KEY does not open");
    assert_eq!(std::fs::read(&file).unwrap(), installed);
}

/// `--print` again for the same database written another way (a URL option more): only the
/// environment file's comment, which names the database as given, differs, and the same
/// settings are no reason to refuse.
#[test]
fn print_again_with_the_url_written_otherwise_is_not_refused() {
    let env = Env::new();
    let Some(db) = &env.pg else {
        crate::skipped!("SKIPPED on SQLite: a file's path is one spelling (this is about URLs)");
        return;
    };
    env.customer("acme");
    let config = env.dir.path().join("config");
    let print = |url: &str| {
        env.run_env(
            &[
                ("XDG_CONFIG_HOME", config.to_str().unwrap()),
                ("WEBNET_DB", url),
            ],
            &["schedule", "install", "--cron", "--print"],
        )
    };
    print(&db.url).ok();
    let file = env_file(&config).expect("written for the database password");
    let other = match db.url.contains('?') {
        true => format!("{}&application_name=other", db.url),
        false => format!("{}?application_name=other", db.url),
    };
    let out = print(&other).ok();
    assert!(
        out.stdout.contains("application_name=other"),
        "{}",
        out.stdout
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("application_name=other"),
        "the comment says it: {text}"
    );
}
