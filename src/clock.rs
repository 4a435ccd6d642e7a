//! Time for the whole crate: the current Unix time, the RFC 3339 text the
//! API and CLI show, and the dates a user may type. The model and the store
//! keep times as Unix seconds; only what is shown is formatted.

use std::ops::RangeInclusive;
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The first and last Unix times an RFC 3339 text can show (years
/// 0000–9999); a stored time outside them is shown as null, so it is
/// treated as missing everywhere.
pub const SHOWN_TIMES: RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Unix time as RFC 3339 (UTC), or `None` when outside `SHOWN_TIMES`.
pub fn rfc3339(unix: i64) -> Option<String> {
    if !SHOWN_TIMES.contains(&unix) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time, to Unix time.
pub fn parse_time(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(t) = OffsetDateTime::parse(value, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(value, &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_only_what_rfc_3339_can_show() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(*SHOWN_TIMES.end()).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(rfc3339(SHOWN_TIMES.end() + 1), None);
        assert_eq!(rfc3339(SHOWN_TIMES.start() - 1), None);
    }

    #[test]
    fn parses_dates_and_times() {
        assert_eq!(parse_time("2024-01-31"), Some(1_706_659_200));
        assert_eq!(parse_time(" 2024-01-31T00:00:00Z "), Some(1_706_659_200));
        assert_eq!(parse_time("2024-01-31T01:00:00+01:00"), Some(1_706_659_200));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-02-30"), None);
    }
}
