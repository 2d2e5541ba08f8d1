//! The completions and man pages checked in under `completions/` and `man/` match the CLI.
//! After changing the CLI, regenerate them with `WEBNET_REGENERATE=1 cargo test --test generated`.

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
    let hint = "out of date: run `WEBNET_REGENERATE=1 cargo test --test generated` and commit";
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
