//! The runner: performs [`Effect`]s as requests to the daemon and watches the running campaign.
//!
//! Jobs run as tasks and come back as [`Msg`]s on a channel. A campaign
//! runs in the daemon, not here: the TUI watches it over a stream of
//! frames that a task forwards into a channel, and once per frame
//! [`Executor::drain`] empties that channel with `try_recv` — a bounded
//! amount of work, never a wait — so a slow view never slows the send.
//! Quitting the TUI leaves the campaign sending; a new TUI attaches to it.

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use super::action::{Action, Effect, ProgressBatch};
use super::requests::{self, Ctx};
use crate::campaign::{CampaignId, CampaignMeta};
use crate::cli::output::describe_anyhow;
use crate::dispatch::progress::SnapshotData;
use crate::engine::ops::CampaignStatus;
use crate::service::wire::{Frame, Request};

/// Frames taken per drawn frame at most (a frame at 1000 mps holds ~33).
const MAX_EVENTS_PER_FRAME: usize = 20_000;

/// What background work reports.
pub enum Msg {
    /// A finished job.
    Action(Action),
    /// A campaign is running in the daemon: watch it.
    Started(Box<CampaignMeta>),
    /// A job that reports nothing on success (pause, resume, cancel).
    Done,
}

/// What the watch task forwards.
enum Watched {
    Frame(Frame),
    Ended(Result<Box<CampaignStatus>, String>),
}

struct Running {
    id: CampaignId,
    frames: mpsc::UnboundedReceiver<Watched>,
    snapshot: SnapshotData,
    last: Option<SnapshotData>,
}

/// Performs effects; watches the campaign on screen.
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

    /// The job context (the daemon client).
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Whether a campaign is being watched.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Performs every effect.
    pub fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            self.perform(e);
        }
    }

    fn spawn_job<F>(&mut self, f: impl FnOnce(Ctx) -> F + Send + 'static)
    where
        F: std::future::Future<Output = Msg> + Send + 'static,
    {
        self.pending += 1;
        let ctx = self.ctx.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(f(ctx).await);
        });
    }

    fn control(&mut self, request: impl FnOnce(CampaignId) -> Request) {
        let Some(id) = self.running.as_ref().map(|r| r.id) else {
            return;
        };
        let request = request(id);
        self.spawn_job(move |ctx| async move {
            match ctx.client.call::<serde_json::Value>(&request, None).await {
                Ok(_) => Msg::Done,
                Err(e) => Msg::Action(Action::Failed(format!(
                    "campaign {id}: {}",
                    describe_anyhow(&e)
                ))),
            }
        });
    }

    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Pause => self.control(|id| Request::Pause { id }),
            Effect::Resume => self.control(|id| Request::Resume {
                id,
                resend_unknown: false,
            }),
            Effect::Cancel => self.control(|id| Request::Cancel { id }),
            Effect::Quit => self.quit = true,
            Effect::CreateAndStart { plan, typed } => {
                if self.refuse_second() {
                    return;
                }
                self.spawn_job(move |ctx| async move {
                    match requests::send(&ctx, &plan.plan.request, typed).await {
                        Ok(meta) => Msg::Started(Box::new(meta)),
                        Err(e) => Msg::Action(Action::Failed(e)),
                    }
                });
            }
            Effect::Start {
                id,
                requeue_unknown,
            } => {
                if self.refuse_second() {
                    return;
                }
                self.spawn_job(move |ctx| async move {
                    match requests::resume(&ctx, id, requeue_unknown).await {
                        Ok(meta) => Msg::Started(Box::new(meta)),
                        Err(e) => {
                            Msg::Action(Action::Failed(format!("starting campaign {id}: {e}")))
                        }
                    }
                });
            }
            job => self.spawn_job(move |ctx| async move {
                Msg::Action(
                    requests::perform(&ctx, job)
                        .await
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

    /// Starts watching campaign `id` in the daemon.
    fn watch(&mut self, id: CampaignId) {
        let (tx, frames) = mpsc::unbounded_channel();
        let client = self.ctx.client.clone();
        tokio::spawn(async move {
            let forward = tx.clone();
            let result = client
                .stream::<CampaignStatus>(&Request::Watch { id }, None, move |f| {
                    let _ = forward.send(Watched::Frame(f));
                })
                .await
                .map(Box::new)
                .map_err(|e| describe_anyhow(&e));
            let _ = tx.send(Watched::Ended(result));
        });
        self.running = Some(Running {
            id,
            frames,
            snapshot: SnapshotData::default(),
            last: None,
        });
    }

    /// Turns a background message into the action for `update`, if any.
    pub fn accept(&mut self, msg: Msg) -> Option<Action> {
        self.pending = self.pending.saturating_sub(1);
        match msg {
            Msg::Action(Action::Home(Ok(home))) => {
                // Another client's campaign, or one this TUI left running:
                // attach to it, with its live dashboard.
                if self.running.is_none() {
                    let attach = home.running.first().and_then(|id| {
                        home.campaigns
                            .iter()
                            .find(|(m, _)| m.id == *id)
                            .map(|(m, _)| m.clone())
                    });
                    if let Some(meta) = attach {
                        self.pending += 1;
                        let _ = self.tx.send(Msg::Started(Box::new(meta)));
                    }
                }
                Some(Action::Home(Ok(home)))
            }
            Msg::Action(a) => Some(a),
            Msg::Done => None,
            Msg::Started(meta) => {
                if self.running.as_ref().is_some_and(|r| r.id != meta.id) {
                    return None;
                }
                if self.running.is_none() {
                    self.watch(meta.id);
                }
                Some(Action::Started(meta))
            }
        }
    }

    /// This frame's campaign events and numbers, if anything changed. When
    /// the watch has ended, the final state is reported as [`Action::RunEnded`].
    pub fn drain(&mut self) -> Option<Action> {
        let run = self.running.as_mut()?;
        let mut batch = ProgressBatch::default();
        let mut ended = None;
        while batch.events.len() < MAX_EVENTS_PER_FRAME {
            match run.frames.try_recv() {
                Ok(Watched::Frame(Frame::Event { event })) => batch.events.push(event),
                Ok(Watched::Frame(Frame::Snapshot { snapshot })) => run.snapshot = snapshot,
                Ok(Watched::Frame(_)) => {}
                Ok(Watched::Ended(result)) => {
                    ended = Some(result);
                    break;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ended = Some(Err("the daemon stopped answering".into()));
                    break;
                }
            }
        }
        batch.snapshot = run.snapshot.clone();
        let changed = !batch.events.is_empty() || run.last.as_ref() != Some(&batch.snapshot);
        run.last = Some(batch.snapshot.clone());
        if let Some(result) = ended {
            let id = run.id;
            self.running = None;
            self.pending += 1;
            let result = result.map(|st| st.campaign.state);
            let _ = self.tx.send(Msg::Action(Action::RunEnded { id, result }));
        }
        changed.then(|| Action::Progress(Box::new(batch)))
    }
}
