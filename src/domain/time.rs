//! Time as the store keeps it: whole milliseconds since the Unix epoch, shown as RFC 3339 UTC.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Formats a stored time for output, `2025-12-02T01:00:00Z`.
pub fn rfc3339(ms: Millis) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Any RFC 3339 time (`T`, `t` or a space between date and time; `Z`, `z` or an offset such as
/// `+02:00`, or no zone at all, read as UTC, as Python's `datetime.utcnow().isoformat()` writes
/// it; a fraction of a second or none), as the payload's `event_timestamp` carries it: in UTC
/// with a `Z`, keeping the precision given up to nanoseconds (`2025-12-02T01:00:00Z`,
/// `2025-12-02T01:00:00.250Z`). `None` when it is not one, or falls outside 1970–9999 in UTC.
pub fn normalize_rfc3339(text: &str) -> Option<String> {
    // `YYYY-MM-DD?HH:MM:SS`; ASCII only, so every byte index below is a character boundary.
    let b = text.as_bytes();
    if !text.is_ascii() || b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (date, time, mut tail) = (&text[..10], &text[11..19], &text[19..]);
    let mut fraction = "";
    if let Some(after_dot) = tail.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Beyond nanoseconds, digits are cut (RFC 3339 sets no limit; nothing keeps more).
        fraction = &after_dot[..digits.min(9)];
        tail = &after_dot[digits..];
    }
    let offset: i64 = match tail.as_bytes() {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: &u8, b: &u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (h, m) = (two(h1, h2)?, two(m1, m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'-' {
                -(h * 3600 + m * 60)
            } else {
                h * 3600 + m * 60
            }
        }
        _ => return None,
    };
    let canonical = if fraction.is_empty() {
        format!("{date}T{time}Z")
    } else {
        format!("{date}T{time}.{fraction}Z")
    };
    let local = humantime::parse_rfc3339(&canonical).ok()?;
    let shift = Duration::from_secs(offset.unsigned_abs());
    let utc = if offset >= 0 {
        local.checked_sub(shift)?
    } else {
        local.checked_add(shift)?
    };
    // humantime writes years 1970 to 9999 only (and panics past them, through `to_string`).
    const YEAR_10000: u64 = 253_402_300_800;
    if utc.duration_since(UNIX_EPOCH).ok()?.as_secs() >= YEAR_10000 {
        return None;
    }
    Some(match fraction.len() {
        0 => humantime::format_rfc3339_seconds(utc).to_string(),
        1..=3 => humantime::format_rfc3339_millis(utc).to_string(),
        4..=6 => humantime::format_rfc3339_micros(utc).to_string(),
        _ => humantime::format_rfc3339_nanos(utc).to_string(),
    })
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
    fn any_rfc3339_time_is_given_back_in_utc_with_its_precision() {
        for (given, utc) in [
            ("2025-12-02T01:00:00Z", "2025-12-02T01:00:00Z"),
            ("2025-12-02t01:00:00z", "2025-12-02T01:00:00Z"),
            ("2025-12-02 01:00:00Z", "2025-12-02T01:00:00Z"),
            ("2025-12-02T03:00:00+02:00", "2025-12-02T01:00:00Z"),
            ("2025-12-01T20:30:00-04:30", "2025-12-02T01:00:00Z"),
            ("2025-12-02T01:00:00+00:00", "2025-12-02T01:00:00Z"),
            ("2025-12-02T01:00:00.25Z", "2025-12-02T01:00:00.250Z"),
            (
                "2025-12-02T01:00:00.123456+01:00",
                "2025-12-02T00:00:00.123456Z",
            ),
            (
                "2025-12-02T01:00:00.123456789Z",
                "2025-12-02T01:00:00.123456789Z",
            ),
            ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
            ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00Z"),
            // No zone: UTC, as Python's isoformat() of a naive UTC time writes it.
            ("2025-12-02T01:00:00", "2025-12-02T01:00:00Z"),
            ("2025-12-02 01:00:00.123456", "2025-12-02T01:00:00.123456Z"),
            // Past nanoseconds, cut.
            (
                "2025-12-02T01:00:00.1234567890123Z",
                "2025-12-02T01:00:00.123456789Z",
            ),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
            ("9999-12-31T23:00:00+01:00", "9999-12-31T22:00:00Z"),
        ] {
            assert_eq!(normalize_rfc3339(given).as_deref(), Some(utc), "{given}");
        }
        for wrong in [
            "",
            "yesterday",
            "2025-12-02",
            "2025-12-02T01:00Z",
            "2025-12-02X01:00:00Z",
            "2025-13-02T01:00:00Z",
            "2025-02-29T01:00:00Z",
            "2025-12-02T24:00:00Z",
            "2025-12-02T01:00:00+2:00",
            "2025-12-02T01:00:00+24:00",
            "2025-12-02T01:00:00+0200",
            "2025-12-02T01:00:00.Z",
            "9999-12-31T23:00:00-01:00",
            "2025-12-02T01:00:00.",
            "2025-12-02T01:00:00,5Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "2025-12-02T01:00:00Zjunk",
            "2025-12-02T01:00:00 Z",
            "２０２５-12-02T01:00:00Z",
            "2025-12-02T01:00:00+0２:00",
            "2025-12-02T01:00:00é",
        ] {
            assert_eq!(normalize_rfc3339(wrong), None, "{wrong:?}");
        }
    }

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
