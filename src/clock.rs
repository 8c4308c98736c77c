//! Where "now" comes from: the system, a fixed instant, or a hand-moved
//! clock, so that tests of plans, screens, schedules and holds never
//! depend on the wall clock or wait for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

/// The source of "now" for the engine and its views.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// `Utc::now()`.
    #[default]
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
    /// Whatever its [`ClockHand`] was last moved to (tests).
    Manual(Arc<AtomicI64>),
}

/// Moves a [`Clock::Manual`].
#[derive(Debug, Clone)]
pub struct ClockHand(Arc<AtomicI64>);

impl Clock {
    /// A clock at `start` that moves only when its hand moves it.
    pub fn manual(start: DateTime<Utc>) -> (Self, ClockHand) {
        let millis = Arc::new(AtomicI64::new(start.timestamp_millis()));
        (Self::Manual(Arc::clone(&millis)), ClockHand(millis))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(t) => *t,
            Self::Manual(m) => DateTime::from_timestamp_millis(m.load(Ordering::SeqCst))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }
}

impl ClockHand {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_with_its_hand() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let (clock, hand) = Clock::manual(start);
        assert_eq!(clock.now(), start);
        hand.advance(Duration::minutes(90));
        assert_eq!(clock.now(), start + Duration::minutes(90));
        assert_eq!(Clock::Fixed(start).now(), start);
    }
}
