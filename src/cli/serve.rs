//! `webnet serve`: opens (creating if need be) the database, then hands over to
//! [`crate::serve`]; says where it listens once it does (tests and scripts wait for that line).

use std::time::Duration;

use super::args::ServeArgs;
use super::{CliError, Context};
use crate::serve::{self, Options};

pub fn run(ctx: &Context, args: ServeArgs) -> Result<(), CliError> {
    let store = ctx.store_or_create()?;
    let opts = Options {
        listen: args.listen,
        worker: !args.no_worker,
        public_metrics: args.public_metrics,
        sending: ctx.sending(args.concurrency)?,
        worker_log: Box::new(super::drain::service_log(Duration::from_secs(60))),
    };
    let shown = ctx.location().shown();
    let worker = !args.no_worker;
    serve::run(store, opts, |addr| {
        eprintln!(
            "serve: listening on http://{addr}/ ({shown}{}); SIGTERM or Ctrl-C stops cleanly",
            if worker {
                ", delivering"
            } else {
                ", no worker"
            }
        );
    })
    .map_err(|e| match e {
        serve::ServeError::Store(e) => e.into(),
        e @ serve::ServeError::Listen { .. } => CliError::usage("--listen", e),
        e => CliError::failure(e),
    })
}
