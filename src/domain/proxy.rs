//! The egress proxy: which proxy (if any) a request to a given receiver goes through.
//!
//! The choice is made from `--proxy`/`WEBNET_PROXY` or, when neither is given, the usual
//! variables (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`, in either case), read
//! through a lookup function so this stays pure. Proxy URLs are parsed at the edge into
//! [`ProxyUrl`], whose credentials never appear in `Debug`, `Display` or any message here:
//! a proxy is named by `host:port` only.

use std::fmt;

use super::text::quote;

mod no_proxy;
pub use no_proxy::NoProxy;

/// An HTTP proxy: requests are tunnelled through it with `CONNECT` (for `http` receivers too),
/// so an `https` receiver's TLS runs end to end, and credentials (HTTP Basic,
/// `Proxy-Authorization`) go to the proxy only, never to the receiver.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// A name in lower case, an IPv4 address, or an IPv6 address in brackets.
    host: String,
    port: u16,
    /// Decoded (the URL carries them percent-encoded).
    user: Option<String>,
    password: Option<String>,
}

impl ProxyUrl {
    /// Parses `http://[USER[:PASSWORD]@]HOST[:PORT][/]`; without a scheme, `http://` is meant
    /// (`proxy.corp:3128`), and without a port, 80. The user name and password are
    /// percent-encoded in the URL, as in any URL. HTTPS and SOCKS proxies are refused, saying
    /// so: a proxy URL that webnet would not use must not be taken for one it does.
    pub fn parse(text: &str) -> Result<ProxyUrl, String> {
        let given = text.trim();
        let shown = || quote(&redact(given));
        let with_scheme = match super::text::url_scheme(given) {
            Some(scheme) => match scheme.to_ascii_lowercase().as_str() {
                "http" => given.to_string(),
                "https" => {
                    return Err(format!(
                        "{} is an HTTPS proxy (TLS to the proxy), which webnet does not support; give an http:// proxy (requests to https receivers stay encrypted end to end through its tunnel)",
                        shown()
                    ))
                }
                s if s.starts_with("socks") => {
                    return Err(format!(
                        "{} is a SOCKS proxy, which webnet does not support; give an HTTP proxy, e.g. http://proxy.example:3128",
                        shown()
                    ))
                }
                _ => {
                    return Err(format!(
                        "{} is not an http:// proxy URL; use e.g. http://proxy.example:3128",
                        shown()
                    ))
                }
            },
            None => format!("http://{given}"),
        };
        let url = url::Url::parse(&with_scheme).map_err(|_| {
            format!(
                "{} is not a proxy URL; use http://HOST:PORT or http://USER:PASSWORD@HOST:PORT",
                shown()
            )
        })?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => return Err(format!("{} has no proxy host", shown())),
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{} has a path, query or fragment; a proxy URL is http://HOST:PORT",
                shown()
            ));
        }
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| {
                format!(
                    "{}: the user name or password is not valid percent-encoding",
                    shown()
                )
            })
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        Ok(ProxyUrl {
            host,
            port: url.port_or_known_default().unwrap_or(80),
            user: user.or_else(|| password.as_ref().map(|_| String::new())),
            password,
        })
    }

    /// The host as written in a URL (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name for `Proxy-Authorization`, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password for `Proxy-Authorization`, if any. Never to be shown.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The whole URL, credentials included (percent-encoded): only for the private (mode 0600)
    /// environment file of a scheduled `drain`, never to be shown.
    pub fn to_url(&self) -> String {
        let userinfo = match (&self.user, &self.password) {
            (None, None) => String::new(),
            (user, None) => format!("{}@", percent_encode(user.as_deref().unwrap_or(""))),
            (user, Some(pw)) => format!(
                "{}:{}@",
                percent_encode(user.as_deref().unwrap_or("")),
                percent_encode(pw)
            ),
        };
        format!("http://{userinfo}{}:{}", self.host, self.port)
    }
}

/// Every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `proxy.corp:3128`: how messages name a proxy (never with its credentials).
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field(
                "credentials",
                &match self.user.is_some() || self.password.is_some() {
                    true => "<redacted>",
                    false => "none",
                },
            )
            .finish()
    }
}

/// What was typed as a proxy URL, with everything between the scheme and the last `@` (the
/// user info: a user name may be a token too) shown as `***`.
fn redact(text: &str) -> String {
    let start = super::text::url_scheme(text).map_or(0, |s| s.len() + "://".len());
    match text[start..].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

/// `%XX` decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `--proxy`/`WEBNET_PROXY` as given: a proxy, or `none` (or an empty `--proxy ""`) to send
/// directly whatever the environment says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyChoice {
    Direct,
    Via(ProxyUrl),
}

impl ProxyChoice {
    pub fn parse(text: &str) -> Result<ProxyChoice, String> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("none") {
            return Ok(ProxyChoice::Direct);
        }
        ProxyUrl::parse(t).map(ProxyChoice::Via)
    }
}

/// The usual variables [`Proxies::from_env`] reads, `no_proxy` included: what a scheduled
/// `drain` needs to choose as its caller does.
pub const VARIABLES: [&str; 8] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// The variables listing hosts that bypass the proxy, lower case first.
pub const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// Where the requests of one process go: per receiver scheme, a proxy or none, and the hosts
/// that bypass it. The default sends everything directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    http: Option<ProxyUrl>,
    https: Option<ProxyUrl>,
    no_proxy: NoProxy,
}

/// A proxy variable whose value webnet cannot use (its name, and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyVarError {
    pub var: &'static str,
    pub message: String,
}

impl Proxies {
    /// Everything directly (`--proxy none`).
    pub fn direct() -> Proxies {
        Proxies::default()
    }

    /// Every receiver through `proxy` (`--proxy`, `WEBNET_PROXY`), but the hosts of `no_proxy`.
    pub fn every(proxy: ProxyUrl, no_proxy: NoProxy) -> Proxies {
        Proxies {
            http: Some(proxy.clone()),
            https: Some(proxy),
            no_proxy,
        }
    }

    /// From the usual variables, read through `var` (which gives `None` for unset; an empty
    /// value counts as unset): for https receivers `https_proxy`, `HTTPS_PROXY`, then
    /// `all_proxy`, `ALL_PROXY`; for http receivers `http_proxy`, `HTTP_PROXY`, then the same
    /// two. The first one set decides; the lower-case name first, as curl reads them.
    /// `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set: under CGI, a request's `Proxy:`
    /// header arrives as `HTTP_PROXY` ("httpoxy"). A variable that decides and cannot be used
    /// is an error rather than skipped: sending directly when a proxy was meant would get past
    /// the egress control.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Proxies, ProxyVarError> {
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let cgi = get("REQUEST_METHOD").is_some();
        let pick = |names: &[&'static str]| -> Result<Option<ProxyUrl>, ProxyVarError> {
            for &name in names {
                if name == "HTTP_PROXY" && cgi {
                    continue;
                }
                if let Some(value) = get(name) {
                    return ProxyUrl::parse(&value)
                        .map(Some)
                        .map_err(|message| ProxyVarError { var: name, message });
                }
            }
            Ok(None)
        };
        const ALL: [&str; 2] = ["all_proxy", "ALL_PROXY"];
        Ok(Proxies {
            https: pick(&["https_proxy", "HTTPS_PROXY", ALL[0], ALL[1]])?,
            http: pick(&["http_proxy", "HTTP_PROXY", ALL[0], ALL[1]])?,
            no_proxy: NoProxy::from_env(&var),
        })
    }

    /// The proxy a request to `scheme://host:port` goes through, or `None` for directly.
    pub fn for_target(&self, https: bool, host: &str, port: u16) -> Option<&ProxyUrl> {
        let proxy = if https { &self.https } else { &self.http };
        proxy
            .as_ref()
            .filter(|_| !self.no_proxy.matches(host, port))
    }

    /// Whether every request goes directly.
    pub fn is_direct(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }
}

#[cfg(test)]
mod tests;
