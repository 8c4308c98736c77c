//! Periods as the config writes them (`30d`, `12h`, `90m`, `45s`), shared by the frequency cap and retention.

use std::time::Duration;

use serde::{de, Deserialize, Deserializer};

/// The longest period bote accepts, in days: ten years (with leap days)
/// is longer than any retention or frequency window makes sense for.
pub const MAX_PERIOD_DAYS: u64 = 3653;

/// Parses `30d`, `12h`, `90m`, `45s` or `0d`, at most [`MAX_PERIOD_DAYS`].
pub fn parse_period(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} lacks a unit (d, h, m or s)"))?;
    let (num, unit) = s.split_at(split);
    let too_long = || {
        format!(
            "{s:?} is longer than {MAX_PERIOD_DAYS} days (10 years), the longest period bote \
             accepts"
        )
    };
    let n: u64 = num.parse().map_err(|e: std::num::ParseIntError| {
        if *e.kind() == std::num::IntErrorKind::PosOverflow {
            too_long()
        } else {
            format!("{s:?} is not a period such as 7d")
        }
    })?;
    let secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use d, h, m or s)")),
    };
    // Checked: a wrapped product once turned "1/3381903080180084463m" into
    // a 4-second window.
    match n.checked_mul(secs) {
        Some(total) if total <= MAX_PERIOD_DAYS * 86_400 => Ok(Duration::from_secs(total)),
        _ => Err(too_long()),
    }
}

/// The inverse of [`parse_period`], choosing the largest whole unit.
pub fn format_period(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0d".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub(super) fn de_period<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_period(&s).map_err(de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_trip() {
        for s in ["0d", "7d", "12h", "90m", "45s"] {
            assert_eq!(format_period(parse_period(s).expect(s)), s);
        }
        assert!(parse_period("7").is_err());
        assert!(parse_period("7w").is_err());
    }

    #[test]
    fn periods_never_wrap_and_stop_at_ten_years() {
        assert_eq!(
            parse_period("3653d"),
            Ok(Duration::from_secs(3653 * 86_400))
        );
        for long in [
            "3654d",
            "87673h",
            "3381903080180084463m",
            "18446744073709551615s",
            "99999999999999999999999d",
        ] {
            let e = parse_period(long).expect_err(long);
            assert!(e.contains("3653 days"), "{long}: {e}");
        }
    }
}
