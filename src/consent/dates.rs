//! Dates as consent exports write them: ISO 8601 (with or without time and
//! offset) or German `dd.mm.yyyy[ HH:MM[:SS]]`. Without an offset a time is
//! local to Europe/Berlin, where the forms that collected the consent ran.
//!
//! A year must be written in full: `1.1.26` is refused, not read as the
//! year 26 (nor guessed as 1926 or 2026). [`check_consent_date`] bounds what
//! a consent date can be: not before 2000, not in the future.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;

/// Clock skew tolerated before a date counts as "in the future".
const SKEW_SECS: i64 = 300;

/// The earliest consent date accepted: 2000-01-01 00:00 in Europe/Berlin.
/// Older dates in consent exports are placeholders (`01.01.0001`,
/// `1900-01-01`) or typos, never evidence anyone could produce.
pub fn earliest_consent() -> DateTime<Utc> {
    Berlin
        .with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
        .single()
        .map_or(DateTime::<Utc>::MIN_UTC, |d| d.with_timezone(&Utc))
}

/// Refuses a consent date before [`earliest_consent`] or after `now` (the
/// engine's clock); `name` and `original` make the reason.
pub fn check_consent_date(
    d: DateTime<Utc>,
    now: DateTime<Utc>,
    name: &str,
    original: &str,
) -> Result<DateTime<Utc>, String> {
    if d < earliest_consent() {
        return Err(format!(
            "{name} {original:?} is before 2000-01-01: a placeholder or a typo, not a consent date"
        ));
    }
    if (d - now).num_seconds() > SKEW_SECS {
        return Err(format!("{name} {original:?} lies in the future"));
    }
    Ok(d)
}

/// `d.m.yy` or `d.m.y`: a German date whose year is not written in full.
fn short_year(s: &str) -> bool {
    let date = s.split_whitespace().next().unwrap_or_default();
    let parts: Vec<&str> = date.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[2].len() < 4
        && parts[0].len() <= 2
        && parts[1].len() <= 2
}

/// Parses one date cell; the error says what was expected.
pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if short_year(s) {
        return Err(format!(
            "{s:?} has a two-digit year: write the year in full (14.03.2026); bote does not guess the century"
        ));
    }
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
        for short in ["1.1.26", "01.01.26 10:00", "1.1.2"] {
            let e = parse(short).expect_err(short);
            assert!(e.contains("two-digit year"), "{e}");
        }
        assert!(parse("29.03.2026 02:30")
            .expect_err("DST gap")
            .contains("clock change"));
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn consent_dates_lie_between_2000_and_now() {
        let now = parse("2026-03-14T10:00:00Z").expect("now");
        let check = |v: &str| parse(v).and_then(|d| check_consent_date(d, now, "opted_in_at", v));
        for old in ["01.01.0001", "1999-12-31", "31.12.1999 23:59", "0026-01-01"] {
            let e = check(old).expect_err(old);
            assert!(e.contains("before 2000-01-01"), "{old}: {e}");
        }
        // Negative years are no dates at all, or before 2000.
        assert!(check("-0001-01-01").is_err());
        assert!(check("01.01.2000").is_ok());
        assert!(
            check("2026-03-14T10:04:00Z").is_ok(),
            "within the clock skew"
        );
        let e = check("2026-03-15").expect_err("tomorrow");
        assert!(e.contains("lies in the future"), "{e}");
    }
}
