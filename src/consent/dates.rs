//! Dates as consent exports write them: ISO 8601 (with or without time and
//! offset) or German `dd.mm.yyyy[ HH:MM[:SS]]`. Without an offset a time is
//! local to Europe/Berlin, where the forms that collected the consent ran.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;

/// Parses one date cell; the error says what was expected.
pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%:z",
        "%Y-%m-%d %H:%M%:z",
    ] {
        if let Ok(d) = DateTime::<FixedOffset>::parse_from_str(s, fmt) {
            return Ok(d.with_timezone(&Utc));
        }
    }
    let naive_formats = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S",
        "%d.%m.%Y %H:%M",
    ];
    for fmt in naive_formats {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return berlin(n, s);
        }
    }
    for fmt in ["%Y-%m-%d", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return berlin(d.and_time(chrono::NaiveTime::MIN), s);
        }
    }
    Err(format!(
        "{s:?} is not a date (use 2026-03-14, 2026-03-14T10:22:00+01:00 or 14.03.2026 10:22)"
    ))
}

fn berlin(n: NaiveDateTime, original: &str) -> Result<DateTime<Utc>, String> {
    match Berlin.from_local_datetime(&n) {
        LocalResult::Single(d) => Ok(d.with_timezone(&Utc)),
        // The autumn hour that happens twice: take the first, as clocks do.
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{original:?} does not exist in Europe/Berlin (skipped by the clock change)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> String {
        parse(s).unwrap_or_else(|e| panic!("{e}")).to_rfc3339()
    }

    #[test]
    fn german_and_iso_forms() {
        assert_eq!(utc("14.03.2026"), "2026-03-13T23:00:00+00:00");
        assert_eq!(utc("14.03.2026 10:22"), "2026-03-14T09:22:00+00:00");
        assert_eq!(utc("14.07.2026 10:22"), "2026-07-14T08:22:00+00:00");
        assert_eq!(utc("2026-03-14"), "2026-03-13T23:00:00+00:00");
        assert_eq!(utc("2026-03-14T10:22:00Z"), "2026-03-14T10:22:00+00:00");
        assert_eq!(
            utc("2026-03-14T10:22:00+01:00"),
            "2026-03-14T09:22:00+00:00"
        );
        assert_eq!(utc("2026-03-14 10:22"), "2026-03-14T09:22:00+00:00");
    }

    #[test]
    fn nonsense_is_named() {
        for bad in ["gestern", "31.02.2026", "2026-13-01", "14/03/2026"] {
            let e = parse(bad).expect_err(bad);
            assert!(e.contains(bad), "{e}");
        }
        assert!(parse("29.03.2026 02:30")
            .expect_err("DST gap")
            .contains("clock change"));
    }
}
