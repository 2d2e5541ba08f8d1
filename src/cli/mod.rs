//! The command line: argument definitions (clap derive, typed values), one module per command
//! group, output and error mapping. The only layer that prints; messages go to stderr, results
//! to stdout. A command turns its parsed arguments into an `ops` call and renders the result;
//! rules live in `ops` and `domain`, and errors are mapped once (`error.rs`).

mod args;
mod context;
mod customers;
mod db;
mod deliveries;
mod drain;
mod emit;
mod error;
mod examples;
pub mod generate;
mod key;
mod listen;
mod metrics;
mod output;
mod prompt;
mod schedule;
mod secret_input;
mod serve;
mod stats;
mod targets;
mod tokens;
mod usage;
mod values;
pub(crate) mod views;
mod webhook_edit;
mod webhooks;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use args::{Cli, Command, TargetsCommand};
pub use context::Context;
pub use error::CliError;
pub use output::Format;

use crate::domain::text::error_line;
use usage::{command_for_env, one_line};

/// The clap command, for completions, man pages and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses the process arguments, runs the command, prints any error, returns the exit code.
pub fn main() -> ExitCode {
    let cli = match command_for_env()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // Help and version go to stdout with exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        // Done, but what it printed did not all get out (a full disk): not a success.
        Ok(()) => match output::lost_output() {
            None => ExitCode::SUCCESS,
            Some(why) => {
                eprintln!("error: writing the output failed ({why}); the command itself was done");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            // One line, whatever the cause (a database error can carry its SQL over many),
            // bounded and with any control characters escaped.
            eprintln!("error: {}", error_line(&e.message));
            ExitCode::from(e.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Customers(cmd) => customers::run(&ctx, cmd),
        Command::Webhooks(cmd) => webhooks::run(&ctx, cmd),
        Command::Emit(args) => emit::run(&ctx, args),
        Command::Drain(args) => drain::run(&ctx, args),
        Command::Deliveries(cmd) => deliveries::run(&ctx, cmd),
        Command::Schedule(cmd) => schedule::run(&ctx, cmd),
        Command::Key(cmd) => key::run(&ctx, cmd),
        Command::Db(cmd) => db::run(&ctx, cmd),
        Command::Targets(cmd) => targets::run(&ctx, cmd),
        Command::Tokens(cmd) => tokens::run(&ctx, cmd),
        Command::Stats {
            since,
            webhook,
            buckets,
        } => stats::run(&ctx, since.into(), webhook, buckets.into()),
        Command::Metrics => metrics::run(&ctx),
        Command::Listen(args) => listen::run(&ctx, args),
        Command::Serve(args) => serve::run(&ctx, args),
        Command::Completions { shell } => generate::print_completions(shell),
    }
}
