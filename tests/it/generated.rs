//! The completions and man pages checked in under `completions/` and `man/` match the CLI.
//! After changing the CLI, regenerate them with `WEBNET_REGENERATE=1 cargo test --test it generated::`.

use std::path::Path;

use webnet::cli::generate;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_completions_and_man_pages_match_the_cli() {
    if std::env::var_os("WEBNET_REGENERATE").is_some() {
        generate::write_all(root()).expect("write generated files");
    }
    let hint = "out of date: run `WEBNET_REGENERATE=1 cargo test --test it generated::` and commit";
    for (shell, file) in generate::SHELLS {
        let path = root().join("completions").join(file);
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == generate::completions(*shell),
            "{} {hint}",
            path.display()
        );
    }
    let pages = generate::man_pages();
    assert!(pages.iter().any(|(f, _)| f == "webnet-webhooks-create.1"));
    for (file, bytes) in &pages {
        let path = root().join("man").join(file);
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(&on_disk == bytes, "{} {hint}", path.display());
    }
    // No stale pages for commands that no longer exist.
    for entry in std::fs::read_dir(root().join("man")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            pages.iter().any(|(f, _)| *f == name),
            "man/{name} is stale: delete it"
        );
    }
}

/// Every command, its subcommands included, with its path (`webnet webhooks create`).
fn every_command() -> Vec<(String, clap::Command)> {
    fn walk(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, format!("{path} {}", sub.get_name()), out);
        }
    }
    let mut out = Vec::new();
    walk(&webnet::cli::command(), "webnet".into(), &mut out);
    out
}

#[test]
fn every_command_has_examples_that_parse() {
    use clap::Parser;
    let commands = every_command();
    assert!(commands.len() > 30, "{} commands", commands.len());
    for (path, cmd) in commands {
        let help = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            help.starts_with("Examples:\n"),
            "`{path} --help` has no examples"
        );
        let examples = help
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .replace("\\\n", " ");
        let mut shown = 0;
        for line in examples.lines().skip(1) {
            let line = line.split(" #").next().unwrap_or_default();
            for segment in line.split(['|', ';', '&']) {
                let segment = segment.trim();
                if !segment.starts_with("webnet ") {
                    continue;
                }
                let words = shlex::split(segment).unwrap_or_else(|| panic!("quotes: {segment}"));
                let args: Vec<&String> = words
                    .iter()
                    .take_while(|w| !w.starts_with('<') && !w.starts_with('>'))
                    .collect();
                if let Err(e) = webnet::cli::Cli::try_parse_from(args.iter().map(|s| s.as_str())) {
                    panic!("an example of `{path}` does not parse: {segment}\n{e}");
                }
                shown += 1;
            }
        }
        let own = path.trim_start_matches("webnet").trim();
        assert!(
            shown > 0 && (own.is_empty() || examples.contains(&format!("webnet {own}"))),
            "`{path}` shows no example of itself"
        );
    }
}

#[test]
fn man_pages_say_what_the_environment_and_exit_status_mean() {
    for (file, bytes) in generate::man_pages() {
        let page = String::from_utf8(bytes).unwrap();
        for section in [
            ".SH EXAMPLES",
            ".SH ENVIRONMENT",
            ".SH \"EXIT STATUS\"",
            "WEBNET_DB",
        ] {
            assert!(page.contains(section), "{file}: no {section}");
        }
    }
    let emit = String::from_utf8(
        generate::man_pages()
            .into_iter()
            .find(|(f, _)| f == "webnet-emit.1")
            .unwrap()
            .1,
    )
    .unwrap();
    let synopsis = emit
        .split(".SH SYNOPSIS")
        .nth(1)
        .unwrap()
        .split(".SH")
        .next()
        .unwrap();
    assert!(
        synopsis.contains(r"\fB\-\-data\fR \fIJSON\fR"),
        "the synopsis names each option's value: {synopsis}"
    );
}

#[test]
fn every_variable_the_code_reads_is_in_the_man_pages() {
    fn sources(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut texts = Vec::new();
    sources(&root().join("src"), &mut texts);
    let documented: Vec<&str> = generate::ENVIRONMENT.iter().map(|(v, _)| *v).collect();
    let mut found = 0;
    for text in &texts {
        // Every "WEBNET_…" string literal: an `env = "…"` of clap, or a std::env::var("…").
        for piece in text.split("\"WEBNET_").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if !piece[name.len()..].starts_with('"') {
                continue;
            }
            let var = format!("WEBNET_{name}");
            assert!(
                documented.contains(&var.as_str()),
                "{var} is read but not in the man pages' ENVIRONMENT (src/cli/generate.rs)"
            );
            found += 1;
        }
    }
    assert!(found >= 6, "found {found} variables");
}
