//! The engine's operations as the daemon serves them: each takes the
//! [`Caller`] the kernel vouched for, checks its role, acts, and answers a
//! value the client prints. The live-send gate, the confirmation rule and
//! the resend-unknown rule exist here once; the CLI and the TUI ask.

use chrono::Utc;
use serde::Serialize;

use super::{trail, Engine};
use crate::audience::{Plan, PlanRequest, PlanSummary};
use crate::audit::Action;
use crate::campaign::export::{self, Format};
use crate::campaign::journal::Counts;
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::config::Role;
use crate::consent::import::ImportReport;
use crate::consent::{ConsentEvent, Contact};
use crate::service::peer::Caller;
use crate::service::wire::{Confirmation, Failure};

/// A campaign with its counts per recipient state.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CampaignStatus {
    /// The campaign.
    pub campaign: CampaignMeta,
    /// Recipients per state.
    pub counts: Counts,
    /// Whether the daemon is running it now (sending, held or paused in memory).
    pub running: bool,
    /// How today's config differs from the settings the campaign froze
    /// (which it keeps): shown, never applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_changes: Vec<String>,
    /// The actual cost so far (delivered, charged), beside the plan's
    /// estimate in `campaign.estimate`; only `campaign status` reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<crate::campaign::ActualCost>,
}

/// Who the daemon is and who the caller is.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Hello {
    /// The store directory.
    pub store: String,
    /// `sandbox` or `live`.
    pub mode: String,
    /// The one-line banner every human output starts with.
    pub banner: String,
    /// The daemon's process id.
    pub pid: u32,
    /// The caller's OS user.
    pub user: String,
    /// The caller's role, if any.
    pub role: Option<String>,
    /// Where the daemon's webhook receiver listens, if it hosts one.
    #[serde(default)]
    pub webhook: Option<String>,
}

/// One number's state and history.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ConsentLookup {
    /// E.164.
    pub phone: String,
    /// The contact, if stored.
    pub contact: Option<Contact>,
    /// Its events.
    pub history: Vec<ConsentEvent>,
    /// When it was erased, if it was.
    pub suppressed_since: Option<chrono::DateTime<Utc>>,
    /// What each consent wording its topics name told the person (G7),
    /// as `[consent.wording]` declares it (`None`: not declared).
    #[serde(default)]
    pub told: std::collections::BTreeMap<String, Option<crate::config::Wording>>,
}

/// An import's report and, if asked for, the rejected rows as CSV.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ImportResult {
    /// The summary.
    pub report: ImportReport,
    /// The rejects CSV, when asked for.
    pub rejects_csv: Option<String>,
}

/// The result of a revocation.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Revoked {
    /// E.164.
    pub phone: String,
    /// Topics changed.
    pub topics: usize,
}

pub(super) fn refused(m: impl Into<String>) -> Failure {
    Failure::Refused(m.into())
}

pub(super) fn error(e: impl std::fmt::Display) -> Failure {
    Failure::Error(e.to_string())
}

impl Engine {
    /// Who and where.
    pub fn hello(&self, caller: &Caller) -> Hello {
        Hello {
            store: self.store.dir().display().to_string(),
            mode: self.mode().into(),
            banner: self.banner(),
            pid: std::process::id(),
            user: caller.user.clone(),
            role: caller.role.map(|r| r.to_string()),
            webhook: self.receiver().map(|r| r.url()),
        }
    }

    /// `sandbox` or `live`.
    pub fn mode(&self) -> &'static str {
        if self.is_sandbox() {
            "sandbox"
        } else {
            "live"
        }
    }

    /// The banner naming mode and store.
    pub fn banner(&self) -> String {
        if self.is_sandbox() {
            format!(
                "SANDBOX — local simulator, nothing leaves this machine (store: {})",
                self.store.dir().display()
            )
        } else {
            format!(
                "LIVE — {} phone number {} (store: {})",
                self.config.api.base_url,
                self.config.api.phone_number_id,
                self.store.dir().display()
            )
        }
    }

    /// Live sending needs the operator role and a processing agreement on
    /// record (G12, G16); the sandbox needs neither.
    pub fn may_send(&self, caller: &Caller) -> Result<(), Failure> {
        if self.is_sandbox() {
            return Ok(());
        }
        self.authorize(caller, Role::Operator, "live sending")?;
        let c = &self.config.compliance;
        if c.dpa_signed_at.is_none() || c.processor.is_none() {
            return Err(refused(
                "live sending needs a processing agreement on record (G16): set [compliance] \
                 processor and dpa_signed_at in bote.toml",
            ));
        }
        if self.config.api.phone_number_id.is_empty() {
            return Err(error(
                "live sending needs [api] phone_number_id in bote.toml",
            ));
        }
        Ok(())
    }

    /// The confirmation rule: `--yes`, or in the sandbox a yes, live the
    /// number of recipients typed back.
    pub fn check_confirmation(
        &self,
        eligible: usize,
        confirm: &Confirmation,
    ) -> Result<(), Failure> {
        if confirm.yes {
            return Ok(());
        }
        let Some(typed) = confirm.typed.as_deref().map(str::trim) else {
            return Err(refused(
                "confirmation needed: pass --yes to send without a terminal",
            ));
        };
        let ok = if self.is_sandbox() {
            matches!(typed, "y" | "Y" | "yes" | "j" | "ja")
        } else {
            typed == eligible.to_string()
        };
        if ok {
            Ok(())
        } else {
            Err(refused(format!(
                "not confirmed (the audience is {eligible} now); nothing was sent"
            )))
        }
    }

    /// The dry run, as the CLI prints it.
    pub fn plan_summary(
        &self,
        caller: &Caller,
        request: &PlanRequest,
        list_name: Option<&str>,
    ) -> Result<PlanSummary, Failure> {
        self.authorize(caller, Role::Viewer, "planning")?;
        let plan = self.plan(request).map_err(error)?;
        self.audit(
            &caller.user,
            Action::Plan,
            None,
            trail::plan_json(&plan, list_name),
        )?;
        Ok(summary(&plan, list_name, 5, 10, 4))
    }

    /// Plans again (consent may have changed since the dry run), checks
    /// the gate and the confirmation, creates the campaign and starts it.
    pub fn send(
        &self,
        caller: &Caller,
        request: &PlanRequest,
        list_name: Option<&str>,
        confirm: &Confirmation,
        schedule: Option<crate::campaign::Schedule>,
    ) -> Result<(PlanSummary, CampaignMeta), Failure> {
        self.may_send(caller)?;
        self.authorize(caller, Role::Operator, "sending")?;
        if let Some(s) = &schedule {
            self.check_schedule(s)?;
        }
        let plan = self.plan(request).map_err(error)?;
        if plan.eligible.is_empty() {
            return Err(refused("nobody in this audience may receive the message"));
        }
        if let Some(intended) = plan.template.topic_mismatch(&request.topic) {
            if !request.ack_topic {
                return Err(refused(format!(
                    "{} is written for topic {intended}, not {}: pass --ack-topic (TUI: a on the dry run) to send it anyway; nothing was sent",
                    plan.template.name, request.topic
                )));
            }
        }
        self.check_confirmation(plan.eligible.len(), confirm)?;
        let mut meta = self.create_by(&plan, &caller.user).map_err(error)?;
        self.audit_campaign(
            &caller.user,
            Action::CampaignCreated,
            meta.id,
            trail::plan_json(&plan, list_name),
        )?;
        match schedule {
            Some(s) if s.at > self.now() => {
                meta.state = CampaignState::Scheduled;
                meta.schedule = Some(s);
                self.campaigns.save(&meta).map_err(error)?;
                self.store.flush().map_err(error)?;
                self.audit_campaign(
                    &caller.user,
                    Action::CampaignScheduled,
                    meta.id,
                    serde_json::json!({ "at": s.at, "not_after": s.not_after }),
                )?;
                tracing::info!(campaign = %meta.id, actor = %caller.user, at = %s.at, not_after = ?s.not_after, recipients = meta.eligible, "campaign created and scheduled");
            }
            _ => {
                if let Some(s) = schedule {
                    // Due already: keep the window, start now.
                    meta.schedule = Some(s);
                    self.campaigns.save(&meta).map_err(error)?;
                }
                self.run(meta.id, &caller.user)?;
                meta = self.campaigns.require(meta.id).map_err(error)?;
                tracing::info!(campaign = %meta.id, actor = %caller.user, recipients = meta.eligible, "campaign created and started");
            }
        }
        Ok((summary(&plan, list_name, 3, 5, 4), meta))
    }

    /// Continues a campaign: resumes it in memory if it is paused there,
    /// else starts it again (in-flight records of a crash become unknown).
    /// Unknown outcomes are sent again only when asked.
    pub fn resume(
        &self,
        caller: &Caller,
        id: CampaignId,
        resend_unknown: bool,
    ) -> Result<CampaignStatus, Failure> {
        self.may_send(caller)?;
        self.authorize(caller, Role::Operator, "resuming")?;
        let meta = self.campaigns.require(id).map_err(error)?;
        if let (CampaignState::Scheduled, Some(s)) = (meta.state, meta.schedule) {
            return Err(refused(format!(
                "campaign {id} is scheduled for {}; the daemon starts it then (cancel it to drop it)",
                self.config.ui.minute(s.at)
            )));
        }
        if resend_unknown {
            if self.runs.is_running(id) {
                return Err(refused(format!(
                    "campaign {id} is running; pause it and let it stop before re-sending unknown outcomes"
                )));
            }
            let n = self.requeue_unknown(id, &caller.user)?;
            self.audit_campaign(
                &caller.user,
                Action::UnknownRequeued,
                id,
                serde_json::json!({ "requeued": n }),
            )?;
            tracing::info!(campaign = %id, n, actor = %caller.user, "unknown outcomes requeued as asked");
        }
        let resumed_in_memory = self.runs.resume(id);
        if !resumed_in_memory {
            self.run(id, &caller.user)?;
        }
        self.audit_campaign(
            &caller.user,
            Action::CampaignResumed,
            id,
            serde_json::json!({ "restarted": !resumed_in_memory }),
        )?;
        self.status(caller, id)
    }

    fn requeue_unknown(&self, id: CampaignId, actor: &str) -> Result<u64, Failure> {
        let now = self.now();
        let journal = self.campaigns.journal(id).map_err(error)?;
        journal.repair(now).map_err(error)?;
        let n = journal.requeue_unknown(now, actor).map_err(error)?;
        let mut meta = self.campaigns.require(id).map_err(error)?;
        if n > 0 && meta.state == CampaignState::Finished {
            meta.state = CampaignState::Paused;
            meta.state_reason = Some(format!("{n} unknown outcome(s) requeued by {actor}"));
            meta.finished_at = None;
            self.campaigns.save(&meta).map_err(error)?;
        }
        Ok(n)
    }

    /// Pauses a running campaign (it stays in the daemon, resumable).
    pub fn pause(&self, caller: &Caller, id: CampaignId) -> Result<CampaignStatus, Failure> {
        self.authorize(caller, Role::Operator, "pausing")?;
        if !self.runs.pause(id) {
            return Err(error(format!("campaign {id} is not running")));
        }
        self.audit_campaign(
            &caller.user,
            Action::CampaignPaused,
            id,
            serde_json::json!({ "reason": crate::dispatch::OPERATOR_PAUSE }),
        )?;
        self.status(caller, id)
    }

    /// Cancels for good: a running campaign is told to stop and skip the
    /// rest; a stopped one has its pending recipients skipped at once.
    pub fn cancel_by(&self, caller: &Caller, id: CampaignId) -> Result<CampaignStatus, Failure> {
        self.authorize(caller, Role::Operator, "cancelling")?;
        let running = self.runs.cancel(id);
        if !running {
            self.campaigns
                .cancel(id, &caller.user, self.now())
                .map_err(error)?;
        }
        let status = self.status(caller, id)?;
        self.audit_campaign(
            &caller.user,
            Action::CampaignCancelled,
            id,
            serde_json::json!({ "was_running": running, "counts": status.counts }),
        )?;
        Ok(status)
    }

    /// Every campaign with counts.
    pub fn campaign_list(&self, caller: &Caller) -> Result<Vec<CampaignStatus>, Failure> {
        self.authorize(caller, Role::Viewer, "listing campaigns")?;
        let mut out = Vec::new();
        for meta in self.campaigns.list().map_err(error)? {
            let counts = self
                .campaigns
                .journal(meta.id)
                .and_then(|j| j.counts())
                .map_err(error)?;
            out.push(self.status_of(meta, counts));
        }
        Ok(out)
    }

    /// One campaign with counts.
    pub fn status(&self, caller: &Caller, id: CampaignId) -> Result<CampaignStatus, Failure> {
        self.authorize(caller, Role::Viewer, "looking at campaigns")?;
        let campaign = self.campaigns.require(id).map_err(error)?;
        let counts = self
            .campaigns
            .journal(id)
            .and_then(|j| j.counts())
            .map_err(error)?;
        let cost = self
            .campaigns
            .journal(id)
            .and_then(|j| crate::campaign::actual_cost(&j, &self.config.pricing))
            .map_err(error)?;
        let mut status = self.status_of(campaign, counts);
        status.cost = Some(cost);
        Ok(status)
    }

    /// The stored campaign with the state of its run, if it runs here.
    fn status_of(&self, mut campaign: CampaignMeta, counts: Counts) -> CampaignStatus {
        let running = self.runs.is_running(campaign.id);
        self.runs.show_live_state(&mut campaign);
        CampaignStatus {
            running,
            config_changes: self.settings_changes(&campaign),
            campaign,
            counts,
            cost: None,
        }
    }

    /// Per-recipient results, rendered; the client writes them where the
    /// operator chose.
    pub fn export(
        &self,
        caller: &Caller,
        id: CampaignId,
        format: Format,
        mask: bool,
    ) -> Result<(u64, String), Failure> {
        self.authorize(caller, Role::Operator, "exporting results")?;
        self.campaigns.require(id).map_err(error)?;
        let journal = self.campaigns.journal(id).map_err(error)?;
        let mut out = Vec::new();
        let numbers = if mask {
            export::Numbers::Masked
        } else {
            export::Numbers::Full
        };
        let n = export::export(&journal, format, &self.config.pricing, numbers, &mut out)
            .map_err(error)?;
        self.audit_campaign(
            &caller.user,
            Action::CampaignExport,
            id,
            serde_json::json!({ "rows": n, "format": format, "masked": mask }),
        )?;
        tracing::info!(campaign = %id, rows = n, actor = %caller.user, "exported campaign results");
        Ok((n, String::from_utf8_lossy(&out).into_owned()))
    }
}

/// A plan's summary, the list named as the operator gave it.
fn summary(plan: &Plan, list_name: Option<&str>, a: usize, b: usize, c: usize) -> PlanSummary {
    let mut s = plan.summary(a, b, c);
    if let Some(name) = list_name {
        s.list = Some(name.to_string());
    }
    s
}
