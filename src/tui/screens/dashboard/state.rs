//! The live dashboard's state: what the engine reported, folded in once
//! per frame.
//!
//! The runner drains the campaign's broadcast receiver with `try_recv` once
//! per frame and hands the batch over with a fresh [`SnapshotData`]; counts
//! and rate always come from the snapshot (the engine's truth), so a view
//! that lagged and lost events still shows the right numbers. Per-recipient
//! results go into a bounded ring (the last [`RING`]) for the table.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::campaign::journal::RecipientState;
use crate::campaign::progress::{eta_rate, SendProgress, Standing};
use crate::campaign::{CampaignMeta, CampaignState};
use crate::dispatch::progress::{Progress, SnapshotData};
use crate::tui::action::ProgressBatch;

/// Results kept for the table.
pub const RING: usize = 10_000;
/// Notices kept.
const NOTICES: usize = 8;

/// The filters `f` cycles through (`None`: every state).
pub const FILTERS: [Option<RecipientState>; 8] = [
    None,
    Some(RecipientState::Failed),
    Some(RecipientState::Unknown),
    Some(RecipientState::Accepted),
    Some(RecipientState::Skipped),
    Some(RecipientState::Sent),
    Some(RecipientState::Delivered),
    Some(RecipientState::Read),
];

/// One row of the results table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// Journal index.
    pub index: u32,
    /// Masked number.
    pub phone: String,
    /// New state.
    pub state: RecipientState,
    /// API error code.
    pub code: Option<u32>,
    /// Request latency.
    pub latency_ms: Option<u32>,
    /// Skip / unknown reason.
    pub reason: Option<String>,
}

/// How loud a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Information.
    Info,
    /// Slowed, held or paused.
    Warn,
    /// Stopped by an error.
    Error,
}

/// The dashboard of one campaign.
#[derive(Debug, Clone)]
pub struct DashState {
    /// The campaign as started.
    pub meta: CampaignMeta,
    /// The engine's numbers as of the last frame.
    pub snapshot: SnapshotData,
    /// Configured ceiling, messages per second.
    pub ceiling: u32,
    /// Workers.
    pub workers: usize,
    /// When this view saw it start.
    pub started: DateTime<Utc>,
    /// When this view saw it end.
    pub ended: Option<DateTime<Utc>>,
    /// The last results, oldest first.
    pub ring: VecDeque<ResultRow>,
    /// State filter of the table.
    pub filter: usize,
    /// Rows scrolled back from the newest (0: follow).
    pub scroll: usize,
    /// Throttled: rate in force and why.
    pub throttle: Option<(u32, String)>,
    /// Held: why and until when.
    pub held: Option<(String, DateTime<Utc>)>,
    /// Paused: why.
    pub paused: Option<String>,
    /// How the run ended.
    pub finished: Option<Result<CampaignState, String>>,
    /// Recent notices, newest last.
    pub notices: VecDeque<(DateTime<Utc>, Level, String)>,
}

impl DashState {
    /// A dashboard for a campaign that just started.
    pub fn new(meta: CampaignMeta, ceiling: u32, workers: usize, now: DateTime<Utc>) -> Self {
        Self {
            meta,
            snapshot: SnapshotData::default(),
            ceiling,
            workers,
            started: now,
            ended: None,
            ring: VecDeque::with_capacity(1024),
            filter: 0,
            scroll: 0,
            throttle: None,
            held: None,
            paused: None,
            finished: None,
            notices: VecDeque::new(),
        }
    }

    /// How far the send has come, by the one definition every view reads.
    pub fn progress(&self) -> SendProgress {
        SendProgress::of(
            &self.snapshot.counts,
            self.meta.audience,
            self.meta.eligible,
        )
    }

    /// The campaign state this view last saw: how the run ended, else
    /// paused or held, else sending.
    pub fn campaign_state(&self) -> CampaignState {
        match (&self.finished, &self.paused, &self.held) {
            (Some(Ok(s)), ..) => *s,
            // A run stopped by an error is left paused in the store.
            (Some(Err(_)), ..) | (None, Some(_), _) => CampaignState::Paused,
            (None, None, Some(_)) => CampaignState::Held,
            (None, None, None) => CampaignState::Sending,
        }
    }

    /// The progress in words, as true for the campaign's state.
    pub fn standing(&self) -> Standing {
        self.progress().standing(self.campaign_state())
    }

    /// Seconds left at the observed (else the configured) rate; `None`
    /// while nothing moves or nothing is sending.
    pub fn eta_secs(&self) -> Option<u64> {
        if self.finished.is_some() || self.paused.is_some() {
            return None;
        }
        let s = &self.snapshot;
        self.progress()
            .eta_secs(eta_rate(&s.per_second, s.rate, self.ceiling))
    }

    /// The state filter in force.
    pub fn filter_state(&self) -> Option<RecipientState> {
        FILTERS.get(self.filter).copied().flatten()
    }

    /// Rows of the ring that pass the filter.
    pub fn visible_len(&self) -> usize {
        match self.filter_state() {
            None => self.ring.len(),
            Some(s) => self.ring.iter().filter(|r| r.state == s).count(),
        }
    }

    pub(super) fn notice(&mut self, at: DateTime<Utc>, level: Level, text: String) {
        self.notices.push_back((at, level, text));
        while self.notices.len() > NOTICES {
            self.notices.pop_front();
        }
    }

    /// Folds one frame's events and snapshot in.
    pub fn apply(&mut self, batch: ProgressBatch, now: DateTime<Utc>) {
        let filter = self.filter_state();
        for ev in batch.events {
            match ev {
                Progress::Started { rate, workers, .. } => {
                    self.ceiling = rate;
                    self.workers = workers;
                }
                Progress::Recipient(e) => {
                    if self.scroll > 0 && filter.is_none_or(|s| s == e.state) {
                        self.scroll += 1;
                    }
                    if self.ring.len() == RING {
                        self.ring.pop_front();
                    }
                    self.ring.push_back(ResultRow {
                        index: e.index,
                        phone: e.phone,
                        state: e.state,
                        code: e.code,
                        latency_ms: e.latency_ms,
                        reason: e.reason,
                    });
                }
                Progress::Rate {
                    current,
                    ceiling,
                    reason,
                } => {
                    if current < ceiling {
                        self.notice(now, Level::Warn, format!("slowed to {current}/s: {reason}"));
                        self.throttle = Some((current, reason));
                    } else {
                        self.notice(now, Level::Info, format!("back to {current}/s"));
                        self.throttle = None;
                    }
                }
                Progress::Held { reason, until } => {
                    self.notice(now, Level::Warn, format!("held: {reason}"));
                    self.held = Some((reason, until));
                }
                Progress::Paused { reason } => {
                    self.notice(now, Level::Warn, format!("paused: {reason}"));
                    self.paused = Some(reason);
                }
                Progress::Resumed => {
                    self.notice(now, Level::Info, "resumed".into());
                    self.paused = None;
                    self.held = None;
                }
                Progress::Finished { state, counts } => {
                    self.snapshot.counts = counts;
                    self.finished = Some(Ok(state));
                    self.ended = Some(now);
                    self.paused = None;
                    self.held = None;
                    self.throttle = None;
                    self.notice(now, Level::Info, format!("run ended: {state}"));
                }
            }
        }
        if batch.lagged {
            self.notice(
                now,
                Level::Warn,
                "the view fell behind; some rows are missing (counts stay exact)".into(),
            );
        }
        let finished = self.finished.is_some();
        let counts = self.snapshot.counts;
        self.snapshot = batch.snapshot;
        if finished && self.snapshot.counts.total() < counts.total() {
            self.snapshot.counts = counts;
        }
        self.scroll = self.scroll.min(self.visible_len().saturating_sub(1));
    }
}
