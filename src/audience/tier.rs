//! The messaging-tier check: how much of a campaign the rolling 24-h tier lets go now.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::{Store, StoreError};

/// Whether the messaging tier allows the whole campaign now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TierCheck {
    /// Unique recipients per rolling 24 h.
    pub tier: u64,
    /// Unique recipients already messaged in the last 24 h.
    pub used: u64,
    /// Recipients that can go now.
    pub now: u64,
    /// Recipients that must wait.
    pub later: u64,
    /// When the waiting ones can go (None: the campaign exceeds the tier even on an idle day).
    pub later_at: Option<DateTime<Utc>>,
    /// Where the tier came from when not the config's `[api]
    /// messaging_tier`: Meta's messaging limit, how and when bote learnt it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The tier's rolling window.
pub const TIER_WINDOW: Duration = Duration::hours(24);

/// What the tier leaves at `now`: the tier less the unique recipients of
/// the last 24 h and `unindexed` sends not in the send index yet, with
/// those recipients' latest send times, oldest first. The plan and the
/// feeder both ask this, so the dry run says what the send will do.
pub fn capacity(
    store: &Store,
    tier: u64,
    unindexed: u64,
    now: DateTime<Utc>,
) -> Result<(u64, Vec<DateTime<Utc>>), StoreError> {
    let recent = store.unique_recipients_since(now - TIER_WINDOW)?;
    let used = (recent.len() as u64).saturating_add(unindexed);
    Ok((tier.saturating_sub(used), recent))
}

/// How many of `wanted` recipients the rolling 24-h tier lets go now.
pub fn tier_check(
    store: &Store,
    tier: u64,
    wanted: u64,
    now: DateTime<Utc>,
) -> Result<TierCheck, StoreError> {
    let window = TIER_WINDOW;
    let (free, recent) = capacity(store, tier, 0, now)?;
    let used = recent.len() as u64;
    let now_count = wanted.min(free);
    let later = wanted - now_count;
    // Capacity frees up as recipients' latest sends leave the window, oldest
    // first. Before the rest can go, enough of them must have left to bring
    // the count (with the sends made now) down to tier − later: more than
    // `later` when the tier is already over-used.
    let must_leave = (used + wanted).saturating_sub(tier);
    let later_at = (later > 0 && must_leave >= 1 && must_leave <= used)
        .then(|| recent.get((must_leave - 1) as usize).map(|t| *t + window))
        .flatten();
    Ok(TierCheck {
        tier,
        used,
        now: now_count,
        later,
        later_at,
        source: None,
    })
}
