//! The HTTP side of `webnet listen` (a local receiver for developing receivers) on the same
//! hyper server code as `serve`, so request parsing is hyper's rather than hand-written. Each
//! request is handed, read in full, to the caller's thread over a channel with a way to answer
//! it; [`Receiver::finish`] stops accepting and lets the answers given reach their senders.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::oneshot;

/// A request as received.
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How the caller answers a request: a status and a short text body.
pub type Answer = oneshot::Sender<(u16, &'static str)>;

pub struct Receiver {
    pub addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl Receiver {
    /// Listens on 127.0.0.1:`port` (0: any free port); every request (body at most
    /// `max_body`, else 413 without asking) goes to `requests`.
    pub fn start(
        port: u16,
        max_body: usize,
        requests: std::sync::mpsc::Sender<(Received, Answer)>,
    ) -> std::io::Result<Receiver> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("webnet-listen")
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        runtime.spawn(async move {
            accept(listener, max_body, requests, stop_rx).await;
            let _ = done_tx.send(());
        });
        Ok(Receiver {
            addr,
            runtime,
            stop: Some(stop_tx),
            done: Some(done_rx),
        })
    }

    /// Stops accepting; waits up to `within` for the answers given to be written.
    pub fn finish(mut self, within: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(within, done).await });
        }
    }
}

async fn accept(
    listener: tokio::net::TcpListener,
    max_body: usize,
    requests: std::sync::mpsc::Sender<(Received, Answer)>,
    mut stop: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let requests = requests.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let requests = requests.clone();
            async move { Ok::<_, Infallible>(handle(req, max_body, &requests).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(60))
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn handle(
    req: Request<Incoming>,
    max_body: usize,
    requests: &std::sync::mpsc::Sender<(Received, Answer)>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match Limited::new(req.into_body(), max_body).collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return reply(413, "too large");
        }
        Err(_) => return reply(400, "the body could not be read"),
    };
    let (answer, answered) = oneshot::channel();
    if requests
        .send((
            Received {
                path,
                headers,
                body,
            },
            answer,
        ))
        .is_err()
    {
        return reply(503, "not listening any more");
    }
    match answered.await {
        Ok((status, text)) => reply(status, text),
        Err(_) => reply(503, "not listening any more"),
    }
}

fn reply(status: u16, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    r
}
