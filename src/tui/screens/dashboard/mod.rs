//! The live dashboard of the running campaign: its state (`state`), how actions and keys change it (`update`), and how it is drawn (`draw`).

mod draw;
mod state;
mod update;

pub use draw::draw;
pub use state::{DashState, Level, ResultRow, FILTERS, RING};
pub use update::{cmd, ended, progress, started, works};
