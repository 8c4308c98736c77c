//! What the views read from the engine, served by the daemon like every
//! other operation: the set-up a screen is drawn with, the home overview,
//! a page of a campaign's journal, a page of its results (newest change
//! first, by state), and the full dry run.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::ops::error;
use super::Engine;
use crate::audience::{Plan, PlanRequest};
use crate::campaign::journal::{Counts, RecipientRecord, RecipientState};
use crate::campaign::{CampaignId, CampaignMeta};
use crate::config::Role;
use crate::consent::store::TopicTotals;
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::template::{Lint, Template};

/// The configuration and catalog a view is drawn with, as the daemon has them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Setup {
    /// `sandbox` or `live`.
    pub mode: String,
    /// What the mode means, for the banner.
    pub mode_line: String,
    /// Send ceiling, messages per second.
    pub rate: u32,
    /// Dispatcher workers.
    pub workers: usize,
    /// Unique recipients per rolling 24 h.
    pub tier: u64,
    /// Configured topics.
    pub topics: Vec<String>,
    /// The catalog with each template's findings (G7, G8).
    pub templates: Vec<(Template, Vec<Lint>)>,
    /// The operator's zone (`[ui] timezone`), for every time the view shows.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The language `[ui] language` names, if it does (else the client's
    /// environment decides).
    #[serde(default)]
    pub language: Option<String>,
}

/// Campaigns with counts, consent totals (configured topics first), tier use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Home {
    /// Campaigns, as stored, with their journal counts.
    pub campaigns: Vec<(CampaignMeta, Counts)>,
    /// Consent totals per topic.
    pub totals: Vec<(String, TopicTotals)>,
    /// Unique recipients messaged in the last 24 h.
    pub tier_used: u64,
    /// The campaigns the daemon is running now (sending, held or paused in memory).
    pub running: Vec<CampaignId>,
}

/// A page of a campaign's journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalPage {
    /// The campaign, as stored.
    pub meta: CampaignMeta,
    /// Counts per state.
    pub counts: Counts,
    /// Index of the first row.
    pub from: usize,
    /// The rows.
    pub rows: Vec<(u32, RecipientRecord)>,
}

/// A page of a campaign's results: the whole journal in its latest state,
/// most recently changed first, optionally of one state (what the
/// dashboard lists).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResultsPage {
    /// The campaign, as stored (its live state if it runs).
    pub meta: CampaignMeta,
    /// Counts per state, read by the same scan as the rows.
    pub counts: Counts,
    /// The state asked for; `None`: every state.
    pub filter: Option<RecipientState>,
    /// Records of that state (every record without a filter).
    pub matching: u64,
    /// Position of the first row among them, newest first.
    pub from: usize,
    /// The rows.
    pub rows: Vec<(u32, RecipientRecord)>,
    /// The actual cost so far, beside `meta.estimate` (the dashboard's line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::campaign::ActualCost>,
}

impl Engine {
    /// What a campaign achieved: funnel, opt-outs, failures by reason,
    /// estimated against actual cost.
    pub fn report(
        &self,
        caller: &Caller,
        id: CampaignId,
    ) -> Result<crate::campaign::report::Report, Failure> {
        self.authorize(caller, Role::Viewer, "looking at campaigns")?;
        let mut campaign = self.campaigns.require(id).map_err(error)?;
        self.runs.show_live_state(&mut campaign);
        let journal = self.campaigns.journal(id).map_err(error)?;
        crate::campaign::report::report(
            &campaign,
            &journal,
            &self.store,
            &self.config.pricing,
            self.now(),
        )
        .map_err(error)
    }

    /// The set-up a view is drawn with.
    pub fn setup(&self, caller: &Caller) -> Result<Setup, Failure> {
        self.authorize(caller, Role::Viewer, "opening the TUI")?;
        let c = &self.config;
        Ok(Setup {
            mode: self.mode().into(),
            mode_line: if self.is_sandbox() {
                "local simulator · nothing leaves this machine".into()
            } else {
                format!(
                    "{} · phone number {}",
                    c.api.base_url, c.api.phone_number_id
                )
            },
            rate: c.send.rate,
            workers: crate::dispatch::EngineConfig::from_config(c, self.actor()).workers,
            tier: c.api.messaging_tier,
            topics: c.consent.topics.clone(),
            templates: {
                // Synced templates too, with what their merge found, in
                // their latest category and status (what the plan uses).
                let (_, notes) = self.effective_catalog();
                let catalog = self.routed_catalog();
                catalog
                    .list()
                    .into_iter()
                    .map(|t| {
                        let mut lints = t.lint(&c.consent);
                        if let Some(n) = notes.get(&(t.name.clone(), t.language.clone())) {
                            lints.extend(n.iter().cloned());
                        }
                        (t.clone(), lints)
                    })
                    .collect()
            },
            timezone: Some(c.ui.timezone.name().to_string()),
            language: c.ui.language.map(|l| l.tag().to_string()),
        })
    }

    /// The home overview.
    pub fn home(&self, caller: &Caller) -> Result<Home, Failure> {
        self.authorize(caller, Role::Viewer, "reading campaigns")?;
        let mut campaigns = Vec::new();
        for mut meta in self.campaigns.list().map_err(error)? {
            self.runs.show_live_state(&mut meta);
            let counts = self
                .campaigns
                .journal(meta.id)
                .and_then(|j| j.counts())
                .map_err(error)?;
            campaigns.push((meta, counts));
        }
        let running = campaigns
            .iter()
            .map(|(m, _)| m.id)
            .filter(|id| self.runs.is_running(*id))
            .collect();
        let mut stored = self.store.totals().map_err(error)?;
        let mut totals: Vec<(String, TopicTotals)> = self
            .config
            .consent
            .topics
            .iter()
            .map(|t| (t.clone(), stored.remove(t).unwrap_or_default()))
            .collect();
        totals.extend(stored);
        let since = self.now() - Duration::hours(24);
        let tier_used = self
            .store
            .unique_recipients_since(since)
            .map_err(error)?
            .len() as u64;
        Ok(Home {
            campaigns,
            totals,
            tier_used,
            running,
        })
    }

    /// Rows `from..from + len` of a campaign's journal, with its counts.
    pub fn journal_page(
        &self,
        caller: &Caller,
        id: CampaignId,
        from: usize,
        len: usize,
    ) -> Result<JournalPage, Failure> {
        self.authorize(caller, Role::Viewer, "reading campaigns")?;
        let meta = self.campaigns.require(id).map_err(error)?;
        let journal = self.campaigns.journal(id).map_err(error)?;
        let counts = journal.counts().map_err(error)?;
        let rows = journal
            .iter()
            .skip(from)
            .take(len)
            .collect::<Result<Vec<_>, _>>()
            .map_err(error)?;
        Ok(JournalPage {
            meta,
            counts,
            from,
            rows,
        })
    }

    /// Rows `from..from + len` (at most [`MAX_PAGE`](crate::campaign::MAX_PAGE)) of a campaign's
    /// results in state `filter` (every state when `None`), newest change
    /// first, with the counts of the same scan.
    pub fn results(
        &self,
        caller: &Caller,
        id: CampaignId,
        filter: Option<RecipientState>,
        from: usize,
        len: usize,
    ) -> Result<ResultsPage, Failure> {
        self.authorize(caller, Role::Viewer, "reading campaigns")?;
        let mut meta = self.campaigns.require(id).map_err(error)?;
        self.runs.show_live_state(&mut meta);
        let journal = self.campaigns.journal(id).map_err(error)?;
        let page = journal.newest(filter, from, len).map_err(error)?;
        // Only delivered messages cost anything: no second scan before one is.
        let delivered =
            page.counts.get(RecipientState::Delivered) + page.counts.get(RecipientState::Read);
        let cost = if delivered > 0 {
            Some(crate::campaign::actual_cost(&journal, &self.config.pricing).map_err(error)?)
        } else {
            None
        };
        Ok(ResultsPage {
            cost,
            meta,
            counts: page.counts,
            filter,
            matching: page.matching,
            from,
            rows: page.rows,
        })
    }

    /// The whole dry run: every recipient with its preview, every exclusion.
    pub fn plan_full(&self, caller: &Caller, request: &PlanRequest) -> Result<Plan, Failure> {
        self.authorize(caller, Role::Viewer, "planning")?;
        let plan = self.plan(request).map_err(error)?;
        let list = request.list.as_ref().map(|p| p.display().to_string());
        self.audit(
            &caller.user,
            crate::audit::Action::Plan,
            None,
            super::trail::plan_json(&plan, list.as_deref()),
        )?;
        Ok(plan)
    }
}
