//! Whole-campaign moves: cancelling, and the bulk record transitions of repair, requeue and skip.

use chrono::{DateTime, Utc};

use super::journal::{self, decode, encode, RecipientRecord, RecipientState};
use super::{block, CampaignError, CampaignId, CampaignMeta, CampaignState, Campaigns, Journal};
use crate::consent::StoreError;

impl Campaigns {
    /// Cancels a campaign that is not running: records left in flight become
    /// unknown, everyone pending is skipped. Returns the meta and how many
    /// were skipped.
    pub fn cancel(
        &self,
        id: CampaignId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(CampaignMeta, u64), CampaignError> {
        let mut meta = self.require(id)?;
        if matches!(
            meta.state,
            CampaignState::Finished | CampaignState::Cancelled
        ) {
            return Err(CampaignError::State {
                id,
                state: meta.state,
                hint: "nothing left to cancel",
            });
        }
        let journal = self.journal(id)?;
        journal.repair(now)?;
        let skipped = journal.skip_pending(now, "campaign cancelled", actor)?;
        meta.state = CampaignState::Cancelled;
        meta.state_reason = Some(format!("cancelled by {actor}"));
        meta.finished_at = Some(now);
        self.save(&meta)?;
        self.durability.flushed_blocking()?;
        Ok((meta, skipped))
    }
}

impl Journal {
    /// After a crash: records left `in_flight` become `unknown` — their
    /// request may have reached the API, so they are never silently re-sent.
    pub fn repair(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.transition(RecipientState::InFlight, |rec| {
            Some(RecipientRecord {
                state: RecipientState::Unknown,
                reason: Some("in flight when bote stopped; the send may have happened".into()),
                updated_at: now,
                actor: "recovery".into(),
                ..rec
            })
        })
    }

    /// The operator's explicit choice: send the unknown ones again.
    pub fn requeue_unknown(&self, now: DateTime<Utc>, actor: &str) -> Result<u64, StoreError> {
        self.transition(RecipientState::Unknown, |rec| {
            Some(RecipientRecord {
                state: RecipientState::Pending,
                reason: Some(format!(
                    "re-send of an unknown outcome requested by {actor}"
                )),
                updated_at: now,
                actor: actor.into(),
                ..rec
            })
        })
    }

    /// Skips every pending record (a cancelled campaign).
    pub fn skip_pending(
        &self,
        now: DateTime<Utc>,
        reason: &str,
        actor: &str,
    ) -> Result<u64, StoreError> {
        self.transition(RecipientState::Pending, |rec| {
            Some(RecipientRecord {
                state: RecipientState::Skipped,
                reason: Some(reason.into()),
                updated_at: now,
                actor: actor.into(),
                ..rec
            })
        })
    }

    /// Moves every record in state `from` that `f` moves (`Some`), block by
    /// block, each atomically against concurrent writers.
    pub(super) fn transition(
        &self,
        from: RecipientState,
        f: impl Fn(RecipientRecord) -> Option<RecipientRecord>,
    ) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for r in self.tree.iter() {
            let (k, v) = r?;
            let (key, first) = block::parse_key(&k)?;
            let moved = self.swap_block(key, Some(v), |old| {
                let mut moved = 0u64;
                let new = block::rewrite(
                    &key,
                    old,
                    |slot, cur| {
                        let Some(bytes) = cur else {
                            return Ok(None);
                        };
                        let index = (first + slot as u32).to_be_bytes();
                        if journal::decode_state(&index, bytes)? != from {
                            return Ok(None);
                        }
                        let Some(next) = f(decode(&index, bytes)?) else {
                            return Ok(None);
                        };
                        moved += 1;
                        Ok(Some(encode(&next)))
                    },
                    0,
                )?;
                Ok(new.map(|v| (v, moved)))
            })?;
            total += moved.unwrap_or(0);
        }
        self.durability.flushed_blocking()?;
        Ok(total)
    }
}
