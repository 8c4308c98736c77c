//! The runner's hands: performs [`Effect`]s and owns the running
//! campaign's [`CampaignHandle`].
//!
//! Store jobs go to the blocking pool and come back as [`Msg`]s on a
//! channel; engine controls (pause, resume, cancel, detach) are calls on
//! the handle and return at once. Once per frame [`Executor::drain`] empties
//! the campaign's broadcast receiver with `try_recv` — a bounded amount of
//! work, never a wait — so the engine is never slowed by the view.

use std::sync::Arc;

use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{broadcast, mpsc};

use super::action::{Action, Effect, PlanView, ProgressBatch};
use super::jobs::{self, Ctx};
use crate::campaign::{CampaignId, CampaignMeta};
use crate::dispatch::progress::{Progress, Snapshot, SnapshotData};
use crate::dispatch::CampaignHandle;

/// Events taken per frame at most (a frame at 1000 mps holds ~33).
const MAX_EVENTS_PER_FRAME: usize = 20_000;

/// What background work reports.
pub enum Msg {
    /// A finished job.
    Action(Action),
    /// A campaign started sending (subscribed right after the start).
    Started(Box<(CampaignMeta, CampaignHandle, broadcast::Receiver<Progress>)>),
}

struct Running {
    id: CampaignId,
    handle: CampaignHandle,
    events: broadcast::Receiver<Progress>,
    snapshot: Snapshot,
    last: Option<SnapshotData>,
}

/// Performs effects; holds the running campaign.
pub struct Executor {
    ctx: Ctx,
    tx: mpsc::UnboundedSender<Msg>,
    running: Option<Running>,
    /// Jobs started whose message has not been accepted yet.
    pub pending: usize,
    /// The app asked to leave.
    pub quit: bool,
}

impl Executor {
    /// An executor reporting on `tx`.
    pub fn new(ctx: Ctx, tx: mpsc::UnboundedSender<Msg>) -> Self {
        Self {
            ctx,
            tx,
            running: None,
            pending: 0,
            quit: false,
        }
    }

    /// The job context (engine, clock).
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Whether a campaign is being sent by this process.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Performs every effect.
    pub fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            self.perform(e);
        }
    }

    fn spawn_job(&mut self, f: impl FnOnce(&Ctx) -> Msg + Send + 'static) {
        self.pending += 1;
        let ctx = self.ctx.clone();
        let tx = self.tx.clone();
        tokio::task::spawn_blocking(move || {
            let _ = tx.send(f(&ctx));
        });
    }

    fn perform(&mut self, effect: Effect) {
        let handle = self.running.as_ref().map(|r| &r.handle);
        match effect {
            Effect::Pause => handle.into_iter().for_each(CampaignHandle::pause),
            Effect::Resume => handle.into_iter().for_each(CampaignHandle::resume),
            Effect::Cancel => handle.into_iter().for_each(CampaignHandle::cancel),
            Effect::Detach => handle.into_iter().for_each(CampaignHandle::detach),
            Effect::Quit => self.quit = true,
            Effect::CreateAndStart(plan) => {
                if self.refuse_second() {
                    return;
                }
                self.spawn_job(move |ctx| start(ctx, StartWhat::Plan(plan)));
            }
            Effect::Start {
                id,
                requeue_unknown,
            } => {
                if self.refuse_second() {
                    return;
                }
                self.spawn_job(move |ctx| start(ctx, StartWhat::Id(id, requeue_unknown)));
            }
            job => self.spawn_job(move |ctx| {
                Msg::Action(
                    jobs::perform(ctx, job)
                        .unwrap_or_else(|| Action::Failed("internal: effect is not a job".into())),
                )
            }),
        }
    }

    fn refuse_second(&mut self) -> bool {
        if let Some(r) = &self.running {
            let _ = self.tx.send(Msg::Action(Action::Failed(format!(
                "campaign {} is sending; one campaign at a time",
                r.id
            ))));
            self.pending += 1;
            return true;
        }
        false
    }

    /// Stops a campaign still running (resumable) and waits briefly for it.
    pub async fn shutdown(&mut self) {
        if let Some(run) = self.running.take() {
            run.handle.detach();
            let _ =
                tokio::time::timeout(std::time::Duration::from_secs(10), run.handle.wait()).await;
        }
    }

    /// Turns a background message into the action for `update`.
    pub fn accept(&mut self, msg: Msg) -> Action {
        self.pending = self.pending.saturating_sub(1);
        match msg {
            Msg::Action(a) => a,
            Msg::Started(started) => {
                let (meta, handle, events) = *started;
                self.running = Some(Running {
                    id: meta.id,
                    snapshot: handle.snapshot(),
                    handle,
                    events,
                    last: None,
                });
                Action::Started(Box::new(meta))
            }
        }
    }

    /// This frame's engine events and snapshot, if anything changed. When
    /// the run has ended, its handle is awaited in the background and
    /// reported as [`Action::RunEnded`].
    pub fn drain(&mut self) -> Option<Action> {
        let run = self.running.as_mut()?;
        let mut batch = ProgressBatch::default();
        let mut closed = false;
        while batch.events.len() < MAX_EVENTS_PER_FRAME {
            match run.events.try_recv() {
                Ok(ev) => {
                    let last = matches!(ev, Progress::Finished { .. });
                    batch.events.push(ev);
                    if last {
                        closed = true;
                        break;
                    }
                }
                Err(TryRecvError::Empty) => break,
                // Lost events: the snapshot below still has the true counts.
                Err(TryRecvError::Lagged(_)) => batch.lagged = true,
                Err(TryRecvError::Closed) => {
                    closed = true;
                    break;
                }
            }
        }
        batch.snapshot = run.snapshot.get();
        let changed =
            !batch.events.is_empty() || batch.lagged || run.last.as_ref() != Some(&batch.snapshot);
        run.last = Some(batch.snapshot.clone());
        if closed {
            if let Some(run) = self.running.take() {
                self.pending += 1;
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let result = run.handle.wait().await.map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Action(Action::RunEnded { id: run.id, result }));
                });
            }
        }
        changed.then(|| Action::Progress(Box::new(batch)))
    }
}

enum StartWhat {
    Plan(Arc<PlanView>),
    Id(CampaignId, bool),
}

/// Creates (from a plan) or resumes a campaign and starts sending; runs on
/// the blocking pool, inside the runtime, so the dispatcher can spawn.
fn start(ctx: &Ctx, what: StartWhat) -> Msg {
    let fail = |e: String| Msg::Action(Action::Failed(e));
    if let Err(e) = jobs::may_send(ctx) {
        return fail(format!("refused: {e}"));
    }
    let e = &ctx.engine;
    let now = ctx.clock.now();
    let id = match what {
        StartWhat::Plan(view) => {
            if view.plan.eligible.is_empty() {
                return fail("nobody in this audience may receive the message".into());
            }
            let mode = if ctx.sandbox { "sandbox" } else { "live" };
            match e.campaigns.create(&view.plan, mode, &ctx.actor, now) {
                Ok(meta) => meta.id,
                Err(err) => return fail(format!("creating the campaign: {err}")),
            }
        }
        StartWhat::Id(id, requeue) => {
            if requeue {
                match requeue_unknown(ctx, id) {
                    Ok(n) => {
                        tracing::info!(campaign = %id, n, "unknown outcomes requeued by the operator")
                    }
                    Err(err) => return fail(format!("requeueing unknown outcomes: {err}")),
                }
            }
            id
        }
    };
    let handle = match e.start(id) {
        Ok(h) => h,
        Err(err) => return fail(format!("starting campaign {id}: {err}")),
    };
    let events = handle.subscribe();
    match e.campaigns.get(id) {
        Ok(Some(meta)) => {
            tracing::info!(campaign = %id, sandbox = ctx.sandbox, "campaign started from the TUI");
            Msg::Started(Box::new((meta, handle, events)))
        }
        _ => {
            handle.detach();
            fail(format!("campaign {id} vanished from the store"))
        }
    }
}

/// Requeues a campaign's unknown outcomes (the operator asked twice). A
/// finished campaign is reopened as paused, since the dispatcher refuses to
/// start a finished one and `Journal::requeue_unknown` leaves the meta as it
/// is — an engine gap this works around with the public API.
fn requeue_unknown(ctx: &Ctx, id: CampaignId) -> Result<u64, String> {
    let e = &ctx.engine;
    let now = ctx.clock.now();
    let journal = e.campaigns.journal(id).map_err(|x| x.to_string())?;
    journal.repair(now).map_err(|x| x.to_string())?;
    let n = journal
        .requeue_unknown(now, &ctx.actor)
        .map_err(|x| x.to_string())?;
    let mut meta = e.campaigns.require(id).map_err(|x| x.to_string())?;
    if n > 0 && meta.state == crate::campaign::CampaignState::Finished {
        meta.state = crate::campaign::CampaignState::Paused;
        meta.state_reason = Some(format!("{n} unknown outcome(s) requeued by {}", ctx.actor));
        meta.finished_at = None;
        e.campaigns.save(&meta).map_err(|x| x.to_string())?;
    }
    Ok(n)
}
