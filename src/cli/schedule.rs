//! `webnet schedule install --cron|--systemd`: the crontab line or the systemd units that run
//! `drain` for this database, written (or printed with `--print`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::args::ScheduleCommand;
use super::output::{self, Format};
use super::{CliError, Context};

const MARK: &str = "# webnet drain";

pub fn run(ctx: &Context, cmd: ScheduleCommand) -> Result<(), CliError> {
    let ScheduleCommand::Install {
        cron,
        systemd: _,
        print,
        watch,
    } = cmd;
    if cron && watch {
        return Err(CliError::usage(
            "--watch",
            "goes with --systemd: cron starts `drain` every minute instead",
        ));
    }
    let exe = std::env::current_exe()
        .map_err(|e| CliError::failure(format!("cannot find this program's path: {e}")))?;
    let db = std::path::absolute(ctx.db_path())
        .map_err(|e| CliError::failure(format!("cannot resolve the database path: {e}")))?;
    if cron {
        let line = cron_line(&exe, &db);
        if print {
            output::print_line(&line);
            return Ok(());
        }
        return install_cron(ctx, &line);
    }
    let units = systemd_units(&exe, &db, watch);
    if print {
        for (name, text) in &units {
            output::print_line(&format!("# {name}\n{text}"));
        }
        return Ok(());
    }
    let dir = systemd_dir()?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::failure(format!("{}: {e}", dir.display())))?;
    let mut written = Vec::new();
    for (name, text) in &units {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| CliError::failure(format!("{}: {e}", path.display())))?;
        written.push(path.display().to_string());
    }
    let unit = if watch {
        "webnet-drain-watch.service"
    } else {
        "webnet-drain.timer"
    };
    let next = format!("systemctl --user daemon-reload && systemctl --user enable --now {unit}");
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({"files": written, "next": next})),
        Format::Table => {
            for f in &written {
                output::print_line(f);
            }
            eprintln!("written; now run: {next}");
        }
    }
    Ok(())
}

/// A path as one systemd or shell word: quoted when it has spaces.
fn word(p: &Path) -> String {
    let s = p.display().to_string();
    if s.contains(char::is_whitespace) {
        format!("\"{s}\"")
    } else {
        s
    }
}

pub fn cron_line(exe: &Path, db: &Path) -> String {
    format!(
        "* * * * * {} --db {} drain --max-time 50s > /dev/null {MARK}",
        word(exe),
        word(db)
    )
}

pub fn systemd_units(exe: &Path, db: &Path, watch: bool) -> Vec<(String, String)> {
    let exec = format!("{} --db {} drain", word(exe), word(db));
    if watch {
        return vec![(
            "webnet-drain-watch.service".into(),
            format!(
                "[Unit]\nDescription=webnet webhook deliveries, sent as they fall due\n\n[Service]\nExecStart={exec} --watch\nRestart=always\nRestartSec=5\n\n[Install]\nWantedBy=default.target\n"
            ),
        )];
    }
    vec![
        (
            "webnet-drain.service".into(),
            format!("[Unit]\nDescription=Send due webnet webhook deliveries\n\n[Service]\nType=oneshot\nExecStart={exec} --max-time 50s\n"),
        ),
        (
            "webnet-drain.timer".into(),
            "[Unit]\nDescription=Run webnet drain every minute\n\n[Timer]\nOnCalendar=minutely\nAccuracySec=1s\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n".into(),
        ),
    ]
}

fn systemd_dir() -> Result<PathBuf, CliError> {
    let var = |k| std::env::var_os(k).filter(|v: &std::ffi::OsString| !v.is_empty());
    match (var("XDG_CONFIG_HOME"), var("HOME")) {
        (Some(x), _) => Ok(PathBuf::from(x).join("systemd/user")),
        (None, Some(h)) => Ok(PathBuf::from(h).join(".config/systemd/user")),
        (None, None) => Err(CliError::failure(
            "neither XDG_CONFIG_HOME nor HOME is set; use --print",
        )),
    }
}

/// Adds the line to the user's crontab unless a webnet line is there already.
fn install_cron(ctx: &Context, line: &str) -> Result<(), CliError> {
    let missing = || {
        CliError::failure(format!(
            "crontab is not available here; add this line with `crontab -e`: {line}"
        ))
    };
    let current = Command::new("crontab")
        .arg("-l")
        .stderr(Stdio::null())
        .output()
        .map_err(|_| missing())?;
    // `crontab -l` fails when the user has no crontab yet: start from nothing.
    let mut table = if current.status.success() {
        String::from_utf8_lossy(&current.stdout).into_owned()
    } else {
        String::new()
    };
    if table.lines().any(|l| l.contains(MARK)) {
        eprintln!("a webnet drain line is already in your crontab; nothing changed");
        return Ok(());
    }
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
        use std::io::Write;
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
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({"crontab": line})),
        Format::Table => output::print_line(line),
    }
    Ok(())
}
