//! `webnet serve`: the spec's REST API (and, next to it, `/metrics` and the health check) over
//! the same database as the CLI, with the delivery worker in the same process (DESIGN §12).
//!
//! axum on a tokio runtime that lives only here; handlers call the synchronous `ops` layer on
//! tokio's blocking threads ([`state::AppState::call`]), each with a pooled connection, so the
//! rest of webnet stays free of async. Connections are served by hyper's HTTP/1 server with a
//! timeout on reading request heads; bodies have their own ([`body`]). SIGTERM or SIGINT stops
//! accepting, lets requests in flight finish, then stops the worker as `drain` stops.

mod api;
mod auth;
mod body;
mod error;
mod http;
mod page;
mod path;
pub mod receiver;
mod recorder;
mod routes;
mod state;
mod ui;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::delivery::service::DrainReport;
use crate::ops::Sending;
use crate::store::Store;

pub use error::ApiError;

/// How `serve` runs.
pub struct Options {
    pub listen: SocketAddr,
    /// Run the delivery worker in this process (`--no-worker` turns it off).
    pub worker: bool,
    /// `/metrics` without a token.
    pub public_metrics: bool,
    /// How the worker and the API's tests and retries send (the worker's scope, its
    /// concurrency).
    pub sending: Sending,
    /// The worker's log.
    pub worker_log: Box<dyn DrainReport + Send>,
}

/// Why `serve` could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start: {0}")]
    Start(std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Serves until SIGTERM or SIGINT; `ready` is told the address listened on (port 0 picks one).
pub fn run(store: Store, opts: Options, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .enable_all()
        .thread_name("webnet-serve")
        .build()
        .map_err(ServeError::Start)?;
    let worker_store = store.reopen()?;
    let recorder = recorder::Recorder::start(store.reopen()?).map_err(ServeError::Start)?;
    let state = Arc::new(state::AppState::new(
        store,
        recorder,
        opts.sending.clone(),
        opts.public_metrics,
    ));
    let listener = runtime
        .block_on(async { tokio::net::TcpListener::bind(opts.listen).await })
        .map_err(|source| ServeError::Listen {
            addr: opts.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Start)?;
    let worker = if opts.worker {
        Some(
            worker::Worker::start(
                worker_store,
                opts.sending,
                Arc::clone(&state.wake),
                opts.worker_log,
            )
            .map_err(ServeError::Start)?,
        )
    } else {
        drop(worker_store);
        None
    };
    let signals = runtime
        .block_on(async { http::Signals::new() })
        .map_err(ServeError::Start)?;
    ready(addr);
    let app = routes::router(Arc::clone(&state));
    let served = runtime.block_on(http::serve(listener, app, signals));
    if let Some(w) = worker {
        w.stop();
    }
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served.map_err(ServeError::Start)
}
