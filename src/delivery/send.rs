//! One HTTP attempt: a signed POST with the stored payload bytes, a whole-request timeout, no
//! redirects followed, and every resolved address checked against the allowed destinations
//! before connecting, so a name cannot lead a request to loopback, private or metadata ranges
//! the operator has not allowed. When the allowed destinations change, the connection pools are
//! dropped with them: a kept-alive connection never outlives the rule that let it open.

use std::io::Read;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::Agent;

use crate::domain::allowlist::{Refusal, TargetPolicy};

/// Response bodies are kept up to this many bytes.
pub const BODY_LIMIT: usize = 10 * 1024;
pub const USER_AGENT: &str = "webnet-webhook/1.0";

/// A request ready to go: everything is decided before a worker takes it.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
    pub body: Arc<[u8]>,
    /// Every header sent, in order (Content-Type and User-Agent included).
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub verify_ssl: bool,
    /// The body is a rendering of the payload (a chat or alerting format), not the payload.
    pub rendered: bool,
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The receiver answered (any status; 2xx is success).
    Status {
        code: u16,
        body: String,
        retry_after: Option<u64>,
        location: Option<String>,
    },
    /// No answer in time.
    Timeout,
    /// The destination is not allowed: never retried.
    Refused(String),
    /// Anything else on the way: DNS, connection, TLS, protocol.
    Error(String),
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub reply: Reply,
    pub duration_ms: i64,
}

/// The HTTP side of a process: one agent (keep-alive pool) for verified TLS, one for
/// `verify_ssl = false`, created on first use; both replaced when the allowed destinations
/// change.
pub struct Sender {
    agents: RwLock<Arc<Agents>>,
    pool_per_host: usize,
}

/// The agents made under one policy.
struct Agents {
    policy: Arc<TargetPolicy>,
    verified: Agent,
    unverified: OnceLock<Agent>,
}

impl Agents {
    fn new(policy: TargetPolicy, per_host: usize) -> Agents {
        let policy = Arc::new(policy);
        Agents {
            verified: agent(&policy, true, per_host),
            unverified: OnceLock::new(),
            policy,
        }
    }
}

/// Why the resolver refused an address; matched by type, not by message.
#[derive(Debug)]
struct RefusedAddress(Refusal);

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RefusedAddress {}

#[derive(Debug)]
struct SafeResolver {
    policy: Arc<TargetPolicy>,
    inner: DefaultResolver,
}

/// A name that did not resolve; matched by type, not by message.
#[derive(Debug)]
struct LookupFailed(String);

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host not found: {}", self.0)
    }
}

impl std::error::Error for LookupFailed {}

impl Resolver for SafeResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self
            .inner
            .resolve(uri, config, timeout)
            .map_err(|e| match e {
                ureq::Error::Io(io) if io.kind() != std::io::ErrorKind::TimedOut => {
                    ureq::Error::Io(std::io::Error::new(
                        io.kind(),
                        LookupFailed(uri.host().unwrap_or_default().to_string()),
                    ))
                }
                other => other,
            })?;
        // Refuse when any address is not allowed, so DNS cannot mix in an internal one.
        let host = uri.host().unwrap_or_default();
        for a in addrs.iter() {
            if let Err(refusal) = self.policy.check_address(host, a.ip()) {
                return Err(ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    RefusedAddress(refusal),
                )));
            }
        }
        Ok(addrs)
    }
}

impl Sender {
    /// A sender that reaches what `policy` allows. `concurrency` sizes the keep-alive pool so
    /// parallel sends to one host reuse connections.
    pub fn with_policy(policy: TargetPolicy, concurrency: usize) -> Sender {
        let pool_per_host = concurrency.max(1);
        Sender {
            agents: RwLock::new(Arc::new(Agents::new(policy, pool_per_host))),
            pool_per_host,
        }
    }

    /// Applies a changed policy to later requests. Connections opened under the old one are
    /// not reused (new pools): a kept-alive connection would skip the resolver's check.
    pub fn set_policy(&self, policy: TargetPolicy) {
        let mut agents = match self.agents.write() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *agents.policy != policy {
            *agents = Arc::new(Agents::new(policy, self.pool_per_host));
        }
    }

    fn agent(&self, verify: bool) -> Agent {
        let agents = match self.agents.read() {
            Ok(a) => Arc::clone(&a),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        if verify {
            agents.verified.clone()
        } else {
            agents
                .unverified
                .get_or_init(|| agent(&agents.policy, false, self.pool_per_host))
                .clone()
        }
    }

    /// Makes one attempt. Never panics; every failure is a [`Reply`].
    pub fn send(&self, req: &Request) -> Sent {
        let started = Instant::now();
        let reply = self.send_inner(req);
        Sent {
            reply,
            duration_ms: started.elapsed().as_millis() as i64,
        }
    }

    fn send_inner(&self, req: &Request) -> Reply {
        let agent = self.agent(req.verify_ssl);
        let mut builder = agent
            .post(&req.url)
            .config()
            .timeout_global(Some(req.timeout))
            .build();
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let mut response = match builder.send(&req.body[..]) {
            Ok(r) => r,
            Err(e) => return classify(e),
        };
        let code = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = if code == 429 || code == 503 {
            header("retry-after").and_then(|v| parse_retry_after(&v, std::time::SystemTime::now()))
        } else {
            None
        };
        let location = header("location");
        // Read at most a little past the limit: an endless body cannot hold us or fill memory.
        let mut buf = Vec::new();
        let read = response
            .body_mut()
            .as_reader()
            .take(BODY_LIMIT as u64)
            .read_to_end(&mut buf);
        if let Err(e) = read {
            // The status line arrived; a body cut short or too slow still tells us the status.
            if is_timeout(&e) {
                return Reply::Timeout;
            }
        }
        Reply::Status {
            code,
            body: excerpt(&buf),
            retry_after,
            location,
        }
    }
}

fn agent(policy: &Arc<TargetPolicy>, verify: bool, per_host: usize) -> Agent {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .proxy(None)
        .max_idle_connections(256.max(per_host))
        .max_idle_connections_per_host(per_host)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(!verify)
                .build(),
        )
        .build();
    Agent::with_parts(
        config,
        DefaultConnector::default(),
        SafeResolver {
            policy: Arc::clone(policy),
            inner: DefaultResolver::default(),
        },
    )
}

/// Turns a ureq error into plain words, by its type.
fn classify(e: ureq::Error) -> Reply {
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
                return Reply::Error(super::tls::message(tls));
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
        ureq::Error::Rustls(r) => Reply::Error(super::tls::message(&r)),
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

/// `Retry-After` as seconds: a number, or an HTTP date seen from `now`. A date a fraction of a
/// second ahead counts as the next whole second, so the retry is never early.
fn parse_retry_after(v: &str, now: std::time::SystemTime) -> Option<u64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(now)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or(0),
    )
}

/// The first [`BODY_LIMIT`] bytes as text (lossy UTF-8, cut on a character boundary).
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]);
    let mut end = text.len().min(BODY_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_dates() {
        let now = std::time::SystemTime::now();
        assert_eq!(parse_retry_after("120", now), Some(120));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn a_retry_after_date_a_fraction_of_a_second_ahead_rounds_up() {
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let at = httpdate::parse_http_date(date).unwrap();
        for (before, secs) in [(20, 1), (980, 1), (1000, 1), (1020, 2), (59_999, 60)] {
            let now = at - Duration::from_millis(before);
            assert_eq!(
                parse_retry_after(date, now),
                Some(secs),
                "{before} ms before"
            );
        }
        assert_eq!(parse_retry_after(date, at), Some(0));
    }

    #[test]
    fn excerpts_are_bounded_and_valid_text() {
        let long = "é".repeat(BODY_LIMIT);
        let e = excerpt(long.as_bytes());
        assert!(e.len() <= BODY_LIMIT);
        assert!(e.chars().all(|c| c == 'é' || c == '\u{fffd}'));
    }

    #[test]
    fn refuses_private_names_in_the_resolver_without_sending() {
        let s = Sender::with_policy(TargetPolicy::default(), 1);
        let req = Request {
            url: "http://localhost:9/never".into(),
            body: Arc::from(&b"{}"[..]),
            headers: vec![],
            timeout: Duration::from_secs(2),
            verify_ssl: true,
            rendered: false,
        };
        match s.send(&req).reply {
            Reply::Refused(m) => assert!(m.contains("loopback"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
