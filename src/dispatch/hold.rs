//! Quiet hours in the recipient's local time: every zone of the number's country.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use crate::config::QuietHours;
use crate::phone::zones::{self, LocalZones};
use crate::phone::Phone;

/// When quiet hours end for `phone`, if they are in force at `now`: the
/// first moment it is quiet in none of the zones its holder may be in
/// (`phone::zones`). Where quiet hours somewhere in the country cover the
/// whole day, the country's main zone decides.
pub fn quiet_until(q: &QuietHours, phone: Phone, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    quiet_until_in(q, &zones::of(phone), now)
}

/// [`quiet_until`] for zones already looked up.
pub fn quiet_until_in(
    q: &QuietHours,
    zones: &LocalZones,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut at = now;
    // Each round moves past every zone quiet at `at`; a zone can hold
    // only once a day, so a gap, if there is one, is found within
    // two days and a few rounds per zone.
    for _ in 0..(2 * zones.zones.len() + 2) {
        match zones.zones.iter().filter_map(|tz| end_in(q, *tz, at)).max() {
            None => return (at > now).then_some(at),
            Some(end) if end - now > Duration::days(2) => break,
            Some(end) => at = end,
        }
    }
    end_in(q, zones.main(), now)
}

/// When quiet hours end in one zone, if they are in force there at `now`.
fn end_in(q: &QuietHours, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
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

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn a_us_number_waits_until_it_is_day_in_hawaii() {
        let q: QuietHours = "21:00-08:00".parse().expect("valid");
        // A Washington number, but +1 202 could be anyone in the USA.
        let us = Phone::from_e164("+12025550123").expect("us");
        // 13:00 UTC in December: 08:00 in New York, 05:00 in Los Angeles,
        // 03:00 in Honolulu.
        let morning = utc(2026, 12, 3, 13, 0);
        assert_eq!(
            quiet_until(&q, us, morning),
            Some(utc(2026, 12, 3, 18, 0)),
            "08:00 in Honolulu (HST, UTC-10)"
        );
        // 20:00 UTC: 15:00 in New York, 10:00 in Honolulu: quiet nowhere.
        assert_eq!(quiet_until(&q, us, utc(2026, 12, 3, 20, 0)), None);
        // 02:30 UTC: 21:30 in New York; the next gap opens at Honolulu's
        // 08:00 again.
        assert_eq!(
            quiet_until(&q, us, utc(2026, 12, 4, 2, 30)),
            Some(utc(2026, 12, 4, 18, 0))
        );
    }

    #[test]
    fn quiet_all_day_somewhere_falls_back_to_the_main_zone() {
        // 14 quiet hours over Russia's 11 zones leave no gap anywhere.
        let q: QuietHours = "18:00-08:00".parse().expect("valid");
        let ru = Phone::from_e164("+79123456789").expect("ru");
        // 16:00 UTC = 19:00 in Moscow.
        let at = utc(2026, 12, 3, 16, 0);
        assert_eq!(
            quiet_until(&q, ru, at),
            Some(utc(2026, 12, 4, 5, 0)),
            "08:00 in Moscow (UTC+3)"
        );
    }

    #[test]
    fn the_canaries_keep_spain_quiet_an_hour_longer() {
        let q: QuietHours = "21:00-08:00".parse().expect("valid");
        let es = Phone::from_e164("+34612345678").expect("es");
        // 07:30 UTC = 08:30 in Madrid, 07:30 in Las Palmas.
        assert_eq!(
            quiet_until(&q, es, utc(2026, 12, 3, 7, 30)),
            Some(utc(2026, 12, 3, 8, 0))
        );
    }
}
