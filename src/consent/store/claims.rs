//! Which campaigns run in this process: one run per campaign at a time.
//!
//! The daemon is the one owner of the store, so a claim held here is a claim
//! on the campaign: a second start of a campaign that is sending (a resume
//! racing the schedule timer, two clients) is refused instead of running
//! two dispatchers over one journal.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::Store;

/// The campaigns with a run in this process.
#[derive(Debug, Default)]
pub(super) struct Running(Mutex<HashSet<u32>>);

impl Running {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<u32>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A campaign's run, held until dropped.
#[derive(Debug)]
pub struct RunClaim {
    store: Arc<Store>,
    campaign: u32,
}

impl Drop for RunClaim {
    fn drop(&mut self) {
        self.store.running.set().remove(&self.campaign);
    }
}

impl Store {
    /// Claims the run of campaign `campaign`; `None` while another run of it
    /// holds the claim.
    pub fn claim_run(self: &Arc<Self>, campaign: u32) -> Option<RunClaim> {
        self.running.set().insert(campaign).then(|| RunClaim {
            store: Arc::clone(self),
            campaign,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_per_campaign_until_the_claim_is_dropped() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Arc::new(Store::open(dir.path()).expect("store"));
        let first = store.claim_run(7).expect("free");
        assert!(store.claim_run(7).is_none(), "second run refused");
        let other = store.claim_run(8).expect("another campaign is free");
        drop(first);
        assert!(store.claim_run(7).is_some(), "free again");
        drop(other);
    }
}
