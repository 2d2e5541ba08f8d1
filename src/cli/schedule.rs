//! `webnet schedule install --cron|--systemd`: the crontab line or the systemd units that run
//! `drain` for this database, written (or printed with `--print`).
//!
//! They reproduce how the caller runs webnet: the database (a SQLite path, or a PostgreSQL URL
//! without its password), the customer it is pinned to (so a pinned caller's drain sends, and
//! prunes with `--retain`, only that customer's deliveries), `--allow-private-targets` (with a
//! warning: the stored allow list is the way for a schedule), `--retain`, the key source
//! (`--key-file`, as an absolute path, when given) and the egress proxy. A `WEBNET_SECRET_KEY`,
//! the proxy settings (`--proxy`/`WEBNET_PROXY`, else the usual `*_proxy` variables: a proxy URL
//! may hold a password) and a PostgreSQL password (as `PGPASSWORD`) go into a private
//! environment file (mode 0600) that the line or unit reads; none appears in the crontab, the
//! unit or the output.
//!
//! Each database gets its own schedule ([`Names`]): its crontab line is marked with its path
//! (or URL), so installing it again finds its line and another database adds its own; its
//! units and environment file carry a suffix naming it (a SQLite file's stem, a PostgreSQL
//! database's name and host, and a hash) unless it is the default database (whose names,
//! `webnet-drain.service` and `drain.env`, README shows).

mod render;

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::args::ScheduleCommand;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::domain::Scope;
use crate::store::Location;
use render::{cron_line, env_file_text, is_line_for, systemd_units, DrainCommand, Names, Private};

pub fn run(ctx: &Context, cmd: ScheduleCommand) -> Result<(), CliError> {
    let ScheduleCommand::Install {
        cron,
        systemd: _,
        print,
        watch,
        retain,
        metrics_file,
    } = cmd;
    if cron && watch {
        return Err(CliError::usage(
            "--watch",
            "goes with --systemd: cron starts `drain` every minute instead",
        ));
    }
    // As every command that does not create a database: a mistyped --db fails here, not in
    // the scheduled drain every minute; so does a key that does not open the stored secrets
    // (every scheduled run would fail to sign).
    if let Some(e) = crate::ops::keys::unusable(&ctx.store()?) {
        return Err(e.into());
    }
    // Likewise a proxy variable the drain would refuse.
    ctx.proxies()?;
    let proxy_env = ctx.proxy_env();
    let exe = std::env::current_exe()
        .map_err(|e| CliError::failure(format!("cannot find this program's path: {e}")))?;
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .map_err(|e| CliError::failure(format!("cannot resolve the database path: {e}")))
    };
    let (db, names, db_password) = match ctx.location() {
        Location::File(path) => {
            let db = absolute(path)?;
            let default = super::context::default_db_path()
                .ok()
                .is_some_and(|d| absolute(&d).is_ok_and(|d| d == db));
            let names = Names::for_db(&db, default);
            (db, names, None)
        }
        // The password goes to the private environment file, never on a command line.
        Location::Postgres(url) => (
            PathBuf::from(&url.without_password),
            Names::for_postgres(&url.host, url.port, &url.dbname),
            url.password.clone(),
        ),
    };
    let key_file = ctx.key_file().map(absolute).transpose()?;
    // Checked now, as `drain` would check it every run; a line break would end the crontab line.
    let metrics_file = match metrics_file {
        Some(p) if p.as_os_str().to_string_lossy().contains(['\n', '\r']) => {
            return Err(CliError::usage(
                "--metrics-file",
                "a path with a line break cannot go into a schedule",
            ))
        }
        Some(p) => {
            super::metrics::MetricsFile::check(&p)?;
            Some(std::path::absolute(&p).map_err(|e| {
                CliError::failure(format!("cannot resolve the --metrics-file path: {e}"))
            })?)
        }
        None => None,
    };
    let private = Private {
        passphrase: ctx.passphrase(),
        proxy_env,
        db_password,
    };
    let env_file = match private.is_empty() {
        false => Some(config_dir()?.join("webnet").join(names.env_file())),
        true => None,
    };
    if ctx.allow_private {
        eprintln!(
            "warning: the scheduled drain gets --allow-private-targets and may reach any private or loopback address; for a schedule, store what it may reach with `webnet targets allow CIDR|HOST` instead"
        );
    }
    let drain = DrainCommand {
        exe,
        db,
        customer: match ctx.scope {
            Scope::Customer(c) => Some(c),
            Scope::All => None,
        },
        allow_private: ctx.allow_private,
        retain,
        env_file,
        key_file,
        metrics_file,
    };
    if cron {
        if drain
            .db
            .as_os_str()
            .to_string_lossy()
            .contains(['\n', '\r'])
        {
            return Err(CliError::usage(
                "--db",
                "a path with a line break cannot go into a crontab line; use --systemd",
            ));
        }
        let line = cron_line(&drain);
        if print {
            if let Some(file) = write_env_file(&drain, &private, false)? {
                printed_needs(&file, &private, "line");
            }
            output::print_line(&line);
            return Ok(());
        }
        let others = other_schedules(&drain, &names, Kind::Cron);
        install_cron(ctx, &drain, &private, &line)?;
        warn_of(&drain, &others);
        return Ok(());
    }
    let units = systemd_units(&drain, &names, watch);
    if print {
        if let Some(file) = write_env_file(&drain, &private, false)? {
            printed_needs(&file, &private, "units");
        }
        for (name, text) in &units {
            output::print_line(&format!("# {name}\n{text}"));
        }
        return Ok(());
    }
    let others = other_schedules(
        &drain,
        &names,
        if watch { Kind::Watch } else { Kind::Timer },
    );
    let dir = config_dir()?.join("systemd/user");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::failure(format!("{}: {e}", dir.display())))?;
    let mut written = Vec::new();
    if let Some(file) = write_env_file(&drain, &private, true)? {
        written.push(file.display().to_string());
    }
    for (name, text) in &units {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?;
        written.push(path.display().to_string());
    }
    let unit = if watch {
        names.unit("webnet-drain-watch", "service")
    } else {
        names.unit("webnet-drain", "timer")
    };
    let next = format!("systemctl --user daemon-reload && systemctl --user enable --now {unit}");
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "database": drain.db.display().to_string(),
            "files": written,
            "environment_file": drain.env_file.as_ref().map(|p| p.display().to_string()),
            "next": next,
        })),
        Format::Table => {
            for f in &written {
                output::print_line(f);
            }
            eprintln!(
                "wrote {} file(s) for the database {}; now run: {next}",
                written.len(),
                drain.db.display()
            );
        }
    }
    warn_of(&drain, &others);
    Ok(())
}

/// The three schedules `schedule install` can write for a database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cron,
    /// `--systemd`: a timer starting `drain` every minute.
    Timer,
    /// `--systemd --watch`: a service running `drain --watch`.
    Watch,
}

/// The schedules other than `installing` already installed for this database, each with how
/// to stop it: a line in the user's crontab, the systemd timer, the watching service (their
/// unit files in the folder `schedule install` writes to; whether they are enabled is
/// systemd's to say). Nothing when the crontab or the folder cannot be read.
fn other_schedules(drain: &DrainCommand, names: &Names, installing: Kind) -> Vec<String> {
    let mut found = Vec::new();
    if installing != Kind::Cron
        && read_crontab().is_ok_and(|t| t.lines().any(|l| is_line_for(l, &drain.db)))
    {
        found.push("a line in your crontab (remove it with `crontab -e`)".to_string());
    }
    let units = config_dir().map(|d| d.join("systemd/user"));
    for (kind, unit, what) in [
        (Kind::Timer, names.unit("webnet-drain", "timer"), "timer"),
        (
            Kind::Watch,
            names.unit("webnet-drain-watch", "service"),
            "service",
        ),
    ] {
        if kind != installing && units.as_ref().is_ok_and(|d| d.join(&unit).exists()) {
            found.push(format!(
                "the systemd {what} {unit} (stop it with `systemctl --user disable --now {unit}`)"
            ));
        }
    }
    found
}

/// Warns that the schedule just installed runs beside `others`: harmless to the deliveries
/// (leases: none is sent twice at once) but twice the drains, logs and summaries.
fn warn_of(drain: &DrainCommand, others: &[String]) {
    if others.is_empty() {
        return;
    }
    let (has, all) = match others.len() {
        1 => ("a drain schedule", "the two"),
        _ => ("drain schedules", "all of them"),
    };
    eprintln!(
        "warning: {} already has {has}: {}; {all} would drain it (no delivery is sent twice at once, but the runs and log lines multiply): keep one",
        drain.db.display(),
        others.join(", ")
    );
}

/// Says on stderr that `--print` wrote the environment file (it installs nothing else): what
/// it printed reads the key, the proxy settings or the database password from there.
fn printed_needs(file: &Path, private: &Private, what: &str) {
    eprintln!(
        "wrote {} (mode 0600) with {}: the printed {what} read{} {} from there; nothing else was installed",
        file.display(),
        private.holds(),
        if what == "line" { "s" } else { "" },
        if private.holds_one() {
            "it"
        } else {
            "them"
        }
    );
}

/// Writes the environment file (mode 0600 from the first byte, in a 0700 folder), replacing
/// any earlier one in one step, and returns its path. Nothing to do without a key, proxy
/// settings or a database password. Without `replace` (`--print`, which installs nothing) an
/// earlier file with other settings is left alone and the command fails: an installed
/// schedule reads it.
fn write_env_file(
    drain: &DrainCommand,
    private: &Private,
    replace: bool,
) -> Result<Option<PathBuf>, CliError> {
    let Some(path) = &drain.env_file else {
        return Ok(None);
    };
    if private.is_empty() {
        return Ok(None);
    }
    let text = env_file_text(&drain.db, private);
    if !replace {
        match std::fs::read_to_string(path) {
            Ok(old) if old == text => return Ok(Some(path.clone())),
            // Only the comments differ (they name the database as this command line wrote
            // it): the same settings, written again.
            Ok(old) if settings_of(&old) == settings_of(&text) => {}
            Ok(_) => {
                return Err(CliError::failure(format!(
                    "{} holds other settings, which an installed schedule of this database reads; --print installs nothing and leaves it as it is: run `webnet schedule install` without --print to replace the schedule, or remove the file first",
                    path.display()
                )))
            }
            Err(_) => {}
        }
    }
    let fail = |p: &Path, e: std::io::Error| CliError::failure(format!("{}: {e}", p.display()));
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| fail(dir, e))?;
    }
    let tmp = path.with_extension("env.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| fail(&tmp, e))?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(path, e))?;
    Ok(Some(path.clone()))
}

/// The settings of an environment file: its lines but comments and blank ones.
fn settings_of(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// `$XDG_CONFIG_HOME`, else `~/.config`.
fn config_dir() -> Result<PathBuf, CliError> {
    super::context::xdg_dir("XDG_CONFIG_HOME", ".config")
        .ok_or_else(|| CliError::failure("neither XDG_CONFIG_HOME nor HOME is set; use --print"))
}

/// The user's crontab (`crontab -l`): empty when they have none yet (`crontab -l` then fails);
/// an error when `crontab` cannot be run here.
fn read_crontab() -> std::io::Result<String> {
    let out = Command::new("crontab")
        .arg("-l")
        .stderr(Stdio::null())
        .output()?;
    Ok(match out.status.success() {
        true => String::from_utf8_lossy(&out.stdout).into_owned(),
        false => String::new(),
    })
}

/// Adds this database's line to the user's crontab unless it has one already (then nothing,
/// the environment file included, is changed, and the line there is shown). Other databases'
/// lines are left as they are.
fn install_cron(
    ctx: &Context,
    drain: &DrainCommand,
    private: &Private,
    line: &str,
) -> Result<(), CliError> {
    let missing = || {
        CliError::failure(format!(
            "crontab is not available here; add this line with `crontab -e`: {line}"
        ))
    };
    let Ok(mut table) = read_crontab() else {
        // The line printed in the message must work once added by hand.
        write_env_file(drain, private, true)?;
        return Err(missing());
    };
    let report = |shown: &str, added: bool, env: Option<&Path>| match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "database": drain.db.display().to_string(),
            "crontab": shown,
            "added": added,
            "environment_file": env.map(|p| p.display().to_string()),
        })),
        Format::Table => output::print_line(shown),
    };
    if let Some(existing) = table.lines().find(|l| is_line_for(l, &drain.db)) {
        eprintln!(
            "already installed: your crontab has a webnet drain line for {}; nothing changed (to replace it, remove it with `crontab -e` and run this again)",
            drain.db.display()
        );
        report(existing, false, None);
        return Ok(());
    }
    let env = write_env_file(drain, private, true)?;
    if !table.is_empty() && !table.ends_with('\n') {
        table.push('\n');
    }
    table.push_str(line);
    table.push('\n');
    let mut child = Command::new("crontab")
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|_| missing())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(table.as_bytes())
            .map_err(|e| CliError::failure(format!("crontab: {e}")))?;
    }
    let status = child
        .wait()
        .map_err(|e| CliError::failure(format!("crontab: {e}")))?;
    if !status.success() {
        return Err(CliError::failure(
            "crontab refused the new table; nothing changed",
        ));
    }
    eprintln!(
        "added to your crontab: drain runs every minute for {}{}",
        drain.db.display(),
        env.as_ref()
            .map(|p| format!(
                "; wrote {} (mode 0600) with {} it reads",
                p.display(),
                private.holds()
            ))
            .unwrap_or_default()
    );
    report(line, true, env.as_deref());
    Ok(())
}
