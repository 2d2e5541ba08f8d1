//! One HTTP attempt: a signed POST with the stored payload bytes, a whole-request timeout, no
//! redirects followed, and every resolved address checked against the allowed destinations
//! before connecting, so a name cannot lead a request to loopback, private or metadata ranges
//! the operator has not allowed. When the allowed destinations change, the connection pools are
//! dropped with them: a kept-alive connection never outlives the rule that let it open.
//!
//! Through an egress proxy ([`Proxies`]) the same check is made before the request is handed
//! to the proxy: ureq then resolves only the proxy's name (the proxy is operator configuration,
//! and may be loopback or private), so the receiver's name is resolved and judged here first,
//! and a refused destination never reaches the proxy. Requests are tunnelled with `CONNECT`.
//! A proxy that cannot be reached or will not open the tunnel fails the attempt (retried)
//! without blaming the receiver ([`Reply::ProxyFailed`]).

use std::io::Read;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::Agent;

use super::resolve::{LookupFailed, ProxyLookupFailed, RefusedAddress, SafeResolver};
use crate::domain::allowlist::TargetPolicy;
use crate::domain::proxy::{Proxies, ProxyUrl};

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
    /// The egress proxy could not be reached or would not open the tunnel: retried, but the
    /// receiver was not asked, so it says nothing about the receiver's health.
    ProxyFailed(String),
}

#[derive(Debug, Clone)]
pub struct Sent {
    pub reply: Reply,
    pub duration_ms: i64,
}

/// The HTTP side of a process: agents (keep-alive pools) per route — directly, or through the
/// proxy of http or of https receivers — and per TLS mode (`verify_ssl`), created on first
/// use; all replaced when the allowed destinations or the proxies change.
pub struct Sender {
    agents: RwLock<Arc<Agents>>,
    pool_per_host: usize,
}

/// The agents made under one policy and one proxy setting.
struct Agents {
    policy: Arc<TargetPolicy>,
    proxies: Arc<Proxies>,
    /// Judges a receiver's addresses before its request is handed to a proxy.
    check: SafeResolver,
    /// Indexed by [`Route`] × verify.
    made: [OnceLock<Result<Agent, String>>; 6],
}

/// Where a request goes first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Direct,
    /// Through the proxy of http receivers.
    HttpProxy,
    /// Through the proxy of https receivers.
    HttpsProxy,
}

impl Agents {
    fn new(policy: Arc<TargetPolicy>, proxies: Arc<Proxies>) -> Agents {
        Agents {
            check: SafeResolver {
                policy: Arc::clone(&policy),
                proxy: None,
                inner: DefaultResolver::default(),
            },
            policy,
            proxies,
            made: Default::default(),
        }
    }

    /// The route of a request to `uri`, and the proxy when it is not direct.
    fn route(&self, uri: &Uri) -> (Route, Option<&ProxyUrl>) {
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        match self.proxies.for_target(https, host, port) {
            None => (Route::Direct, None),
            Some(p) if https => (Route::HttpsProxy, Some(p)),
            Some(p) => (Route::HttpProxy, Some(p)),
        }
    }

    fn agent(
        &self,
        route: Route,
        proxy: Option<&ProxyUrl>,
        verify: bool,
        per_host: usize,
    ) -> Result<Agent, String> {
        let slot = route as usize * 2 + usize::from(verify);
        self.made[slot]
            .get_or_init(|| agent(&self.policy, proxy, verify, per_host))
            .clone()
    }
}

impl Sender {
    /// A sender that reaches what `policy` allows, directly. `concurrency` sizes the
    /// keep-alive pool so parallel sends to one host reuse connections.
    pub fn with_policy(policy: TargetPolicy, concurrency: usize) -> Sender {
        Sender {
            agents: RwLock::new(Arc::new(Agents::new(
                Arc::new(policy),
                Arc::new(Proxies::direct()),
            ))),
            pool_per_host: concurrency.max(1),
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
            *agents = Arc::new(Agents::new(Arc::new(policy), Arc::clone(&agents.proxies)));
        }
    }

    /// Sends later requests as `proxies` says (new pools when it changes).
    pub fn set_proxies(&self, proxies: Proxies) {
        let mut agents = match self.agents.write() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *agents.proxies != proxies {
            *agents = Arc::new(Agents::new(Arc::clone(&agents.policy), Arc::new(proxies)));
        }
    }

    fn agents(&self) -> Arc<Agents> {
        match self.agents.read() {
            Ok(a) => Arc::clone(&a),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
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
        let agents = self.agents();
        let uri: Uri = match req.url.parse() {
            Ok(u) => u,
            Err(e) => return Reply::Refused(format!("invalid URL: {e}")),
        };
        let (route, proxy) = agents.route(&uri);
        let agent = match agents.agent(route, proxy, req.verify_ssl, self.pool_per_host) {
            Ok(a) => a,
            Err(e) => return Reply::ProxyFailed(e),
        };
        let mut timeout = req.timeout;
        if proxy.is_some() {
            // The proxy will resolve the receiver's name itself; judge it here first, so a
            // refused destination never reaches the proxy.
            let started = Instant::now();
            let budget = NextTimeout {
                after: req.timeout.into(),
                reason: ureq::Timeout::Resolve,
                per_read: None,
                per_write: None,
            };
            if let Err(e) = agents.check.resolve(&uri, agent.config(), budget) {
                return classify(e, None);
            }
            timeout = req.timeout.saturating_sub(started.elapsed());
            if timeout.is_zero() {
                return Reply::Timeout;
            }
        }
        let mut builder = agent
            .post(uri)
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let mut response = match builder.send(&req.body[..]) {
            Ok(r) => r,
            Err(e) => return classify(e, proxy),
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

/// An agent for one route and TLS mode: directly, with every resolved address judged; or
/// through `proxy`, whose own address is not judged (the receiver's is, before the request).
fn agent(
    policy: &Arc<TargetPolicy>,
    proxy: Option<&ProxyUrl>,
    verify: bool,
    per_host: usize,
) -> Result<Agent, String> {
    let ureq_proxy = match proxy {
        None => None,
        Some(p) => {
            let mut b = ureq::Proxy::builder(ureq::ProxyProtocol::Http)
                .host(p.host())
                .port(p.port());
            if let Some(user) = p.user() {
                b = b.username(user);
            }
            if let Some(password) = p.password() {
                b = b.password(password);
            }
            // Never sent directly instead: an unusable proxy fails every request routed to it.
            Some(
                b.build()
                    .map_err(|_| format!("the proxy {p} cannot be used"))?,
            )
        }
    };
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(ureq::config::AutoHeaderValue::None)
        .proxy(ureq_proxy)
        .max_idle_connections(256.max(per_host))
        .max_idle_connections_per_host(per_host)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .disable_verification(!verify)
                .build(),
        )
        .build();
    Ok(Agent::with_parts(
        config,
        DefaultConnector::default(),
        SafeResolver {
            policy: Arc::clone(policy),
            proxy: proxy.cloned(),
            inner: DefaultResolver::default(),
        },
    ))
}

/// Turns a ureq error into plain words, by its type. `proxy` is the proxy the request went
/// through: failing to reach it, or its refusal to open the tunnel, is the proxy's failure.
fn classify(e: ureq::Error, proxy: Option<&ProxyUrl>) -> Reply {
    use std::io::ErrorKind;
    match (e, proxy) {
        (ureq::Error::ConnectProxyFailed(why), p) => Reply::ProxyFailed(format!(
            "{} did not open a tunnel to the receiver ({why})",
            p.map_or_else(|| "the proxy".to_string(), |p| format!("the proxy {p}"))
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

    #[test]
    fn through_a_proxy_the_receiver_is_judged_first_and_the_proxy_is_not() {
        use crate::domain::proxy::NoProxy;
        // Nothing listens on port 9 of loopback: a request that reached the proxy would fail
        // as the proxy's failure, not as a refusal.
        let proxy = ProxyUrl::parse("http://127.0.0.1:9").unwrap();
        let s = Sender::with_policy(TargetPolicy::default(), 1);
        s.set_proxies(Proxies::every(proxy, NoProxy::default()));
        let req = |url: &str| Request {
            url: url.into(),
            body: Arc::from(&b"{}"[..]),
            headers: vec![],
            timeout: Duration::from_secs(2),
            verify_ssl: true,
            rendered: false,
        };
        for refused in [
            "http://localhost:8/x",
            "https://10.1.2.3/x",
            "http://[::1]:8/",
        ] {
            match s.send(&req(refused)).reply {
                Reply::Refused(m) => assert!(m.starts_with("refused: "), "{refused}: {m}"),
                other => panic!("{refused}: expected a refusal, got {other:?}"),
            }
        }
        // A public address is handed to the proxy (the only connection opened is to it, on
        // loopback), which is not refused for being loopback: it fails as the proxy.
        match s.send(&req("http://1.1.1.1/x")).reply {
            Reply::ProxyFailed(m) => {
                assert_eq!(m, "the proxy 127.0.0.1:9 refused the connection")
            }
            other => panic!("expected the proxy's failure, got {other:?}"),
        }
    }
}
