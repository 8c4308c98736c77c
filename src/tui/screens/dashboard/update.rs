//! How the dashboard changes: a campaign starting, each frame's progress, the run's end, and the keys.

use super::state::{DashState, Level, FILTERS};
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::tui::action::{Cmd, Effect, ProgressBatch};
use crate::tui::app::{App, Confirm, Modal, ScreenId};
use crate::tui::screens::detail;
use crate::tui::widgets::input::TextInput;

/// A campaign started: open its dashboard.
pub fn started(app: &mut App, meta: CampaignMeta) -> Vec<Effect> {
    app.running = Some(meta.id);
    app.wizard.starting = false;
    app.say(format!("campaign {} is sending", meta.id));
    app.dash = Some(DashState::new(meta, app.ui.rate, app.ui.workers, app.now));
    app.reset_to(ScreenId::Dashboard);
    vec![]
}

/// One frame's engine events.
pub fn progress(app: &mut App, batch: ProgressBatch) -> Vec<Effect> {
    let now = app.now;
    if let Some(d) = app.dash.as_mut() {
        d.apply(batch, now);
    }
    vec![]
}

/// The run is over and its handle gone.
pub fn ended(app: &mut App, id: CampaignId, result: Result<CampaignState, String>) -> Vec<Effect> {
    if app.running == Some(id) {
        app.running = None;
    }
    let now = app.now;
    if let Some(d) = app.dash.as_mut().filter(|d| d.meta.id == id) {
        if let Err(e) = &result {
            d.notice(now, Level::Error, e.clone());
        }
        if d.finished.is_none() || result.is_err() {
            d.finished = Some(result.clone());
            d.ended.get_or_insert(now);
        }
        d.paused = None;
    }
    if let Err(e) = result {
        app.fail(format!("campaign {id}: {e}"));
    }
    vec![Effect::LoadHome]
}

/// Whether `cmd` does something on the dashboard now: pause while it
/// sends, resume while paused, cancel while it runs, details once it ended.
pub fn works(app: &App, cmd: Cmd) -> bool {
    let Some(d) = &app.dash else {
        return !matches!(
            cmd,
            Cmd::Pause | Cmd::Resume | Cmd::Cancel | Cmd::Enter | Cmd::Filter
        );
    };
    let live = app.running == Some(d.meta.id);
    let ended_paused = matches!(d.finished, Some(Ok(CampaignState::Paused)));
    match cmd {
        Cmd::Pause => live && d.finished.is_none() && d.paused.is_none(),
        Cmd::Resume => {
            (live && d.finished.is_none() && d.paused.is_some())
                || (!live && ended_paused && app.running.is_none())
        }
        Cmd::Cancel => live && d.finished.is_none(),
        Cmd::Enter => d.finished.is_some(),
        _ => true,
    }
}

/// Why a dashboard key does nothing now, for the status line.
fn refusal(app: &App, d: &DashState, cmd: Cmd) -> String {
    let (id, state) = (d.meta.id, d.campaign_state());
    match cmd {
        Cmd::Resume if app.running.is_some_and(|r| r != id) => {
            "another campaign is sending; one at a time".into()
        }
        Cmd::Pause => format!("campaign {id} is {state}: nothing to pause"),
        Cmd::Resume => format!("campaign {id} is {state}: nothing to resume"),
        Cmd::Cancel => format!("campaign {id} is {state}: nothing to cancel"),
        _ => "the details open once the run has ended".into(),
    }
}

/// A key on the dashboard.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    if app.dash.is_some() && !works(app, cmd) {
        if let Some(d) = &app.dash {
            let why = refusal(app, d, cmd);
            app.fail(why);
        }
        return vec![];
    }
    let running = app.running;
    let Some(d) = app.dash.as_mut() else {
        return app.back();
    };
    let live = running == Some(d.meta.id);
    let max = d.visible_len().saturating_sub(1);
    match cmd {
        Cmd::Up => d.scroll = (d.scroll + 1).min(max),
        Cmd::Down => d.scroll = d.scroll.saturating_sub(1),
        Cmd::PageUp => d.scroll = (d.scroll + 10).min(max),
        Cmd::PageDown => d.scroll = d.scroll.saturating_sub(10),
        Cmd::Top => d.scroll = max,
        Cmd::Bottom => d.scroll = 0,
        Cmd::Filter => {
            d.filter = (d.filter + 1) % FILTERS.len();
            d.scroll = 0;
        }
        Cmd::Pause if live => {
            app.say("pausing: requests in flight finish first");
            return vec![Effect::Pause];
        }
        Cmd::Resume if live => return vec![Effect::Resume],
        Cmd::Resume => {
            return vec![Effect::Start {
                id: d.meta.id,
                requeue_unknown: false,
            }];
        }
        Cmd::Cancel if live => {
            let open = d.snapshot.counts.open();
            app.modal = Some(Modal {
                title: format!("Cancel campaign {}?", d.meta.id),
                lines: vec![
                    format!("Everyone not yet sent ({open}) is skipped for good."),
                    "Requests already in flight finish and are recorded.".into(),
                ],
                confirm: Confirm::CancelCampaign,
                expected: None,
                input: TextInput::default(),
            });
        }
        Cmd::Enter => {
            let id = d.meta.id;
            return detail::open(app, id);
        }
        Cmd::Back => return app.back(),
        _ => {}
    }
    vec![]
}
