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

/// Parses a humantime duration that must be whole seconds within `range`.
pub fn whole_seconds(
    field: &'static str,
    text: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u32, super::ValidationError> {
    let err = |m: String| super::ValidationError::new(field, m);
    let trimmed = text.trim();
    // A bare number means seconds, as in the spec's JSON.
    let d = match trimmed.parse::<u64>() {
        Ok(n) => Duration::from_secs(n),
        Err(_) => humantime::parse_duration(trimmed).map_err(|e| {
            err(format!(
                "{text:?} is not a duration ({e}); use e.g. 10s, 1m, 2h"
            ))
        })?,
    };
    if d.subsec_nanos() != 0 {
        return Err(err(format!("{text:?} is not a whole number of seconds")));
    }
    let secs = d.as_secs();
    if !range.contains(&secs) {
        return Err(err(format!(
            "{text:?} is out of range: must be {}s to {}s",
            range.start(),
            range.end()
        )));
    }
    Ok(secs as u32)
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
}
