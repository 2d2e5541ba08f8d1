//! `webnet listen`: a local receiver for developing receivers. It answers every POST, checks the
//! signature when given the secret, and prints each event as it arrives. Anyone on this machine
//! can post to it, so what it prints in a table has its control characters escaped. The HTTP
//! side is hyper's, through `serve::receiver` (the async runtime stays inside `serve`).

use std::sync::mpsc;

use serde_json::{json, Value};

use super::args::ListenArgs;
use super::output::{self, Format};
use super::{CliError, Context};
use crate::domain::signature::{same_in_constant_time, sign};
use crate::domain::text::escape_controls;
use crate::domain::time::{rfc3339, to_millis};
use crate::domain::Secret;
use crate::serve::receiver::{Answer, Received, Receiver};

/// Largest body accepted (larger ones get 413).
const MAX_BODY: usize = 2 * 1024 * 1024;

pub fn run(ctx: &Context, args: ListenArgs) -> Result<(), CliError> {
    let secret = read_secret(&args)?;
    let (tx, rx) = mpsc::channel::<(Received, Answer)>();
    let receiver = Receiver::start(args.port, MAX_BODY, tx).map_err(|e| {
        let line = format!("cannot listen on 127.0.0.1:{}: {e}", args.port);
        // As `serve --listen`: the port given is taken, or not ours to take: choose another.
        // Anything else (no threads to start) is this machine's trouble, not the option's.
        match e.kind() {
            std::io::ErrorKind::AddrInUse | std::io::ErrorKind::PermissionDenied => {
                CliError::usage("--port", line)
            }
            _ => CliError::failure(line),
        }
    })?;
    eprintln!(
        "listening on http://127.0.0.1:{}/ — point a webhook here (allow loopback once per database with `webnet targets allow 127.0.0.1/32`){}",
        receiver.addr.port(),
        if secret.is_some() {
            "; checking signatures"
        } else {
            "; not checking signatures (give the webhook's secret with --secret-stdin or WEBNET_LISTEN_SECRET to check them)"
        }
    );
    let mut seen = 0u64;
    while args.count.is_none_or(|n| seen < n) {
        let Ok((req, answer)) = rx.recv() else { break };
        let verdict = check(secret.as_ref(), &req);
        let (status, text) = match verdict {
            "invalid" => (401, "invalid signature"),
            "missing" => (401, "no X-Webhook-Signature (the webhook has no secret?)"),
            _ => (200, "received"),
        };
        // Printed before it is answered: once a sender has its status, the event is on screen.
        print_event(ctx.format, &req, verdict);
        let _ = answer.send((status, text));
        seen += 1;
    }
    // After --count events, the answers still reach their senders before the process ends
    // (else the last delivery would see its connection closed and be retried).
    // Requests still arriving are answered 503 at once, not left waiting.
    drop(rx);
    receiver.finish(std::time::Duration::from_secs(5));
    Ok(())
}

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

/// "valid", "invalid" (a wrong signature), "missing" (none, while a secret is set: the webhook
/// has no secret), or "unchecked" (no secret given here).
fn check(secret: Option<&Secret>, req: &Received) -> &'static str {
    let Some(secret) = secret else {
        return "unchecked";
    };
    let expected = sign(secret, &req.body);
    // During a rotation the new secret signs `X-Webhook-Signature-Next`: either header with the
    // secret given here is valid, as the README's receivers check.
    let given: Vec<&str> = ["x-webhook-signature", "x-webhook-signature-next"]
        .into_iter()
        .filter_map(|name| header(req, name))
        .collect();
    if given.is_empty() {
        return "missing";
    }
    if given
        .into_iter()
        .any(|g| same_in_constant_time(g, &expected))
    {
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
