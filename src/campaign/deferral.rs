//! Recipients deferred by Meta's per-user marketing cap (131049): Meta
//! asks for another try no sooner than 24 h later, and only when the
//! operator asks (`campaign resend ID --deferred`), never inside the run.

use chrono::{DateTime, Duration, Utc};

use super::journal::{RecipientRecord, RecipientState};
use super::Journal;
use crate::consent::StoreError;

/// How long a deferred recipient waits before it may be sent again.
pub const DEFERRAL: Duration = Duration::hours(24);

/// What a requeue of deferred recipients did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeferredRequeue {
    /// Back to pending: deferred at least [`DEFERRAL`] ago.
    pub requeued: u64,
    /// Still deferred: not yet 24 h.
    pub waiting: u64,
    /// When the first of those still waiting may go.
    pub next_due: Option<DateTime<Utc>>,
}

impl Journal {
    /// Moves the recipients deferred at least [`DEFERRAL`] before `now`
    /// back to pending (the operator's explicit choice); the others stay.
    pub fn requeue_deferred(
        &self,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<DeferredRequeue, StoreError> {
        let cutoff = now
            .checked_sub_signed(DEFERRAL)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let requeued = self.transition(RecipientState::Deferred, |rec| {
            (rec.updated_at <= cutoff).then(|| RecipientRecord {
                state: RecipientState::Pending,
                reason: Some(format!(
                    "re-send of a recipient deferred by Meta's marketing cap (131049), requested by {actor}"
                )),
                updated_at: now,
                actor: actor.into(),
                ..rec
            })
        })?;
        let mut out = DeferredRequeue {
            requeued,
            ..DeferredRequeue::default()
        };
        for entry in self.iter() {
            let (_, rec) = entry?;
            if rec.state != RecipientState::Deferred {
                continue;
            }
            out.waiting += 1;
            let due = rec.updated_at.checked_add_signed(DEFERRAL);
            out.next_due = match (out.next_due, due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(out)
    }
}
