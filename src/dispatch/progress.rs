//! What the engine tells its views: the TUI and the headless CLI subscribe
//! to the same [`Progress`] events and pull the same [`Snapshot`]; neither
//! can block the engine (a slow subscriber lags and re-reads the snapshot).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::{CampaignId, CampaignState};

/// One recipient changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientEvent {
    /// Index in the journal.
    pub index: u32,
    /// The number, masked to its last digits (screens and logs).
    pub phone: String,
    /// New state.
    pub state: RecipientState,
    /// API error code, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    /// Skip / unknown reason, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Request latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u32>,
    /// Attempts so far.
    pub attempts: u32,
    /// When.
    pub at: DateTime<Utc>,
}

/// An engine event (JSON lines in `campaign send --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// Dispatch began (or resumed after a restart).
    Started {
        /// Campaign.
        campaign: CampaignId,
        /// Counts at start.
        counts: Counts,
        /// Ceiling, messages per second.
        rate: u32,
        /// Workers.
        workers: usize,
    },
    /// A recipient's state changed.
    Recipient(RecipientEvent),
    /// The dispatch rate changed (throttling or recovery).
    Rate {
        /// Rate in force.
        current: u32,
        /// Configured ceiling.
        ceiling: u32,
        /// Why.
        reason: String,
    },
    /// Sending waits: quiet hours or the messaging tier.
    Held {
        /// Why.
        reason: String,
        /// Until when.
        until: DateTime<Utc>,
    },
    /// Sending stopped until resumed.
    Paused {
        /// Why (operator, stop-class API error).
        reason: String,
    },
    /// Sending continues.
    Resumed,
    /// The run ended.
    Finished {
        /// Final campaign state.
        state: CampaignState,
        /// Final counts.
        counts: Counts,
    },
}

/// The numbers a view shows, updated by the writer after every group commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotData {
    /// Counts per state.
    pub counts: Counts,
    /// Rate in force.
    pub rate: u32,
    /// Campaign state.
    pub state: Option<CampaignState>,
    /// Why paused / held.
    pub reason: Option<String>,
    /// Sends accepted per second over the last seconds (newest last).
    pub per_second: Vec<u64>,
    /// Workers running (sized from the observed latency under `auto`).
    #[serde(default)]
    pub workers: usize,
}

/// Shared, cheaply cloneable view of a running campaign.
#[derive(Debug, Clone, Default)]
pub struct Snapshot(Arc<Mutex<SnapshotData>>);

impl Snapshot {
    /// A copy of the current data.
    pub fn get(&self) -> SnapshotData {
        match self.0.lock() {
            Ok(d) => d.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Changes the data.
    pub fn update(&self, f: impl FnOnce(&mut SnapshotData)) {
        match self.0.lock() {
            Ok(mut d) => f(&mut d),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}
