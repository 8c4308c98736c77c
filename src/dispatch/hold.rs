//! Quiet hours in the recipient's local time (by the number's country).

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::QuietHours;
use crate::phone::Phone;

/// The time zone most of a country's people live in; Europe/Berlin when
/// unknown (the business's own zone is the safest guess for its customers).
pub fn zone_of(region: Option<&str>) -> Tz {
    use chrono_tz::{America, Asia, Europe};
    match region.unwrap_or("DE") {
        "AT" => Europe::Vienna,
        "CH" | "LI" => Europe::Zurich,
        "FR" | "MC" => Europe::Paris,
        "IT" | "SM" | "VA" => Europe::Rome,
        "ES" => Europe::Madrid,
        "PT" => Europe::Lisbon,
        "NL" => Europe::Amsterdam,
        "BE" => Europe::Brussels,
        "LU" => Europe::Luxembourg,
        "PL" => Europe::Warsaw,
        "CZ" => Europe::Prague,
        "SK" => Europe::Bratislava,
        "HU" => Europe::Budapest,
        "SI" => Europe::Ljubljana,
        "HR" => Europe::Zagreb,
        "DK" => Europe::Copenhagen,
        "SE" => Europe::Stockholm,
        "NO" => Europe::Oslo,
        "FI" => Europe::Helsinki,
        "EE" => Europe::Tallinn,
        "LV" => Europe::Riga,
        "LT" => Europe::Vilnius,
        "GB" => Europe::London,
        "IE" => Europe::Dublin,
        "GR" => Europe::Athens,
        "RO" => Europe::Bucharest,
        "BG" => Europe::Sofia,
        "TR" => Europe::Istanbul,
        "US" | "CA" => America::New_York,
        "AE" => Asia::Dubai,
        _ => Europe::Berlin,
    }
}

/// When quiet hours end for `phone`, if they are in force at `now`.
pub fn quiet_until(q: &QuietHours, phone: Phone, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = zone_of(phone.region_code());
    let local = now.with_timezone(&tz);
    if !q.contains(local.time()) {
        return None;
    }
    let end_date = if local.time() >= q.end {
        local.date_naive() + Duration::days(1)
    } else {
        local.date_naive()
    };
    let end = end_date.and_time(q.end);
    Some(
        tz.from_local_datetime(&end)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now + Duration::hours(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_follow_the_recipients_zone() {
        let q: QuietHours = "21:00-08:00".parse().expect("valid");
        let de = Phone::from_e164("+491712345678").expect("de");
        let us = Phone::from_e164("+12025550123").expect("us");
        // 21:30 UTC = 22:30 in Berlin (quiet), 16:30 in New York (not quiet).
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 21, 30, 0)
            .single()
            .expect("time");
        let until = quiet_until(&q, de, now).expect("quiet in Berlin");
        assert_eq!(
            until,
            Utc.with_ymd_and_hms(2026, 11, 26, 7, 0, 0)
                .single()
                .expect("t")
        );
        assert_eq!(quiet_until(&q, us, now), None);
        // 06:00 Berlin: quiet until 08:00 the same day.
        let early = Utc
            .with_ymd_and_hms(2026, 11, 25, 5, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            quiet_until(&q, de, early),
            Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).single()
        );
    }
}
