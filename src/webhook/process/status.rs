//! Delivery statuses → campaign journal records.

use super::{Outcome, Processor, Status, StatusResult, Step};
use crate::campaign::journal::{apply_status, RecipientRecord, RecipientState, StatusUpdate};
use crate::campaign::{parse_callback_data, CampaignId, Journal};
use crate::consent::StoreError;

/// 131049 as a status webhook's code.
const MARKETING_CAP: u32 = crate::cloud::MARKETING_CAP as u32;
use crate::phone::Phone;

fn status_state(s: &str) -> Option<RecipientState> {
    match s {
        "sent" => Some(RecipientState::Sent),
        "delivered" => Some(RecipientState::Delivered),
        "read" => Some(RecipientState::Read),
        "failed" => Some(RecipientState::Failed),
        _ => None,
    }
}

/// A journal record a status refers to.
struct Target {
    campaign: CampaignId,
    index: u32,
    journal: Journal,
    record: RecipientRecord,
    reconciled: bool,
}

/// Where a status leads.
enum Located {
    /// To this record.
    Found(Box<Target>),
    /// To no record (not bote's message, another campaign's store, a
    /// record since re-sent under another message id).
    Unmatched,
    /// To a record of another number: not applied (forged or broken
    /// callback data must not move or revoke someone else's record).
    Rejected,
}

impl Processor {
    fn locate(&self, s: &Status) -> Result<Located, StoreError> {
        // Meta echoes the callback data in every status of a message, so it
        // is the index; bote 0.1 also kept a message-id index, still read
        // for statuses that come without it.
        let by_callback = s
            .biz_opaque_callback_data
            .as_deref()
            .and_then(parse_callback_data);
        let located = match by_callback {
            Some(found) => Some(found),
            None => self.campaigns.locate_wamid(&s.id)?,
        };
        let Some((campaign, index)) = located else {
            return Ok(Located::Unmatched);
        };
        // Never open (and so create) a journal tree for a campaign that
        // does not exist.
        if self.campaigns.get(campaign)?.is_none() {
            return Ok(Located::Unmatched);
        }
        let journal = self.campaigns.journal(campaign)?;
        let Some(record) = journal.get(index)? else {
            return Ok(Located::Unmatched);
        };
        // The status must be about this record's number. A recipient that
        // is not a number proves nothing, so it is no match either: only
        // a status naming the very number bote sent to may move the record.
        let recipient = match Phone::from_e164(&s.recipient_id) {
            Some(p) => Some(p),
            None => match s.recipient_user_id.as_deref() {
                Some(u) => self.store.phone_of_user(u)?,
                None => None,
            },
        };
        let same_phone = match (record.phone, recipient) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !same_phone {
            if record.phone.is_none() {
                // A status for an anonymous (erased or purged) record: its
                // body named the number, and those bytes go at the next
                // rewrite (G10).
                self.store.request_rewrite()?;
            }
            // Campaign and index only: the status's recipient and message
            // id (which encodes the number) stay out of the log (G8).
            tracing::warn!(
                campaign = %campaign,
                index,
                "status rejected: its recipient is not the number of the record its callback data names"
            );
            return Ok(Located::Rejected);
        }
        // No other message id on the record: a status of an earlier send of
        // a record re-sent since is about a message the record no longer is.
        if record.wamid.as_deref().is_some_and(|w| w != s.id) {
            return Ok(Located::Unmatched);
        }
        Ok(Located::Found(Box::new(Target {
            campaign,
            index,
            journal,
            // No message id yet: the send's own outcome was lost (unknown,
            // or in flight at a crash) and this status proves it.
            reconciled: record.wamid.is_none(),
            record,
        })))
    }

    pub(super) fn status(&self, s: &Status, force: bool) -> Result<Step, StoreError> {
        // Statuses of bote's own sends name both ids: the contact learns
        // its BSUID (and a suppression left under it reaches the contact).
        if let (Some(p), Some(u)) = (
            Phone::from_e164(&s.recipient_id),
            s.recipient_user_id.as_deref(),
        ) {
            self.store.learn_user_id(u, p)?;
        }
        let Some(state) = status_state(&s.status) else {
            return Ok(Step::Done(Outcome::Ignored {
                what: format!("status {:?} of {}", s.status, s.id),
            }));
        };
        let outcome = |t: Option<&Target>, after: Option<RecipientState>, result| Outcome::Status {
            wamid: s.id.clone(),
            status: state,
            campaign: t.map(|t| t.campaign),
            index: t.map(|t| t.index),
            state: after,
            result,
            reconciled: t.is_some_and(|t| t.reconciled),
        };
        let target = match self.locate(s)? {
            Located::Found(t) => *t,
            Located::Unmatched => {
                return Ok(Step::Done(outcome(None, None, StatusResult::Unmatched)))
            }
            Located::Rejected => {
                return Ok(Step::Done(outcome(None, None, StatusResult::Rejected)))
            }
        };
        if target.record.state == RecipientState::InFlight && !force {
            return Ok(Step::Defer);
        }
        let first_error = s.errors.first();
        let update = StatusUpdate {
            state,
            code: first_error.and_then(|e| u32::try_from(e.code).ok()),
            wamid: s.id.clone(),
            at: s.timestamp,
            pricing: s
                .pricing
                .as_ref()
                .and_then(crate::campaign::journal::Pricing::from_webhook),
        };
        let Some(mut next) = apply_status(&target.record, &update) else {
            return Ok(Step::Done(outcome(
                Some(&target),
                Some(target.record.state),
                StatusResult::Unchanged,
            )));
        };
        // Meta's per-user marketing cap is not the recipient's doing: the
        // record is deferred, not failed, and can be sent again ≥ 24 h on.
        if next.state == RecipientState::Failed && update.code == Some(MARKETING_CAP) {
            next.state = RecipientState::Deferred;
            next.reason = Some(crate::dispatch::DEFERRED_REASON.into());
        }
        let result = if next.state == state || next.state == RecipientState::Deferred {
            StatusResult::Applied
        } else {
            StatusResult::Noted
        };
        if let (RecipientState::Failed, Some(title)) =
            (next.state, first_error.and_then(|e| e.title.as_deref()))
        {
            next.reason = Some(format!(
                "failed status webhook, code {}: {title}",
                update.code.unwrap_or(0)
            ));
        }
        let after = next.state;
        target.journal.write(&[(target.index, next)])?;
        Ok(Step::Done(outcome(Some(&target), Some(after), result)))
    }
}
