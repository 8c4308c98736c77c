//! Recipients counted per state: what progress, summaries and invariant 3 read.

use serde::{Deserialize, Serialize};

use super::RecipientState;

/// Counts per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Waiting.
    pub pending: u64,
    /// On the wire.
    pub in_flight: u64,
    /// Taken by the API.
    pub accepted: u64,
    /// Sent to the device.
    pub sent: u64,
    /// Delivered.
    pub delivered: u64,
    /// Read.
    pub read: u64,
    /// Failed.
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
    /// Unknown.
    pub unknown: u64,
    /// Deferred by Meta's per-user marketing cap (131049).
    #[serde(default)]
    pub deferred: u64,
}

impl Counts {
    /// The counter of `state`.
    pub fn get(&self, state: RecipientState) -> u64 {
        match state {
            RecipientState::Pending => self.pending,
            RecipientState::InFlight => self.in_flight,
            RecipientState::Accepted => self.accepted,
            RecipientState::Sent => self.sent,
            RecipientState::Delivered => self.delivered,
            RecipientState::Read => self.read,
            RecipientState::Failed => self.failed,
            RecipientState::Skipped => self.skipped,
            RecipientState::Unknown => self.unknown,
            RecipientState::Deferred => self.deferred,
        }
    }

    fn slot(&mut self, state: RecipientState) -> &mut u64 {
        match state {
            RecipientState::Pending => &mut self.pending,
            RecipientState::InFlight => &mut self.in_flight,
            RecipientState::Accepted => &mut self.accepted,
            RecipientState::Sent => &mut self.sent,
            RecipientState::Delivered => &mut self.delivered,
            RecipientState::Read => &mut self.read,
            RecipientState::Failed => &mut self.failed,
            RecipientState::Skipped => &mut self.skipped,
            RecipientState::Unknown => &mut self.unknown,
            RecipientState::Deferred => &mut self.deferred,
        }
    }

    /// Moves one recipient from `from` to `to`.
    pub fn shift(&mut self, from: Option<RecipientState>, to: RecipientState) {
        if let Some(f) = from {
            let s = self.slot(f);
            *s = s.saturating_sub(1);
        }
        *self.slot(to) += 1;
    }

    /// Every recipient (invariant 3: equals the audience).
    pub fn total(&self) -> u64 {
        RecipientState::ALL.iter().map(|s| self.get(*s)).sum()
    }

    /// Recipients the API took (accepted or further along).
    pub fn taken(&self) -> u64 {
        self.accepted + self.sent + self.delivered + self.read
    }

    /// Recipients still to be decided.
    pub fn open(&self) -> u64 {
        self.pending + self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let mut c = Counts::default();
        for _ in 0..5 {
            c.shift(None, RecipientState::Pending);
        }
        c.shift(Some(RecipientState::Pending), RecipientState::InFlight);
        c.shift(Some(RecipientState::InFlight), RecipientState::Accepted);
        assert_eq!(c.total(), 5);
        assert_eq!((c.pending, c.accepted), (4, 1));
    }
}
