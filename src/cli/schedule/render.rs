//! The text of a database's schedule: its names ([`Names`]), the crontab line and how it is
//! recognised, the systemd units and the environment file, each quoted so that the shell,
//! cron and systemd read back exactly the words and the key given. No I/O.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::domain::text::escape_controls;
use crate::domain::CustomerId;

/// How a crontab line of ours ends: this, then the database's path (as a shell word). Lines
/// written before the path was added end with this alone.
const MARK: &str = "# webnet drain";

/// What one database's schedule is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `""` for the default database, else `-<readable part>-<8 hex digits of SHA-256>`: for
    /// a SQLite file its stem and a hash of its path (two `webhooks.db` in different folders
    /// differ); for a PostgreSQL database its name and host and a hash of `host:port/dbname`.
    suffix: String,
}

/// `text` as a part of a file or unit name: letters, digits, `_` and `-` (and `.` when
/// `dots`), anything else `_`, at most 32 characters.
fn name_part(text: &str, dots: bool) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.') {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect()
}

fn short_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))[..8].to_string()
}

impl Names {
    /// The names for the database at `db` (absolute); `default` when it is the default
    /// database's path.
    pub fn for_db(db: &Path, default: bool) -> Names {
        if default {
            return Names {
                suffix: String::new(),
            };
        }
        let stem = name_part(
            &db.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            false,
        );
        let stem = if stem.is_empty() { "db".into() } else { stem };
        Names {
            suffix: format!("-{stem}-{}", short_hash(db.as_os_str().as_encoded_bytes())),
        }
    }

    /// The names for the PostgreSQL database `dbname` on `host:port`: `-orders-db.internal-
    /// 1a2b3c4d`. The user and the URL's options are not part of them: installing again for
    /// the same database with other options replaces its units.
    pub fn for_postgres(host: &str, port: u16, dbname: &str) -> Names {
        let db = name_part(dbname, false);
        let db = if db.is_empty() { "db".into() } else { db };
        let readable_host = name_part(host, true);
        Names {
            suffix: format!(
                "-{db}-{readable_host}-{}",
                short_hash(format!("{host}:{port}/{dbname}").as_bytes())
            ),
        }
    }

    /// A unit's file name: `webnet-drain.service`, `webnet-drain-orders-1a2b3c4d.timer`.
    pub fn unit(&self, base: &str, kind: &str) -> String {
        format!("{base}{}.{kind}", self.suffix)
    }

    /// The environment file's name: `drain.env`, `drain-orders-1a2b3c4d.env`.
    pub fn env_file(&self) -> String {
        format!("drain{}.env", self.suffix)
    }

    fn is_default(&self) -> bool {
        self.suffix.is_empty()
    }
}

/// What the scheduled `drain` needs to run as the caller does.
#[derive(Debug, Clone)]
pub struct DrainCommand {
    pub exe: PathBuf,
    /// The SQLite file's absolute path, or the PostgreSQL URL without its password.
    pub db: PathBuf,
    /// The customer the caller is pinned to (`--customer`, `WEBNET_CUSTOMER`).
    pub customer: Option<CustomerId>,
    pub allow_private: bool,
    /// `drain --retain`, as given (one word).
    pub retain: Option<String>,
    /// The environment file ([`Private`]), when the caller has a passphrase, proxy settings or
    /// a database password.
    pub env_file: Option<PathBuf>,
    /// `--key-file`, when the caller gave one (absolute).
    pub key_file: Option<PathBuf>,
    /// `drain --metrics-file`, when given (absolute).
    pub metrics_file: Option<PathBuf>,
}

impl DrainCommand {
    /// The program and its arguments, up to and including `drain`'s own options.
    fn words(&self, extra: &[&str]) -> Vec<String> {
        let mut words = vec![
            self.exe.display().to_string(),
            "--db".into(),
            self.db.display().to_string(),
        ];
        if let Some(key_file) = &self.key_file {
            words.extend(["--key-file".into(), key_file.display().to_string()]);
        }
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
        if let Some(file) = &self.metrics_file {
            words.extend(["--metrics-file".into(), file.display().to_string()]);
        }
        words
    }
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

/// The end of this database's crontab line: [`MARK`] and the path as a shell word (a comment
/// to the shell; `%` is escaped with the rest of the line).
fn cron_marker(db: &Path) -> String {
    format!("{MARK} {}", sh_word(&db.display().to_string()))
}

/// Whether a crontab line is this database's: it ends with its marker, or (written before
/// markers named the database) with the bare marker and runs webnet on this database.
pub(super) fn is_line_for(line: &str, db: &Path) -> bool {
    let line = line.trim_end();
    let escaped = |s: String| s.replace('%', r"\%");
    line.ends_with(&escaped(cron_marker(db)))
        || (line.ends_with(MARK)
            && line.contains(&escaped(format!(
                " --db {} ",
                sh_word(&db.display().to_string())
            ))))
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
    let tail = format!("{command} > /dev/null {}", cron_marker(&drain.db));
    format!("* * * * * {}", tail.replace('%', r"\%"))
}

/// The units for `drain`, named for its database ([`Names`]). Another database's units also
/// say which database in their description.
pub fn systemd_units(drain: &DrainCommand, names: &Names, watch: bool) -> Vec<(String, String)> {
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
    // `%` starts a specifier in a description; line breaks would end it.
    let of = if names.is_default() {
        String::new()
    } else {
        format!(
            " ({})",
            escape_controls(&drain.db.display().to_string()).replace('%', "%%")
        )
    };
    if watch {
        return vec![(
            names.unit("webnet-drain-watch", "service"),
            format!(
                "[Unit]\nDescription=webnet webhook deliveries, sent as they fall due{of}\n\n[Service]\n{env}ExecStart={}\nRestart=always\nRestartSec=5\n# SIGTERM lets requests in flight finish (webhook timeouts go up to 120 s).\nTimeoutStopSec=150\n\n[Install]\nWantedBy=default.target\n",
                exec(&["--watch"])
            ),
        )];
    }
    vec![
        (
            names.unit("webnet-drain", "service"),
            format!(
                "[Unit]\nDescription=Send due webnet webhook deliveries{of}\n\n[Service]\nType=oneshot\n{env}ExecStart={}\n",
                exec(&["--max-time", "50s"])
            ),
        ),
        (
            // The same name as the service: a timer starts the service named like it.
            names.unit("webnet-drain", "timer"),
            format!("[Unit]\nDescription=Run webnet drain every minute{of}\n\n[Timer]\nOnCalendar=minutely\nAccuracySec=1s\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"),
        ),
    ]
}

/// What goes into the private environment file: the passphrase, the proxy settings, the
/// PostgreSQL password.
#[derive(Debug, Clone, Default)]
pub struct Private<'a> {
    pub passphrase: Option<&'a str>,
    pub proxy_env: Vec<(&'static str, String)>,
    /// The PostgreSQL password (from the URL or `PGPASSWORD`): kept off the drain's command
    /// line, given to it as `PGPASSWORD`.
    pub db_password: Option<String>,
}

impl Private<'_> {
    /// Whether there is anything to write.
    pub fn is_empty(&self) -> bool {
        self.passphrase.is_none() && self.proxy_env.is_empty() && self.db_password.is_none()
    }

    /// What the file holds, each part with the variables it sets.
    fn parts(&self) -> Vec<(&'static str, String)> {
        let mut parts = Vec::new();
        if self.passphrase.is_some() {
            parts.push(("the secret key", "WEBNET_SECRET_KEY".to_string()));
        }
        if !self.proxy_env.is_empty() {
            let names: Vec<&str> = self.proxy_env.iter().map(|(n, _)| *n).collect();
            parts.push(("the proxy settings", names.join(", ")));
        }
        if self.db_password.is_some() {
            parts.push(("the database password", "PGPASSWORD".to_string()));
        }
        parts
    }

    /// What the file holds, for messages: `the secret key (WEBNET_SECRET_KEY)`, `the proxy
    /// settings (HTTPS_PROXY, NO_PROXY) and the database password (PGPASSWORD)`…
    pub fn holds(&self) -> String {
        let parts: Vec<String> = self
            .parts()
            .into_iter()
            .map(|(what, names)| format!("{what} ({names})"))
            .collect();
        listed(&parts)
    }

    /// Whether what it holds is one thing (`it`) rather than several (`them`; the proxy
    /// settings count as several).
    pub fn holds_one(&self) -> bool {
        let parts = self.parts();
        parts.len() == 1 && parts[0].0 != "the proxy settings"
    }
}

/// `a`, `a and b`, `a, b and c`.
fn listed(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `WEBNET_SECRET_KEY="…"`, the proxy variables and `PGPASSWORD="…"`, each `NAME="…"`, read
/// the same by a POSIX shell (`.`) and by systemd's `EnvironmentFile=`: inside double quotes
/// both take `\` before `"`, `\`, `` ` `` and `$` as an escape and everything else (spaces,
/// `'`, line breaks) literally; neither expands anything once `$` and `` ` `` are escaped.
pub fn env_file_text(db: &Path, private: &Private) -> String {
    let quoted = |value: &str| {
        let mut out = String::new();
        for c in value.chars() {
            if matches!(c, '"' | '\\' | '`' | '$') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    let what: Vec<String> = private
        .parts()
        .into_iter()
        .map(|(what, _)| what.to_string())
        .collect();
    let what = listed(&what);
    let mut what_chars = what.chars();
    let what: String = match what_chars.next() {
        Some(first) => first.to_uppercase().chain(what_chars).collect(),
        None => what,
    };
    let mut text = format!(
        "# {what} for `webnet drain` run by cron or systemd on the database\n# {}, written by `webnet schedule install`. Keep it private (mode 0600).\n",
        escape_controls(&db.display().to_string())
    );
    if let Some(passphrase) = private.passphrase {
        text.push_str(&format!("WEBNET_SECRET_KEY=\"{}\"\n", quoted(passphrase)));
    }
    for (name, value) in &private.proxy_env {
        text.push_str(&format!("{name}=\"{}\"\n", quoted(value)));
    }
    if let Some(password) = &private.db_password {
        text.push_str(&format!("PGPASSWORD=\"{}\"\n", quoted(password)));
    }
    text
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
        let tricky = r#"a b 'c' "d" $HOME `e` \f"#;
        let escaped = r#""a b 'c' \"d\" \$HOME \`e\` \\f""#;
        let key = |passphrase| Private {
            passphrase,
            ..Private::default()
        };
        let text = env_file_text(Path::new("/x/webhooks.db"), &key(Some(tricky)));
        assert!(
            text.ends_with(&format!("\nWEBNET_SECRET_KEY={escaped}\n")),
            "{text}"
        );
        assert!(text.contains("# /x/webhooks.db, written by"), "{text}");
        assert!(text.starts_with("# The secret key for"), "{text}");
        let proxy = [
            ("WEBNET_PROXY", "http://u:p%24@proxy:3128".to_string()),
            ("no_proxy", tricky.to_string()),
        ];
        let proxy = Private {
            proxy_env: proxy.to_vec(),
            ..Private::default()
        };
        let text = env_file_text(Path::new("/x/webhooks.db"), &proxy);
        assert!(text.starts_with("# The proxy settings for"), "{text}");
        assert!(
            text.ends_with(&format!(
                "Keep it private (mode 0600).\nWEBNET_PROXY=\"http://u:p%24@proxy:3128\"\nno_proxy={escaped}\n"
            )),
            "{text}"
        );
        let both = Private {
            passphrase: Some("k"),
            ..proxy.clone()
        };
        let text = env_file_text(Path::new("/x/webhooks.db"), &both);
        assert!(
            text.contains("WEBNET_SECRET_KEY=\"k\"\nWEBNET_PROXY="),
            "{text}"
        );
        assert!(
            text.starts_with("# The secret key and the proxy settings for"),
            "{text}"
        );
        assert_eq!(
            both.holds(),
            "the secret key (WEBNET_SECRET_KEY) and the proxy settings (WEBNET_PROXY, no_proxy)"
        );
        assert!(!both.holds_one() && !proxy.holds_one() && key(Some("k")).holds_one());
    }

    #[test]
    fn the_env_file_names_a_postgresql_password_as_the_database_password() {
        let url = Path::new("postgres://webnet@db.internal:5432/orders");
        let password = Private {
            db_password: Some(tricky_password()),
            ..Private::default()
        };
        let text = env_file_text(url, &password);
        assert!(
            text.starts_with("# The database password for `webnet drain`"),
            "{text}"
        );
        assert!(
            text.contains("# postgres://webnet@db.internal:5432/orders, written by"),
            "{text}"
        );
        assert!(text.ends_with("\nPGPASSWORD=\"p w\\$x\"\n"), "{text}");
        assert_eq!(password.holds(), "the database password (PGPASSWORD)");
        assert!(password.holds_one());
        let all = Private {
            passphrase: Some("k"),
            proxy_env: vec![("HTTPS_PROXY", "http://proxy:3128".to_string())],
            db_password: Some(tricky_password()),
        };
        let text = env_file_text(url, &all);
        assert!(
            text.starts_with(
                "# The secret key, the proxy settings and the database password for `webnet drain`"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "WEBNET_SECRET_KEY=\"k\"\nHTTPS_PROXY=\"http://proxy:3128\"\nPGPASSWORD=\"p w\\$x\"\n"
            ),
            "{text}"
        );
        assert_eq!(
            all.holds(),
            "the secret key (WEBNET_SECRET_KEY), the proxy settings (HTTPS_PROXY) and the database password (PGPASSWORD)"
        );
        assert!(!text.contains("proxy settings (PGPASSWORD"), "{text}");
    }

    fn tricky_password() -> String {
        "p w$x".to_string()
    }

    #[test]
    fn a_postgresql_database_is_named_by_its_name_and_host() {
        let orders = Names::for_postgres("db.internal", 5432, "orders");
        let unit = orders.unit("webnet-drain", "timer");
        let hash = unit
            .strip_prefix("webnet-drain-orders-db.internal-")
            .and_then(|s| s.strip_suffix(".timer"))
            .unwrap_or_else(|| panic!("{unit}"));
        assert_eq!(hash.len(), 8, "{unit}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{unit}");
        assert_eq!(
            orders.env_file(),
            format!("drain-orders-db.internal-{hash}.env")
        );
        // Another database on the same server, the same name on another port or host: names
        // of their own.
        for other in [
            Names::for_postgres("db.internal", 5432, "billing"),
            Names::for_postgres("db.internal", 5433, "orders"),
            Names::for_postgres("db2.internal", 5432, "orders"),
        ] {
            assert_ne!(other.env_file(), orders.env_file());
            assert_ne!(other.unit("webnet-drain", "timer"), unit);
        }
        assert_eq!(orders, Names::for_postgres("db.internal", 5432, "orders"));
        // Odd characters (an IPv6 host, a quoted name) become `_`.
        let odd = Names::for_postgres("::1", 5432, "my db%");
        let name = odd.unit("webnet-drain", "service");
        assert!(name.starts_with("webnet-drain-my_db_-__1-"), "{name}");
        assert!(!odd.is_default());
    }

    #[test]
    fn each_database_has_its_own_names_and_the_default_keeps_the_plain_ones() {
        let default = Names::for_db(Path::new("/home/u/.local/share/webnet/webhooks.db"), true);
        assert_eq!(
            default.unit("webnet-drain", "service"),
            "webnet-drain.service"
        );
        assert_eq!(default.env_file(), "drain.env");
        let a = Names::for_db(Path::new("/srv/a/webhooks.db"), false);
        let b = Names::for_db(Path::new("/srv/b/webhooks.db"), false);
        let odd = Names::for_db(Path::new("/srv/my db%.v2.sqlite"), false);
        let ua = a.unit("webnet-drain", "timer");
        assert!(
            ua.starts_with("webnet-drain-webhooks-") && ua.ends_with(".timer"),
            "{ua}"
        );
        assert_eq!(
            ua.len(),
            "webnet-drain-webhooks-12345678.timer".len(),
            "{ua}"
        );
        assert_ne!(ua, b.unit("webnet-drain", "timer"));
        assert_ne!(a.env_file(), b.env_file());
        assert!(
            a.env_file().starts_with("drain-webhooks-"),
            "{}",
            a.env_file()
        );
        let uo = odd.unit("webnet-drain", "service");
        assert!(uo.starts_with("webnet-drain-my_db__v2-"), "{uo}");
        // The same path, the same names.
        assert_eq!(a, Names::for_db(Path::new("/srv/a/webhooks.db"), false));
    }

    #[test]
    fn a_crontab_line_is_recognised_by_its_database() {
        let drain = |db: &str| DrainCommand {
            exe: "/bin/webnet".into(),
            db: db.into(),
            customer: None,
            allow_private: false,
            retain: None,
            env_file: None,
            key_file: None,
            metrics_file: None,
        };
        let a = cron_line(&drain("/srv/a.db"));
        assert!(a.ends_with("# webnet drain /srv/a.db"), "{a}");
        assert!(is_line_for(&a, Path::new("/srv/a.db")));
        assert!(!is_line_for(&a, Path::new("/srv/a.db2")));
        assert!(!is_line_for(&a, Path::new("/x/srv/a.db")));
        // Quoted and escaped as in the line itself.
        let odd = cron_line(&drain("/srv/100% sure.db"));
        assert!(
            odd.ends_with(r"# webnet drain '/srv/100\% sure.db'"),
            "{odd}"
        );
        assert!(is_line_for(&odd, Path::new("/srv/100% sure.db")));
        // A line from before markers named the database.
        let old =
            "* * * * * /bin/webnet --db /srv/a.db drain --max-time 50s > /dev/null # webnet drain";
        assert!(is_line_for(old, Path::new("/srv/a.db")));
        assert!(!is_line_for(old, Path::new("/srv/b.db")));
        assert!(!is_line_for("* * * * * backup.sh", Path::new("/srv/a.db")));
    }
}
