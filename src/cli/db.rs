//! `webnet db migrate|check`: the database itself, for operators who run migrations as their
//! own step and want to know a host can reach the database before scheduling drains there.

use serde_json::json;

use super::args::DbCommand;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::store::{DbInfo, StoreError};

pub fn run(ctx: &Context, cmd: DbCommand) -> Result<(), CliError> {
    ctx.require_operator("`webnet db` acts on the whole database and is for the operator")?;
    match cmd {
        DbCommand::Migrate => {
            let store = ctx.store_or_create()?;
            let info = store.describe()?;
            show(ctx, &info, None, "up to date");
        }
        DbCommand::Check => {
            let store = ctx.store()?;
            let info = store.describe()?;
            let key = match store.secret_key() {
                Ok(_) if info.sealed => "opens the stored secrets".to_string(),
                // A passphrase, or a key file written before anything was sealed.
                Ok(_) => "given; nothing is sealed with it yet".to_string(),
                Err(StoreError::NoKey) => {
                    "none given (WEBNET_SECRET_KEY or --key-file): secrets cannot be stored or used"
                        .to_string()
                }
                // Not an error: the first secret stored makes one. A key file missing once
                // secrets are sealed is (exit 1, saying what to do).
                Err(StoreError::KeyProblem(p @ crate::store::KeyProblem::NoneYet(_))) => {
                    p.to_string()
                }
                Err(e) => return Err(e.into()),
            };
            show(ctx, &info, Some(&key), "reachable");
            if let Some(line) = store
                .key_file_in_use()
                .and_then(|path| open_to_others(&path))
            {
                eprintln!("warning: {line}");
            }
        }
    }
    Ok(())
}

/// What to say of a key file open to users other than its owner (as `cp` under a usual umask
/// leaves a copy: 0644), as ssh says of a private key; `None` for 0600 (or 0400) or no file.
fn open_to_others(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        let path = path.display();
        format!(
            "the key file {path} is open to other users of this machine (mode {mode:04o}): whoever reads it can open the stored secrets; run chmod 600 {path}"
        )
    })
}

fn show(ctx: &Context, info: &DbInfo, key: Option<&str>, state: &str) {
    let db = ctx.location().shown();
    match ctx.format {
        Format::Json => {
            let mut v = json!({
                "database": db,
                "backend": info.backend,
                "version": info.version,
                "schema": info.schema,
            });
            // `db check` judges the key; `db migrate` does not touch it (no `null` to puzzle over).
            if let Some(key) = key {
                v["secret_key"] = json!(key);
            }
            output::print_json(&v)
        }
        Format::Table => {
            let mut line = format!(
                "{db}: {state} ({} {}, webnet schema {})",
                info.backend, info.version, info.schema
            );
            if let Some(key) = key {
                line.push_str(&format!("; secret key: {key}"));
            }
            output::print_line(&line);
        }
    }
}
