//! `no_proxy`/`NO_PROXY`: the hosts whose requests bypass the proxy.

use std::net::IpAddr;

use super::NO_PROXY_VARIABLES;

/// The hosts that bypass the proxy (`no_proxy`/`NO_PROXY`): entries separated by commas or
/// spaces, each `*` (everything), a domain name (that name and every name under it; a leading
/// `.` or `*.` is ignored), an IP address, or an address range (`10.0.0.0/8`; host bits are
/// ignored, as other tools do); a name or address may end in `:PORT` to match that port only.
/// Addresses match URLs whose host is that IP literal, not names that resolve to it. Names are
/// matched without case and without a trailing dot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Bypass>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bypass {
    Name(String, Option<u16>),
    Address(IpAddr, Option<u16>),
    Range(IpAddr, u8),
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for entry in list.split([',', ' ', '\t', '\n']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                out.all = true;
                continue;
            }
            if let Some(b) = Bypass::parse(entry) {
                out.entries.push(b);
            }
        }
        out
    }

    /// Whether a request to `host` (a URL's host: a name, or an IP literal, bracketed or not)
    /// on `port` goes directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let port_ok = |p: &Option<u16>| p.is_none_or(|p| p == port);
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.entries.iter().any(|e| match e {
                Bypass::Address(a, p) => *a == ip && port_ok(p),
                Bypass::Range(net, prefix) => in_range(ip, *net, *prefix),
                Bypass::Name(..) => false,
            }),
            Err(_) => {
                let name = bare.strip_suffix('.').unwrap_or(bare).to_ascii_lowercase();
                self.entries.iter().any(|e| match e {
                    Bypass::Name(n, p) => {
                        port_ok(p)
                            && (name == *n
                                || name
                                    .strip_suffix(n.as_str())
                                    .is_some_and(|rest| rest.ends_with('.')))
                    }
                    _ => false,
                })
            }
        }
    }
}

impl Bypass {
    fn parse(entry: &str) -> Option<Bypass> {
        if let Some((addr, prefix)) = entry.split_once('/') {
            let ip: IpAddr = addr.trim_matches(['[', ']']).parse().ok()?;
            let width = if ip.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix.parse().ok().filter(|p| *p <= width)?;
            return Some(Bypass::Range(ip, prefix));
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Some(Bypass::Address(ip, None));
        }
        // `[v6]`, `[v6]:port`, `v4:port`, `name:port`, `name`.
        let (host, port) = match entry.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                (h, Some(p.parse::<u16>().ok()?))
            }
            _ => (entry, None),
        };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Some(Bypass::Address(ip, port));
        }
        let name = bare.trim_start_matches('*').trim_start_matches('.');
        let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        Some(Bypass::Name(name, port))
    }
}

fn in_range(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let bits = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u8),
        IpAddr::V6(v6) => (u128::from(v6), 128u8),
    };
    let (value, width) = bits(ip);
    let (network, net_width) = bits(net);
    if width != net_width {
        return false;
    }
    let shift = u32::from(width - prefix);
    let high = |v: u128| v.checked_shr(shift).unwrap_or(0);
    high(value) == high(network)
}

impl NoProxy {
    /// `no_proxy`, else `NO_PROXY` (an empty value counts as unset).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> NoProxy {
        NO_PROXY_VARIABLES
            .into_iter()
            .find_map(|name| var(name).filter(|v| !v.trim().is_empty()))
            .map(|v| NoProxy::parse(&v))
            .unwrap_or_default()
    }
}
