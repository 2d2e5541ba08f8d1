//! The README works as written: every `webnet` command in it parses, the crontab line runs, and
//! the systemd units pass `systemd-analyze verify`.

use crate::common;

use std::path::Path;
use std::process::Command;

use clap::Parser;
use common::{bin, Env};
use webnet::cli::Cli;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The code blocks of the README in `lang`.
fn blocks(lang: &str) -> Vec<String> {
    let text = readme();
    let parts: Vec<&str> = text.split("```").collect();
    parts
        .chunks(2)
        .filter_map(|p| p.get(1))
        .filter_map(|b| b.split_once('\n'))
        .filter(|(l, _)| l.trim() == lang)
        .map(|(_, code)| code.to_string())
        .collect()
}

/// Shell lines, with `\` continuations joined.
fn shell_lines(code: &str) -> Vec<String> {
    code.replace("\\\n", " ")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn every_webnet_command_in_the_readme_parses() {
    let mut checked = 0;
    for block in blocks("sh") {
        for line in shell_lines(&block) {
            let line = line.split(" #").next().unwrap_or_default();
            for segment in line.split(['|', '&', ';']) {
                if !segment.trim().starts_with("webnet ") {
                    continue;
                }
                let words = shlex::split(segment.trim())
                    .unwrap_or_else(|| panic!("unbalanced quotes: {segment}"));
                if words.first().map(String::as_str) != Some("webnet") {
                    continue;
                }
                // Redirections are the shell's, not ours.
                // A shell variable holds what the reader has (a URL, as README says): typed
                // options check it, so it stands in as an example URL.
                let words: Vec<String> = words
                    .into_iter()
                    .map(|w| {
                        if w.starts_with('$') {
                            "https://example.com/hook".to_string()
                        } else {
                            w
                        }
                    })
                    .collect();
                let args: Vec<&String> = words
                    .iter()
                    .take_while(|w| !w.starts_with('<') && !w.starts_with('>'))
                    .collect();
                if let Err(e) = Cli::try_parse_from(args.iter().map(|s| s.as_str())) {
                    panic!("README command does not parse: {segment}\n{e}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} commands found");
}

#[test]
fn the_crontab_line_runs() {
    let text = readme();
    let line = text
        .lines()
        .find(|l| l.starts_with("* * * * * "))
        .expect("a crontab line");
    let command = line
        .trim_start_matches("* * * * * ")
        .replace("$HOME/.cargo/bin/webnet", bin());
    let env = Env::new();
    env.customer("acme"); // drain refuses a database that does not exist
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(&command).env("WEBNET_DB", env.db_arg());
    if env.pg.is_some() {
        // A server database's key is outside it (README: More than one machine).
        sh.env("WEBNET_KEY_FILE", env.key_file());
    }
    let out = sh.output().unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["attempted"], 0);
}

#[test]
fn the_systemd_units_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::skipped!("SKIPPED: systemd-analyze is not available here");
        return;
    }
    let env = Env::new();
    let text = readme();
    let mut units = Vec::new();
    // Each ```ini block follows a line naming its file.
    for (i, part) in text.split("```ini\n").enumerate().skip(1) {
        let before = text.split("```ini\n").nth(i - 1).unwrap();
        let name = before
            .lines()
            .rev()
            .find(|l| l.contains(".service") || l.contains(".timer"))
            .unwrap();
        let file = name
            .trim()
            .trim_matches(['`', ':'])
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let body = part
            .split("```")
            .next()
            .unwrap()
            .replace("%h/.cargo/bin/webnet", bin());
        let path = env.dir.path().join(&file);
        std::fs::write(&path, body).unwrap();
        units.push(path);
    }
    assert_eq!(units.len(), 3, "service, timer and watch service");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_readme_receiver_examples_are_the_tested_ones() {
    let snippets = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets");
    for (lang, file) in [
        ("python", "spec_verify.py"),
        ("javascript", "spec_verify.js"),
        ("go", "verify.go"),
    ] {
        let tested = std::fs::read_to_string(snippets.join(file)).unwrap();
        let shown = blocks(lang);
        assert!(!shown.is_empty(), "no {lang} example in the README");
        // The first example of each language is the one the signature tests run.
        assert!(
            tested.contains(shown[0].trim()),
            "the README's {lang} example differs from tests/snippets/{file}"
        );
    }
}

#[test]
fn the_readme_standard_webhooks_examples_are_the_tested_ones() {
    let snippets = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets");
    for (lang, file) in [
        ("python", "standard_verify.py"),
        ("javascript", "standard_verify.js"),
        ("python", "guarded_verify.py"),
        ("javascript", "guarded_verify.js"),
    ] {
        let tested = std::fs::read_to_string(snippets.join(file)).unwrap();
        // tests/it/signatures.rs runs the file; the README shows it whole, unchanged.
        assert!(
            blocks(lang).iter().any(|b| b.trim() == tested.trim()),
            "no {lang} example in the README is tests/snippets/{file}"
        );
    }
}

/// A bash process with `webnet` (this build) first on PATH, on `db`, none of the caller's
/// WEBNET_* settings.
fn bash(db: &Path, bin_dir: &Path, script: &str) -> Command {
    let mut c = Command::new("bash");
    for (k, _) in std::env::vars() {
        if k.starts_with("WEBNET_") {
            c.env_remove(k);
        }
    }
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.args(["-e", "-c", script])
        .env("PATH", path)
        .env("WEBNET_DB", db)
        .stdin(std::process::Stdio::null());
    c
}

#[test]
fn the_local_quickstart_works_as_written() {
    crate::sqlite_only!("the quickstart runs the README's commands on a SQLite file, as written");
    let text = readme();
    let section = text
        .split("### Try it on one machine")
        .nth(1)
        .expect("the local quickstart")
        .split("**A receiver with")
        .next()
        .unwrap();
    // Any free port in place of the README's 9000.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let blocks: Vec<String> = section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().replace("9000", &port))
        .collect();
    assert_eq!(blocks.len(), 2, "two terminals");
    let env = Env::new();
    let bin_dir = env.dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(bin(), bin_dir.join("webnet")).unwrap();
    // The install command of the Quickstart created the customer.
    env.customer("acme");
    let (listen, setup): (Vec<&str>, Vec<&str>) = blocks[0]
        .lines()
        .partition(|l| l.starts_with("webnet listen"));
    let out = bash(&env.db, &bin_dir, &setup.join("\n")).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut receiver = bash(&env.db, &bin_dir, &format!("exec {}", listen[0]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        common::wait_for_port(port.parse().unwrap()),
        "listen started"
    );
    let out = bash(&env.db, &bin_dir, &blocks[1]).output().unwrap();
    // `listen` is this test's own child (bash exec'd it): end it by its PID.
    let _ = receiver.kill();
    let printed = receiver.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the second terminal's commands: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A first run as written draws no warning (a short secret would).
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&printed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap_or_default(),
                e["signature"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("webhook.test", "valid"), ("job.completed", "valid")],
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
}
