//! A failed request in plain words, by the error's type (not its message): the receiver's
//! failure, a refused destination, or the egress proxy's failure.

use super::Reply;
use crate::delivery::resolve::{LookupFailed, ProxyLookupFailed, RefusedAddress};
use crate::domain::proxy::ProxyUrl;

/// Turns a ureq error into plain words, by its type. `proxy` is the proxy the request went
/// through: failing to reach it, or its refusal to open the tunnel, is the proxy's failure.
pub(super) fn classify(e: ureq::Error, proxy: Option<&ProxyUrl>) -> Reply {
    use std::io::ErrorKind;
    match (e, proxy) {
        (ureq::Error::ConnectProxyFailed(why), p) => Reply::ProxyFailed(format!(
            "{} did not open a tunnel to the receiver ({})",
            p.map_or_else(|| "the proxy".to_string(), |p| format!("the proxy {p}")),
            tunnel_refusal(&why, p.is_some_and(|p| p.user().is_some()))
        )),
        (ureq::Error::Io(io), Some(p)) if inner::<ProxyLookupFailed>(&io).is_some() => {
            Reply::ProxyFailed(format!("proxy host not found: {p}"))
        }
        (ureq::Error::Io(io), Some(p))
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
            ) =>
        {
            // Through a proxy the only connection opened is to the proxy (the receiver's
            // is the proxy's to open, and its failure comes back as a refused tunnel).
            Reply::ProxyFailed(match io.kind() {
                ErrorKind::ConnectionRefused => format!("the proxy {p} refused the connection"),
                _ => format!("the proxy {p} is unreachable"),
            })
        }
        (ureq::Error::HostNotFound, Some(p)) => {
            Reply::ProxyFailed(format!("proxy host not found: {p}"))
        }
        (ureq::Error::ConnectionFailed, Some(p)) => {
            Reply::ProxyFailed(format!("could not connect to the proxy {p}"))
        }
        (e, _) => classify_direct(e),
    }
}

/// Why a proxy did not open the tunnel, in plain words: ureq says "proxy server responded
/// 407/407" for an answer; a 407 is the proxy's credentials (`with_credentials`: the proxy URL
/// has some), the one cause the user can fix at once.
fn tunnel_refusal(why: &str, with_credentials: bool) -> String {
    let status = why
        .strip_prefix("proxy server responded ")
        .and_then(|rest| rest.split('/').next())
        .and_then(|code| ureq::http::StatusCode::from_bytes(code.as_bytes()).ok());
    match status {
        Some(s) if s == ureq::http::StatusCode::PROXY_AUTHENTICATION_REQUIRED => format!(
            "it answered {} {}: {}",
            s.as_u16(),
            s.canonical_reason().unwrap_or_default(),
            if with_credentials {
                "check the user and password in the proxy URL"
            } else {
                "give them in the proxy URL, http://USER:PASSWORD@HOST:PORT"
            }
        ),
        Some(s) => format!(
            "it answered {} {}",
            s.as_u16(),
            s.canonical_reason().unwrap_or_default()
        )
        .trim_end()
        .to_string(),
        None => why.to_string(),
    }
}

/// A ureq error of a request's own connection, in plain words.
fn classify_direct(e: ureq::Error) -> Reply {
    use std::io::ErrorKind;
    match e {
        ureq::Error::Timeout(_) => Reply::Timeout,
        ureq::Error::Io(io) => {
            if let Some(r) = inner::<RefusedAddress>(&io) {
                return Reply::Refused(r.to_string());
            }
            if let Some(l) = inner::<LookupFailed>(&io) {
                return Reply::Error(l.to_string());
            }
            if let Some(tls) = inner::<rustls::Error>(&io) {
                return Reply::Error(crate::delivery::tls::message(tls));
            }
            if is_timeout(&io) {
                return Reply::Timeout;
            }
            Reply::Error(match io.kind() {
                ErrorKind::ConnectionRefused => "connection refused".into(),
                ErrorKind::ConnectionReset => "connection reset by the receiver".into(),
                ErrorKind::ConnectionAborted => "connection aborted".into(),
                ErrorKind::UnexpectedEof => {
                    "the receiver closed the connection without answering".into()
                }
                ErrorKind::NotConnected | ErrorKind::BrokenPipe => {
                    "connection closed by the receiver".into()
                }
                ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                    "host unreachable".into()
                }
                _ => format!("connection error: {io}"),
            })
        }
        ureq::Error::HostNotFound => Reply::Error("host not found".into()),
        ureq::Error::ConnectionFailed => Reply::Error("connection failed".into()),
        ureq::Error::Tls(m) => Reply::Error(format!("TLS error: {m}")),
        ureq::Error::Rustls(r) => Reply::Error(crate::delivery::tls::message(&r)),
        ureq::Error::Protocol(p) => Reply::Error(format!("invalid HTTP response: {p}")),
        ureq::Error::BadUri(u) => Reply::Refused(format!("invalid URL: {u}")),
        other => Reply::Error(other.to_string()),
    }
}

/// The error of type `T` inside an I/O error, looking through I/O errors wrapped in I/O errors.
fn inner<T: std::error::Error + 'static>(e: &std::io::Error) -> Option<&T> {
    let mut cur: &(dyn std::error::Error + 'static) = e.get_ref()?;
    loop {
        if let Some(t) = cur.downcast_ref::<T>() {
            return Some(t);
        }
        cur = match cur.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref()?,
            None => cur.source()?,
        };
    }
}

/// Whether reading the body failed for want of time. ureq's body reader hands its own
/// `Timeout` over wrapped in an `io::Error` of kind `Other`.
pub(super) fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) || inner::<ureq::Error>(e).is_some_and(|u| matches!(u, ureq::Error::Timeout(_)))
}

#[cfg(test)]
mod tests {
    use super::tunnel_refusal;

    #[test]
    fn a_proxy_answer_is_named_by_its_status_and_reason() {
        assert_eq!(
            tunnel_refusal("proxy server responded 407/407", true),
            "it answered 407 Proxy Authentication Required: check the user and password in the proxy URL"
        );
        assert_eq!(
            tunnel_refusal("proxy server responded 407/407", false),
            "it answered 407 Proxy Authentication Required: give them in the proxy URL, http://USER:PASSWORD@HOST:PORT"
        );
        assert_eq!(
            tunnel_refusal("proxy server responded 502/502", true),
            "it answered 502 Bad Gateway"
        );
        assert_eq!(
            tunnel_refusal("proxy server responded 599/599", false),
            "it answered 599"
        );
        assert_eq!(
            tunnel_refusal("proxy server did not respond", false),
            "proxy server did not respond"
        );
    }
}
