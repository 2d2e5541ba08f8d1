//! `webnet key rotate|reset`: the key that seals webhook secrets and credential headers.
//! Operator-only: both change every customer's secrets, so a pinned command is refused.

use std::io::IsTerminal;

use serde_json::json;

use super::args::KeyCommand;
use super::output::{self, Format};
use super::secret_input::stdin_line;
use super::{prompt, CliError, Context};
use crate::ops;
use crate::store::{KeyProblem, NewKey, StoreError};

pub fn run(ctx: &Context, cmd: KeyCommand) -> Result<(), CliError> {
    ctx.require_operator("`webnet key` changes every customer's secrets and is for the operator")?;
    match cmd {
        KeyCommand::Rotate {
            new_passphrase_stdin,
        } => rotate(ctx, new_passphrase_stdin),
        KeyCommand::Reset { yes } => reset(ctx, yes),
    }
}

fn rotate(ctx: &Context, passphrase_stdin: bool) -> Result<(), CliError> {
    let new = if passphrase_stdin {
        let p = read_passphrase()?;
        if p.chars().count() < MIN_PASSPHRASE_CHARS {
            eprintln!(
                "warning: the passphrase is under {MIN_PASSPHRASE_CHARS} characters: whoever has a copy of the database can try passphrases against it offline; use a long random one (e.g. `openssl rand -base64 32`), or the key file (`webnet key rotate` without --new-passphrase-stdin)"
            );
        }
        NewKey::Passphrase(p)
    } else {
        NewKey::File
    };
    let to_passphrase = matches!(new, NewKey::Passphrase(_));
    let had_passphrase = ctx.passphrase().is_some();
    let store = ctx.store()?;
    let r = ops::keys::rotate(&store, new)?;
    let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "webhooks": r.webhooks,
            "secrets": r.secrets,
            "previous_secrets": r.previous_secrets,
            "headers": r.headers,
            "routing_keys": r.routing_keys,
            "key": if to_passphrase { "passphrase" } else { "file" },
            "key_file": path(&r.key_file),
            "key_file_removed": path(&r.key_file_removed),
        })),
        Format::Table => output::print_line(&format!(
            "re-sealed {} secret(s), {} previous secret(s), {} credential header(s) and {} routing key(s) of {} webhook(s) under the new {}",
            r.secrets,
            r.previous_secrets,
            r.headers,
            r.routing_keys,
            r.webhooks,
            match &r.key_file {
                Some(p) => format!("key file {}", p.display()),
                None => "passphrase".into(),
            }
        )),
    }
    // What the operator must do next goes to stderr, in both formats. A process keeps the
    // WEBNET_SECRET_KEY it started with (so does the environment file `schedule install`
    // wrote): only a new key file is followed by a running drain.
    let cron = "for cron, remove the old line with `crontab -e` first";
    // A server database is shared: every other host still has the old key.
    let shared = matches!(ctx.location(), crate::store::Location::Postgres(_));
    let every_host = |what: &str| match shared {
        true => format!(" Do the same on every other host that uses this database: {what}."),
        false => String::new(),
    };
    if to_passphrase {
        eprintln!(
            "{}from now on WEBNET_SECRET_KEY must carry the new passphrase, for every command. A running `drain --watch` keeps the old one: restart it with the new WEBNET_SECRET_KEY; and run `webnet schedule install` again with it set, so that scheduled drains read the new one ({cron}).{}",
            match &r.key_file_removed {
                Some(p) => format!("the key file {} was removed; ", p.display()),
                None => String::new(),
            },
            every_host("until then their drains cannot sign")
        );
    } else if had_passphrase {
        eprintln!(
            "the key is now in the key file: unset WEBNET_SECRET_KEY, which would override it. A running `drain --watch` keeps the old passphrase: restart it without WEBNET_SECRET_KEY; and run `webnet schedule install` again without it, so that scheduled drains use the key file ({cron}).{}",
            every_host("copy the new key file there first; until then their drains cannot sign")
        );
    } else if let Some(p) = &r.key_file {
        let hosts = match shared {
            true => "; copy it to every other host that uses this database (their drains cannot sign until they have it; a running drain picks it up by itself)",
            false => "",
        };
        eprintln!(
            "back up the new key file {} with the database: the old key no longer opens anything{hosts}",
            p.display()
        );
    }
    Ok(())
}

/// Under this, a new passphrase gets a warning (it is not refused: the operator decides).
const MIN_PASSPHRASE_CHARS: usize = 16;

/// The new passphrase: stdin's first line, or asked twice (hidden, never empty) on a terminal.
fn read_passphrase() -> Result<String, CliError> {
    if std::io::stdin().is_terminal() {
        prompt::new_passphrase()
    } else {
        stdin_line("--new-passphrase-stdin", "passphrase")
    }
}

fn reset(ctx: &Context, yes: bool) -> Result<(), CliError> {
    let store = ctx.store()?;
    // Refuse a working key before asking anything.
    ops::keys::check_lost(&store)?;
    // Sealed with a passphrase that this shell merely does not have: most likely forgotten
    // to export, not lost. A "y" at a prompt is too easy here; only --yes clears.
    let passphrase_unset = matches!(
        store.secret_key(),
        Err(StoreError::KeyProblem(KeyProblem::PassphraseNotSet))
    );
    if !yes && passphrase_unset {
        return Err(CliError::usage(
            "--yes",
            "this database's secrets are sealed with a passphrase and WEBNET_SECRET_KEY is not set: if you know the passphrase, set WEBNET_SECRET_KEY instead; if it is lost, run `webnet key reset --yes` (nothing was changed)",
        ));
    }
    if !yes {
        if !ctx.can_prompt() {
            return Err(CliError::usage(
                "--yes",
                "required: `key reset` clears every secret and credential header sealed with the lost key (nothing was changed)",
            ));
        }
        let q = "Clear every secret, credential header and routing key sealed with the lost key? Webhooks then send unsigned (and PagerDuty ones nothing) until you set new ones";
        if !prompt::confirm(q)? {
            return Err(CliError::failure("cancelled; nothing was changed"));
        }
    }
    let r = ops::keys::reset(&store, ctx.now())?;
    let ids = |list: &[i64]| {
        list.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match ctx.format {
        Format::Json => output::print_json(&json!({
            "webhooks_lost_secret": r.secrets.len(),
            "webhooks_lost_headers": r.headers.len(),
            "webhooks_lost_routing_key": r.routing_keys.len(),
            "routing_keys": r.routing_keys,
            "secrets": r.secrets,
            "headers": r.headers.iter()
                .map(|(id, names)| json!({"webhook": id, "headers": names}))
                .collect::<Vec<_>>(),
            "old_key_file": r.old_key_file.as_ref().map(|p| p.display().to_string()),
        })),
        Format::Table => {
            let headers: Vec<i64> = r.headers.iter().map(|(id, _)| *id).collect();
            output::print_line(&format!(
                "{} webhook(s) lost their secret{}; {} lost credential headers{}; {} lost their routing key{}",
                r.secrets.len(),
                if r.secrets.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", ids(&r.secrets))
                },
                headers.len(),
                r.headers
                    .iter()
                    .map(|(id, names)| format!(" ({id}: {})", names.join(", ")))
                    .collect::<String>(),
                r.routing_keys.len(),
                if r.routing_keys.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", ids(&r.routing_keys))
                },
            ));
        }
    }
    eprintln!(
        "new secrets can be stored now (`webnet webhooks update ID --secret-stdin`, `--header`, `--routing-key-stdin`){}",
        match &r.old_key_file {
            Some(p) => format!(
                "; the old key file was kept as {} and a new one is created with the next secret",
                p.display()
            ),
            None => String::new(),
        }
    );
    Ok(())
}
