//! `webnet schedule install --cron|--systemd`: the crontab line or the systemd units that run
//! `drain` for this database, written (or printed with `--print`).
//!
//! They reproduce how the caller runs webnet: the database path, the customer it is pinned to
//! (so a pinned caller's drain sends, and prunes with `--retain`, only that customer's
//! deliveries), `--allow-private-targets` (with a warning: the stored allow list is the way
//! for a schedule), `--retain`, and the key source. A `WEBNET_SECRET_KEY` goes into a private
//! environment file (mode 0600) that the line or unit reads; the passphrase itself never
//! appears in the crontab, the unit or the output.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::args::ScheduleCommand;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::domain::{CustomerId, Scope};

const MARK: &str = "# webnet drain";

/// What the scheduled `drain` needs to run as the caller does.
#[derive(Debug, Clone)]
pub struct DrainCommand {
    pub exe: PathBuf,
    pub db: PathBuf,
    /// The customer the caller is pinned to (`--customer`, `WEBNET_CUSTOMER`).
    pub customer: Option<CustomerId>,
    pub allow_private: bool,
    /// `drain --retain`, as given (one word).
    pub retain: Option<String>,
    /// The environment file holding `WEBNET_SECRET_KEY`, when the caller uses one.
    pub env_file: Option<PathBuf>,
}

impl DrainCommand {
    /// The program and its arguments, up to and including `drain`'s own options.
    fn words(&self, extra: &[&str]) -> Vec<String> {
        let mut words = vec![
            self.exe.display().to_string(),
            "--db".into(),
            self.db.display().to_string(),
        ];
        if let Some(customer) = self.customer {
            words.extend(["--customer".into(), customer.to_string()]);
        }
        if self.allow_private {
            words.push("--allow-private-targets".into());
        }
        words.push("drain".into());
        words.extend(extra.iter().map(|s| s.to_string()));
        if let Some(retain) = &self.retain {
            words.extend(["--retain".into(), retain.clone()]);
        }
        words
    }
}

pub fn run(ctx: &Context, cmd: ScheduleCommand) -> Result<(), CliError> {
    let ScheduleCommand::Install {
        cron,
        systemd: _,
        print,
        watch,
        retain,
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
    let passphrase = ctx.passphrase();
    let env_file = match passphrase {
        Some(_) => Some(config_dir()?.join("webnet").join("drain.env")),
        None => None,
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
    };
    if cron {
        let line = cron_line(&drain);
        if print {
            write_env_file(&drain, passphrase)?;
            output::print_line(&line);
            return Ok(());
        }
        return install_cron(ctx, &drain, passphrase, &line);
    }
    let units = systemd_units(&drain, watch);
    if print {
        write_env_file(&drain, passphrase)?;
        for (name, text) in &units {
            output::print_line(&format!("# {name}\n{text}"));
        }
        return Ok(());
    }
    let dir = config_dir()?.join("systemd/user");
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::failure(format!("{}: {e}", dir.display())))?;
    write_env_file(&drain, passphrase)?;
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
        Format::Json => output::print_json(&serde_json::json!({
            "files": written,
            "environment_file": drain.env_file.as_ref().map(|p| p.display().to_string()),
            "next": next,
        })),
        Format::Table => {
            for f in &written {
                output::print_line(f);
            }
            eprintln!("written; now run: {next}");
        }
    }
    Ok(())
}

/// Characters that need no quoting, in a shell word or a systemd command line.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
}

/// One shell word: as is when plain, else single-quoted.
fn sh_word(s: &str) -> String {
    if is_plain(s) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One word of a systemd command line: as is when plain, else double-quoted with C escapes;
/// `%` (specifiers) and `$` (variables) are doubled either way.
fn systemd_word(s: &str) -> String {
    if is_plain(s) {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The crontab line. With a key, it first reads the environment file into the environment
/// (`set -a` exports what it assigns): the value is parsed by the shell as a quoted string,
/// never split into words. `%` is escaped as cron requires.
pub fn cron_line(drain: &DrainCommand) -> String {
    let mut command = String::new();
    if let Some(env) = &drain.env_file {
        command.push_str(&format!(
            "set -a && . {} && set +a && ",
            sh_word(&env.display().to_string())
        ));
    }
    let words: Vec<String> = drain
        .words(&["--max-time", "50s"])
        .iter()
        .map(|w| sh_word(w))
        .collect();
    command.push_str(&words.join(" "));
    format!(
        "* * * * * {} > /dev/null {MARK}",
        command.replace('%', r"\%")
    )
}

pub fn systemd_units(drain: &DrainCommand, watch: bool) -> Vec<(String, String)> {
    let exec = |extra: &[&str]| {
        drain
            .words(extra)
            .iter()
            .map(|w| systemd_word(w))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let env = drain
        .env_file
        .as_ref()
        .map(|p| {
            format!(
                "EnvironmentFile={}\n",
                p.display().to_string().replace('%', "%%")
            )
        })
        .unwrap_or_default();
    if watch {
        return vec![(
            "webnet-drain-watch.service".into(),
            format!(
                "[Unit]\nDescription=webnet webhook deliveries, sent as they fall due\n\n[Service]\n{env}ExecStart={}\nRestart=always\nRestartSec=5\n# SIGTERM lets requests in flight finish (webhook timeouts go up to 120 s).\nTimeoutStopSec=150\n\n[Install]\nWantedBy=default.target\n",
                exec(&["--watch"])
            ),
        )];
    }
    vec![
        (
            "webnet-drain.service".into(),
            format!(
                "[Unit]\nDescription=Send due webnet webhook deliveries\n\n[Service]\nType=oneshot\n{env}ExecStart={}\n",
                exec(&["--max-time", "50s"])
            ),
        ),
        (
            "webnet-drain.timer".into(),
            "[Unit]\nDescription=Run webnet drain every minute\n\n[Timer]\nOnCalendar=minutely\nAccuracySec=1s\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n".into(),
        ),
    ]
}

/// `WEBNET_SECRET_KEY="…"`, read the same by a POSIX shell (`.`) and by systemd's
/// `EnvironmentFile=`: inside double quotes both take `\` before `"`, `\`, `` ` `` and `$` as
/// an escape and everything else (spaces, `'`, line breaks) literally; neither expands
/// anything once `$` and `` ` `` are escaped.
pub fn env_file_text(passphrase: &str) -> String {
    let mut value = String::new();
    for c in passphrase.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            value.push('\\');
        }
        value.push(c);
    }
    format!(
        "# The secret key for `webnet drain` run by cron or systemd, written by\n# `webnet schedule install`. Keep it private (mode 0600).\nWEBNET_SECRET_KEY=\"{value}\"\n"
    )
}

/// Writes the environment file (mode 0600 from the first byte, in a 0700 folder), replacing
/// any earlier one in one step. Nothing to do without a key.
fn write_env_file(drain: &DrainCommand, passphrase: Option<&str>) -> Result<(), CliError> {
    let (Some(path), Some(passphrase)) = (&drain.env_file, passphrase) else {
        return Ok(());
    };
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
        .and_then(|()| file.write_all(env_file_text(passphrase).as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| fail(path, e))?;
    eprintln!(
        "the secret key (WEBNET_SECRET_KEY) is in {} (mode 0600), which the scheduled drain reads",
        path.display()
    );
    Ok(())
}

/// `$XDG_CONFIG_HOME`, else `~/.config`.
fn config_dir() -> Result<PathBuf, CliError> {
    super::xdg_dir("XDG_CONFIG_HOME", ".config")
        .ok_or_else(|| CliError::failure("neither XDG_CONFIG_HOME nor HOME is set; use --print"))
}

/// Adds the line to the user's crontab unless a webnet line is there already (then nothing,
/// the environment file included, is changed).
fn install_cron(
    ctx: &Context,
    drain: &DrainCommand,
    passphrase: Option<&str>,
    line: &str,
) -> Result<(), CliError> {
    let missing = || {
        CliError::failure(format!(
            "crontab is not available here; add this line with `crontab -e`: {line}"
        ))
    };
    let current = match Command::new("crontab")
        .arg("-l")
        .stderr(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            // The line printed in the message must work once added by hand.
            write_env_file(drain, passphrase)?;
            return Err(missing());
        }
    };
    // `crontab -l` fails when the user has no crontab yet: start from nothing.
    let mut table = if current.status.success() {
        String::from_utf8_lossy(&current.stdout).into_owned()
    } else {
        String::new()
    };
    if table.lines().any(|l| l.contains(MARK)) {
        eprintln!(
            "a webnet drain line is already in your crontab; nothing changed (to replace it, remove it with `crontab -e` and run this again)"
        );
        return Ok(());
    }
    write_env_file(drain, passphrase)?;
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
    match ctx.format {
        Format::Json => output::print_json(&serde_json::json!({
            "crontab": line,
            "environment_file": drain.env_file.as_ref().map(|p| p.display().to_string()),
        })),
        Format::Table => output::print_line(line),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(sh_word("/usr/bin/webnet"), "/usr/bin/webnet");
        assert_eq!(sh_word("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(systemd_word("/a b/100%/$x"), "\"/a b/100%%/$$x\"");
    }

    #[test]
    fn the_env_file_escapes_what_a_shell_or_systemd_would_expand() {
        let text = env_file_text(r#"a b 'c' "d" $HOME `e` \f"#);
        assert!(
            text.ends_with("WEBNET_SECRET_KEY=\"a b 'c' \\\"d\\\" \\$HOME \\`e\\` \\\\f\"\n"),
            "{text}"
        );
    }
}
