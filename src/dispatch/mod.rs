//! The dispatcher: feeder → bounded queue → N workers → one writer.
//!
//! ```text
//!  journal ──► feeder ──(marks a batch in_flight, one durable write)──► queue (≤ batch)
//!                                                                        │
//!        limiter (ceiling, AIMD) ◄── worker × N ◄─────────────────────────┘
//!                                      │ re-check consent, send, retry
//!                                      ▼
//!                                   writer ── group commit ──► journal, store
//!                                      │                         (revocations, send index)
//!                                      └──► Progress events + Snapshot ──► TUI / CLI
//! ```
//!
//! At-most-once (invariant 2): a record is durably `in_flight` before its
//! request leaves. The feeder marks half a batch at a time, once the queue
//! (capacity: one batch) has room for it, and flushes (sled flushes are
//! global) before handing it out; a worker takes its next job only after the
//! writer wrote its previous outcome. So at every flush at most the queue
//! plus the new chunk (≤ batch) plus the jobs in workers' hands are
//! `in_flight`: a crash leaves at most batch + workers — which
//! [`Journal::repair`] turns into `unknown`, never into a re-send.

mod feeder;
pub mod hold;
pub mod limiter;
pub mod messenger;
pub mod progress;
mod worker;
mod writer;

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
}

/// Engine settings, from `[send]`, `[api]` and `[consent]`.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Ceiling, messages per second.
    pub rate: u32,
    /// Workers.
    pub workers: usize,
    /// Retries of clearly-not-accepted sends.
    pub max_retries: u32,
    /// The in-flight budget: queued plus newly marked recipients never
    /// exceed it (marked half a batch per durable write).
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
    /// From the configuration; `auto` concurrency is Little's law with the
    /// API's typical 300 ms latency and 20 % headroom.
    pub fn from_config(config: &Config, actor: &str) -> Self {
        let workers = match config.send.concurrency {
            Concurrency::Fixed(n) => n as usize,
            Concurrency::Auto => {
                ((f64::from(config.send.rate) * 0.3 * 1.2).ceil() as usize).clamp(4, 1024)
            }
        };
        Self {
            rate: config.send.rate,
            workers,
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

/// A job: one recipient, marked in flight.
pub(crate) struct Job {
    index: u32,
    record: RecipientRecord,
}

/// What a worker hands the writer.
pub(crate) struct Outcome {
    index: u32,
    record: RecipientRecord,
    /// The in-flight record the feeder wrote, which the outcome replaces.
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
    drained: Notify,
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

    /// Stops sending until [`CampaignHandle::resume`].
    pub fn pause(&self) {
        self.shared.control.send_replace(RunState::Paused);
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

    /// Stops sending and ends the run; the campaign stays resumable.
    pub fn detach(&self) {
        self.shared.control.send_replace(RunState::Detached);
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
        drained: Notify::new(),
    });
    let task = tokio::spawn(run(Arc::clone(&shared), campaigns.clone(), job_tx));
    Ok(CampaignHandle {
        shared,
        task,
        first: std::sync::Mutex::new(Some(first)),
    })
}

async fn run(
    shared: Arc<Shared>,
    campaigns: Campaigns,
    job_tx: mpsc::Sender<Job>,
) -> Result<CampaignState, DispatchError> {
    let counts = shared.journal.counts()?;
    shared.snapshot.update(|s| {
        s.counts = counts;
        s.rate = shared.limiter.current();
        s.state = Some(CampaignState::Sending);
    });
    let _ = shared.events.send(Progress::Started {
        campaign: shared.meta.id,
        counts,
        rate: shared.config.rate,
        workers: shared.config.workers,
    });
    let (out_tx, out_rx) = mpsc::channel(shared.config.workers.max(1) * 2);
    let writer = tokio::spawn(writer::run(Arc::clone(&shared), out_rx));
    let workers: Vec<_> = (0..shared.config.workers)
        .map(|_| tokio::spawn(worker::run(Arc::clone(&shared), out_tx.clone())))
        .collect();
    drop(out_tx);
    let fed = feeder::feed(&shared, &job_tx).await;
    drop(job_tx);
    for w in workers {
        let _ = w.await;
    }
    let written = writer.await.unwrap_or(Ok(()));
    fed?;
    written?;
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
