//! Who got the template a plan is about to send a short while ago: the
//! operator who sends `herbst_sale` twice by mistake sees "23 got
//! herbst_sale 4 minutes before this plan", and those 23 are left out
//! unless the request includes them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::Exclusion;
use crate::phone::Phone;

/// How far back a repeat counts when no frequency cap sets the window.
pub const DEFAULT_WINDOW: Duration = Duration::days(7);

/// The latest send of one template per number, within the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentSends {
    /// The template's name.
    pub template: String,
    /// Number → (when, which campaign).
    pub by_phone: HashMap<Phone, (DateTime<Utc>, String)>,
}

impl RecentSends {
    /// The exclusion for `phone` if it got the template, as of `now`.
    pub fn exclusion(&self, phone: Phone, now: DateTime<Utc>) -> Option<Exclusion> {
        let (at, campaign) = self.by_phone.get(&phone)?;
        let minutes = (now - *at).num_minutes().max(0);
        Some(Exclusion::RecentlySent {
            template: self.template.clone(),
            campaign: campaign.clone(),
            minutes_before: u64::try_from(minutes).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_recent_send_becomes_the_reason_with_its_age() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 6, 12, 0, 0)
            .single()
            .expect("time");
        let p = Phone::from_e164("+491712345678").expect("phone");
        let other = Phone::from_e164("+491712345679").expect("phone");
        let recent = RecentSends {
            template: "herbst_sale".into(),
            by_phone: HashMap::from([(p, (now - Duration::minutes(4), "7".to_string()))]),
        };
        let reason = recent.exclusion(p, now).expect("excluded");
        assert_eq!(reason.code(), "recently_sent");
        assert_eq!(
            reason.describe(),
            "got herbst_sale 4 minutes before this plan (campaign 7); --include-recent sends it again"
        );
        assert_eq!(recent.exclusion(other, now), None);
        let later = recent
            .exclusion(p, now + Duration::hours(50))
            .expect("excluded")
            .describe();
        assert!(
            later.starts_with("got herbst_sale 2 days before"),
            "{later}"
        );
    }
}
