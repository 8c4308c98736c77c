//! How a run is steered from inside: paused, ended paused by a
//! stop-class answer, halted by a store error — never overriding a cancel —
//! and the feeder's claims on the recipients it handed out.

use super::progress::Progress;
use super::{CampaignState, RunState, Shared};

impl Shared {
    /// Pauses with `reason` unless the operator already paused, detached
    /// or cancelled (a cancel is final); whether it paused.
    pub(super) fn pause_with(&self, reason: &str) -> bool {
        let paused = self.control.send_if_modified(|s| {
            let running = *s == RunState::Running;
            if running {
                *s = RunState::Paused;
            }
            running
        });
        if paused {
            self.snapshot
                .update(|s| s.reason = Some(reason.to_string()));
        }
        paused
    }

    /// Ends the run paused with `reason`: a stop-class answer (a paused
    /// template, an expired token) needs the operator before anything can
    /// be sent, and a resume starts a fresh run that reads the renewed
    /// token. A run kept alive paused would leave an attached client
    /// waiting for its end forever. Never overrides a cancel or a detach.
    pub(super) fn stop_with(&self, reason: &str) -> bool {
        let stopped = self.control.send_if_modified(|s| {
            let live = matches!(*s, RunState::Running | RunState::Paused);
            if live {
                *s = RunState::Detached;
            }
            live
        });
        if stopped {
            self.snapshot.update(|s| {
                s.reason = Some(reason.to_string());
                s.state = Some(CampaignState::Paused);
            });
            let _ = self.events.send(Progress::Paused {
                reason: reason.to_string(),
            });
        }
        stopped
    }

    /// Ends the run because the store failed: whatever waits (the
    /// feeder on a full queue, workers in a back-off, the views) is let go,
    /// and the campaign ends paused with `reason`.
    pub(super) fn halt(&self, reason: &str) {
        tracing::error!(campaign = %self.meta.id, %reason, "ending the run");
        let mut halted = self.halted.lock().unwrap_or_else(|p| p.into_inner());
        halted.get_or_insert_with(|| reason.to_string());
        drop(halted);
        self.control.send_if_modified(|s| {
            let change = *s != RunState::Cancelled && *s != RunState::Detached;
            if change {
                *s = RunState::Detached;
            }
            change
        });
    }

    pub(super) fn halted(&self) -> Option<String> {
        self.halted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Gives up the feeder's claims on `indices` (settled, or never sent).
    pub(super) fn release(&self, indices: impl IntoIterator<Item = u32>) {
        let mut claimed = self.claimed.lock().unwrap_or_else(|p| p.into_inner());
        for i in indices {
            claimed.remove(&i);
        }
    }

    /// Recipients fed and not settled yet.
    pub(super) fn outstanding(&self) -> usize {
        self.claimed.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
