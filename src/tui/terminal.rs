//! Terminal safety and logging: whatever happens, the operator gets their
//! shell back in a sane state, and nothing but the TUI writes to the screen.
//!
//! - [`Guard`] enters raw mode + the alternate screen and restores both on
//!   drop, so every exit path — `?`, return, unwinding — restores.
//! - The panic hook restores first, lets the default hook print the panic
//!   on the now-normal screen, logs it, and exits: a panic in any task
//!   would otherwise leave a half-dead UI drawing over a restored terminal.
//! - tracing goes to `logs/bote-tui.log` beside the store (owner-only),
//!   never to stdout or stderr while the TUI is up.

use std::path::{Path, PathBuf};

use ratatui::DefaultTerminal;

/// Restores the terminal when dropped.
pub struct Guard;

impl Guard {
    /// Enters the TUI's terminal mode and installs the panic hook.
    pub fn enter() -> std::io::Result<(Self, DefaultTerminal)> {
        let terminal = ratatui::try_init()?;
        install_panic_hook();
        // Clicks and the wheel come as events; without a terminal that
        // reports them the keys still do everything.
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
        Ok((Self, terminal))
    }
}

/// Gives the terminal back: mouse reporting off, then raw mode and the
/// alternate screen.
fn restore() {
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!(panic = %info, "the TUI panicked");
        previous(info);
        // Campaign state is crash-safe by design (in-flight records become
        // unknown on the next start); a UI that lost its terminal is not.
        std::process::exit(1);
    }));
}

/// Sends tracing to `logs/bote-tui.log` in the store dir; returns the path.
/// Does nothing (returns `None`) when a global subscriber is already set or
/// the file cannot be opened — the TUI must never log to the screen.
pub fn init_logging(store_dir: &Path) -> Option<PathBuf> {
    let dir = crate::paths::log_dir(store_dir);
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("bote-tui.log");
    let file =
        crate::consent::store::open_private(&path, crate::consent::store::PrivateFile::Append)
            .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOTE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("bote=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(path)
}
