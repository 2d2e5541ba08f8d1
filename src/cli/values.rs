//! Value parsers for options and arguments. Each error says what was given (quoted, cut short)
//! and the form expected; the caller's `one_line` puts the option's name in front:
//! `error: --since: "-1h" is not a duration (it cannot be negative); use e.g. 30s, 10m, 1h, 7days`.
//! Options that take these accept values starting with `-`, so `-1` reaches the parser instead
//! of being taken for an option.

use std::ops::RangeInclusive;

use crate::domain::text::quote;
use crate::domain::time::parse_duration;

/// A duration: `30s`, `10m`, `1h`, `7days`, or a number of seconds.
pub fn duration(s: &str) -> Result<humantime::Duration, String> {
    parse_duration(s).map(humantime::Duration::from)
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
    if s.trim().parse::<u64>().is_ok() {
        return Err(format!(
            "{} has no unit; say which, e.g. 90d, 2weeks, 12h",
            quote(s)
        ));
    }
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!("{} must be longer than 0, e.g. 90d", quote(s)));
    }
    Ok(d)
}

/// As [`positive_duration`], kept as written (without spaces: `1h 30m` → `1h30m`), to pass on
/// to a scheduled `drain` as one word.
pub fn duration_word(s: &str) -> Result<String, String> {
    positive_duration(s)?;
    Ok(s.split_whitespace().collect())
}

/// A webhook id: a positive whole number.
pub fn webhook_id(s: &str) -> Result<i64, String> {
    id(s, "webhook id")
}

/// A delivery id: a positive whole number.
pub fn delivery_id(s: &str) -> Result<i64, String> {
    id(s, "delivery id")
}

fn id(s: &str, what: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{} is not a {what} (a positive whole number)",
            quote(s)
        )),
    }
}

/// A whole number, negative ones included (`--event-id`, `--max-retries`, whose range is
/// checked with the other settings).
pub fn whole_number(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("{} is not a whole number", quote(s)))
}

/// A count: a whole number, 0 or more (`--limit`, `--count`).
pub fn count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    s.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("{} is not a count (a whole number, 0 or more)", quote(s)))
}

/// A whole number within `range` (`--concurrency`, `--buckets`, `--port`).
pub fn number_in<T: TryFrom<i64>>(
    range: RangeInclusive<i64>,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let n = s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("{} is not a whole number", quote(s)))?;
        if !range.contains(&n) {
            return Err(format!(
                "{} is out of range: must be {} to {}",
                quote(s),
                range.start(),
                range.end()
            ));
        }
        T::try_from(n).map_err(|_| format!("{} is out of range", quote(s)))
    }
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
}
