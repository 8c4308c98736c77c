//! The campaigns the daemon is running — sending, held or paused in
//! memory — at most one run per campaign. A run outlives every client: a
//! client subscribes to it and may go away; only pause, cancel or the
//! daemon's own shutdown change it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::broadcast;

use crate::audit::AuditLog;
use crate::campaign::{CampaignId, CampaignMeta, CampaignState, Campaigns};
use crate::dispatch::progress::{Progress, Snapshot};
use crate::dispatch::{CampaignHandle, RunState};

/// Why a campaign stopped at shutdown, so the next start continues it.
pub const INTERRUPTED: &str = "the daemon stopped; it continues when the daemon starts again";

/// The running campaigns.
#[derive(Clone, Default)]
pub struct Runs(Arc<Mutex<HashMap<CampaignId, CampaignHandle>>>);

impl Runs {
    fn lock(&self) -> MutexGuard<'_, HashMap<CampaignId, CampaignHandle>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Whether `id` runs here now.
    pub fn is_running(&self, id: CampaignId) -> bool {
        self.lock().contains_key(&id)
    }

    /// How many run.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Pauses `id`; false when it does not run here.
    pub fn pause(&self, id: CampaignId) -> bool {
        self.lock().get(&id).map(CampaignHandle::pause).is_some()
    }

    /// Resumes `id` if it runs here (a no-op when it is not paused); false
    /// when it does not run here.
    pub fn resume(&self, id: CampaignId) -> bool {
        self.lock().get(&id).map(CampaignHandle::resume).is_some()
    }

    /// Cancels `id`; false when it does not run here.
    pub fn cancel(&self, id: CampaignId) -> bool {
        self.lock().get(&id).map(CampaignHandle::cancel).is_some()
    }

    /// Events from now on and the numbers, for a client that attaches.
    pub fn subscribe(&self, id: CampaignId) -> Option<(broadcast::Receiver<Progress>, Snapshot)> {
        self.lock().get(&id).map(|h| (h.subscribe(), h.snapshot()))
    }

    /// The state a running campaign is in right now (held and paused live
    /// in the run, not in the stored meta), with its reason.
    pub fn live_state(&self, id: CampaignId) -> Option<(CampaignState, Option<String>)> {
        let snapshot = self.lock().get(&id).map(CampaignHandle::snapshot)?.get();
        snapshot.state.map(|s| (s, snapshot.reason))
    }

    /// `meta` as a client should see it: held and paused live in the run,
    /// not in the stored meta, so a run that is in either shows it.
    pub fn show_live_state(&self, meta: &mut CampaignMeta) {
        if let Some((state, reason)) = self.live_state(meta.id) {
            if matches!(state, CampaignState::Held | CampaignState::Paused) {
                meta.state = state;
                meta.state_reason = reason;
            }
        }
    }

    /// Adds a started run and reaps it when it ends. Refuses a second run
    /// of the same campaign (the handle is detached again).
    /// Its steps go to `audit`, by `actor`.
    pub fn adopt(
        &self,
        handle: CampaignHandle,
        audit: AuditLog,
        actor: String,
    ) -> Result<(), CampaignHandle> {
        let id = handle.id();
        let mut events = handle.subscribe();
        {
            let mut runs = self.lock();
            if runs.contains_key(&id) {
                return Err(handle);
            }
            runs.insert(id, handle);
        }
        let runs = self.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(Progress::Finished { .. }) | Err(broadcast::error::RecvError::Closed) => {
                        break
                    }
                    Ok(event) => super::trail::audit_run_event(&audit, id, &actor, &event),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                }
            }
            let handle = runs.lock().remove(&id);
            if let Some(h) = handle {
                let snapshot = h.snapshot();
                // From the run's result, not its last event: a lagging
                // subscriber can miss an event, never the end.
                match h.wait().await {
                    Ok(state) => super::trail::audit_run_event(
                        &audit,
                        id,
                        &actor,
                        &Progress::Finished {
                            state,
                            counts: snapshot.get().counts,
                        },
                    ),
                    Err(e) => tracing::error!(campaign = %id, "campaign run failed: {e}"),
                }
            }
        });
        Ok(())
    }

    /// Graceful stop of every run: stop feeding, let requests in flight
    /// settle (bounded by `wait`), put marked-but-unsent recipients back
    /// to pending. A run that was sending is left `sending` with
    /// [`INTERRUPTED`], so the next start continues it; a paused one stays paused.
    pub async fn stop_all(&self, campaigns: &Campaigns, wait: Duration) {
        let handles: Vec<CampaignHandle> = self.lock().drain().map(|(_, h)| h).collect();
        for h in handles {
            let id = h.id();
            let was_paused = h.run_state() == RunState::Paused;
            h.detach();
            match tokio::time::timeout(wait, h.wait()).await {
                Ok(Ok(CampaignState::Paused)) if !was_paused => {
                    if let Ok(Some(mut meta)) = campaigns.get(id) {
                        meta.state = CampaignState::Sending;
                        meta.state_reason = Some(INTERRUPTED.into());
                        if let Err(e) = campaigns.save(&meta) {
                            tracing::error!(campaign = %id, "marking the campaign interrupted: {e}");
                        }
                    }
                    tracing::info!(campaign = %id, at = %Utc::now(), "campaign interrupted by shutdown");
                }
                Ok(Ok(state)) => tracing::info!(campaign = %id, %state, "campaign stopped"),
                Ok(Err(e)) => tracing::error!(campaign = %id, "campaign run failed: {e}"),
                Err(_) => tracing::warn!(campaign = %id, "campaign did not stop in {wait:?}"),
            }
        }
    }
}
