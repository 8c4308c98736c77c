//! When a plan's sends go out: the time at the rate, and what quiet hours
//! and the messaging tier hold back — the same holds the feeder applies
//! (`dispatch::hold::quiet_until`, the tier check), so the dry run does
//! not promise "about 6 s" for a send the night then holds.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Recipient, TierCheck};
use crate::config::QuietHours;
use crate::dispatch::hold::quiet_until_in;
use crate::phone::zones;
use crate::template::Lint;

/// When a plan's sends are expected to go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendEstimate {
    /// Seconds of sending at the rate, holds aside.
    pub sending_secs: u64,
    /// Recipients for whom it is quiet hours at planning time.
    pub quiet_held: u64,
    /// When the last of those quiet hours ends.
    pub quiet_until: Option<DateTime<Utc>>,
    /// When the last send is expected (`None`: the tier never lets the
    /// rest go).
    pub finishes_at: Option<DateTime<Utc>>,
}

impl SendEstimate {
    /// Whether anything holds part of the send back.
    pub fn held(&self, tier: &TierCheck) -> bool {
        self.quiet_held > 0 || tier.later > 0
    }
}

/// Seconds `n` sends take at `rate`.
fn secs_at(n: u64, rate: u32) -> u64 {
    n.div_ceil(u64::from(rate.max(1)))
}

/// An estimate and the countries quiet hours had no zone data for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimated {
    /// When the sends go out.
    pub estimate: SendEstimate,
    /// Recipients per country (region or `+code`) whose quiet hours were
    /// judged by [`zones::FALLBACK`]: the plan says so.
    pub zoneless: BTreeMap<String, u64>,
}

/// The estimate for `eligible` at `rate` under `quiet` hours and the tier.
pub fn estimate(
    eligible: &[Recipient],
    rate: u32,
    quiet: Option<&QuietHours>,
    tier: &TierCheck,
    now: DateTime<Utc>,
) -> Estimated {
    let n = eligible.len() as u64;
    let mut quiet_held = 0u64;
    let mut last_quiet: Option<DateTime<Utc>> = None;
    let mut zoneless = BTreeMap::new();
    if let Some(q) = quiet {
        // One `now` for the whole plan: the answer depends only on the
        // zones, so each country is worked out once.
        let mut by_country: HashMap<Option<&'static str>, Option<DateTime<Utc>>> = HashMap::new();
        for r in eligible {
            let local = zones::of(r.phone);
            if !local.known {
                *zoneless
                    .entry(zones::country_label(r.phone, &local))
                    .or_insert(0u64) += 1;
            }
            let until = *by_country
                .entry(local.region)
                .or_insert_with(|| quiet_until_in(q, &local, now));
            if let Some(until) = until {
                quiet_held += 1;
                last_quiet = Some(last_quiet.map_or(until, |l| l.max(until)));
            }
        }
    }
    let after = |start: DateTime<Utc>, count: u64| {
        start + Duration::seconds(i64::try_from(secs_at(count, rate)).unwrap_or(i64::MAX / 2))
    };
    let free_now = n.saturating_sub(quiet_held).min(tier.now);
    let mut finish = Some(after(now, free_now));
    if let Some(until) = last_quiet {
        finish = finish.map(|f| f.max(after(until, quiet_held)));
    }
    if tier.later > 0 {
        finish = match (finish, tier.later_at) {
            (Some(f), Some(at)) => Some(f.max(after(at, tier.later))),
            _ => None,
        };
    }
    Estimated {
        estimate: SendEstimate {
            sending_secs: secs_at(n, rate),
            quiet_held,
            quiet_until: last_quiet,
            finishes_at: finish,
        },
        zoneless,
    }
}

/// The plan's warning for quiet hours judged without the recipients'
/// zones, if any were.
pub(super) fn zoneless_lint(zoneless: &BTreeMap<String, u64>) -> Option<Lint> {
    if zoneless.is_empty() {
        return None;
    }
    let countries: Vec<String> = zoneless.iter().map(|(c, n)| format!("{c} ({n})")).collect();
    Some(Lint {
        level: "warning".into(),
        message: format!(
            "quiet hours: no time zone known for {}; {} is assumed for them",
            countries.join(", "),
            zones::FALLBACK.name()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::Phone;
    use chrono::{NaiveTime, TimeZone};

    fn recipients(n: usize) -> Vec<Recipient> {
        (0..n)
            .map(|i| Recipient {
                phone: Phone::parse(&format!("0171 8{i:06}"), "DE").expect("phone"),
                params: Default::default(),
            })
            .collect()
    }

    fn tier_all(n: u64) -> TierCheck {
        TierCheck {
            tier: 1_000_000,
            used: 0,
            now: n,
            later: 0,
            later_at: None,
            source: None,
        }
    }

    #[test]
    fn the_night_is_part_of_the_estimate() {
        let quiet = QuietHours {
            start: NaiveTime::from_hms_opt(21, 0, 0).expect("time"),
            end: NaiveTime::from_hms_opt(8, 0, 0).expect("time"),
        };
        // 23:30 in Berlin (CET, UTC+1 in December).
        let late = Utc
            .with_ymd_and_hms(2026, 12, 2, 22, 30, 0)
            .single()
            .expect("time");
        let r = recipients(480);
        let e = estimate(&r, 80, Some(&quiet), &tier_all(480), late).estimate;
        assert_eq!(e.sending_secs, 6, "480 at 80/s");
        assert_eq!(e.quiet_held, 480);
        let morning = Utc
            .with_ymd_and_hms(2026, 12, 3, 7, 0, 0)
            .single()
            .expect("time");
        assert_eq!(e.quiet_until, Some(morning), "08:00 Berlin");
        assert_eq!(e.finishes_at, Some(morning + Duration::seconds(6)));

        let noon = Utc
            .with_ymd_and_hms(2026, 12, 3, 11, 0, 0)
            .single()
            .expect("time");
        let e = estimate(&r, 80, Some(&quiet), &tier_all(480), noon).estimate;
        assert_eq!((e.quiet_held, e.quiet_until), (0, None));
        assert_eq!(e.finishes_at, Some(noon + Duration::seconds(6)));
    }

    #[test]
    fn the_tier_holds_the_rest_until_it_frees() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 3, 11, 0, 0)
            .single()
            .expect("time");
        let frees = now + Duration::hours(5);
        let tier = TierCheck {
            tier: 100,
            used: 10,
            now: 90,
            later: 28,
            later_at: Some(frees),
            source: None,
        };
        let e = estimate(&recipients(118), 10, None, &tier, now).estimate;
        assert_eq!(e.finishes_at, Some(frees + Duration::seconds(3)));
        assert!(e.held(&tier));
        let never = TierCheck {
            later_at: None,
            source: None,
            ..tier
        };
        assert_eq!(
            estimate(&recipients(118), 10, None, &never, now)
                .estimate
                .finishes_at,
            None
        );
    }

    #[test]
    fn countries_without_zone_data_are_counted() {
        let quiet: QuietHours = "21:00-08:00".parse().expect("valid");
        let mut r = recipients(3);
        for e164 in ["+88216123456", "+88216123457", "+12025550123"] {
            r.push(Recipient {
                phone: Phone::from_e164(e164).expect("e164"),
                params: Default::default(),
            });
        }
        let noon = Utc
            .with_ymd_and_hms(2026, 12, 3, 11, 0, 0)
            .single()
            .expect("time");
        let e = estimate(&r, 80, Some(&quiet), &tier_all(6), noon);
        assert_eq!(e.zoneless, BTreeMap::from([("+882".to_string(), 2)]));
        // 11:00 UTC is 06:00 in New York: only the US number waits.
        assert_eq!(e.estimate.quiet_held, 1);
        // Without quiet hours no zone is looked up, nor reported.
        assert!(estimate(&r, 80, None, &tier_all(6), noon)
            .zoneless
            .is_empty());
    }
}
