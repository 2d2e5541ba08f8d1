//! Time as the store keeps it: whole milliseconds since the Unix epoch, shown as RFC 3339 UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Formats a stored time for output, `2025-12-02T01:00:00Z`.
pub fn rfc3339(ms: Millis) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Milliseconds since the epoch for a `SystemTime` (the clock itself is read by callers).
pub fn to_millis(t: SystemTime) -> Millis {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// Parses a duration as options take it: humantime (`30m`, `1h`, `7days`, `1h30m`) or a bare
/// number of seconds. The error says what was given (cut short) and what form is expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    // A bare number means seconds, as in the spec's JSON.
    if let Ok(n) = trimmed.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let why = if trimmed.starts_with('-') {
        " (it cannot be negative)".to_string()
    } else {
        match humantime::parse_duration(trimmed) {
            Ok(d) => return Ok(d),
            Err(humantime::DurationError::UnknownUnit { unit, .. }) if !unit.is_empty() => {
                format!(" (unknown unit {})", super::text::quote(&unit))
            }
            Err(humantime::DurationError::NumberOverflow) => " (too long)".to_string(),
            Err(_) => String::new(),
        }
    };
    Err(format!(
        "{} is not a duration{why}; use e.g. 30s, 10m, 1h, 7days",
        super::text::quote(text)
    ))
}

/// Parses a duration that must be whole seconds within `range`.
pub fn whole_seconds(
    field: &'static str,
    text: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u32, super::ValidationError> {
    let err = |m: String| super::ValidationError::new(field, m);
    let d = parse_duration(text).map_err(err)?;
    let quoted = super::text::quote(text);
    if d.subsec_nanos() != 0 {
        return Err(err(format!("{quoted} is not a whole number of seconds")));
    }
    let secs = d.as_secs();
    if !range.contains(&secs) {
        return Err(err(format!(
            "{quoted} is out of range: must be {} to {}",
            human_seconds(*range.start()),
            human_seconds(*range.end())
        )));
    }
    Ok(secs as u32)
}

/// A number of seconds as options are written and help texts say them: in the largest unit
/// that divides it evenly (`0s`, `90s`, `2m`, `24h`, `30days`; one day stays `24h`, as help
/// texts put it).
pub fn human_seconds(secs: u64) -> String {
    const DAY: u64 = 24 * 3600;
    match secs {
        0 => "0s".into(),
        s if s % DAY == 0 && s > DAY => format!("{}days", s / DAY),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(1_764_637_200_000), "2025-12-02T01:00:00Z");
    }

    #[test]
    fn parses_whole_seconds_in_range() {
        assert_eq!(whole_seconds("t", "10s", 1..=120), Ok(10));
        assert_eq!(whole_seconds("t", "2m", 1..=120), Ok(120));
        assert_eq!(whole_seconds("t", "30", 1..=120), Ok(30));
        assert!(whole_seconds("t", "0s", 1..=120).is_err());
        assert!(whole_seconds("t", "121s", 1..=120).is_err());
        assert!(whole_seconds("t", "1500ms", 1..=120).is_err());
        assert!(whole_seconds("t", "soon", 1..=120).is_err());
    }

    #[test]
    fn range_messages_use_the_units_help_texts_use() {
        let message = |text, range| whole_seconds("t", text, range).unwrap_err().message;
        assert_eq!(
            message("25h", 1..=86_400),
            "\"25h\" is out of range: must be 1s to 24h"
        );
        assert_eq!(
            message("121s", 1..=120),
            "\"121s\" is out of range: must be 1s to 2m"
        );
        assert_eq!(
            message("31days", 0..=30 * 86_400),
            "\"31days\" is out of range: must be 0s to 30days"
        );
        assert_eq!(human_seconds(90), "90s");
        assert_eq!(human_seconds(5400), "90m");
        assert_eq!(human_seconds(2 * 86_400 + 3600), "49h");
    }

    #[test]
    fn duration_errors_say_what_was_given_and_what_is_expected() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 90 "), Ok(Duration::from_secs(90)));
        for (given, says) in [
            (
                "-1h",
                "\"-1h\" is not a duration (it cannot be negative); use e.g. 30s",
            ),
            ("yesterday", "\"yesterday\" is not a duration; use e.g."),
            (
                "1xyz",
                "\"1xyz\" is not a duration (unknown unit \"xyz\"); use e.g.",
            ),
            ("", "\"\" is not a duration; use e.g."),
        ] {
            let e = parse_duration(given).unwrap_err();
            assert!(e.starts_with(says), "{given}: {e}");
            assert!(!e.contains("expected number"), "{given}: {e}");
        }
        assert!(parse_duration(&"9".repeat(100_000)).unwrap_err().len() < 200);
    }
}
