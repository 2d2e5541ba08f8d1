//! Where a request may connect: the resolver every agent uses. It refuses a receiver's name
//! when any of its addresses is not allowed (so DNS cannot mix in an internal one), and
//! resolves an agent's proxy without judging it (the proxy is operator configuration). Its
//! failures are typed, so `send` words them by type, not by message.

use std::sync::Arc;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
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
    pub(super) inner: DefaultResolver,
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

/// Whether `uri` is the address of `proxy`.
fn is_proxy(uri: &Uri, proxy: &ProxyUrl) -> bool {
    uri.host()
        .is_some_and(|h| h.eq_ignore_ascii_case(proxy.host()))
        && uri.port_u16() == Some(proxy.port())
}
