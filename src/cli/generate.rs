//! Shell completions and man pages, generated from the clap definitions. The copies checked in
//! under `completions/` and `man/` are compared with these by a test.

use std::path::Path;

use clap_complete::Shell;

use super::CliError;

/// The shells `completions/` holds files for, with their file names.
pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "webnet.bash"),
    (Shell::Zsh, "_webnet"),
    (Shell::Fish, "webnet.fish"),
];

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "webnet", &mut out);
    out
}

/// Writes the script to stdout. A reader that stops early (`| head`) is not an error: output
/// ends quietly, as everywhere else (`output::print_line`).
pub fn print_completions(shell: Shell) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out
        .write_all(&completions(shell))
        .and_then(|()| out.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::failure(format!("cannot write completions: {e}")))
        }
        _ => Ok(()),
    }
}

/// Every man page: `webnet.1` and one per subcommand (`webnet-webhooks-create.1`, …).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    let mut cmd = super::command();
    cmd.build();
    collect(&cmd, "webnet", &mut pages);
    pages
}

fn collect(cmd: &clap::Command, name: &str, pages: &mut Vec<(String, Vec<u8>)>) {
    // After `build`, each subcommand knows its display name (`webnet-webhooks-create`) for the
    // page title and its bin name (`webnet webhooks create`) for the synopsis.
    if let Some(page) = man_page(cmd) {
        pages.push((format!("{name}.1"), page.into_bytes()));
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}

/// The heading of the options every command takes (`--db`, `--output`, …).
pub const GLOBAL_HEADING: &str = "Global options";

/// clap_mangen's page, with a synopsis that names each option's value, the `after_help`
/// examples as EXAMPLES, and ENVIRONMENT and EXIT STATUS sections.
fn man_page(cmd: &clap::Command) -> Option<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out).ok()?;
    let page = String::from_utf8(out).ok()?;
    let page = replace_section(&page, "SYNOPSIS", &synopsis(cmd));
    let page = match cmd.get_after_help() {
        Some(text) => replace_section(&page, "EXTRA", &examples(&text.to_string()))
            .replace(".SH EXTRA\n", ".SH EXAMPLES\n"),
        None => page,
    };
    let mut tail = roff::Roff::new();
    environment(&mut tail);
    exit_status(&mut tail);
    let tail = tail.to_roff();
    Some(match page.find(".SH VERSION") {
        Some(at) => format!("{}{tail}{}", &page[..at], &page[at..]),
        None => format!("{page}{tail}"),
    })
}

/// `page` with the body of section `name` replaced by `body` (roff source).
fn replace_section(page: &str, name: &str, body: &str) -> String {
    let head = format!(".SH {name}\n");
    let Some(start) = page.find(&head) else {
        return page.to_string();
    };
    let from = start + head.len();
    let end = page[from..].find(".SH ").map_or(page.len(), |i| from + i);
    format!("{}{body}{}", &page[..from], &page[end..])
}

/// `webnet emit [--event-id N] [--data JSON] … [global options] [TYPE]`: every option with the
/// name of its value.
fn synopsis(cmd: &clap::Command) -> String {
    use roff::{bold, italic, roman};
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut line = vec![bold(name)];
    let mut globals = false;
    // In the order `--help` lists them (an argument changed with `mut_arg` moves to the end of
    // `get_arguments`, but keeps its place in the help).
    let mut options: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
    options.sort_by_key(|a| a.get_display_order());
    for arg in options {
        if arg.is_positional() || ["help", "version"].contains(&arg.get_id().as_str()) {
            continue;
        }
        if arg.get_help_heading() == Some(GLOBAL_HEADING) {
            globals = true;
            continue;
        }
        let Some(flag) = arg
            .get_long()
            .map(|l| format!("--{l}"))
            .or_else(|| arg.get_short().map(|s| format!("-{s}")))
        else {
            continue;
        };
        let required = arg.is_required_set();
        line.push(roman(if required { " " } else { " [" }));
        line.push(bold(flag));
        let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
        if takes_value {
            let value = arg
                .get_value_names()
                .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
            line.push(roman(" "));
            line.push(italic(value));
        }
        line.push(roman(if required { "" } else { "]" }));
        if matches!(arg.get_action(), clap::ArgAction::Append) {
            line.push(roman("..."));
        }
    }
    if globals {
        line.push(roman(" ["));
        line.push(italic("global options"));
        line.push(roman("]"));
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let value = arg
            .get_value_names()
            .map(|v| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
        let required = arg.is_required_set();
        line.push(roman(if required { " " } else { " [" }));
        line.push(italic(value));
        line.push(roman(if required { "" } else { "]" }));
    }
    if cmd.has_subcommands() {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
    }
    let mut r = roff::Roff::new();
    r.text(line);
    r.to_roff()
}

/// A command's `after_help` (its examples, then any notes) as lines kept as they are.
fn examples(text: &str) -> String {
    let mut r = roff::Roff::new();
    r.control("nf", []);
    for line in text.lines().skip_while(|l| l.trim() == "Examples:") {
        r.text([roff::roman(line)]);
    }
    r.control("fi", []);
    r.to_roff()
}

/// The environment variables webnet reads (one command's are marked with its name).
fn environment(r: &mut roff::Roff) {
    use roff::{bold, roman};
    r.control("SH", ["ENVIRONMENT"]);
    for (var, what) in ENVIRONMENT {
        r.control("TP", []);
        r.text([bold(*var)]);
        r.text([roman(*what)]);
    }
}

pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "WEBNET_DB",
        "The database: a SQLite file, or a postgres:// URL, as --db.",
    ),
    (
        "WEBNET_KEY_FILE",
        "The secret key file, as --key-file (on PostgreSQL, this or WEBNET_SECRET_KEY is needed to store or use secrets).",
    ),
    (
        "PGPASSWORD, PGUSER",
        "On PostgreSQL: the password, and the user, when the --db URL gives none.",
    ),
    ("WEBNET_OUTPUT", "table or json, as --output."),
    ("WEBNET_CUSTOMER", "Pins every command to one customer, as --customer."),
    (
        "WEBNET_ALLOW_PRIVATE_TARGETS",
        "1 allows non-public destinations for this process, as --allow-private-targets.",
    ),
    (
        "WEBNET_PROXY",
        "The HTTP proxy deliveries go through, as --proxy (none: directly).",
    ),
    (
        "https_proxy, http_proxy, all_proxy, no_proxy",
        "Without --proxy and WEBNET_PROXY: the proxy for https and for http receivers (all_proxy for both), and the hosts that bypass it; the upper-case names too, lower case first.",
    ),
    (
        "WEBNET_SECRET_KEY",
        "A passphrase for the key that encrypts webhook secrets at rest; without it, the key file: --key-file, else (SQLite) <database>.key beside the database.",
    ),
    (
        "WEBNET_LISTEN_SECRET",
        "listen: the secret to check signatures with when neither --secret nor --secret-stdin is given (unlike --secret, not visible in the process list).",
    ),
    (
        "WEBNET_BUSY_TIMEOUT_MS",
        "For tests only: how long a write waits for another process's lock on the database, in milliseconds, instead of 30 s.",
    ),
    (
        "WEBNET_TEST_CLOCK_OFFSET",
        "For tests only, and read only by debug builds (what cargo test runs): milliseconds (may be negative) added to the clock this process reads, so a backoff comes due without waiting. Release builds ignore it.",
    ),
    (
        "WEBNET_TEST_PG",
        "For tests only: an admin URL of a PostgreSQL server on which the test suite runs (.ci/test-postgres sets it).",
    ),
    (
        "XDG_DATA_HOME, HOME",
        "Where the default database lives: $XDG_DATA_HOME/webnet/webhooks.db, else ~/.local/share/webnet/webhooks.db.",
    ),
    ("COLUMNS", "The width tables are fitted to (else the terminal's)."),
];

fn exit_status(r: &mut roff::Roff) {
    use roff::{bold, roman};
    r.control("SH", ["EXIT STATUS"]);
    for (code, what) in [
        ("0", "Success."),
        (
            "1",
            "A failure that is not the input's fault: not found, a test delivery or retry that did not get a 2xx, a database error.",
        ),
        (
            "2",
            "Invalid input: the message names the option or field; nothing was changed (emit: every valid line was recorded, and each bad one is named by its line number).",
        ),
        (
            "130, 143",
            "drain: a second SIGINT or SIGTERM ended it at once (the first one stops it cleanly, with status 0).",
        ),
    ] {
        r.control("TP", []);
        r.text([bold(code)]);
        r.text([roman(what)]);
    }
}

/// Writes every generated file under `root` (the repository), for `WEBNET_REGENERATE=1`.
pub fn write_all(root: &Path) -> std::io::Result<()> {
    for (shell, file) in SHELLS {
        std::fs::write(root.join("completions").join(file), completions(*shell))?;
    }
    for (file, bytes) in man_pages() {
        std::fs::write(root.join("man").join(file), bytes)?;
    }
    Ok(())
}
