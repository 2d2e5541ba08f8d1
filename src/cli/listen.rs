//! `webnet listen`: a local receiver for developing receivers. It answers every POST, checks the
//! signature when given the secret, and prints each event as it arrives. Anyone on this machine
//! can post to it, so what it prints in a table has its control characters escaped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;

use serde_json::{json, Value};

use super::args::ListenArgs;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::domain::signature::sign;
use crate::domain::text::escape_controls;
use crate::domain::time::{rfc3339, to_millis};
use crate::domain::Secret;

/// Largest body accepted (larger ones get 413).
const MAX_BODY: usize = 2 * 1024 * 1024;

struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    path: String,
}

pub fn run(ctx: &Context, args: ListenArgs) -> Result<(), CliError> {
    let secret = read_secret(&args)?;
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .map_err(|e| CliError::failure(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(args.port);
    eprintln!(
        "listening on http://127.0.0.1:{port}/ — point a webhook here (allow loopback once per database with `webnet targets allow 127.0.0.1/32`){}",
        if secret.is_some() { "; checking signatures" } else { "" }
    );
    let (tx, rx) = mpsc::channel::<(Received, Answer)>();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || serve(stream, &tx));
        }
    });
    let mut seen = 0u64;
    let mut unwritten: Vec<mpsc::Receiver<()>> = Vec::new();
    while args.count.is_none_or(|n| seen < n) {
        let Ok((req, answer)) = rx.recv() else { break };
        let verdict = check(secret.as_ref(), &req);
        let status = if verdict == "invalid" { 401 } else { 200 };
        // Printed before it is answered: once a sender has its status, the event is on screen.
        print_event(ctx.format, &req, verdict);
        let (written_tx, written_rx) = mpsc::channel();
        let _ = answer.send((status, written_tx));
        unwritten.retain(|w| matches!(w.try_recv(), Err(mpsc::TryRecvError::Empty)));
        unwritten.push(written_rx);
        seen += 1;
    }
    // After --count events, the answers still reach their senders before the process ends
    // (else the last delivery would see its connection closed and be retried).
    for w in unwritten {
        let _ = w.recv_timeout(std::time::Duration::from_secs(5));
    }
    Ok(())
}

/// How the coordinator answers a request: the status, and a sender dropped once the reply has
/// been written.
type Answer = mpsc::Sender<(u16, mpsc::Sender<()>)>;

/// Where the secret comes from when neither `--secret` nor `--secret-stdin` is given: unlike an
/// argument, the environment is not visible to other users in the process list.
const SECRET_ENV: &str = "WEBNET_LISTEN_SECRET";

/// The secret from `--secret` or `--secret-stdin`, else from `WEBNET_LISTEN_SECRET` (empty:
/// none).
fn read_secret(args: &ListenArgs) -> Result<Option<Secret>, CliError> {
    if args.secret.is_given() {
        return args.secret.read();
    }
    match std::env::var(SECRET_ENV) {
        Ok(s) if !s.is_empty() => Secret::new(&s)
            .map(Some)
            .map_err(|e| CliError::usage(SECRET_ENV, e.message)),
        _ => Ok(None),
    }
}

/// "valid", "invalid" (wrong or missing signature while a secret is set), or "unchecked".
fn check(secret: Option<&Secret>, req: &Received) -> &'static str {
    let Some(secret) = secret else {
        return "unchecked";
    };
    let expected = sign(secret, &req.body);
    let given = header(req, "x-webhook-signature").unwrap_or_default();
    // Constant time over the expected length.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        "valid"
    } else {
        "invalid"
    }
}

fn header<'a>(req: &'a Received, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn print_event(format: Format, req: &Received, verdict: &str) {
    let payload: Value = serde_json::from_slice(&req.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&req.body).into_owned()));
    let now = rfc3339(to_millis(std::time::SystemTime::now()));
    let event_type = header(req, "x-webhook-event").unwrap_or("-");
    let delivery = header(req, "x-webhook-delivery").unwrap_or("-");
    match format {
        Format::Json => output::print_json(&json!({
            "received_at": now,
            "path": req.path,
            "event_type": event_type,
            "delivery": delivery,
            "signature": verdict,
            "payload": payload,
        })),
        Format::Table => output::print_line(&format!(
            "{now}  {}  delivery {}  path {}  signature {verdict}\n{}",
            escape_controls(event_type),
            escape_controls(delivery),
            escape_controls(&req.path),
            output::safe_lines(&serde_json::to_string_pretty(&payload).unwrap_or_default())
        )),
    }
}

/// Reads requests on one connection (keep-alive) and answers each with the coordinator's status.
fn serve(stream: TcpStream, tx: &mpsc::Sender<(Received, Answer)>) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(60)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        if len > MAX_BODY {
            let _ = writer.write_all(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (answer_tx, answer_rx) = mpsc::channel();
        if tx
            .send((
                Received {
                    headers,
                    body,
                    path,
                },
                answer_tx,
            ))
            .is_err()
        {
            return;
        }
        let (status, written) = match answer_rx.recv() {
            Ok((status, written)) => (status, Some(written)),
            Err(_) => (503, None),
        };
        let (reason, text) = match status {
            200 => ("OK", "received"),
            401 => ("Unauthorized", "invalid signature"),
            _ => ("Service Unavailable", "not listening any more"),
        };
        let reply = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}", text.len());
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
        drop(written);
    }
}
