//! How far a campaign's sending has come: one definition of progress that
//! the dashboard's bar, percentage and ETA and the CLI's progress bar all
//! read, so no two views disagree about what "done" means.
//!
//! Done means decided for good: taken by the API (accepted or further
//! along), failed, unknown, deferred (131049, for a later run), or skipped during the run (a cancel, a consent
//! revoked mid-run). A recipient in flight is not done — its request may
//! still come back with anything — and the plan's exclusions, which are
//! skipped in the journal from the start, are not part of the send at all.

use std::fmt;

use super::journal::Counts;
use super::CampaignState;

/// Seconds averaged for the observed rate (the newest complete seconds).
pub const RATE_WINDOW: usize = 5;

/// The eligible recipients of a campaign, by how far their send has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendProgress {
    /// Recipients the send is for: the plan's eligible ones.
    pub eligible: u64,
    /// Of them, decided for good (see the module doc).
    pub done: u64,
    /// Marked for sending; the request may be on the wire.
    pub in_flight: u64,
    /// Waiting to be sent.
    pub pending: u64,
    /// Taken by the API: accepted, sent, delivered or read.
    pub taken: u64,
    /// Failed with an API error code.
    pub failed: u64,
    /// Outcome unknown (a lost response, a crash).
    pub unknown: u64,
    /// Deferred by Meta's per-user marketing cap (131049), for a later run.
    pub deferred: u64,
    /// Skipped during the run: cancelled or consent revoked (not the plan's exclusions).
    pub skipped: u64,
}

impl SendProgress {
    /// The progress of a campaign whose journal holds `counts`, of an
    /// `audience` of which `eligible` were eligible at planning time (the
    /// journal keeps the rest as skipped from its creation).
    pub fn of(counts: &Counts, audience: u64, eligible: u64) -> Self {
        let excluded = audience.saturating_sub(eligible);
        let skipped = counts.skipped.saturating_sub(excluded);
        let taken = counts.taken();
        Self {
            eligible,
            done: taken + counts.failed + counts.unknown + counts.deferred + skipped,
            in_flight: counts.in_flight,
            pending: counts.pending,
            taken,
            failed: counts.failed,
            unknown: counts.unknown,
            deferred: counts.deferred,
            skipped,
        }
    }

    /// Recipients still to be decided: pending or in flight.
    pub fn open(&self) -> u64 {
        self.pending + self.in_flight
    }

    /// Recipients a request was made for: taken, failed, unknown or deferred.
    pub fn attempted(&self) -> u64 {
        self.taken + self.failed + self.unknown + self.deferred
    }

    /// Whole percent done, rounded down: 100 only when nobody is left
    /// (an empty send is complete).
    pub fn percent(&self) -> u64 {
        match self.eligible {
            0 => 100,
            n => self.done.min(n) * 100 / n,
        }
    }

    /// The journal counts of the send alone, for a bar over the eligible
    /// recipients: `counts` with the plan's exclusions taken out of skipped.
    pub fn send_counts(&self, counts: &Counts) -> Counts {
        Counts {
            skipped: self.skipped,
            ..*counts
        }
    }

    /// Seconds until nobody is open at `per_second`; `None` when nothing
    /// moves (a rate of zero).
    pub fn eta_secs(&self, per_second: f64) -> Option<u64> {
        (per_second > 0.0).then(|| (self.open() as f64 / per_second).ceil() as u64)
    }

    /// What is true of the send in campaign state `state`, in one line.
    pub fn standing(&self, state: CampaignState) -> Standing {
        Standing {
            progress: *self,
            state,
        }
    }
}

/// Sends per second observed over the newest [`RATE_WINDOW`] complete
/// seconds of `per_second` (oldest first); 0 before the first second.
pub fn observed_rate(per_second: &[u64]) -> f64 {
    let tail = &per_second[per_second.len().saturating_sub(RATE_WINDOW)..];
    if tail.is_empty() {
        return 0.0;
    }
    tail.iter().sum::<u64>() as f64 / tail.len() as f64
}

/// The rate an ETA assumes: the observed one once sends are seen, else
/// the rate in force, else the configured ceiling.
pub fn eta_rate(per_second: &[u64], in_force: u32, ceiling: u32) -> f64 {
    match observed_rate(per_second) {
        r if r > 0.0 => r,
        _ if in_force > 0 => f64::from(in_force),
        _ => f64::from(ceiling),
    }
}

/// A send's progress as it stands in a campaign state: "7 % of 105" while
/// it sends, "79 of 128 sent, 49 skipped (cancelled)" once cancelled —
/// never "100 %" for recipients that were not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The numbers.
    pub progress: SendProgress,
    /// The campaign state they are read in.
    pub state: CampaignState,
}

impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.progress;
        let skipped = |f: &mut fmt::Formatter<'_>| match p.skipped {
            0 => Ok(()),
            n => write!(f, ", {n} skipped"),
        };
        match self.state {
            CampaignState::Finished => {
                write!(f, "{} of {} sent", p.attempted(), p.eligible)?;
                skipped(f)
            }
            CampaignState::Cancelled => {
                write!(f, "{} of {} sent", p.attempted(), p.eligible)?;
                skipped(f)?;
                // Whoever was left open when the cancel landed is skipped
                // by it; say so even when nobody was left.
                f.write_str(" (cancelled)")
            }
            CampaignState::Paused => write!(
                f,
                "{} of {} done, {} to go (paused)",
                p.done,
                p.eligible,
                p.open()
            ),
            CampaignState::Planned | CampaignState::Scheduled => {
                write!(f, "{} to send (not started)", p.eligible)
            }
            CampaignState::Sending | CampaignState::Held => {
                write!(f, "{} % of {}", p.percent(), p.eligible)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard of issue 17: 105 eligible, 8 taken, 56 in flight.
    fn mid_send() -> Counts {
        Counts {
            accepted: 8,
            in_flight: 56,
            pending: 41,
            skipped: 11,
            ..Counts::default()
        }
    }

    #[test]
    fn in_flight_is_not_done_and_plan_exclusions_are_not_the_send() {
        let p = SendProgress::of(&mid_send(), 116, 105);
        assert_eq!((p.done, p.in_flight, p.pending, p.skipped), (8, 56, 41, 0));
        assert_eq!(p.percent(), 7);
        assert_eq!(p.open(), 97);
        assert_eq!(p.send_counts(&mid_send()).total(), 105);
        assert_eq!(p.standing(CampaignState::Sending).to_string(), "7 % of 105");
    }

    #[test]
    fn a_cancelled_send_says_how_many_were_never_sent() {
        let counts = Counts {
            accepted: 70,
            delivered: 5,
            failed: 3,
            unknown: 1,
            skipped: 49 + 4,
            ..Counts::default()
        };
        let p = SendProgress::of(&counts, 132, 128);
        assert_eq!(p.percent(), 100, "everyone is decided");
        assert_eq!(
            p.standing(CampaignState::Cancelled).to_string(),
            "79 of 128 sent, 49 skipped (cancelled)"
        );
        assert_eq!(
            p.standing(CampaignState::Finished).to_string(),
            "79 of 128 sent, 49 skipped"
        );
    }

    #[test]
    fn a_paused_send_says_what_is_left() {
        let p = SendProgress::of(&mid_send(), 116, 105);
        assert_eq!(
            p.standing(CampaignState::Paused).to_string(),
            "8 of 105 done, 97 to go (paused)"
        );
    }

    #[test]
    fn percent_is_rounded_down_and_an_empty_send_is_complete() {
        let c = Counts {
            accepted: 199,
            pending: 1,
            ..Counts::default()
        };
        assert_eq!(SendProgress::of(&c, 200, 200).percent(), 99);
        assert_eq!(SendProgress::of(&Counts::default(), 0, 0).percent(), 100);
    }

    #[test]
    fn eta_counts_in_flight_as_open_and_prefers_the_observed_rate() {
        let p = SendProgress::of(&mid_send(), 116, 105);
        assert_eq!(
            p.eta_secs(eta_rate(&[0, 0, 40, 40, 40, 40, 40], 80, 80)),
            Some(3)
        );
        assert_eq!(p.eta_secs(eta_rate(&[], 50, 80)), Some(2));
        assert_eq!(p.eta_secs(eta_rate(&[], 0, 0)), None);
        assert_eq!(observed_rate(&[]), 0.0);
    }
}
