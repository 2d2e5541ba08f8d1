//! `webnet customers create|list`.

use super::args::CustomersCommand;
use super::output::{self, Format};
use super::views::{customer_json, CUSTOMER_COLUMNS};
use super::{CliError, Context};
use crate::ops;

pub fn run(ctx: &Context, cmd: CustomersCommand) -> Result<(), CliError> {
    match cmd {
        CustomersCommand::Create { name } => {
            ctx.require_operator("creating customers is refused")?;
            let store = ctx.store_or_create()?;
            let c = ops::customers::create(&store, &name, ctx.now())?;
            match ctx.format {
                Format::Json => output::print_json(&customer_json(&c)),
                Format::Table => {
                    output::print_line(&c.id.to_string());
                    eprintln!("created customer {} ({})", c.id, c.name);
                }
            }
            Ok(())
        }
        CustomersCommand::List => {
            let store = ctx.store()?;
            let list: Vec<_> = ops::customers::list(&store, ctx.scope)?
                .iter()
                .map(customer_json)
                .collect();
            output::print_list(
                ctx.format,
                &list,
                CUSTOMER_COLUMNS,
                "no customers yet: create one with `webnet customers create NAME`",
            );
            Ok(())
        }
    }
}
