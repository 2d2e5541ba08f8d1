//! Non-public destinations the operator allows (DESIGN §7): address ranges ([`Cidr`]) and exact
//! host names, stored in the database and applied by every process that validates a URL or
//! sends.
//!
//! Parsing is strict (see [`Cidr`] for ranges). Matching is pure; [`TargetPolicy`] decides for
//! one address (and the URL's host name) whether a request may go there.
//!
//! An allowed host name trusts that name's DNS: the name may resolve to any non-public address,
//! except a cloud metadata address, which only an address range admits — so a record changed to
//! point at instance credentials is still refused. An IP literal in a URL is never matched by a
//! host name, only by a range.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use super::cidr::Cidr;
use super::line::validate_line;
use super::target::non_public_reason;
use super::text::{self, quote_url};
use super::ValidationError;

/// The longest host name DNS allows.
const MAX_HOST_LEN: usize = 253;

/// The longest note an entry may have, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

/// One entry of the allow list: a range, or an exact host name (lower case, ASCII/punycode, no
/// trailing dot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AllowedTarget {
    Range(Cidr),
    Host(String),
}

impl AllowedTarget {
    /// Parses what the operator typed: a CIDR range, a bare address (one address: `/32` or
    /// `/128`), or a host name (case-insensitive, trailing dot ignored). The error says what
    /// was wrong, for a message naming the argument.
    pub fn parse(text: &str) -> Result<AllowedTarget, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err(
                "give an address range (e.g. 10.20.0.0/16), an address or a host name".into(),
            );
        }
        if let Some(scheme) = text::url_scheme(t) {
            let host = url::Url::parse(t)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| {
                    // Not a URL the parser takes: the host is after the user info, if any.
                    let from =
                        text::password_range(t).map_or(scheme.len() + "://".len(), |r| r.end + 1);
                    t[from..]
                        .split(['/', ':', '?', '#'])
                        .next()
                        .unwrap_or_default()
                        .to_string()
                });
            return Err(format!(
                "{} is a URL: give its host name or address alone (e.g. {})",
                quote_url(t),
                text::cut(&host, text::QUOTE_CHARS)
            ));
        }
        if t.contains('/') {
            return Cidr::parse(t).map(AllowedTarget::Range);
        }
        if let Ok(ip) = t.trim_matches(['[', ']']).parse::<IpAddr>() {
            return Ok(AllowedTarget::Range(Cidr::single(ip)));
        }
        parse_host(t).map(AllowedTarget::Host)
    }

    /// A single public address: allowing it changes nothing (public ones are always allowed).
    pub fn is_public_address(&self) -> bool {
        match self {
            AllowedTarget::Range(c) => c.is_single() && non_public_reason(c.addr()).is_none(),
            AllowedTarget::Host(_) => false,
        }
    }

    /// A range wider than one address that takes in a cloud metadata address: worth a
    /// warning, since webhooks could then reach instance credentials.
    pub fn spans_metadata(&self) -> bool {
        match self {
            AllowedTarget::Range(c) => !c.is_single() && METADATA.iter().any(|m| c.contains(*m)),
            AllowedTarget::Host(_) => false,
        }
    }

    /// `range` or `host`.
    pub fn kind(&self) -> &'static str {
        match self {
            AllowedTarget::Range(_) => "range",
            AllowedTarget::Host(_) => "host",
        }
    }
}

impl fmt::Display for AllowedTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedTarget::Range(c) => c.fmt(f),
            AllowedTarget::Host(h) => f.write_str(h),
        }
    }
}

/// Checks an entry's note: one line of at most [`MAX_NOTE_CHARS`] characters, trimmed; empty
/// (which clears a note) is allowed.
pub fn validate_note(note: &str) -> Result<String, ValidationError> {
    validate_line("note", "the note", note, MAX_NOTE_CHARS)
}

fn parse_host(text: &str) -> Result<String, String> {
    let not_a_name = || {
        format!(
            "{} is neither an address range (e.g. 10.20.0.0/16), an address, nor a host name",
            quote_url(text)
        )
    };
    if text.contains('*') {
        return Err(format!(
            "{}: wildcards are not supported; allow each host name, or the address range its receivers use",
            quote_url(text)
        ));
    }
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    // The URL parser's rules, so a name matches what a webhook URL's host becomes (lower case,
    // international names as punycode).
    let host = match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(d)) => d,
        Ok(_) => {
            return Err(format!(
                "{} reads as an address in an unusual form; write it as 127.0.0.1 or a CIDR range",
                quote_url(text)
            ))
        }
        Err(_) => return Err(not_a_name()),
    };
    let labels_ok = host.split('.').all(|l| {
        (1..=63).contains(&l.len())
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    });
    if !labels_ok || host.len() > MAX_HOST_LEN {
        return Err(not_a_name());
    }
    Ok(host)
}

/// A URL host as the allow list sees it: `None` for an IP literal (only ranges match those),
/// else the name in lower case without a trailing dot.
fn name_of(host: &str) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.is_empty() || bare.parse::<IpAddr>().is_ok() {
        return None;
    }
    Some(host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase())
}

/// The addresses an address stands for: itself, and the IPv4 address inside an IPv4-mapped one.
fn forms(ip: IpAddr) -> impl Iterator<Item = IpAddr> {
    let mapped = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    std::iter::once(ip).chain(mapped)
}

/// Cloud instance metadata (AWS, GCP, Azure, Oracle; AWS's IPv6 one): reached through an
/// allowed name only when a range admits it.
fn is_metadata(ip: IpAddr) -> bool {
    forms(ip).any(|a| METADATA.contains(&a))
}

const METADATA: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

/// Which non-public destinations a process may reach: everything (the development flag,
/// [`TargetPolicy::any`]), or the stored ranges and host names ([`TargetPolicy::allowing`]).
/// Public addresses are always allowed; the default allows them only. The CLI builds one per
/// command (`Context::target_policy`), and that is the only place the choice is made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    any: bool,
    ranges: Vec<Cidr>,
    hosts: Vec<String>,
}

impl TargetPolicy {
    /// Public destinations and `targets` (the stored allow list).
    pub fn allowing(targets: impl IntoIterator<Item = AllowedTarget>) -> TargetPolicy {
        let mut p = TargetPolicy::default();
        for t in targets {
            match t {
                AllowedTarget::Range(c) => p.ranges.push(c),
                AllowedTarget::Host(h) => p.hosts.push(h),
            }
        }
        p
    }

    /// Every destination allowed (`--allow-private-targets`).
    pub fn any() -> TargetPolicy {
        TargetPolicy {
            any: true,
            ..TargetPolicy::default()
        }
    }

    /// Whether every destination is allowed, so the stored list does not matter.
    pub fn allows_everything(&self) -> bool {
        self.any
    }

    fn range_allows(&self, ip: IpAddr) -> bool {
        forms(ip).any(|a| self.ranges.iter().any(|r| r.contains(a)))
    }

    fn name_allowed(&self, name: &str) -> bool {
        self.hosts.iter().any(|h| h == name)
    }

    /// Whether a request for a URL whose host is `host` (a name, or an IP literal, bracketed or
    /// not) may connect to `ip`; the refusal otherwise.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), Refusal> {
        if self.any {
            return Ok(());
        }
        let Some(reason) = non_public_reason(ip) else {
            return Ok(());
        };
        if self.range_allows(ip) {
            return Ok(());
        }
        let name = name_of(host);
        let name_allowed = name.as_deref().is_some_and(|n| self.name_allowed(n));
        if name_allowed && !is_metadata(ip) {
            return Ok(());
        }
        Err(Refusal {
            subject: ip.to_string(),
            reason,
            allow: vec![Cidr::single(ip).to_string()],
            resolved_from: name,
            name_allowed,
        })
    }

    /// The check made when a webhook is created or its URL changed, before any DNS: an IP
    /// literal must be public or in an allowed range; `localhost` (and `*.localhost`) must be
    /// an allowed name or have a loopback address allowed. Other names are checked on every
    /// resolved address when sending.
    pub fn check_url_host(&self, host: &url::Host<&str>) -> Result<(), Refusal> {
        match host {
            url::Host::Ipv4(ip) => self.check_address("", IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => self.check_address("", IpAddr::V6(*ip)),
            url::Host::Domain(d) => {
                let Some(name) = name_of(d) else {
                    return Ok(());
                };
                let loopback_name = name == "localhost" || name.ends_with(".localhost");
                if self.any || !loopback_name || self.name_allowed(&name) {
                    return Ok(());
                }
                let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
                let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
                if self.range_allows(v4) || self.range_allows(v6) {
                    return Ok(());
                }
                Err(Refusal {
                    subject: name.clone(),
                    reason: "a loopback name",
                    allow: vec![name, Cidr::single(v4).to_string()],
                    resolved_from: None,
                    name_allowed: false,
                })
            }
        }
    }
}

/// Why a destination was refused, and what to allow instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The address (or loopback name) refused.
    pub subject: String,
    /// "a private address", …
    pub reason: &'static str,
    /// What `webnet targets allow` would admit it, best first.
    pub allow: Vec<String>,
    /// The URL's host name the address was resolved from, if it was a name.
    pub resolved_from: Option<String>,
    /// That name is allowed, but not for this address (a metadata address).
    pub name_allowed: bool,
}

impl Refusal {
    /// The message at creation: as at send time, plus the development flag.
    pub fn at_creation(&self) -> String {
        format!(
            "refused: {} is {} ({}; or pass --allow-private-targets while developing)",
            self.subject,
            self.reason,
            self.what_to_do()
        )
    }

    fn what_to_do(&self) -> String {
        let commands: Vec<String> = self
            .allow
            .iter()
            .map(|a| format!("\"webnet targets allow {a}\""))
            .collect();
        let hint = format!("allow it with {}", commands.join(" or "));
        match (&self.resolved_from, self.name_allowed) {
            (Some(name), false) => format!(
                "{name} resolves to it; {hint}, or the name with \"webnet targets allow {name}\""
            ),
            (Some(name), true) => {
                format!("{name} resolves to it, and an allowed name never reaches it; {hint}")
            }
            (None, _) => hint,
        }
    }
}

/// `refused: 10.1.2.3 is a private address (allow it with "webnet targets allow 10.1.2.3/32")`.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused: {} is {} ({})",
            self.subject,
            self.reason,
            self.what_to_do()
        )
    }
}

#[cfg(test)]
mod tests;
