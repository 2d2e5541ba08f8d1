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

use super::resolve::{port, Lookups, SafeResolver};
use classify::{classify, is_timeout};

mod classify;
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
    /// Receivers' names looked up lately, for every agent below and the check.
    lookups: Arc<Lookups>,
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
        let lookups = Arc::new(Lookups::default());
        Agents {
            check: SafeResolver {
                policy: Arc::clone(&policy),
                proxy: None,
                inner: Box::new(DefaultResolver::default()),
                lookups: Arc::clone(&lookups),
            },
            lookups,
            policy,
            proxies,
            made: Default::default(),
        }
    }

    /// The route of a request to `uri`, and the proxy when it is not direct.
    fn route(&self, uri: &Uri) -> (Route, Option<&ProxyUrl>) {
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default();
        match self.proxies.for_target(https, host, port(uri)) {
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
            .get_or_init(|| agent(&self.policy, &self.lookups, proxy, verify, per_host))
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
    lookups: &Arc<Lookups>,
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
            inner: Box::new(DefaultResolver::default()),
            lookups: Arc::clone(lookups),
        },
    ))
}

/// `Retry-After` as seconds: a number, or an HTTP date seen from `now`. A date a fraction of a
/// second ahead counts as the next whole second, so the retry is never early.
fn parse_retry_after(v: &str, now: std::time::SystemTime) -> Option<u64> {
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        // Seconds past what a u64 holds are as long as can be (then capped, as any long wait).
        return Some(v.parse::<u64>().unwrap_or(u64::MAX));
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
mod tests;
