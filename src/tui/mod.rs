//! The operator's TUI: a view over the same [`Engine`] and the same
//! [`Progress`](crate::dispatch::progress::Progress) events as the headless
//! CLI.
//!
//! ```text
//!  crossterm keys ──► keys::map ──► Action ─┐
//!  background jobs (jobs.rs, blocking pool) ─┼─► app::update(&mut App, Action) ─► Vec<Effect> ─► exec
//!  engine events (drained once per frame) ───┘            │
//!                                                         ▼
//!                                         draw(&App, &mut Frame) every ≤ 33 ms, if changed
//! ```
//!
//! `update` and `draw` are pure — no terminal, no clock, no store — so
//! every screen is tested on ratatui's `TestBackend` by feeding actions
//! (`tests/`), and the event loop (`event.rs`) is a thin shell. The engine
//! never waits for the view: the campaign's broadcast receiver is drained
//! with `try_recv`, and a view that lags re-reads the engine's snapshot.

pub mod action;
pub mod app;
pub mod event;
pub mod exec;
pub mod jobs;
pub mod keys;
pub mod screens;
pub mod settings;
pub mod terminal;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Offset, Utc};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use tokio::sync::mpsc;

use crate::engine::Engine;
use app::{App, UiConfig};
use exec::Executor;
use jobs::{Clock, Ctx};
use theme::Theme;

/// Smallest area the screens are laid out in; below it a notice shows.
pub const MIN_SIZE: (u16, u16) = (20, 6);

/// Runs the TUI until the operator quits. Logs go to the store's log dir;
/// the terminal is restored on every exit path, panics included.
pub async fn run(engine: Engine) -> anyhow::Result<()> {
    let log = terminal::init_logging(engine.store.dir());
    let sandbox = engine.is_sandbox();
    let offset = chrono::Local::now().offset().fix();
    let ui = UiConfig::from_engine(&engine, sandbox, offset, Theme::from_env());
    tracing::info!(sandbox, log = ?log, "TUI started");
    let mut app = App::new(ui, Utc::now());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        engine: Arc::new(engine),
        sandbox,
        clock: Clock::System,
        out_dir: PathBuf::from("."),
        actor: crate::consent::current_actor(),
    };
    let mut exec = Executor::new(ctx, tx);
    let result = {
        let (_guard, mut terminal) = terminal::Guard::enter()?;
        let input = crossterm::event::EventStream::new();
        event::run(&mut terminal, &mut app, &mut exec, &mut rx, input).await
    };
    // An error left the loop with a campaign running: stop it resumably.
    exec.shutdown().await;
    tracing::info!("TUI stopped");
    result
}

/// Draws the whole app: banner, screen, footer, overlays.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let t = app.ui.theme;
        let mode = if app.ui.sandbox {
            " SANDBOX "
        } else {
            " LIVE "
        };
        let p = Paragraph::new(vec![
            Line::from(Span::styled(mode, t.banner(app.ui.sandbox))),
            Line::from(format!("bote needs at least {}×{}", MIN_SIZE.0, MIN_SIZE.1)),
        ])
        .wrap(Wrap { trim: true });
        frame.render_widget(p, area);
        return;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    widgets::chrome::header(app, frame, head);
    screens::draw(app, frame, body);
    widgets::chrome::footer(app, frame, foot);
    widgets::chrome::modal(app, frame, body);
    if app.help {
        widgets::chrome::help(app, frame, body);
    }
}
