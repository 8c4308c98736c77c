//! The dispatcher: feeder → bounded queue → N workers → one writer.
//!
//! ```text
//!  journal ──► feeder ──(pending records, claimed)──► queue (≤ batch)
//!                                                       │
//!   limiter (pace) ◄── worker × N (sized by latency) ◄──┘
//!                        │ re-check consent, mark in_flight, group flush,
//!                        │ limiter (window), send, retry
//!                        ▼
//!                     writer ── group commit ──► journal, store
//!                        │                         (revocations, send index)
//!                        └──► Progress events + Snapshot ──► TUI / CLI
//! ```
//!
//! At-most-once (invariant 2): a record is durably `in_flight` before its
//! request leaves. A worker marks its recipient right before the request,
//! after its pacing permit, and waits for the store's flusher — one flush
//! serves every worker that marked meanwhile (group commit) — and takes its
//! next job only after the writer wrote its previous outcome, which that
//! next mark's flush makes durable too. So at every flush each worker holds
//! at most one `in_flight` record, and it is one whose request is about to
//! leave or is on the wire: a crash leaves at most one unknown per worker —
//! which [`Journal::repair`] turns into `unknown`, never into a re-send —
//! and everything queued is still `pending`. A recipient waiting to retry
//! after a clear refusal is written back to `pending` for the wait (the
//! feeder's claim keeps it from being fed twice) and re-marked before the
//! next attempt.

mod control;
mod feeder;
pub mod hold;
pub mod limiter;
pub mod messenger;
mod pool;
pub mod progress;
mod worker;
mod writer;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;
use tokio::sync::{broadcast, mpsc, watch, Mutex, Notify};

use crate::campaign::journal::RecipientRecord;
use crate::campaign::{CampaignError, CampaignId, CampaignMeta, CampaignState, Campaigns, Journal};
use crate::config::{Concurrency, Config};
use crate::consent::{Store, StoreError};
use crate::phone::Phone;
use crate::template::{Params, Template};
use limiter::Limiter;
use progress::{Progress, Snapshot};
pub use worker::DEFERRED_REASON;

/// Why a run is paused when an operator paused it (bote's own pauses name their cause).
pub const OPERATOR_PAUSE: &str = "paused by the operator";

/// What the API answered, as far as the engine must act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Taken; delivery comes by webhook.
    Accepted {
        /// The message id.
        wamid: String,
    },
    /// Clearly not taken; may be retried after `after`.
    Retry {
        /// Error code (or HTTP status for code-less 5xx).
        code: u32,
        /// Suggested wait.
        after: Duration,
        /// The number's throughput is exceeded (130429): slow everyone down.
        throttle: bool,
        /// App-level limit (4, 80007): pause everyone for `after`.
        pause_all: bool,
    },
    /// Final for this recipient in this campaign.
    Failed {
        /// Error code.
        code: u32,
        /// 131050: the person stopped marketing (G5): revoke their consent.
        revoke: bool,
    },
    /// Meta's per-user marketing cap (131049): deferred, not failed; the
    /// operator may send it again in a later run, ≥ 24 h on.
    Deferred {
        /// Error code.
        code: u32,
    },
    /// Retrying cannot help; pause the campaign and tell the operator.
    Stop {
        /// Error code.
        code: u32,
        /// What the API said.
        message: String,
    },
    /// The request may have reached the API (timeout, lost connection).
    Unknown {
        /// What happened.
        reason: String,
    },
}

/// The port the engine sends through (the Cloud API client, in production
/// and against the simulator alike).
pub trait Messenger: Send + Sync + 'static {
    /// Sends one template message.
    fn send<'a>(
        &'a self,
        to: Phone,
        template: &'a Template,
        params: &'a Params,
        callback_data: &'a str,
    ) -> BoxFuture<'a, Reply>;

    /// Reads renewable credentials again before a run (a token file
    /// rewritten after an expiry); true if they changed.
    fn renew_credentials(&self) -> Result<bool, crate::cloud::CloudError> {
        Ok(false)
    }

    /// The category a send of `template` is routed by now, when the
    /// messenger knows a newer one than the template's (re-categorised).
    fn latest_category(&self, _template: &Template) -> Option<crate::template::Category> {
        None
    }
}

/// Why a dispatch could not run.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The store or journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The campaign is missing or cannot run in its state.
    #[error(transparent)]
    Campaign(#[from] CampaignError),
    /// The campaign's frozen settings can never send (a bote before the
    /// config refused them froze a tier of 0 or all-day quiet hours).
    #[error("campaign {id} cannot send with its frozen settings: {problem}; cancel it and plan it again")]
    Unsendable {
        /// The campaign.
        id: crate::campaign::CampaignId,
        /// What is wrong.
        problem: String,
    },
    /// The credentials could not be read again before the run.
    #[error("cannot renew the access token: {0}")]
    Credentials(#[from] crate::cloud::CloudError),
    /// The store failed mid-run (a full disk): the run ended, paused.
    #[error("{0}")]
    Halted(String),
}

/// Engine settings, from `[send]`, `[api]` and `[consent]`.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Ceiling, messages per second.
    pub rate: u32,
    /// Workers: the fixed number, or with `auto_workers` the most there
    /// may be.
    pub workers: usize,
    /// Size the pool from the observed latency (Little's law), at most
    /// `workers`.
    pub auto_workers: bool,
    /// Retries of clearly-not-accepted sends.
    pub max_retries: u32,
    /// Pending recipients read ahead into the workers' queue (not marked:
    /// a crash leaves them pending).
    pub batch_size: usize,
    /// Recipients' quiet hours.
    pub quiet_hours: Option<crate::config::QuietHours>,
    /// Unique recipients per rolling 24 h.
    pub tier: u64,
    /// Who runs it (G13).
    pub actor: String,
    /// "Now" for holds (quiet hours, the tier window): the engine's clock.
    pub clock: crate::clock::Clock,
}

impl EngineConfig {
    /// From the configuration; `auto` concurrency sizes the pool from the
    /// latency observed during the run ([`pool`]), at most enough for the
    /// rate at a 2 s latency.
    pub fn from_config(config: &Config, actor: &str) -> Self {
        let (workers, auto_workers) = match config.send.concurrency {
            Concurrency::Fixed(n) => (n as usize, false),
            Concurrency::Auto => (pool::most_workers(config.send.rate), true),
        };
        Self {
            rate: config.send.rate,
            workers,
            auto_workers,
            max_retries: config.send.max_retries,
            batch_size: config.send.batch(),
            quiet_hours: config.send.quiet_hours,
            tier: config.api.messaging_tier,
            actor: actor.into(),
            clock: crate::clock::Clock::System,
        }
    }
}

/// The operator's wish for a running campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Send.
    Running,
    /// Stop sending; stay ready to resume.
    Paused,
    /// Stop sending and return (the campaign stays paused in the store).
    Detached,
    /// Skip everyone not yet sent.
    Cancelled,
}

/// A job: one pending recipient, claimed by the feeder.
pub(crate) struct Job {
    index: u32,
    record: RecipientRecord,
}

/// What a worker hands the writer.
pub(crate) struct Outcome {
    index: u32,
    record: RecipientRecord,
    /// The record as the worker last wrote it (in flight, or pending
    /// while waiting to retry), which the outcome replaces; `None`: the
    /// worker wrote nothing.
    marked: Option<RecipientRecord>,
    revoke: bool,
    stop: Option<String>,
    /// Resolved once the outcome is written (durable at the next flush).
    durable: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Shared by feeder, workers and writer.
pub(crate) struct Shared {
    store: Arc<Store>,
    journal: Journal,
    meta: CampaignMeta,
    messenger: Arc<dyn Messenger>,
    limiter: Limiter,
    config: EngineConfig,
    control: watch::Sender<RunState>,
    events: broadcast::Sender<Progress>,
    snapshot: Snapshot,
    queue: Mutex<mpsc::Receiver<Job>>,
    /// Recipients fed and not yet settled: a rescan of the journal (after
    /// a pause, a stop) must not feed one twice while it is still pending
    /// in the journal.
    claimed: std::sync::Mutex<HashSet<u32>>,
    /// Woken when the writer settled outcomes (and released their claims).
    settled: Notify,
    /// The worker pool's size and what it observes.
    pool: pool::Pool,
    /// Why the run had to end (the store failed), if it did.
    halted: std::sync::Mutex<Option<String>>,
    /// The lowest index put back to pending since the feeder last looked
    /// (`u32::MAX`: none), so that it goes back for exactly those instead
    /// of rescanning the whole journal.
    requeued: AtomicU32,
    /// How many of this run's marked recipients the send index already
    /// accounts for: their send is written to it, or they ended without
    /// one. The feeder counts the rest against the messaging tier.
    indexed: AtomicU64,
}

/// A running campaign, for the views.
pub struct CampaignHandle {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<Result<CampaignState, DispatchError>>,
    /// Subscribed before the run started, so the first view misses nothing.
    first: std::sync::Mutex<Option<broadcast::Receiver<Progress>>>,
}

impl CampaignHandle {
    /// Events: the first subscriber gets every event since the start, later
    /// ones from the moment they subscribe (and the snapshot for the rest).
    pub fn subscribe(&self) -> broadcast::Receiver<Progress> {
        let first = match self.first.lock() {
            Ok(mut f) => f.take(),
            Err(p) => p.into_inner().take(),
        };
        first.unwrap_or_else(|| self.shared.events.subscribe())
    }

    /// The current numbers.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot.clone()
    }

    /// The campaign.
    pub fn id(&self) -> CampaignId {
        self.shared.meta.id
    }

    /// Stops sending until [`CampaignHandle::resume`] (not after a cancel).
    pub fn pause(&self) {
        self.shared.pause_with(OPERATOR_PAUSE);
    }

    /// Continues after a pause.
    pub fn resume(&self) {
        self.shared.control.send_if_modified(|s| {
            let paused = *s == RunState::Paused;
            if paused {
                *s = RunState::Running;
            }
            paused
        });
    }

    /// Skips everyone not yet sent.
    pub fn cancel(&self) {
        self.shared.control.send_replace(RunState::Cancelled);
    }

    /// Stops sending and ends the run; the campaign stays resumable (a
    /// cancel stays a cancel).
    pub fn detach(&self) {
        self.shared.control.send_if_modified(|s| {
            let change = *s != RunState::Cancelled;
            if change {
                *s = RunState::Detached;
            }
            change
        });
    }

    /// The operator's current wish.
    pub fn run_state(&self) -> RunState {
        *self.shared.control.borrow()
    }

    /// Waits for the run to end.
    pub async fn wait(self) -> Result<CampaignState, DispatchError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(DispatchError::Store(StoreError::Corrupt {
                key: "dispatcher".into(),
                message: format!("dispatcher task failed: {e}"),
            })),
        }
    }
}

/// Starts (or resumes) sending campaign `id`. Records left `in_flight` by a
/// crash are first turned into `unknown`.
pub fn start(
    store: Arc<Store>,
    campaigns: &Campaigns,
    id: CampaignId,
    messenger: Arc<dyn Messenger>,
    config: EngineConfig,
) -> Result<CampaignHandle, DispatchError> {
    let mut meta = campaigns.require(id)?;
    // One run per campaign: a second one over the same journal would
    // feed the same pending recipients twice.
    let Some(claim) = store.claim_run(id.0) else {
        return Err(CampaignError::State {
            id,
            state: meta.state,
            hint: "it is being sent already; watch it, pause it or cancel it",
        }
        .into());
    };
    let journal = campaigns.journal(id)?;
    // A finished campaign runs again only for what the operator requeued.
    let requeued = meta.state == CampaignState::Finished && !journal.pending_from(0, 1)?.is_empty();
    match meta.state {
        CampaignState::Finished if requeued => {}
        CampaignState::Finished | CampaignState::Cancelled => {
            return Err(CampaignError::State {
                id,
                state: meta.state,
                hint: "nothing left to send",
            }
            .into())
        }
        CampaignState::Planned
        | CampaignState::Scheduled
        | CampaignState::Paused
        | CampaignState::Held
        | CampaignState::Sending => {}
    }
    journal.repair(Utc::now())?;
    meta.state = CampaignState::Sending;
    meta.state_reason = None;
    meta.started_at.get_or_insert_with(Utc::now);
    meta.finished_at = None;
    campaigns.save(&meta)?;
    let (events, first) = broadcast::channel(8192);
    let (control, _) = watch::channel(RunState::Running);
    let (job_tx, job_rx) = mpsc::channel(config.batch_size.max(1));
    let shared = Arc::new(Shared {
        limiter: Limiter::new(config.rate),
        pool: pool::Pool::new(config.rate, config.workers, config.auto_workers),
        store,
        journal,
        meta,
        messenger,
        config,
        control,
        requeued: AtomicU32::new(u32::MAX),
        indexed: AtomicU64::new(0),
        events,
        snapshot: Snapshot::default(),
        queue: Mutex::new(job_rx),
        claimed: std::sync::Mutex::new(HashSet::new()),
        settled: Notify::new(),
        halted: std::sync::Mutex::new(None),
    });
    let task = tokio::spawn(run(Arc::clone(&shared), campaigns.clone(), job_tx, claim));
    Ok(CampaignHandle {
        shared,
        task,
        first: std::sync::Mutex::new(Some(first)),
    })
}

/// How often the pool is resized to the latency observed.
const RESIZE_EVERY: Duration = Duration::from_millis(100);

/// Runs the campaign and always ends with a `Finished` event: a view that
/// waits for it must never wait forever, whatever failed.
async fn run(
    shared: Arc<Shared>,
    campaigns: Campaigns,
    job_tx: mpsc::Sender<Job>,
    claim: crate::consent::store::RunClaim,
) -> Result<CampaignState, DispatchError> {
    let result = send_all(&shared, &campaigns, job_tx).await;
    if let Err(e) = &result {
        let reason = shared
            .halted()
            .unwrap_or_else(|| format!("the run stopped: {e}"));
        tracing::error!(campaign = %shared.meta.id, %reason, "campaign run failed");
        // Best effort: on a full disk this write may fail too; the next
        // start repairs and continues a campaign left "sending".
        if let Ok(Some(mut meta)) = campaigns.get(shared.meta.id) {
            meta.state = CampaignState::Paused;
            meta.state_reason = Some(reason.clone());
            let _ = campaigns.save(&meta);
        }
        let counts = shared
            .journal
            .counts()
            .unwrap_or(shared.snapshot.get().counts);
        shared.snapshot.update(|s| {
            s.counts = counts;
            s.state = Some(CampaignState::Paused);
            s.reason = Some(reason.clone());
        });
        let _ = shared.events.send(Progress::Paused { reason });
        let _ = shared.events.send(Progress::Finished {
            state: CampaignState::Paused,
            counts,
        });
    }
    drop(claim);
    result
}

async fn send_all(
    shared: &Arc<Shared>,
    campaigns: &Campaigns,
    job_tx: mpsc::Sender<Job>,
) -> Result<CampaignState, DispatchError> {
    let counts = shared.journal.counts()?;
    shared.snapshot.update(|s| {
        s.counts = counts;
        s.rate = shared.limiter.current();
        s.state = Some(CampaignState::Sending);
    });
    let first_workers = shared.pool.resize(shared.limiter.current());
    let _ = shared.events.send(Progress::Started {
        campaign: shared.meta.id,
        counts,
        rate: shared.config.rate,
        workers: first_workers,
    });
    let (out_tx, out_rx) = mpsc::channel(shared.config.workers.max(1) * 2);
    let writer = tokio::spawn(writer::run(Arc::clone(shared), out_rx));
    let mut workers = tokio::task::JoinSet::new();
    let grow = |workers: &mut tokio::task::JoinSet<()>, n: usize| {
        shared.pool.started(n);
        for _ in 0..n {
            workers.spawn(worker::run(Arc::clone(shared), out_tx.clone()));
        }
        shared.snapshot.update(|s| s.workers = shared.pool.live());
    };
    grow(&mut workers, first_workers);
    let feeder = {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let fed = feeder::feed(&shared, &job_tx).await;
            if let Err(e) = &fed {
                shared.halt(&format!("cannot read the journal: {e}"));
            }
            fed
        })
    };
    tokio::pin!(feeder);
    let mut resize = tokio::time::interval(RESIZE_EVERY);
    resize.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let fed = loop {
        tokio::select! {
            fed = &mut feeder => break fed,
            _ = resize.tick() => {
                let more = shared.pool.resize(shared.limiter.current());
                if more > 0 {
                    grow(&mut workers, more);
                } else {
                    shared.snapshot.update(|s| s.workers = shared.pool.live());
                }
                // Workers that retired are done; reap them as we go.
                while workers.try_join_next().is_some() {}
            }
        }
    };
    drop(out_tx);
    while workers.join_next().await.is_some() {}
    let written = writer.await.unwrap_or_else(|e| {
        Err(DispatchError::Store(StoreError::Corrupt {
            key: "dispatcher".into(),
            message: format!("the writer task failed: {e}"),
        }))
    });
    fed.unwrap_or_else(|e| {
        Err(DispatchError::Store(StoreError::Corrupt {
            key: "dispatcher".into(),
            message: format!("the feeder task failed: {e}"),
        }))
    })?;
    written?;
    if let Some(reason) = shared.halted() {
        return Err(DispatchError::Halted(reason));
    }
    let mut meta = campaigns
        .get(shared.meta.id)?
        .unwrap_or_else(|| shared.meta.clone());
    let counts = shared.journal.counts()?;
    let run_state = *shared.control.borrow();
    if run_state == RunState::Cancelled {
        shared
            .journal
            .skip_pending(Utc::now(), "campaign cancelled", &shared.config.actor)?;
    }
    let counts = if run_state == RunState::Cancelled {
        shared.journal.counts()?
    } else {
        counts
    };
    meta.state = match run_state {
        RunState::Cancelled => CampaignState::Cancelled,
        _ if counts.open() == 0 => CampaignState::Finished,
        _ => CampaignState::Paused,
    };
    meta.state_reason = match meta.state {
        CampaignState::Paused => shared
            .snapshot
            .get()
            .reason
            .or_else(|| Some("stopped by the operator".into())),
        _ => None,
    };
    if matches!(
        meta.state,
        CampaignState::Finished | CampaignState::Cancelled
    ) {
        meta.finished_at = Some(Utc::now());
    }
    campaigns.save(&meta)?;
    shared.journal.flush().await?;
    shared.snapshot.update(|s| {
        s.counts = counts;
        s.state = Some(meta.state);
    });
    let _ = shared.events.send(Progress::Finished {
        state: meta.state,
        counts,
    });
    Ok(meta.state)
}
