//! `postgres://` and `postgresql://` URLs: parsed into the client's configuration, with the
//! TLS options libpq users expect, and shown everywhere without the password.

use std::path::PathBuf;
use std::time::Duration;

use crate::store::StoreError;

/// How long connecting may take before it fails with the host and port named.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How TLS is used, as libpq's `sslmode` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `disable`: never.
    Disable,
    /// `prefer` (the default): when the server offers it, without checking its certificate.
    Prefer,
    /// `require`: always, without checking the certificate unless `sslrootcert` is given.
    Require,
    /// `verify-ca` / `verify-full`: always, the certificate checked against `sslrootcert` (or
    /// the public web roots), and its name against the host.
    Verify,
}

/// A parsed PostgreSQL URL.
#[derive(Clone)]
pub struct PgUrl {
    pub(super) config: postgres::Config,
    pub(super) tls: TlsMode,
    /// `sslrootcert`: the certificate authorities a server's certificate is checked against.
    pub(super) root_cert: Option<PathBuf>,
    /// The URL without its password (and without query options), for messages.
    pub shown: String,
    /// The URL as given without its password, options kept: what a scheduled drain is given
    /// (its password goes to a private file as `PGPASSWORD`).
    pub without_password: String,
    /// The password, from the URL or `PGPASSWORD`.
    pub password: Option<String>,
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres(db: &str) -> bool {
    let lower = db.get(..13).unwrap_or(db).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

fn invalid(shown: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::BadUrl {
        url: shown.to_string(),
        why: why.to_string(),
    }
}

impl PgUrl {
    /// Parses a `postgres://user:password@host:port/dbname?option=value` URL. The password may
    /// also come from `PGPASSWORD` (as with `psql`), so it need not be on a command line.
    pub fn parse(text: &str, pgpassword: Option<String>) -> Result<PgUrl, StoreError> {
        let rough = mask_password(text);
        let url = url::Url::parse(text).map_err(|e| {
            // `postgres://app:pa/ss@db/x` reads as host `app`, port `pa`: say why.
            let odd = crate::domain::text::password_range(text)
                .is_some_and(|r| text[r].contains(['/', '?', '#', '@']));
            match odd {
                true => invalid(
                    &rough,
                    format!(
                        "{e}: a password holding / ? # or @ is written percent-encoded \
                         (%2F %3F %23 %40), or left out of the URL and set in PGPASSWORD"
                    ),
                ),
                false => invalid(&rough, e),
            }
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                invalid(
                    &rough,
                    "no host (expected postgres://user@host:5432/dbname)",
                )
            })?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port().unwrap_or(5432);
        let user = percent(url.username())
            .filter(|u| !u.is_empty())
            .or_else(|| std::env::var("PGUSER").ok().filter(|u| !u.is_empty()))
            .ok_or_else(|| {
                invalid(
                    &rough,
                    "no user name (expected postgres://user@host/dbname, or PGUSER set)",
                )
            })?;
        let dbname = percent(url.path().trim_start_matches('/'))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| user.clone());
        if dbname.contains('/') {
            return Err(invalid(&rough, "the database name cannot contain '/'"));
        }
        let password = match url.password() {
            Some(p) => Some(percent(p).unwrap_or_default()),
            None => pgpassword.filter(|p| !p.is_empty()),
        };
        let mut config = postgres::Config::new();
        config
            .host(&host)
            .port(port)
            .user(&user)
            .dbname(&dbname)
            .application_name("webnet")
            // A server the network lost is noticed within about a minute, not the kernel's
            // two hours and more: probes after 30 s idle, 3 more 10 s apart; data sent and
            // not acknowledged for 60 s drops the connection (then connected again).
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(60));
        if let Some(p) = &password {
            config.password(p);
        }
        let mut timeout = Some(CONNECT_TIMEOUT);
        let mut tls = TlsMode::Prefer;
        let mut root_cert = None;
        let mut seen = std::collections::HashSet::new();
        for (k, v) in url.query_pairs() {
            if !seen.insert(k.to_string()) {
                return Err(invalid(&rough, format!("{k} is given twice")));
            }
            match &*k {
                "sslmode" => {
                    tls = match &*v {
                        "disable" => TlsMode::Disable,
                        "allow" | "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-ca" | "verify-full" => TlsMode::Verify,
                        other => {
                            return Err(invalid(
                                &rough,
                                format!("sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"),
                            ))
                        }
                    }
                }
                "sslrootcert" => {
                    let path = PathBuf::from(&*v);
                    if !path.is_file() {
                        return Err(invalid(
                            &rough,
                            format!("sslrootcert {}: no such file", path.display()),
                        ));
                    }
                    root_cert = Some(path);
                }
                "connect_timeout" => {
                    let secs: u64 = v
                        .parse()
                        .map_err(|_| invalid(&rough, "connect_timeout must be whole seconds"))?;
                    // As libpq: 0 waits as long as the network does.
                    timeout = (secs > 0).then(|| Duration::from_secs(secs));
                }
                "application_name" => {
                    config.application_name(&v);
                }
                other => {
                    return Err(invalid(
                        &rough,
                        format!("unknown option {other:?} (known: sslmode, sslrootcert, connect_timeout, application_name)"),
                    ))
                }
            }
        }
        if let Some(t) = timeout {
            config.connect_timeout(t);
        }
        // As libpq: with a root certificate given, `prefer` and `require` check the server's.
        if root_cert.is_some() && matches!(tls, TlsMode::Prefer | TlsMode::Require) {
            tls = TlsMode::Verify;
        }
        config.ssl_mode(match tls {
            TlsMode::Disable => postgres::config::SslMode::Disable,
            TlsMode::Prefer => postgres::config::SslMode::Prefer,
            TlsMode::Require | TlsMode::Verify => postgres::config::SslMode::Require,
        });
        let host_shown = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let shown = format!("postgres://{user}@{host_shown}:{port}/{dbname}");
        let mut bare = url.clone();
        let _ = bare.set_password(None);
        Ok(PgUrl {
            config,
            tls,
            root_cert,
            shown,
            without_password: bare.to_string(),
            password,
            host,
            port,
            dbname,
            user,
        })
    }

    /// Where the database is, for [`Backend::path`](crate::store::Backend::path).
    pub fn shown_path(&self) -> PathBuf {
        PathBuf::from(&self.shown)
    }
}

fn percent(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .or_else(|| Some(s.to_string()))
}

/// `text` with the password of a URL-like string replaced by `***`, for messages about a URL
/// that may not parse. Its query is hidden too (`?***`): it can carry a password
/// (`?password=…`), and what looks like one may be the rest of a password holding a `?` or `#`.
pub fn mask_password(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_string();
    };
    let start = scheme_end + 3;
    let rest = &text[start..];
    let hide_query = |s: &str| match s.find(['?', '#']) {
        Some(q) => format!("{}?***", &s[..q]),
        None => s.to_string(),
    };
    // The user info ends at the last '@': a password may hold '/', '?', '#' or '@' that a URL
    // parser would take for the end of the authority. A user name cannot hold those: then the
    // '@' was in a path or query, and there is no user info to keep.
    if let Some(at) = rest.rfind('@') {
        let user = rest[..at].split(':').next().unwrap_or_default();
        if !user.contains(['/', '?', '#']) {
            let masked = if user.len() < at { ":***" } else { "" };
            return format!(
                "{}{user}{masked}{}",
                &text[..start],
                hide_query(&rest[at..])
            );
        }
    }
    format!("{}{}", &text[..start], hide_query(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_shown_without_its_password() {
        let u = PgUrl::parse("postgres://ann:s3cret@db.example:6543/hooks", None).unwrap();
        assert_eq!(u.shown, "postgres://ann@db.example:6543/hooks");
        assert_eq!(
            (u.host.as_str(), u.port, u.dbname.as_str()),
            ("db.example", 6543, "hooks")
        );
        assert!(!format!("{u:?}").contains("s3cret"));
    }

    #[test]
    fn defaults_follow_libpq() {
        let u = PgUrl::parse("postgresql://ann@db", None).unwrap();
        assert_eq!(
            (u.port, u.dbname.as_str(), u.tls),
            (5432, "ann", TlsMode::Prefer)
        );
        let u = PgUrl::parse("postgres://ann@db/x?sslmode=require", None).unwrap();
        assert_eq!(u.tls, TlsMode::Require);
        let u = PgUrl::parse("postgres://ann@db/x?sslmode=verify-full", None).unwrap();
        assert_eq!(u.tls, TlsMode::Verify);
        // A root certificate given makes `require` check the server's, as in libpq.
        let ca = tempfile::NamedTempFile::new().unwrap();
        let u = PgUrl::parse(
            &format!(
                "postgres://ann@db/x?sslmode=require&sslrootcert={}",
                ca.path().display()
            ),
            None,
        )
        .unwrap();
        assert_eq!(u.tls, TlsMode::Verify);
    }

    #[test]
    fn an_option_given_twice_or_a_missing_certificate_is_refused() {
        let e =
            PgUrl::parse("postgres://ann@db/x?sslmode=disable&sslmode=require", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "postgres://ann@db/x?***: sslmode is given twice"
        );
        let e = PgUrl::parse("postgres://ann@db/x?sslrootcert=/nonexistent.pem", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "postgres://ann@db/x?***: sslrootcert /nonexistent.pem: no such file"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_the_password() {
        for bad in [
            "postgres://ann:pw@/x",
            "postgres://ann:pw@db/x?sslmode=maybe",
            "postgres://ann:pw@db/x?color=blue",
            "postgres://ann:pw@db:notaport/x",
            "postgres://db/x?password=pw@",
            "postgres://ann@db/x?password=pw@",
        ] {
            let e = PgUrl::parse(bad, None).unwrap_err().to_string();
            assert!(!e.contains("pw@"), "{e}");
            assert!(e.contains("***") || !bad.contains(":pw"), "{e}");
        }
    }

    #[test]
    fn masking_keeps_everything_but_the_password() {
        assert_eq!(mask_password("postgres://u:p@h/d"), "postgres://u:***@h/d");
        assert_eq!(mask_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(mask_password("plain.db"), "plain.db");
        assert_eq!(
            mask_password("postgres://app:pa/ss@db/x"),
            "postgres://app:***@db/x"
        );
        assert_eq!(
            mask_password("postgres://app:p@s?s@db/x"),
            "postgres://app:***@db/x"
        );
        // A password in the query, or after a '#' a parser takes for a fragment.
        assert_eq!(
            mask_password("postgres://db/x?password=hunter2"),
            "postgres://db/x?***"
        );
        assert_eq!(
            mask_password("postgres://app:p#ss@db/x?password=secret&sslmode=require"),
            "postgres://app:***@db/x?***"
        );
        assert_eq!(mask_password("postgres://u@h/d#pw"), "postgres://u@h/d?***");
        assert_eq!(
            mask_password("postgres://db/x?password=pw@"),
            "postgres://db/x?***"
        );
        assert_eq!(
            mask_password("postgres://db/x?password=p:w@"),
            "postgres://db/x?***"
        );
    }
}
