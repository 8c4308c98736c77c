//! When a plan's sends go out: the time at the rate, and what quiet hours
//! and the messaging tier hold back — the same holds the feeder applies
//! (`dispatch::hold::quiet_until`, the tier check), so the dry run does
//! not promise "about 6 s" for a send the night then holds.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Recipient, TierCheck};
use crate::config::QuietHours;
use crate::dispatch::hold::quiet_until;

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

/// The estimate for `eligible` at `rate` under `quiet` hours and the tier.
pub fn estimate(
    eligible: &[Recipient],
    rate: u32,
    quiet: Option<&QuietHours>,
    tier: &TierCheck,
    now: DateTime<Utc>,
) -> SendEstimate {
    let n = eligible.len() as u64;
    let mut quiet_held = 0u64;
    let mut last_quiet: Option<DateTime<Utc>> = None;
    if let Some(q) = quiet {
        for r in eligible {
            if let Some(until) = quiet_until(q, r.phone, now) {
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
    SendEstimate {
        sending_secs: secs_at(n, rate),
        quiet_held,
        quiet_until: last_quiet,
        finishes_at: finish,
    }
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
        let e = estimate(&r, 80, Some(&quiet), &tier_all(480), late);
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
        let e = estimate(&r, 80, Some(&quiet), &tier_all(480), noon);
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
        let e = estimate(&recipients(118), 10, None, &tier, now);
        assert_eq!(e.finishes_at, Some(frees + Duration::seconds(3)));
        assert!(e.held(&tier));
        let never = TierCheck {
            later_at: None,
            source: None,
            ..tier
        };
        assert_eq!(
            estimate(&recipients(118), 10, None, &never, now).finishes_at,
            None
        );
    }
}
