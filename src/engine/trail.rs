//! What the engine writes to the audit trail (G4, G12, G13): role refusals,
//! campaign steps, exports, the settings in force. Consent changes are
//! recorded by the store itself, whoever makes them.

use serde_json::json;

use super::ops::error;
use super::Engine;
use crate::audit::{Action, AuditLog, Record};
use crate::campaign::CampaignId;
use crate::config::Role;
use crate::dispatch::progress::Progress;
use crate::service::peer::Caller;
use crate::service::wire::Failure;

/// How a campaign is named in the trail.
pub fn campaign_subject(id: CampaignId) -> String {
    format!("campaign:{id}")
}

/// The actor of steps the daemon takes on its own (timers, webhooks, runs).
pub const DAEMON_ACTOR: &str = "bote";

/// The `meta` key holding the sending settings last recorded as in force.
const SETTINGS_KEY: &str = "audit_settings";

impl Engine {
    /// Refuses unless `caller` has at least `needed`; every refusal is
    /// recorded with who asked for what (G12).
    pub fn authorize(&self, caller: &Caller, needed: Role, what: &str) -> Result<(), Failure> {
        caller.require(needed, what).map_err(|message| {
            let record = Record::new(Action::RoleRefused, &caller.user)
                .details(json!({
                    "uid": caller.uid,
                    "role": caller.role.map(|r| r.to_string()),
                    "needed": needed.to_string(),
                    "request": what,
                }))
                .at(self.now());
            if let Err(e) = self.store.audit().record(record) {
                tracing::error!("recording a refused request: {e}");
            }
            Failure::Refused(message)
        })
    }

    /// Appends one step by `actor` at the engine's now.
    pub(crate) fn audit(
        &self,
        actor: &str,
        action: Action,
        subject: Option<String>,
        details: serde_json::Value,
    ) -> Result<(), Failure> {
        let mut record = Record::new(action, actor).details(details).at(self.now());
        record.subject = subject;
        self.store.audit().record(record).map_err(error)?;
        // On disk before the step answers.
        self.store.flush().map_err(error)
    }

    /// Records a step of campaign `id` by `actor`.
    pub(crate) fn audit_campaign(
        &self,
        actor: &str,
        action: Action,
        id: CampaignId,
        details: serde_json::Value,
    ) -> Result<(), Failure> {
        self.audit(actor, action, Some(campaign_subject(id)), details)
    }

    /// Records the daemon's start and, when they differ from the last ones
    /// recorded, the sending settings now in force (G13: a change of rate,
    /// quiet hours, tier or account is a processing decision too).
    pub fn audit_start(&self) -> Result<(), Failure> {
        self.audit(
            DAEMON_ACTOR,
            Action::DaemonStarted,
            None,
            json!({
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "mode": self.mode(),
            }),
        )?;
        let c = &self.config;
        let settings = json!({
            "mode": self.mode(),
            "api_version": c.api.version,
            "phone_number_id": c.api.phone_number_id,
            "rate": c.send.rate,
            "quiet_hours": c.send.quiet_hours.map(|q| q.to_string()),
            "messaging_tier": c.api.messaging_tier,
            "processor": c.compliance.processor,
            "dpa_signed_at": c.compliance.dpa_signed_at,
        });
        let meta = self.store.db().open_tree("meta").map_err(error)?;
        let encoded = settings.to_string();
        let before = meta.get(SETTINGS_KEY).map_err(error)?;
        if before.as_deref() != Some(encoded.as_bytes()) {
            let before: Option<serde_json::Value> =
                before.and_then(|b| serde_json::from_slice(&b).ok());
            self.audit(
                DAEMON_ACTOR,
                Action::SettingsChanged,
                None,
                json!({ "before": before, "after": settings }),
            )?;
            meta.insert(SETTINGS_KEY, encoded.as_bytes())
                .map_err(error)?;
        }
        Ok(())
    }
}

/// Records what a run does on its own: starting, pausing for a cause of
/// its own (a stop-class answer, a store failure), ending.
pub(super) fn audit_run_event(audit: &AuditLog, id: CampaignId, actor: &str, event: &Progress) {
    let (action, actor, details) = match event {
        Progress::Started {
            counts,
            rate,
            workers,
            ..
        } => (
            Action::CampaignStarted,
            actor,
            json!({ "counts": counts, "rate": rate, "workers": workers }),
        ),
        Progress::Paused { reason } if reason != crate::dispatch::OPERATOR_PAUSE => (
            Action::CampaignPaused,
            DAEMON_ACTOR,
            json!({ "reason": reason }),
        ),
        Progress::Finished { state, counts } => (
            Action::CampaignFinished,
            DAEMON_ACTOR,
            json!({ "state": state, "counts": counts }),
        ),
        _ => return,
    };
    let record = Record::new(action, actor)
        .subject(campaign_subject(id))
        .details(details);
    if let Err(e) = audit.record(record) {
        tracing::error!(campaign = %id, "recording a campaign step: {e}");
    }
}

/// A plan as the trail records it: what, for which topic, how many, and
/// how many excluded for each reason (never who).
pub fn plan_json(plan: &crate::audience::Plan, list: Option<&str>) -> serde_json::Value {
    let excluded: serde_json::Map<String, serde_json::Value> = plan
        .reasons()
        .into_iter()
        .map(|(reason, n)| (reason.to_string(), n.into()))
        .collect();
    json!({
        "template": plan.template.name,
        "language": plan.template.language,
        "category": plan.template.category,
        "topic": plan.request.topic,
        "list": list,
        "eligible": plan.eligible.len(),
        "excluded": excluded,
    })
}
