//! Where "now" comes from: the system, or a fixed instant, so that tests
//! of plans, screens and holds never depend on the wall clock.

use chrono::{DateTime, Utc};

/// The source of "now" for the engine and its views.
#[derive(Debug, Clone, Copy, Default)]
pub enum Clock {
    /// `Utc::now()`.
    #[default]
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// Now.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(t) => t,
        }
    }
}
