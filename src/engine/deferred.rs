//! `campaign resend ID --deferred`: recipients Meta's per-user marketing
//! cap (131049) deferred are sent again in a later run, and only once 24 h
//! have passed since their deferral — by the engine's clock, so tests move
//! time instead of waiting.

use serde::{Deserialize, Serialize};

use super::ops::{error, refused};
use super::Engine;
use crate::campaign::{CampaignId, CampaignState};
use crate::config::Role;
use crate::service::peer::Caller;
use crate::service::wire::Failure;

/// What `resend --deferred` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredResend {
    /// The campaign.
    pub id: CampaignId,
    /// Recipients put back to pending and being sent now.
    pub requeued: u64,
    /// Recipients still deferred (less than 24 h ago).
    pub waiting: u64,
    /// When the first of those may go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<chrono::DateTime<chrono::Utc>>,
}

impl Engine {
    /// Re-sends the recipients of campaign `id` deferred at least 24 h ago
    /// (131049) in a new run; those deferred later stay deferred. Refused
    /// while the campaign runs, and when none is due yet.
    pub fn resend_deferred(
        &self,
        caller: &Caller,
        id: CampaignId,
    ) -> Result<DeferredResend, Failure> {
        self.may_send(caller)?;
        self.authorize(caller, Role::Operator, "re-sending deferred recipients")?;
        let mut meta = self.campaigns.require(id).map_err(error)?;
        if matches!(
            meta.state,
            CampaignState::Cancelled | CampaignState::Scheduled
        ) {
            return Err(refused(format!(
                "campaign {id} is {}: nothing of it is sent any more",
                meta.state
            )));
        }
        if self.runs().is_running(id) {
            return Err(refused(format!(
                "campaign {id} is running; deferred recipients are sent again in a later run, after it ends"
            )));
        }
        let now = self.now();
        let journal = self.campaigns.journal(id).map_err(error)?;
        let done = journal.requeue_deferred(now, &caller.user).map_err(error)?;
        let out = DeferredResend {
            id,
            requeued: done.requeued,
            waiting: done.waiting,
            next_due: done.next_due,
        };
        if done.requeued == 0 {
            return Err(refused(match done.next_due {
                Some(at) => format!(
                    "campaign {id}: {} deferred recipient(s), none deferred 24 h ago yet; the first may go at {}",
                    done.waiting,
                    self.config.ui.minute(at)
                ),
                None => format!("campaign {id} has no deferred recipients"),
            }));
        }
        if meta.state == CampaignState::Finished {
            meta.state = CampaignState::Paused;
            meta.state_reason = Some(format!(
                "{} deferred recipient(s) requeued by {}",
                done.requeued, caller.user
            ));
            meta.finished_at = None;
            self.campaigns.save(&meta).map_err(error)?;
        }
        self.audit_campaign(
            &caller.user,
            crate::audit::Action::DeferredRequeued,
            id,
            serde_json::json!({ "requeued": done.requeued, "waiting": done.waiting }),
        )?;
        tracing::info!(campaign = %id, requeued = done.requeued, waiting = done.waiting, actor = %caller.user, "deferred recipients requeued");
        self.run(id, &caller.user)?;
        Ok(out)
    }
}
