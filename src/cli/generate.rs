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

pub fn print_completions(shell: Shell) -> Result<(), CliError> {
    use std::io::Write;
    std::io::stdout()
        .write_all(&completions(shell))
        .map_err(|e| CliError::failure(format!("cannot write completions: {e}")))
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
    let mut out = Vec::new();
    // After `build`, each subcommand knows its display name (`webnet-webhooks-create`) for the
    // page title and its bin name (`webnet webhooks create`) for the synopsis.
    if clap_mangen::Man::new(cmd.clone()).render(&mut out).is_ok() {
        pages.push((format!("{name}.1"), out));
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages);
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
