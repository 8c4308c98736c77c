//! The live dashboard of the running campaign: its state and how actions change it (`state`), and how it is drawn (`draw`).

mod draw;
mod state;

pub use draw::{draw, eta_secs, observed_rate};
pub use state::{cmd, ended, progress, started, DashState, Level, ResultRow, FILTERS, RING};
