//! What a campaign is apart from its recipients: its id, lifecycle state and meta record.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Config, QuietHours};
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
    /// Created, waiting for its start time (the daemon starts it).
    Scheduled,
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
            Self::Scheduled => "scheduled",
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
    /// The sending settings in force when it was created; every run uses
    /// these, whatever the config says later. `None`: a campaign of an
    /// older bote, which runs with the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<SendSettings>,
    /// When to start, and the time after which it is not sent at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// The plan's cost estimate, frozen with it (shown beside the actual
    /// cost). `None`: a campaign of an older bote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<crate::audience::CostEstimate>,
}

/// A campaign's sending window (`campaign send --at … --not-after …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Start no earlier than this.
    pub at: DateTime<Utc>,
    /// Send nothing after this: a campaign that could not start (or
    /// finish) by then is cancelled, with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<DateTime<Utc>>,
}

/// The settings a campaign freezes when it is created (the template and
/// the topic are frozen in [`CampaignMeta`] itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendSettings {
    /// Ceiling, messages per second.
    pub rate: u32,
    /// Recipients' quiet hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// Unique recipients per rolling 24 h (the messaging tier).
    pub tier: u64,
}

impl SendSettings {
    /// The settings `config` gives now.
    pub fn from_config(config: &Config) -> Self {
        Self {
            rate: config.send.rate,
            quiet_hours: config.send.quiet_hours,
            tier: config.api.messaging_tier,
        }
    }

    /// `config` with these settings in force (what a run of the campaign uses).
    pub fn apply(&self, config: &Config) -> Config {
        let mut c = config.clone();
        c.send.rate = self.rate;
        c.send.quiet_hours = self.quiet_hours;
        c.api.messaging_tier = self.tier;
        c
    }

    /// How `now` (the config's settings today) differs from these, one
    /// line per setting, for the operator to see; empty when nothing changed.
    pub fn changes(&self, now: &Self) -> Vec<String> {
        let quiet = |q: Option<QuietHours>| q.map_or_else(|| "none".to_string(), |q| q.to_string());
        let mut out = Vec::new();
        if self.rate != now.rate {
            out.push(format!(
                "rate: the campaign keeps {}/s; the config now says {}/s",
                self.rate, now.rate
            ));
        }
        if self.quiet_hours != now.quiet_hours {
            out.push(format!(
                "quiet hours: the campaign keeps {}; the config now says {}",
                quiet(self.quiet_hours),
                quiet(now.quiet_hours)
            ));
        }
        if self.tier != now.tier {
            out.push(format!(
                "messaging tier: the campaign keeps {}; the config now says {}",
                self.tier, now.tier
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_settings_override_the_config_and_name_what_changed() {
        let mut config = Config::default();
        config.send.rate = 80;
        config.send.quiet_hours = "21:00-08:00".parse().ok();
        config.api.messaging_tier = 1000;
        let frozen = SendSettings::from_config(&config);
        let mut later = Config::default();
        later.send.rate = 120;
        later.api.messaging_tier = 1000;
        let applied = frozen.apply(&later);
        assert_eq!(applied.send.rate, 80);
        assert_eq!(applied.send.quiet_hours, frozen.quiet_hours);
        assert_eq!(applied.api.messaging_tier, 1000);
        let changes = frozen.changes(&SendSettings::from_config(&later));
        assert_eq!(
            changes,
            vec![
                "rate: the campaign keeps 80/s; the config now says 120/s".to_string(),
                "quiet hours: the campaign keeps 21:00-08:00; the config now says none".to_string(),
            ]
        );
        assert!(frozen.changes(&frozen).is_empty());
        let json = serde_json::to_string(&frozen).expect("json");
        assert_eq!(
            json,
            r#"{"rate":80,"quiet_hours":"21:00-08:00","tier":1000}"#
        );
        assert_eq!(
            serde_json::from_str::<SendSettings>(&json).expect("back"),
            frozen
        );
    }
}
