//! The live dashboard of the running campaign: its state (`state`), how actions and keys change it (`update`), and how it is drawn (`draw`).

mod draw;
mod state;
mod update;

pub use draw::draw;
pub use state::{refresh_every, DashState, Level, PageKey, FILTERS, PAGE, WINDOW};
pub use update::{cmd, ended, progress, results, started, tick, works};
