//! How the dashboard changes: a campaign starting, each frame's progress, the run's end, and the keys.

use super::state::{DashState, Level, FILTERS};
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::tui::action::{Cmd, Effect, ProgressBatch, ResultsPage};
use crate::tui::app::{App, Confirm, Modal, ScreenId};
use crate::tui::screens::detail;
use crate::tui::widgets::input::TextInput;

/// A campaign started: open its dashboard.
pub fn started(app: &mut App, meta: CampaignMeta) -> Vec<Effect> {
    app.running = Some(meta.id);
    app.wizard.starting = false;
    let said = app.tw(
        "tui-campaign-sending",
        &[("id", meta.id.to_string().into())],
    );
    app.say(said);
    let mut dash = DashState::new(meta, app.ui.rate, app.ui.workers, app.now);
    let effects = dash.ask(app.now);
    app.dash = Some(dash);
    app.reset_to(ScreenId::Dashboard);
    effects
}

/// Time passed: the newest results are read again now and then while the
/// dashboard shows and its table follows.
pub fn tick(app: &mut App) -> Vec<Effect> {
    let now = app.now;
    let shown = app.screen() == ScreenId::Dashboard;
    match app.dash.as_mut() {
        Some(d) if shown => d.refresh(now),
        _ => vec![],
    }
}

/// A page of results arrived.
pub fn results(app: &mut App, r: Result<Box<ResultsPage>, String>) -> Vec<Effect> {
    let now = app.now;
    match (r, app.dash.as_mut()) {
        (Ok(page), Some(d)) if page.meta.id == d.meta.id => d.answered(page, now),
        (Ok(_), _) => vec![],
        (Err(e), d) => {
            if let Some(d) = d {
                d.asked = None;
            }
            app.fail(format!("reading the results: {e}"));
            vec![]
        }
    }
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
    let mut effects = Vec::new();
    if let Some(d) = app.dash.as_mut().filter(|d| d.meta.id == id) {
        if let Err(e) = &result {
            d.notice(now, Level::Error, super::state::Notice::text(e.clone()));
        }
        if d.finished.is_none() || result.is_err() {
            d.finished = Some(result.clone());
            d.ended.get_or_insert(now);
        }
        d.paused = None;
        // The final states, and the counts of the journal from now on.
        d.asked = None;
        effects.extend(d.ask(now));
    }
    if let Err(e) = result {
        app.fail(format!("campaign {id}: {e}"));
    }
    effects.push(Effect::LoadHome);
    effects
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
    let args = [
        ("id", id.to_string().into()),
        ("state", app.state_name(state).into()),
    ];
    match cmd {
        Cmd::Resume if app.running.is_some_and(|r| r != id) => app.t("tui-another-sending"),
        Cmd::Pause => app.tw("tui-nothing-to-pause", &args),
        Cmd::Resume => app.tw("tui-nothing-to-resume", &args),
        Cmd::Cancel => app.tw("tui-nothing-to-cancel", &args),
        _ => app.t("tui-details-after-run"),
    }
}

/// A key on the dashboard.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    if app.dash.is_some() && !works(app, cmd) {
        if let Some(d) = &app.dash {
            // Information, not a failure: the key just has nothing to do.
            let why = refusal(app, d, cmd);
            app.say(why);
        }
        return vec![];
    }
    let running = app.running;
    let Some(d) = app.dash.as_mut() else {
        return app.back();
    };
    let live = running == Some(d.meta.id);
    let max = d.visible_len().saturating_sub(1);
    let scrolled = match cmd {
        Cmd::Up => Some((d.scroll + 1).min(max)),
        Cmd::Down => Some(d.scroll.saturating_sub(1)),
        Cmd::PageUp => Some((d.scroll + 10).min(max)),
        Cmd::PageDown => Some(d.scroll.saturating_sub(10)),
        Cmd::Top => Some(max),
        Cmd::Bottom => Some(0),
        _ => None,
    };
    let now = app.now;
    if let Some(to) = scrolled {
        let back_to_newest = to == 0 && d.scroll > 0;
        d.scroll = to;
        // A page for the new window, or the newest again when following.
        return if back_to_newest || d.page().is_none() {
            d.ask(now)
        } else {
            vec![]
        };
    }
    match cmd {
        Cmd::Filter => {
            d.filter = (d.filter + 1) % FILTERS.len();
            d.scroll = 0;
            return d.ask(now);
        }
        Cmd::Pause if live => {
            let said = app.t("tui-pausing");
            app.say(said);
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
            let id = d.meta.id.to_string();
            app.modal = Some(Modal {
                title: app.tw("tui-cancel-title", &[("id", id.into())]),
                lines: vec![
                    app.tw("tui-cancel-skipped", &[("n", open.into())]),
                    app.t("tui-cancel-in-flight"),
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
