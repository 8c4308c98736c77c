//! The event loop: a thin shell around [`update`] and [`draw`].
//!
//! One `tokio::select!` over four sources — crossterm's `EventStream`
//! (keys, resizes), finished background jobs, a 250 ms tick (time) and a
//! ~30 fps frame interval. Keys become actions through the key map; only
//! `update` changes state. On each frame the running campaign's events are
//! drained (bounded, non-blocking) and the screen is drawn only if
//! something changed; ratatui diffs the buffer, so an unchanged cell is
//! never rewritten and nothing flickers.

use std::time::Duration;

use anyhow::{Context as _, Result};
use crossterm::event::{Event, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::action::Action;
use super::app::{update, App};
use super::keys;
use super::runner::{Executor, Msg};

/// Frame interval: at most ~30 draws a second.
pub const FRAME: Duration = Duration::from_millis(33);
/// Tick interval: clocks, ETAs, debounced planning.
pub const TICK: Duration = Duration::from_millis(250);

/// Runs until the app quits. `input` is crossterm's `EventStream` in the
/// binary, a channel of synthetic events in benches and tests.
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    exec: &mut Executor,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    mut input: S,
) -> Result<()>
where
    B: Backend,
    S: Stream<Item = std::io::Result<Event>> + Unpin,
{
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let effects = app.init();
    exec.run(effects);
    if let Ok(size) = terminal.size() {
        update(app, Action::Resize(size.width, size.height));
    }
    let mut dirty = true;
    while !app.quit && !exec.quit {
        let action = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => keys::map(app, key),
                Some(Ok(Event::Mouse(m))) => super::mouse::map(m),
                Some(Ok(Event::Resize(columns, rows))) => {
                    dirty = true;
                    Some(Action::Resize(columns, rows))
                }
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => break,
            },
            Some(msg) = rx.recv() => exec.accept(msg),
            _ = tick.tick() => Some(Action::Tick(exec.ctx().clock.now())),
            _ = frame.tick() => {
                if let Some(a) = exec.drain() {
                    let effects = update(app, a);
                    exec.run(effects);
                    dirty = true;
                }
                if dirty {
                    terminal.draw(|f| super::draw(app, f)).context("drawing")?;
                    dirty = false;
                }
                None
            }
        };
        if let Some(a) = action {
            let effects = update(app, a);
            exec.run(effects);
            dirty = true;
        }
    }
    Ok(())
}
