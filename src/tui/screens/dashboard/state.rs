//! The live dashboard's state: what the engine reported, folded in once
//! per frame, and the page of results the table shows.
//!
//! The runner drains the campaign's broadcast receiver with `try_recv` once
//! per frame and hands the batch over with a fresh [`SnapshotData`]; counts
//! and rate come from the snapshot (the engine's truth) while the run is
//! live, so a view that lagged and lost events still shows the right
//! numbers. The results table is never built from those events: it is a
//! page of the campaign's journal ([`ResultsPage`]) asked of the daemon —
//! every recipient of the campaign, not one run's, in its latest state
//! (webhooks move records on), newest change first, of the state filtered
//! for — so a filter always lists what the count beside it says.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::progress::{eta_rate, SendProgress, Standing};
use crate::campaign::{CampaignMeta, CampaignState};
use crate::dispatch::progress::{Progress, SnapshotData};
use crate::tui::action::{Effect, ProgressBatch, ResultsPage};

/// Notices kept.
const NOTICES: usize = 8;
/// Rows a results request starts at a multiple of: scrolling within a
/// window needs no new page.
pub const WINDOW: usize = 50;
/// Rows per results request: the window and the one after it, so the rows
/// from any scroll position down are in the page.
pub const PAGE: usize = 2 * WINDOW;
/// How often the newest results are read again while the table follows:
/// every second, but a large journal less often — each read is a scan in
/// the daemon (about 20 ms per 200,000 recipients, release build), which
/// should stay a small share of a core while the campaign sends.
pub fn refresh_every(audience: u64) -> chrono::Duration {
    chrono::Duration::seconds((audience / 200_000).max(1) as i64)
}

/// The filters `f` cycles through (`None`: every state): every state the
/// counts line names.
pub const FILTERS: [Option<RecipientState>; 10] = [
    None,
    Some(RecipientState::Failed),
    Some(RecipientState::Unknown),
    Some(RecipientState::Accepted),
    Some(RecipientState::Skipped),
    Some(RecipientState::Sent),
    Some(RecipientState::Delivered),
    Some(RecipientState::Read),
    Some(RecipientState::InFlight),
    Some(RecipientState::Pending),
];

/// Which results page: the filter and the first row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    /// Only this state; every state when `None`.
    pub filter: Option<RecipientState>,
    /// Position of the first row, newest first.
    pub from: usize,
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
    /// The page of results last read.
    pub results: Option<Box<ResultsPage>>,
    /// The page asked for and not yet answered (one at a time).
    pub asked: Option<PageKey>,
    /// When results were last asked for.
    pub asked_at: Option<DateTime<Utc>>,
    /// State filter of the table (index into [`FILTERS`]).
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
    pub notices: VecDeque<(DateTime<Utc>, Level, Notice)>,
}

/// A notice as the dashboard keeps it: a message id and its arguments,
/// put into words when drawn (in the language of the moment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The catalog's message id.
    pub id: &'static str,
    /// Named arguments (engine reasons stay as the engine wrote them).
    pub args: Vec<(&'static str, String)>,
    /// A campaign state argument, named in the operator's language.
    pub state: Option<CampaignState>,
}

impl Notice {
    /// A notice with text arguments.
    pub fn of<const N: usize>(id: &'static str, args: [(&'static str, String); N]) -> Self {
        Self {
            id,
            args: args.into(),
            state: None,
        }
    }

    /// A notice naming a campaign state.
    pub fn state(id: &'static str, state: CampaignState) -> Self {
        Self {
            id,
            args: Vec::new(),
            state: Some(state),
        }
    }

    /// Text as is (an error the daemon reported).
    pub fn text(text: String) -> Self {
        Self::of("tui-notice-text", [("text", text)])
    }
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
            results: None,
            asked: None,
            asked_at: None,
            filter: 0,
            scroll: 0,
            throttle: None,
            held: None,
            paused: None,
            finished: None,
            notices: VecDeque::new(),
        }
    }

    /// The counts shown: the engine's snapshot while the run is live; once
    /// it has ended, the journal's as of the last page (webhook statuses
    /// keep arriving after a run).
    pub fn counts(&self) -> Counts {
        match (&self.finished, &self.results) {
            (Some(_), Some(page)) => page.counts,
            _ => self.snapshot.counts,
        }
    }

    /// How far the send has come, by the one definition every view reads.
    pub fn progress(&self) -> SendProgress {
        SendProgress::of(&self.counts(), self.meta.audience, self.meta.eligible)
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

    /// The results page the table needs now.
    pub fn wanted(&self) -> PageKey {
        PageKey {
            filter: self.filter_state(),
            from: self.scroll - self.scroll % WINDOW,
        }
    }

    /// The page last read, if it is the one wanted now.
    pub fn page(&self) -> Option<&ResultsPage> {
        let want = self.wanted();
        self.results
            .as_deref()
            .filter(|p| p.filter == want.filter && p.from == want.from)
    }

    /// Results that pass the filter (as of the last page of that filter).
    pub fn visible_len(&self) -> usize {
        self.results
            .as_deref()
            .filter(|p| p.filter == self.filter_state())
            .map_or(0, |p| p.matching as usize)
    }

    /// Asks for the wanted page, unless one is still on its way.
    pub fn ask(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        if self.asked.is_some() {
            return vec![];
        }
        let key = self.wanted();
        self.asked = Some(key);
        self.asked_at = Some(now);
        vec![Effect::LoadResults {
            id: self.meta.id,
            filter: key.filter,
            from: key.from,
            len: PAGE,
        }]
    }

    /// Asks again when the table follows the newest and the last page is
    /// older than [`refresh_every`]; a table scrolled back holds still.
    pub fn refresh(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let every = refresh_every(self.meta.audience);
        let due = self.asked_at.is_none_or(|t| now - t >= every);
        if self.scroll == 0 && due {
            return self.ask(now);
        }
        vec![]
    }

    /// A results page arrived; if the table has moved on meanwhile (a new
    /// filter, a scroll beyond the window), the page it needs is asked for.
    pub fn answered(&mut self, page: Box<ResultsPage>, now: DateTime<Utc>) -> Vec<Effect> {
        self.asked = None;
        let key = PageKey {
            filter: page.filter,
            from: page.from,
        };
        self.results = Some(page);
        self.scroll = self.scroll.min(self.visible_len().saturating_sub(1));
        if key != self.wanted() {
            return self.ask(now);
        }
        vec![]
    }

    pub(super) fn notice(&mut self, at: DateTime<Utc>, level: Level, text: Notice) {
        self.notices.push_back((at, level, text));
        while self.notices.len() > NOTICES {
            self.notices.pop_front();
        }
    }

    /// Folds one frame's events and snapshot in.
    pub fn apply(&mut self, batch: ProgressBatch, now: DateTime<Utc>) {
        for ev in batch.events {
            match ev {
                Progress::Started { rate, workers, .. } => {
                    self.ceiling = rate;
                    self.workers = workers;
                }
                // The table reads the journal, not these.
                Progress::Recipient(_) => {}
                Progress::Rate {
                    current,
                    ceiling,
                    reason,
                } => {
                    if current < ceiling {
                        self.notice(
                            now,
                            Level::Warn,
                            Notice::of(
                                "tui-notice-slowed",
                                [("rate", current.to_string()), ("reason", reason.clone())],
                            ),
                        );
                        self.throttle = Some((current, reason));
                    } else {
                        self.notice(
                            now,
                            Level::Info,
                            Notice::of("tui-notice-back", [("rate", current.to_string())]),
                        );
                        self.throttle = None;
                    }
                }
                Progress::Held { reason, until } => {
                    self.notice(
                        now,
                        Level::Warn,
                        Notice::of("tui-notice-held", [("reason", reason.clone())]),
                    );
                    self.held = Some((reason, until));
                }
                Progress::Paused { reason } => {
                    self.notice(
                        now,
                        Level::Warn,
                        Notice::of("tui-notice-paused", [("reason", reason.clone())]),
                    );
                    self.paused = Some(reason);
                }
                Progress::Resumed => {
                    self.notice(now, Level::Info, Notice::of("tui-notice-resumed", []));
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
                    self.notice(now, Level::Info, Notice::state("tui-notice-ended", state));
                }
            }
        }
        if batch.lagged {
            self.notice(now, Level::Warn, Notice::of("tui-notice-lagged", []));
        }
        let finished = self.finished.is_some();
        let counts = self.snapshot.counts;
        self.snapshot = batch.snapshot;
        if finished && self.snapshot.counts.total() < counts.total() {
            self.snapshot.counts = counts;
        }
    }
}
