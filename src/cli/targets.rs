//! `webnet targets allow|list|remove`: the non-public destinations webhooks may reach, stored in
//! the database so every process (cron's `drain` included) applies them (DESIGN §7).
//! Operator-only: refused while pinned to a customer, before the database is touched.

use serde_json::{json, Value};

use super::args::TargetsCommand;
use super::output::{self, Column, Format};
use super::{CliError, Context};
use crate::domain::time::rfc3339;
use crate::ops;
use crate::store::AllowedTargetRow;

const COLUMNS: &[Column] = &[
    ("TARGET", "target"),
    ("NOTE", "note"),
    ("CREATED", "created_at"),
];

pub fn run(ctx: &Context, cmd: TargetsCommand) -> Result<(), CliError> {
    ctx.require_operator("allowed destinations are the operator's")?;
    match cmd {
        TargetsCommand::Allow { target, note } => {
            let store = ctx.store_or_create()?;
            let (row, new) = ops::targets::allow(&store, &target, note.as_deref(), ctx.now())?;
            match ctx.format {
                Format::Json => output::print_json(&target_json(&row)),
                Format::Table => {
                    output::print_line(&row.target.to_string());
                    eprintln!(
                        "{} {}: webhooks may reach it from now on, in every process",
                        match (new, note.is_some()) {
                            (true, _) => "allowed",
                            (false, true) => "already allowed (note updated)",
                            (false, false) => "already allowed",
                        },
                        row.target
                    );
                }
            }
            if target.spans_metadata() {
                eprintln!(
                    "warning: {} includes a cloud metadata address (169.254.169.254 or fd00:ec2::254): webhooks can now reach it",
                    row.target
                );
            }
            if target.is_public_address() {
                eprintln!(
                    "note: {} is a public address; public destinations are always allowed, so this entry changes nothing",
                    row.target
                );
            }
            Ok(())
        }
        TargetsCommand::List => {
            let store = ctx.store()?;
            let list: Vec<Value> = ops::targets::list(&store)?
                .iter()
                .map(target_json)
                .collect();
            output::print_list(
                ctx.format,
                &list,
                COLUMNS,
                "no non-public destinations allowed: loopback, private and link-local addresses are refused (allow some with `webnet targets allow CIDR|HOST`)",
            );
            if ctx.allow_private && ctx.format == Format::Table {
                eprintln!(
                    "(--allow-private-targets is set: this process may reach every destination)"
                );
            }
            Ok(())
        }
        TargetsCommand::Remove { target } => {
            let store = ctx.store()?;
            ops::targets::remove(&store, &target)?;
            match ctx.format {
                Format::Json => {
                    output::print_json(&json!({"target": target.to_string(), "removed": true}))
                }
                Format::Table => eprintln!(
                    "removed {target}: later deliveries to it are refused (unless another entry allows them)"
                ),
            }
            Ok(())
        }
    }
}

fn target_json(r: &AllowedTargetRow) -> Value {
    json!({
        "target": r.target.to_string(),
        "kind": r.target.kind(),
        "note": r.note,
        "created_at": rfc3339(r.created_at),
        "updated_at": rfc3339(r.updated_at),
    })
}
