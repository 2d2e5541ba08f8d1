//! `webnet tokens …`: the API tokens of `webnet serve`.

use clap::Subcommand;

use super::super::examples;
use super::super::values;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create an API token and print it, this once only (only its hash is stored): a
    /// customer's with the global --customer ID (it sees and changes only that customer), or
    /// one for every customer with --admin
    #[command(
        after_help = examples::TOKENS_CREATE,
        override_usage = "webnet tokens create --name <NAME> (--customer <ID> | --admin) [--read-only]"
    )]
    Create {
        /// What the token is for, shown by `tokens list` (1-100 characters)
        #[arg(long, value_name = "NAME", value_parser = values::webhook_name)]
        name: String,
        /// A token for every customer (instead of --customer ID)
        #[arg(long)]
        admin: bool,
        /// The token may read but not change anything
        #[arg(long)]
        read_only: bool,
    },
    /// List tokens (never the tokens themselves: their last four characters)
    #[command(after_help = examples::TOKENS_LIST)]
    List {
        /// Revoked tokens too
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token: it never authenticates again (kept in `tokens list --all`)
    #[command(after_help = examples::TOKENS_REVOKE)]
    Revoke {
        /// Token id (see `webnet tokens list`)
        #[arg(value_parser = values::token_id, allow_negative_numbers = true)]
        id: i64,
    },
}
