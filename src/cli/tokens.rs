//! `webnet tokens create|list|revoke`: the API tokens `webnet serve` checks on every request.
//! Operator-only: refused while pinned to a customer. `tokens create` takes the token's
//! customer from the global `--customer ID` (as `webhooks create` takes the webhook's), given
//! on the command line; a shell pinned by `WEBNET_CUSTOMER` may not create tokens at all.
//! A new token is printed once, on stdout; nothing else ever prints it.

use std::collections::HashMap;

use serde_json::Value;

use super::args::TokensCommand;
use super::output::{self, Format};
use super::views::{token_json, TOKEN_COLUMNS};
use super::{CliError, Context};
use crate::domain::{CustomerId, Scope};
use crate::ops;
use crate::store::{ApiToken, Store};

/// Why the pinned are refused.
const WHY: &str = "API tokens are the operator's";

pub fn run(ctx: &Context, cmd: TokensCommand) -> Result<(), CliError> {
    match cmd {
        TokensCommand::Create {
            name,
            admin,
            read_only,
        } => {
            let customer = token_customer(ctx, admin)?;
            // A mistyped --db makes no new database with a token nobody's server will take.
            let store = ctx.existing_store()?;
            let made = ops::tokens::create(&store, &name, customer, read_only, ctx.now())?;
            let t = &made.token;
            let names = customer_names(&store, t.customer)?;
            let line = match ctx.format {
                Format::Json => {
                    let mut v = shown(t, &names);
                    if let Value::Object(map) = &mut v {
                        map.insert("token".into(), made.plaintext.clone().into());
                    }
                    v.to_string()
                }
                Format::Table => made.plaintext.clone(),
            };
            // Shown this once only: a token nobody could read is revoked at once, not left
            // working unseen (a full disk, a closed pipe).
            if let Err(e) = output::print_line_checked(&line) {
                let revoked = ops::tokens::revoke(&store, t.id, ctx.now()).is_ok();
                return Err(CliError::failure(format!(
                    "token {} ({}) was created, but printing it failed ({e}); {}: create another",
                    t.id,
                    t.name,
                    if revoked {
                        "it was revoked at once"
                    } else {
                        "revoke it (webnet tokens revoke ID)"
                    }
                )));
            }
            eprintln!(
                "created token {} ({}) for {}{}: it is shown this once only, keep it now (only its hash is stored)",
                t.id,
                t.name,
                scope_words(t, &names),
                if t.read_only { ", read-only" } else { "" },
            );
            Ok(())
        }
        TokensCommand::List { all } => {
            ctx.require_operator(WHY)?;
            let store = ctx.store()?;
            let tokens = ops::tokens::list(&store)?;
            let revoked = tokens.iter().filter(|t| t.revoked_at.is_some()).count();
            let names = customer_names(&store, None)?;
            let list: Vec<Value> = tokens
                .iter()
                .filter(|t| all || t.revoked_at.is_none())
                .map(|t| shown(t, &names))
                .collect();
            let empty = match (all, revoked) {
                (false, n) if n > 0 => {
                    format!("no active API tokens ({n} revoked: see `webnet tokens list --all`)")
                }
                _ => {
                    "no API tokens yet: create one with `webnet tokens create --name NAME --admin`"
                        .to_string()
                }
            };
            output::print_list(ctx.format, &list, TOKEN_COLUMNS, &empty);
            Ok(())
        }
        TokensCommand::Revoke { id } => {
            ctx.require_operator(WHY)?;
            let store = ctx.store()?;
            let already = ops::tokens::list(&store)?
                .iter()
                .any(|t| t.id == id && t.revoked_at.is_some());
            let t = ops::tokens::revoke(&store, id, ctx.now())?;
            if ctx.format == Format::Json {
                output::print_json(&shown(&t, &customer_names(&store, t.customer)?));
            }
            if already {
                eprintln!("token {} ({}) was revoked already", t.id, t.name);
            } else {
                eprintln!(
                    "revoked token {} ({}): it no longer authenticates",
                    t.id, t.name
                );
            }
            Ok(())
        }
    }
}

/// The customer of the token `tokens create` makes: the global `--customer ID` given on the
/// command line, or none with `--admin`; exactly one of the two (exit 2 otherwise). A shell
/// pinned by `WEBNET_CUSTOMER` is refused: tokens are the operator's, and a pinned script
/// must not mint credentials.
fn token_customer(ctx: &Context, admin: bool) -> Result<Option<CustomerId>, CliError> {
    let pinned_shell = std::env::var("WEBNET_CUSTOMER").is_ok_and(|v| !v.trim().is_empty());
    match (ctx.scope, admin) {
        (Scope::Customer(c), _) if pinned_shell => Err(CliError::usage(
            "WEBNET_CUSTOMER",
            format!(
                "this shell is pinned to customer {c}; {WHY} (unset WEBNET_CUSTOMER; give --customer ID for a customer's token)"
            ),
        )),
        (Scope::Customer(_), true) => Err(CliError::usage(
            "--admin",
            "give either --customer ID (a token for that customer) or --admin (every customer), not both",
        )),
        (Scope::Customer(c), false) => Ok(Some(c)),
        (Scope::All, true) => Ok(None),
        (Scope::All, false) => Err(CliError::usage(
            "--customer",
            "give --customer ID for a token that sees only that customer, or --admin for one that sees every customer",
        )),
    }
}

/// Customer names by id: of `only`, or of every customer when `None`.
fn customer_names(
    store: &Store,
    only: Option<CustomerId>,
) -> Result<HashMap<CustomerId, String>, CliError> {
    let scope = only.map_or(Scope::All, Scope::Customer);
    Ok(ops::customers::list(store, scope)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

fn shown(t: &ApiToken, names: &HashMap<CustomerId, String>) -> Value {
    token_json(
        t,
        t.customer.and_then(|c| names.get(&c)).map(String::as_str),
    )
}

/// "customer 1 (acme)" or "every customer (admin)", for messages.
fn scope_words(t: &ApiToken, names: &HashMap<CustomerId, String>) -> String {
    match t.customer {
        Some(c) => match names.get(&c) {
            Some(name) => format!("customer {c} ({name})"),
            None => format!("customer {c}"),
        },
        None => "every customer (admin)".into(),
    }
}
