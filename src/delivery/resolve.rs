//! Where a request may connect: the resolver every agent uses. It refuses a receiver's name
//! when any of its addresses is not allowed (so DNS cannot mix in an internal one), and
//! resolves an agent's proxy without judging it (the proxy is operator configuration). Its
//! failures are typed, so `send` words them by type, not by message.
//!
//! ureq resolves before every request, a pooled connection or not, and bounds a lookup by the
//! request's timeout on a thread of its own: a thread per request. So an address in the URL is
//! taken as it is (no lookup, no thread), and a name's judged addresses are kept a few seconds
//! ([`Lookups`]) — no longer than a pooled connection to them is kept anyway.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::domain::allowlist::{Refusal, TargetPolicy};
use crate::domain::proxy::ProxyUrl;

/// Why the resolver refused an address; matched by type, not by message.
#[derive(Debug)]
pub(super) struct RefusedAddress(Refusal);

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RefusedAddress {}

/// The resolver of every agent, and the check made before a request is handed to a proxy.
#[derive(Debug)]
pub(super) struct SafeResolver {
    pub(super) policy: Arc<TargetPolicy>,
    /// The proxy of the agent this resolver serves: its address is operator configuration,
    /// resolved and not judged. (Through a proxy, ureq resolves nothing else.)
    pub(super) proxy: Option<ProxyUrl>,
    /// The lookups themselves (ureq's resolver).
    pub(super) inner: Box<dyn Resolver>,
    /// Names looked up lately, shared by the agents made under one policy.
    pub(super) lookups: Arc<Lookups>,
}

/// How long a name's judged addresses are used without a new lookup.
const LOOKUP_KEPT: Duration = Duration::from_secs(10);
/// Most names kept at once (a drain sending to many receivers): past it, older ones go.
const LOOKUPS_KEPT: usize = 1024;

/// Receivers' names and their judged addresses, as looked up lately. Made anew when the allowed
/// destinations change (with the agents), so an address is never used under a policy that
/// did not judge it.
#[derive(Debug, Default)]
pub(super) struct Lookups(Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>);

impl Lookups {
    fn get(&self, name: &str) -> Option<ResolvedSocketAddrs> {
        let map = self.0.lock().ok()?;
        let (at, addrs) = map.get(name)?;
        (at.elapsed() < LOOKUP_KEPT).then(|| addrs.clone())
    }

    fn keep(&self, name: String, addrs: &ResolvedSocketAddrs) {
        let Ok(mut map) = self.0.lock() else {
            return;
        };
        if map.len() >= LOOKUPS_KEPT {
            map.retain(|_, (at, _)| at.elapsed() < LOOKUP_KEPT);
            if map.len() >= LOOKUPS_KEPT {
                map.clear();
            }
        }
        map.insert(name, (Instant::now(), addrs.clone()));
    }
}

/// The port a request to `uri` goes to: the URL's, else its scheme's.
pub(super) fn port(uri: &Uri) -> u16 {
    uri.port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        })
}

/// Whether `host` (as a URI gives it: IPv6 in brackets) is an address rather than a name.
fn is_address(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
}

/// The proxy's name did not resolve; matched by type, not by message.
#[derive(Debug)]
pub(super) struct ProxyLookupFailed(String);

impl std::fmt::Display for ProxyLookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proxy host not found: {}", self.0)
    }
}

impl std::error::Error for ProxyLookupFailed {}

/// A name that did not resolve; matched by type, not by message.
#[derive(Debug)]
pub(super) struct LookupFailed(String);

impl std::fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "host not found: {}", self.0)
    }
}

impl std::error::Error for LookupFailed {}

impl Resolver for SafeResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(proxy) = self.proxy.as_ref().filter(|p| is_proxy(uri, p)) {
            return self
                .inner
                .resolve(uri, config, timeout)
                .map_err(|e| match e {
                    ureq::Error::Timeout(_) => e,
                    ureq::Error::Io(ref io) if io.kind() == std::io::ErrorKind::TimedOut => e,
                    _ => ureq::Error::Io(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        ProxyLookupFailed(proxy.to_string()),
                    )),
                });
        }
        let host = uri.host().unwrap_or_default();
        // An address needs no lookup: parsed here, with no thread and nothing to wait for. A
        // name's judged addresses are looked for among those kept.
        let (name, timeout) = if is_address(host) {
            (None, NextTimeout::default())
        } else {
            let name = format!("{}:{}", host.to_ascii_lowercase(), port(uri));
            if let Some(addrs) = self.lookups.get(&name) {
                return Ok(addrs);
            }
            (Some(name), timeout)
        };
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
        for a in addrs.iter() {
            if let Err(refusal) = self.policy.check_address(host, a.ip()) {
                return Err(ureq::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    RefusedAddress(refusal),
                )));
            }
        }
        if let Some(name) = name {
            self.lookups.keep(name, &addrs);
        }
        Ok(addrs)
    }
}

/// Whether `uri` is the address of `proxy`.
fn is_proxy(uri: &Uri, proxy: &ProxyUrl) -> bool {
    uri.host()
        .is_some_and(|h| h.eq_ignore_ascii_case(proxy.host()))
        && uri.port_u16() == Some(proxy.port())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ureq::unversioned::resolver::DefaultResolver;

    use super::*;

    /// ureq's resolver, counting lookups and those bounded by a timeout (each on a thread).
    #[derive(Debug, Default)]
    struct Counting {
        lookups: Arc<AtomicUsize>,
        on_a_thread: Arc<AtomicUsize>,
    }

    impl Resolver for Counting {
        fn resolve(
            &self,
            uri: &Uri,
            config: &ureq::config::Config,
            timeout: NextTimeout,
        ) -> Result<ResolvedSocketAddrs, ureq::Error> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            if !timeout.after.is_not_happening() {
                self.on_a_thread.fetch_add(1, Ordering::SeqCst);
            }
            DefaultResolver::default().resolve(uri, config, timeout)
        }
    }

    fn resolver(policy: TargetPolicy) -> (SafeResolver, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let counting = Counting::default();
        let (lookups, on_a_thread) = (
            Arc::clone(&counting.lookups),
            Arc::clone(&counting.on_a_thread),
        );
        let r = SafeResolver {
            policy: Arc::new(policy),
            proxy: None,
            inner: Box::new(counting),
            lookups: Arc::default(),
        };
        (r, lookups, on_a_thread)
    }

    fn ten_seconds() -> NextTimeout {
        NextTimeout {
            after: std::time::Duration::from_secs(10).into(),
            ..NextTimeout::default()
        }
    }

    #[test]
    fn an_address_in_the_url_is_taken_as_it_is_without_a_lookup_thread() {
        let (r, lookups, on_a_thread) = resolver(TargetPolicy::any());
        let config = ureq::config::Config::default();
        for url in ["http://127.0.0.1:9/hook", "http://[::1]:9/hook"] {
            let uri: Uri = url.parse().unwrap();
            let addrs = r.resolve(&uri, &config, ten_seconds()).unwrap();
            assert_eq!(addrs.len(), 1, "{url}");
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
        assert_eq!(
            on_a_thread.load(Ordering::SeqCst),
            0,
            "no thread per request"
        );
    }

    #[test]
    fn a_name_is_looked_up_once_per_name_and_port_for_many_requests() {
        let (r, lookups, _) = resolver(TargetPolicy::any());
        let config = ureq::config::Config::default();
        let uri: Uri = "http://LocalHost:9/hook".parse().unwrap();
        let first = r.resolve(&uri, &config, ten_seconds()).unwrap();
        for _ in 0..5 {
            let again = r.resolve(&uri, &config, ten_seconds()).unwrap();
            assert_eq!(
                again.iter().collect::<Vec<_>>(),
                first.iter().collect::<Vec<_>>()
            );
        }
        let other_port: Uri = "http://localhost:10/hook".parse().unwrap();
        r.resolve(&other_port, &config, ten_seconds()).unwrap();
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            2,
            "one lookup per name and port"
        );
    }

    #[test]
    fn a_refused_name_is_not_kept_and_is_judged_again() {
        let (r, lookups, _) = resolver(TargetPolicy::allowing([]));
        let config = ureq::config::Config::default();
        let uri: Uri = "http://localhost:9/hook".parse().unwrap();
        for _ in 0..2 {
            assert!(r.resolve(&uri, &config, ten_seconds()).is_err());
        }
        assert_eq!(lookups.load(Ordering::SeqCst), 2);
    }
}
