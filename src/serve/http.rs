//! The connection loop: hyper's HTTP/1 server under the router, with a timeout on reading a
//! request's head (a slow or silent client is dropped), keep-alive, and a graceful stop on
//! SIGTERM or SIGINT (no new connections; requests in flight finish, up to [`DRAIN_WAIT`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

/// How long a client may take to send a request's head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 1024;

/// How long a stop waits for requests in flight.
pub const DRAIN_WAIT: Duration = Duration::from_secs(30);

pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    signals: Signals,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(signals.wait());
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        // At most MAX_CONNECTIONS at once: past that, new ones wait in the listen queue.
        let permit = tokio::select! {
            permit = Arc::clone(&open).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: say so, pause, go on.
                    eprintln!("serve: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let app = app.clone();
            async move {
                let response = app.oneshot(req.map(Body::new)).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|e| match e {}))
            }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEAD_TIMEOUT)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    eprintln!("serve: stopping: no new connections; waiting for requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_WAIT) => {
            eprintln!("serve: requests still in flight after {}s; stopping anyway", DRAIN_WAIT.as_secs());
        }
    }
    Ok(())
}

/// SIGTERM and SIGINT, caught from the moment this is made (before the server says it
/// listens, so a stop sent right after is never the default "die at once").
pub struct Signals(tokio::signal::unix::Signal, tokio::signal::unix::Signal);

impl Signals {
    /// Inside the runtime.
    pub fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals(
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        ))
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.0.recv() => {}
            _ = self.1.recv() => {}
        }
    }
}
