//! The new-campaign wizard's state and keys: Template → Audience → Plan
//! (the dry run) → Confirm. Drawing lives in one file per step.
//!
//! Planning runs off the draw path: every change of the audience asks the
//! runner for a dry run ([`Effect::Plan`]) with a sequence number; text
//! edits are debounced by [`tick`] so typing a path does not plan per
//! keystroke, at most one plan is in flight, and a result whose sequence
//! number is not the latest request is dropped.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::super::action::{Cmd, Effect, InputKey, PlanView};
use super::super::app::{App, ScreenId};
use super::super::widgets::input::TextInput;
use crate::audience::PlanRequest;

/// Quiet time after the last keystroke before a dry run starts.
const DEBOUNCE_MS: i64 = 400;

/// The audience step's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Field {
    /// Topic, chosen with ←/→.
    #[default]
    Topic,
    /// Locale filter, typed.
    Locale,
    /// CSV list path, typed.
    List,
}

/// The wizard.
#[derive(Debug, Default)]
pub struct WizardState {
    /// Selected template (index into the catalog view).
    pub template: usize,
    /// Selected topic (index into the configured topics).
    pub topic: usize,
    /// Locale filter.
    pub locale: TextInput,
    /// List path.
    pub list: TextInput,
    /// Focused audience field.
    pub field: Field,
    /// Latest plan request number.
    pub seq: u64,
    /// Whether a plan is being made.
    pub planning: bool,
    /// When the audience last changed without a plan requested since.
    pub dirty_since: Option<DateTime<Utc>>,
    /// The latest dry run.
    pub plan: Option<Arc<PlanView>>,
    /// Why the latest dry run failed.
    pub plan_error: Option<String>,
    /// Selected exclusion reason.
    pub reason: usize,
    /// The reason whose recipients are listed, with the scroll offset.
    pub drill: Option<(usize, usize)>,
    /// Shown preview (index into the eligible).
    pub preview: usize,
    /// The typed confirmation (live).
    pub confirm: TextInput,
    /// Whether the campaign is being created and started.
    pub starting: bool,
    /// Whether the plan includes who got the template recently.
    pub include_recent: bool,
    /// Whether the operator acknowledged a template written for another
    /// topic.
    pub ack_topic: bool,
}

impl WizardState {
    /// Whether a text field of the audience step has focus.
    pub fn text_focus(&self) -> bool {
        self.field != Field::Topic
    }
}

/// Opens the wizard at its first step (keeping the last choices).
pub fn open(app: &mut App) -> Vec<Effect> {
    let w = &mut app.wizard;
    w.plan = None;
    w.plan_error = None;
    w.drill = None;
    w.preview = 0;
    w.reason = 0;
    w.starting = false;
    w.field = Field::Topic;
    app.push(ScreenId::Template);
    vec![]
}

fn request(app: &App) -> Option<PlanRequest> {
    let t = &app.ui.templates.get(app.wizard.template)?.template;
    Some(PlanRequest {
        template: t.name.clone(),
        language: Some(t.language.clone()),
        topic: app.ui.topics.get(app.wizard.topic)?.clone(),
        locale: app.wizard.locale.get().map(str::to_string),
        list: app.wizard.list.get().map(PathBuf::from),
        overrides: Default::default(),
        include_recent: app.wizard.include_recent,
        ack_topic: app.wizard.ack_topic,
    })
}

/// Asks for a dry run now (or as soon as the one in flight returns).
fn plan_now(app: &mut App) -> Vec<Effect> {
    if app.wizard.planning {
        app.wizard.dirty_since.get_or_insert(app.now);
        return vec![];
    }
    let Some(request) = request(app) else {
        app.wizard.plan_error = Some(app.t("tui-no-topics"));
        return vec![];
    };
    let w = &mut app.wizard;
    w.seq += 1;
    w.planning = true;
    w.dirty_since = None;
    vec![Effect::Plan {
        seq: w.seq,
        request,
    }]
}

/// A discrete change (the topic): plan now, or right after the one in flight.
fn plan_soon(app: &mut App) -> Vec<Effect> {
    if app.wizard.planning {
        app.wizard.dirty_since = Some(app.now - Duration::milliseconds(DEBOUNCE_MS));
        return vec![];
    }
    plan_now(app)
}

/// Time passed: start a debounced dry run.
pub fn tick(app: &mut App) -> Vec<Effect> {
    match app.wizard.dirty_since {
        Some(t) if app.now - t >= Duration::milliseconds(DEBOUNCE_MS) && !app.wizard.planning => {
            plan_now(app)
        }
        _ => vec![],
    }
}

/// A dry run returned.
pub fn planned(app: &mut App, seq: u64, result: Result<Arc<PlanView>, String>) -> Vec<Effect> {
    let w = &mut app.wizard;
    if seq != w.seq {
        return vec![];
    }
    w.planning = false;
    match result {
        Ok(p) => {
            w.reason = w.reason.min(p.reasons.len().saturating_sub(1));
            w.preview = w.preview.min(p.plan.eligible.len().saturating_sub(1));
            w.drill = None;
            w.plan = Some(p);
            w.plan_error = None;
        }
        Err(e) => {
            w.plan = None;
            w.plan_error = Some(e);
        }
    }
    tick(app)
}

/// A key in any wizard step.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    match app.screen() {
        ScreenId::Template => template_cmd(app, cmd),
        ScreenId::Audience => audience_cmd(app, cmd),
        ScreenId::Plan => plan_cmd(app, cmd),
        _ => confirm_cmd(app, cmd),
    }
}

fn template_cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let n = app.ui.templates.len();
    let sel = &mut app.wizard.template;
    match cmd {
        Cmd::Up => *sel = sel.saturating_sub(1),
        Cmd::Down => *sel = (*sel + 1).min(n.saturating_sub(1)),
        Cmd::Top => *sel = 0,
        Cmd::Bottom => *sel = n.saturating_sub(1),
        Cmd::Back => return app.back(),
        Cmd::Enter => match app.ui.templates.get(app.wizard.template) {
            Some(t) if t.selectable() => {
                app.wizard.plan = None;
                app.push(ScreenId::Audience);
                return plan_now(app);
            }
            Some(t) => {
                let msg = app.tw(
                    "tui-template-not-approved",
                    &[
                        ("name", t.template.name.clone().into()),
                        ("status", t.template.status.to_string().into()),
                    ],
                );
                app.fail(msg);
            }
            None => {}
        },
        _ => {}
    }
    vec![]
}

fn audience_cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let topics = app.ui.topics.len();
    let w = &mut app.wizard;
    match cmd {
        Cmd::Down | Cmd::Tab => {
            w.field = match w.field {
                Field::Topic => Field::Locale,
                Field::Locale => Field::List,
                Field::List => Field::Topic,
            }
        }
        Cmd::Up | Cmd::BackTab => {
            w.field = match w.field {
                Field::Topic => Field::List,
                Field::Locale => Field::Topic,
                Field::List => Field::Locale,
            }
        }
        Cmd::Left | Cmd::Right if w.field == Field::Topic && topics > 0 => {
            w.topic = if cmd == Cmd::Left {
                (w.topic + topics - 1) % topics
            } else {
                (w.topic + 1) % topics
            };
            // An acknowledgement was for the other topic.
            w.ack_topic = false;
            return plan_soon(app);
        }
        Cmd::Enter => {
            app.push(ScreenId::Plan);
            if app.wizard.dirty_since.is_some() || app.wizard.plan.is_none() {
                return plan_now(app);
            }
        }
        Cmd::Back => return app.back(),
        _ => {}
    }
    vec![]
}

/// A keystroke in a text field (audience) or the typed confirmation.
pub fn input(app: &mut App, key: InputKey) -> Vec<Effect> {
    let now = app.now;
    if app.screen() == ScreenId::Confirm {
        app.wizard.confirm.apply(key);
        return vec![];
    }
    let w = &mut app.wizard;
    let field = match w.field {
        Field::Topic => return vec![],
        Field::Locale => &mut w.locale,
        Field::List => &mut w.list,
    };
    if field.apply(key) {
        w.dirty_since = Some(now);
    }
    vec![]
}

fn plan_cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    if cmd == Cmd::IncludeRecent && !super::plan::works(app, cmd) {
        app.fail(app.t("tui-nobody-recent"));
        return vec![];
    }
    let (reasons, eligible, members) = match &app.wizard.plan {
        Some(p) => (
            p.reasons.len(),
            p.plan.eligible.len(),
            app.wizard
                .drill
                .and_then(|(r, _)| p.reasons.get(r))
                .map_or(0, |g| g.members.len()),
        ),
        None => (0, 0, 0),
    };
    let w = &mut app.wizard;
    if let Some((r, off)) = w.drill.as_mut() {
        let last = members.saturating_sub(1);
        match cmd {
            Cmd::Up => *off = off.saturating_sub(1),
            Cmd::Down => *off = (*off + 1).min(last),
            Cmd::PageUp => *off = off.saturating_sub(10),
            Cmd::PageDown => *off = (*off + 10).min(last),
            Cmd::Top => *off = 0,
            Cmd::Bottom => *off = last,
            Cmd::Back | Cmd::Enter => {
                w.reason = *r;
                w.drill = None;
            }
            _ => {}
        }
        return vec![];
    }
    match cmd {
        Cmd::Up => w.reason = w.reason.saturating_sub(1),
        Cmd::Down => w.reason = (w.reason + 1).min(reasons.saturating_sub(1)),
        Cmd::Left => w.preview = w.preview.saturating_sub(1),
        Cmd::Right => w.preview = (w.preview + 1).min(eligible.saturating_sub(1)),
        Cmd::PageUp => w.preview = w.preview.saturating_sub(10),
        Cmd::PageDown => w.preview = (w.preview + 10).min(eligible.saturating_sub(1)),
        Cmd::Enter if reasons > 0 => w.drill = Some((w.reason, 0)),
        Cmd::AckTopic => {
            w.ack_topic = !w.ack_topic;
            return plan_now(app);
        }
        Cmd::IncludeRecent => {
            w.include_recent = !w.include_recent;
            w.reason = 0;
            let said = app.t(if app.wizard.include_recent {
                "tui-including-recent"
            } else {
                "tui-leaving-out-recent"
            });
            app.say(said);
            return plan_now(app);
        }
        Cmd::Back => return app.back(),
        Cmd::Send => {
            let mismatch = w.plan.as_ref().is_some_and(|p| {
                p.plan
                    .template
                    .topic_mismatch(&p.plan.request.topic)
                    .is_some()
                    && !p.plan.request.ack_topic
            });
            if mismatch {
                app.fail(app.t("tui-ack-topic-first"));
            } else if w.planning || w.dirty_since.is_some() {
                app.fail(app.t("tui-dry-run-running"));
            } else if eligible == 0 {
                app.fail(app.t("tui-nobody-may-receive"));
            } else if let Some(id) = app.running {
                app.fail(app.tw("tui-one-at-a-time", &[("id", id.to_string().into())]));
            } else {
                app.wizard.confirm = TextInput::default();
                app.push(ScreenId::Confirm);
            }
        }
        _ => {}
    }
    vec![]
}

fn confirm_cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let Some(plan) = app.wizard.plan.clone() else {
        return app.back();
    };
    // What the operator answered goes to the daemon, which alone decides
    // whether it confirms (y in the sandbox, the recipient count live).
    let typed = match (app.ui.sandbox, cmd) {
        (_, Cmd::Back | Cmd::No) => return app.back(),
        (true, Cmd::Yes | Cmd::Enter) => "y".to_string(),
        (false, Cmd::Enter) => app.wizard.confirm.get().unwrap_or_default().to_string(),
        _ => return vec![],
    };
    if app.wizard.starting {
        return vec![];
    }
    app.wizard.starting = true;
    let said = app.t("tui-creating");
    app.say(said);
    vec![Effect::CreateAndStart { plan, typed }]
}
