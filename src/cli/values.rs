//! Value parsers for options and arguments. Each error says what was given (quoted, cut short)
//! and the form expected; the caller's `one_line` puts the option's name in front:
//! `error: --since: "-1h" is not a duration (it cannot be negative); use e.g. 30s, 10m, 1h, 7days`.
//! Options that take these accept values starting with `-`, so `-1` reaches the parser instead
//! of being taken for an option.

use std::ops::RangeInclusive;

use crate::domain::text::quote;
use crate::domain::time::parse_duration;

/// A duration with its unit: `30s`, `10m`, `1h`, `7days`. A bare number is refused (`0`
/// aside, the same in any unit): `--grace 24` or `--since 5` read as seconds would be a
/// surprise, and for `--grace` a dangerous one. Only the options that set the spec's seconds
/// fields (`--timeout`, `--retry-backoff`, `--auto-disable-after`) take bare seconds.
pub fn duration(s: &str) -> Result<humantime::Duration, String> {
    if s.trim() != "0" {
        require_unit(s)?;
    }
    parse_duration(s).map(humantime::Duration::from)
}

/// Refuses a bare number, saying which units there are (with the number given).
fn require_unit(s: &str) -> Result<(), String> {
    match s.trim().parse::<u64>() {
        Ok(n) => Err(format!(
            "{} has no unit; say which, e.g. {n}h, {n}m, {n}s",
            quote(s)
        )),
        Err(_) => Ok(()),
    }
}

/// A duration of at least a second (how often something repeats).
pub fn interval(s: &str) -> Result<humantime::Duration, String> {
    let d = duration(s)?;
    if std::time::Duration::from(d) < std::time::Duration::from_secs(1) {
        return Err(format!("{} is too short: at least 1s", quote(s)));
    }
    Ok(d)
}

/// A duration longer than zero, with its unit (`90d`, `2weeks`, `12h`): it says what history
/// to delete, so a bare `90` (seconds elsewhere) is refused rather than guessed.
pub fn positive_duration(s: &str) -> Result<std::time::Duration, String> {
    let zero = || format!("{} must be longer than 0, e.g. 30s, 10m, 90d", quote(s));
    if let Ok(n) = s.trim().parse::<u64>() {
        if n == 0 {
            return Err(zero());
        }
        // Days first: these options are mostly about history (`--retain`, `--older-than`).
        return Err(format!(
            "{} has no unit; say which, e.g. {n}d, {n}h, {n}m, {n}s",
            quote(s)
        ));
    }
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(zero());
    }
    Ok(d)
}

/// As [`positive_duration`], kept as written (without spaces: `1h 30m` → `1h30m`), to pass on
/// to a scheduled `drain` as one word.
pub fn duration_word(s: &str) -> Result<String, String> {
    positive_duration(s)?;
    Ok(s.split_whitespace().collect())
}

/// A yes/no setting given as a value (`WEBNET_ALLOW_PRIVATE_TARGETS`): `1`/`0`, `true`/`false`,
/// `yes`/`no`, `on`/`off`, in any case; empty means unset (off). Anything else is refused: a
/// misspelt `flase` must not turn a guard off (clap's `FalseyValueParser` takes any unknown
/// word for true).
pub fn switch(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!(
            "{} is not a yes/no value; use 1 or 0, true or false, yes or no, on or off",
            quote(s)
        )),
    }
}

/// A database path: not empty. (A URL or SQLite URI is refused once parsed, in `cli::run`.)
pub fn db_path(s: &str) -> Result<std::path::PathBuf, String> {
    if s.is_empty() {
        return Err("empty; give a file path".into());
    }
    Ok(s.into())
}

/// `--key-file`: a file's path (it may not exist yet: the first secret creates it), never a
/// folder's.
pub fn key_file_path(s: &str) -> Result<std::path::PathBuf, String> {
    let path = db_path(s)?;
    if path.is_dir() {
        return Err(format!(
            "{} is a directory; give the key file's own path (e.g. {}/webnet.key)",
            quote(s),
            s.trim_end_matches('/')
        ));
    }
    Ok(path)
}

/// `--proxy`: an http:// proxy URL, or `none` (or empty) for directly. The message never shows
/// the URL's user name or password.
pub fn proxy(s: &str) -> Result<crate::domain::proxy::ProxyChoice, String> {
    crate::domain::proxy::ProxyChoice::parse(s)
}

/// Where `serve` listens: an IP address and a port (`127.0.0.1:8080`, `[::1]:8080`). Names are
/// not looked up: which of a name's addresses was meant is for the operator to say.
pub fn listen_address(s: &str) -> Result<std::net::SocketAddr, String> {
    let given = s.trim();
    if let Ok(addr) = given.parse() {
        return Ok(addr);
    }
    let expected =
        "use an IP address and a port, such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080";
    let is_ip = |host: &str| {
        host.parse::<std::net::Ipv4Addr>().is_ok()
            || host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok())
    };
    // An address alone (`127.0.0.1`, `::1`, `[::1]`).
    if given.parse::<std::net::IpAddr>().is_ok() || is_ip(given) {
        return Err(format!("{} has no port; {expected}", quote(s)));
    }
    match given.rsplit_once(':') {
        Some((host, port)) if is_ip(host) => {
            let why = if port.is_empty() {
                "has no port"
            } else if port.bytes().all(|b| b.is_ascii_digit()) {
                "has a port out of range (0 to 65535)"
            } else {
                "has a port that is not a number"
            };
            Err(format!("{} {why}; {expected}", quote(s)))
        }
        _ => Err(format!(
            "{} is not an IP address and port (names are not looked up); {expected}",
            quote(s)
        )),
    }
}

/// A webhook id: a positive whole number.
pub fn webhook_id(s: &str) -> Result<i64, String> {
    id(s, "webhook id")
}

/// An API token id: a positive whole number.
pub fn token_id(s: &str) -> Result<i64, String> {
    id(s, "token id")
}

/// A delivery id: a positive whole number.
pub fn delivery_id(s: &str) -> Result<i64, String> {
    id(s, "delivery id")
}

fn id(s: &str, what: &str) -> Result<i64, String> {
    match integer(s) {
        Ok(n) if n > 0 => Ok(n),
        Err(Some(Overflow::Up)) => Err(format!(
            "{} is too large for a {what}: must be 1 to {}",
            quote(s),
            i64::MAX
        )),
        _ => Err(format!(
            "{} is not a {what} (a positive whole number)",
            quote(s)
        )),
    }
}

/// Which way a whole number overflowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Up,
    Down,
}

/// `s` (trimmed) as an `i64`; `Err(Some(..))` when it is a whole number too large or too small
/// for one, `Err(None)` when it is no whole number at all.
fn integer(s: &str) -> Result<i64, Option<Overflow>> {
    s.trim().parse::<i64>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => Some(Overflow::Up),
        std::num::IntErrorKind::NegOverflow => Some(Overflow::Down),
        _ => None,
    })
}

/// A whole number, negative ones included (`--event-id`, `--actor-id`).
pub fn whole_number(s: &str) -> Result<i64, String> {
    integer(s).map_err(|e| match e {
        Some(Overflow::Up) => format!("{} is too large: must be at most {}", quote(s), i64::MAX),
        Some(Overflow::Down) => {
            format!("{} is too small: must be at least {}", quote(s), i64::MIN)
        }
        None => format!("{} is not a whole number", quote(s)),
    })
}

/// The unsigned types a count is kept in, with their largest value (for messages).
pub trait CountType: TryFrom<u64> {
    const MAX: u64;
}

impl CountType for u32 {
    const MAX: u64 = u32::MAX as u64;
}

impl CountType for u64 {
    const MAX: u64 = u64::MAX;
}

/// A count: a whole number, 0 or more (`--limit`).
pub fn count<T: CountType>(s: &str) -> Result<T, String> {
    let too_large = || format!("{} is too large: must be 0 to {}", quote(s), T::MAX);
    match s.trim().parse::<u64>() {
        Ok(n) => T::try_from(n).map_err(|_| too_large()),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err(too_large()),
        Err(_) => Err(format!(
            "{} is not a count (a whole number, 0 or more)",
            quote(s)
        )),
    }
}

/// A count of at least 1 (`listen --count`: 0 would stop before the first event).
pub fn positive_count<T: CountType + PartialEq + From<u8>>(s: &str) -> Result<T, String> {
    // Said as what it is, a count of at least 1 (not "0 or more", then "at least 1" for 0).
    let n = count::<T>(s).map_err(|e| match e.contains("is not a count") {
        true => format!("{} is not a whole number of at least 1", quote(s)),
        false => e.replace("must be 0 to", "must be 1 to"),
    })?;
    if n == T::from(0) {
        return Err(format!("{} is too small: must be at least 1", quote(s)));
    }
    Ok(n)
}

/// A whole number within `range` (`--concurrency`, `--buckets`, `--port`, `--max-retries`).
pub fn number_in<T: TryFrom<i64>>(
    range: RangeInclusive<i64>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let (start, end) = (range.start(), range.end());
        let n = integer(s).map_err(|e| match e {
            Some(Overflow::Up) => format!("{} is too large: must be {start} to {end}", quote(s)),
            Some(Overflow::Down) => {
                format!("{} is too small: must be {start} to {end}", quote(s))
            }
            None => format!("{} is not a whole number", quote(s)),
        })?;
        if !range.contains(&n) {
            return Err(format!(
                "{} is out of range: must be {start} to {end}",
                quote(s)
            ));
        }
        T::try_from(n).map_err(|_| format!("{} is out of range", quote(s)))
    }
}

/// A value a domain rule refused: its message (the caller's `one_line` names the option).
fn rule<T>(r: Result<T, crate::domain::ValidationError>) -> Result<T, String> {
    r.map_err(|e| e.message)
}

/// `--name`: a webhook name, 1-100 characters on one line (trimmed).
pub fn webhook_name(s: &str) -> Result<String, String> {
    rule(crate::domain::webhook::validate_name(s))
}

/// `customers create NAME`.
pub fn customer_name(s: &str) -> Result<String, String> {
    rule(crate::domain::webhook::validate_label("customer_name", s))
}

/// `--url`: its form (http or https, a host, no credentials, no "[redacted]": on the command
/// line a URL is typed, never a shown one given back); where it points is judged once the
/// allow list is read.
pub fn url(s: &str) -> Result<crate::domain::WebhookUrl, String> {
    rule(crate::domain::WebhookUrl::parse_form(s).and_then(|u| u.check_unmasked().map(|()| u)))
}

/// `--header 'Name: value'`: one custom header (never shown in a message: it may be a
/// credential).
pub fn header(s: &str) -> Result<(String, String), String> {
    rule(crate::domain::headers::parse_header(s))
}

/// A duration in whole seconds within `range`, for the options that set the spec's seconds
/// fields (`--timeout`, `--retry-backoff`, `--auto-disable-after`): a bare number is seconds.
pub fn seconds_in(
    field: &'static str,
    range: RangeInclusive<u64>,
) -> impl Fn(&str) -> Result<std::time::Duration, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let secs = rule(crate::domain::time::whole_seconds(field, s, range.clone()))?;
        Ok(std::time::Duration::from_secs(secs.into()))
    }
}

/// `--grace`: a duration with its unit, at most 30 days.
pub fn grace(s: &str) -> Result<std::time::Duration, String> {
    let d = std::time::Duration::from(duration(s)?);
    if d > crate::ops::webhooks::MAX_GRACE {
        return Err("at most 30 days".into());
    }
    Ok(d)
}

/// `emit --data`: one JSON object (a key given twice is refused).
pub fn json_object(s: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = crate::domain::json_doc::parse(s).map_err(|e| e.to_string())?;
    if !v.is_object() {
        return Err("must be a JSON object".into());
    }
    Ok(v)
}

/// `targets allow|remove CIDR|HOST`.
pub fn target(s: &str) -> Result<crate::domain::allowlist::AllowedTarget, String> {
    crate::domain::allowlist::AllowedTarget::parse(s)
}

/// `targets allow --note`.
pub fn note(s: &str) -> Result<String, String> {
    rule(crate::domain::allowlist::validate_note(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_value_and_say_the_form() {
        assert_eq!(
            webhook_id("-1").unwrap_err(),
            "\"-1\" is not a webhook id (a positive whole number)"
        );
        assert_eq!(delivery_id("7"), Ok(7));
        assert!(delivery_id("0").is_err());
        assert_eq!(count::<u32>("0"), Ok(0));
        assert!(count::<u32>("-5").unwrap_err().contains("0 or more"));
        assert!(count::<u32>("5000000000").is_err());
        assert_eq!(whole_number("-3"), Ok(-3));
        let conc = number_in::<usize>(1..=256);
        assert_eq!(conc("8"), Ok(8));
        assert_eq!(
            conc("0").unwrap_err(),
            "\"0\" is out of range: must be 1 to 256"
        );
        assert!(duration("-1h").unwrap_err().contains("cannot be negative"));
        assert!(webhook_id(&"1".repeat(10_000)).unwrap_err().len() < 200);
    }

    #[test]
    fn durations_need_a_unit_except_zero() {
        assert_eq!(
            duration("24").unwrap_err(),
            "\"24\" has no unit; say which, e.g. 24h, 24m, 24s"
        );
        assert!(duration(" 5 ").is_err());
        assert!(interval("60").unwrap_err().contains("has no unit"));
        assert_eq!(
            std::time::Duration::from(duration("24h").unwrap()).as_secs(),
            86_400
        );
        assert!(std::time::Duration::from(duration("0").unwrap()).is_zero());
        assert!(positive_duration("90").unwrap_err().contains("has no unit"));
        assert!(positive_duration("0")
            .unwrap_err()
            .contains("must be longer than 0"));
    }

    #[test]
    fn switches_take_the_usual_words_only() {
        for yes in ["1", "true", "TRUE", "Yes", "on", " on "] {
            assert_eq!(switch(yes), Ok(true), "{yes}");
        }
        for no in ["0", "false", "False", "no", "OFF", ""] {
            assert_eq!(switch(no), Ok(false), "{no}");
        }
        for bad in ["flase", "disabled", "2", "y", "enable"] {
            assert!(
                switch(bad).unwrap_err().contains("not a yes/no value"),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers_too_large_say_so_with_the_range() {
        assert_eq!(
            whole_number("99999999999999999999").unwrap_err(),
            "\"99999999999999999999\" is too large: must be at most 9223372036854775807"
        );
        assert!(whole_number("-99999999999999999999")
            .unwrap_err()
            .contains("is too small: must be at least -9223372036854775808"));
        assert_eq!(
            count::<u32>("99999999999").unwrap_err(),
            "\"99999999999\" is too large: must be 0 to 4294967295"
        );
        assert!(count::<u64>("99999999999999999999")
            .unwrap_err()
            .ends_with("is too large: must be 0 to 18446744073709551615"));
        assert_eq!(
            number_in::<i64>(0..=20)("99999999999999999999").unwrap_err(),
            "\"99999999999999999999\" is too large: must be 0 to 20"
        );
        assert!(webhook_id("99999999999999999999")
            .unwrap_err()
            .contains("too large for a webhook id"));
        assert_eq!(
            positive_count::<u64>("0").unwrap_err(),
            "\"0\" is too small: must be at least 1"
        );
        assert_eq!(positive_count::<u64>("3"), Ok(3));
        // Never "0 or more" for what must be at least 1.
        assert_eq!(
            positive_count::<u64>("-5").unwrap_err(),
            "\"-5\" is not a whole number of at least 1"
        );
        assert!(positive_count::<u32>("99999999999")
            .unwrap_err()
            .ends_with("is too large: must be 1 to 4294967295"));
    }
}
