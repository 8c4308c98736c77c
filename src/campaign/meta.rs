//! What a campaign is apart from its recipients: its id, lifecycle state and meta record.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::template::Template;

/// A campaign's short, stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CampaignId(pub u32);

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for CampaignId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim_start_matches(['c', 'C'])
            .parse()
            .map(Self)
            .map_err(|_| format!("{s:?} is not a campaign id (see `bote campaign list`)"))
    }
}

/// The campaign's own lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Created, nothing sent yet.
    Planned,
    /// Workers are sending.
    Sending,
    /// Stopped by the operator, a stop-class API error, or a crash.
    Paused,
    /// Waiting for quiet hours to end or tier capacity.
    Held,
    /// Stopped for good; the rest were skipped.
    Cancelled,
    /// Every recipient is decided.
    Finished,
}

impl fmt::Display for CampaignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Planned => "planned",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Held => "held",
            Self::Cancelled => "cancelled",
            Self::Finished => "finished",
        })
    }
}

/// Everything about a campaign but its recipients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignMeta {
    /// Id.
    pub id: CampaignId,
    /// The template, frozen as planned.
    pub template: Template,
    /// Topic (G6).
    pub topic: String,
    /// Locale filter of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// List file of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// `sandbox` or `live`.
    pub mode: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it (G13).
    pub created_by: String,
    /// Lifecycle state.
    pub state: CampaignState,
    /// Why it is paused, held or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// Everyone in the journal.
    pub audience: u64,
    /// Eligible at planning time.
    pub eligible: u64,
    /// First send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When every recipient was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The store's consent epoch the plan saw ([`Store::consent_epoch`]).
    ///
    /// [`Store::consent_epoch`]: crate::consent::Store::consent_epoch
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_epoch: Option<u64>,
}
