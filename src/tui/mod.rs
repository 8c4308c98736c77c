//! The operator's TUI: a client of the store's daemon, like the headless
//! CLI, watching the same [`Progress`](crate::dispatch::progress::Progress)
//! events.
//!
//! ```text
//!  crossterm keys ──► keys::map ──► Action ─┐
//!  daemon answers (requests.rs, as tasks) ─┼─► app::update(&mut App, Action) ─► Vec<Effect> ─► runner
//!  daemon frames (drained once per frame) ──┘            │
//!                                                         ▼
//!                                         draw(&App, &mut Frame) every ≤ 33 ms, if changed
//! ```
//!
//! `update` and `draw` are pure — no terminal, no clock, no store — so
//! every screen is tested on ratatui's `TestBackend` by feeding actions
//! (`tests/`, against a daemon serving a test engine in-process), and the
//! event loop (`event.rs`) is a thin shell. The engine never waits for the
//! view: the daemon streams events and numbers, and the TUI drains what
//! arrived with `try_recv` once per frame.

pub mod action;
pub mod app;
pub mod event;
pub mod keys;
pub mod mouse;
pub mod requests;
pub mod runner;
pub mod screens;
pub mod settings;
pub mod terminal;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod tests;

use std::path::Path;

use chrono::{Offset, Utc};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use tokio::sync::mpsc;

use crate::engine::reads::Setup;
use crate::service::client::Client;
use crate::service::wire::Request;
use app::{App, UiConfig};
use requests::Ctx;
use runner::Executor;
use theme::Theme;

/// Smallest area the screens are laid out in; below it a notice shows.
pub const MIN_SIZE: (u16, u16) = (20, 6);

/// Runs the TUI, a client of the store's daemon, until the operator
/// quits. Logs go to the store's log dir; the terminal is restored on
/// every exit path, panics included. A campaign running in the daemon goes
/// on after the TUI has gone.
pub async fn run(client: Client, store_dir: &Path) -> anyhow::Result<()> {
    let log = terminal::init_logging(store_dir);
    let setup: Setup = client.call(&Request::Setup, None).await?;
    // The operator's zone as the daemon's config names it, else the machine's.
    let offset = setup
        .timezone
        .as_deref()
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .map(|tz| Utc::now().with_timezone(&tz).offset().fix())
        .unwrap_or_else(|| chrono::Local::now().offset().fix());
    let ui = UiConfig::from_setup(setup, offset, Theme::from_env());
    tracing::info!(sandbox = ui.sandbox, log = ?log, daemon = client.hello.pid, "TUI started");
    let mut app = App::new(ui, Utc::now());
    // While the TUI is open it is the daemon's client, also on a quiet
    // screen: an auto-started daemon would otherwise exit under it after
    // its idle time and every later request fail.
    let presence = client.clone();
    let attached = tokio::spawn(async move {
        let _ = presence
            .stream::<serde_json::Value>(&Request::Attach, None, |_| {})
            .await;
    });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        client,
        clock: requests::Clock::System,
    };
    let mut exec = Executor::new(ctx, tx);
    let result = {
        let (_guard, mut terminal) = terminal::Guard::enter()?;
        let input = crossterm::event::EventStream::new();
        event::run(&mut terminal, &mut app, &mut exec, &mut rx, input).await
    };
    attached.abort();
    tracing::info!("TUI stopped");
    result
}

/// Draws the whole app: banner, screen, footer, overlays.
pub fn draw(app: &App, frame: &mut Frame) {
    app.hits.clear();
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
    if let Some(top) = app.help {
        widgets::chrome::help(app, top, frame, body);
    }
}
