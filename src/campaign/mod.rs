//! Campaigns: a frozen plan plus its durable [`journal`].
//!
//! Creating a campaign writes every recipient of the plan — eligible ones as
//! `pending`, excluded ones as `skipped` with their reason — so the journal
//! always holds the whole audience. Trees in the store's database:
//!
//! ```text
//! campaigns          id(4 BE)            → CampaignMeta (JSON); "next_id" → u32
//! journal/<id>       index(4 BE)         → RecipientRecord (binary, see journal::encode)
//! wamids             wamid               → id(4 BE) ‖ index(4 BE)   (bote 0.1; read only)
//! ```

pub mod export;
pub mod journal;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audience::Plan;
use crate::consent::{Store, StoreError};
use crate::template::Template;
use journal::{decode, encode, Counts, RecipientRecord, RecipientState};

/// A campaign's short, stable id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CampaignId(pub u32);

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for CampaignId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim_start_matches(['c', 'C'])
            .parse()
            .map(Self)
            .map_err(|_| format!("{s:?} is not a campaign id (see `bote campaign list`)"))
    }
}

/// A campaign operation that cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such campaign.
    #[error("no campaign {0} (see `bote campaign list`)")]
    NotFound(CampaignId),
    /// The campaign's state does not allow it.
    #[error("campaign {id} is {state}; {hint}")]
    State {
        /// Campaign.
        id: CampaignId,
        /// Its state.
        state: CampaignState,
        /// What to do instead.
        hint: &'static str,
    },
}

/// The campaign's own lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Created, nothing sent yet.
    Planned,
    /// Workers are sending.
    Sending,
    /// Stopped by the operator, a stop-class API error, or a crash.
    Paused,
    /// Waiting for quiet hours to end or tier capacity.
    Held,
    /// Stopped for good; the rest were skipped.
    Cancelled,
    /// Every recipient is decided.
    Finished,
}

impl fmt::Display for CampaignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Planned => "planned",
            Self::Sending => "sending",
            Self::Paused => "paused",
            Self::Held => "held",
            Self::Cancelled => "cancelled",
            Self::Finished => "finished",
        })
    }
}

/// Everything about a campaign but its recipients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignMeta {
    /// Id.
    pub id: CampaignId,
    /// The template, frozen as planned.
    pub template: Template,
    /// Topic (G6).
    pub topic: String,
    /// Locale filter of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// List file of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// `sandbox` or `live`.
    pub mode: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it (G13).
    pub created_by: String,
    /// Lifecycle state.
    pub state: CampaignState,
    /// Why it is paused, held or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// Everyone in the journal.
    pub audience: u64,
    /// Eligible at planning time.
    pub eligible: u64,
    /// First send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When every recipient was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The store's consent epoch the plan saw ([`Store::consent_epoch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_epoch: Option<u64>,
}

/// The campaigns of a store.
#[derive(Clone)]
pub struct Campaigns {
    db: sled::Db,
    meta: sled::Tree,
    wamids: sled::Tree,
}

fn corrupt(what: &str, e: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: what.into(),
        message: e.to_string(),
    }
}

/// `c=42;r=1187`: campaign and recipient, echoed back by status webhooks.
pub fn callback_data(id: CampaignId, index: u32) -> String {
    format!("c={id};r={index}")
}

/// The inverse of [`callback_data`].
pub fn parse_callback_data(s: &str) -> Option<(CampaignId, u32)> {
    let (c, r) = s.split_once(';')?;
    let c = c.strip_prefix("c=")?.parse().ok()?;
    let r = r.strip_prefix("r=")?.parse().ok()?;
    Some((CampaignId(c), r))
}

impl Campaigns {
    /// The campaigns in `store`'s database.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let db = store.db().clone();
        Ok(Self {
            meta: db.open_tree("campaigns")?,
            wamids: db.open_tree("wamids")?,
            db,
        })
    }

    /// Freezes a plan into a new campaign: meta plus one journal record per
    /// recipient, written in one atomic batch.
    pub fn create(
        &self,
        plan: &Plan,
        mode: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CampaignMeta, StoreError> {
        let next = self
            .meta
            .update_and_fetch("next_id", |old| {
                let n = old
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                Some((n + 1).to_be_bytes().to_vec())
            })?
            .and_then(|b| b.as_ref().try_into().ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| corrupt("campaigns/next_id", "missing"))?;
        let id = CampaignId(next);
        let journal = self.journal(id)?;
        let record = |phone, params, state, reason: Option<String>| RecipientRecord {
            phone,
            params,
            state,
            code: None,
            reason,
            wamid: None,
            attempts: 0,
            latency_ms: None,
            updated_at: now,
            actor: actor.to_string(),
        };
        // Plain inserts, not sled batches: a batch holds every tree node it
        // replaces until it ends (3 GB resident for a 1M journal in 10k
        // batches). Atomicity is not needed here: the campaign only becomes
        // visible with its meta, written and flushed last.
        let mut index: u32 = 0;
        let eligible = plan.eligible.iter().map(|r| {
            record(
                Some(r.phone),
                r.params.clone(),
                RecipientState::Pending,
                None,
            )
        });
        let excluded = plan.excluded.iter().map(|e| {
            record(
                e.phone,
                Default::default(),
                RecipientState::Skipped,
                Some(e.reason.describe()),
            )
        });
        for rec in eligible.chain(excluded) {
            journal
                .tree
                .insert(&index.to_be_bytes()[..], encode(&rec))?;
            index += 1;
        }
        let meta = CampaignMeta {
            id,
            template: plan.template.clone(),
            topic: plan.request.topic.clone(),
            locale: plan.request.locale.clone(),
            list: plan.request.list.as_ref().map(|p| p.display().to_string()),
            mode: mode.into(),
            created_at: now,
            created_by: actor.into(),
            state: CampaignState::Planned,
            state_reason: None,
            audience: u64::from(index),
            eligible: plan.eligible.len() as u64,
            started_at: None,
            finished_at: None,
            consent_epoch: Some(plan.consent_epoch),
        };
        self.save(&meta)?;
        self.db.flush()?;
        Ok(meta)
    }

    /// Writes a campaign's meta.
    pub fn save(&self, meta: &CampaignMeta) -> Result<(), StoreError> {
        let v = serde_json::to_vec(meta).map_err(|e| corrupt("campaign", e))?;
        self.meta.insert(meta.id.0.to_be_bytes(), v)?;
        Ok(())
    }

    /// One campaign.
    pub fn get(&self, id: CampaignId) -> Result<Option<CampaignMeta>, StoreError> {
        self.meta
            .get(id.0.to_be_bytes())?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&format!("campaign {id}"), e)))
            .transpose()
    }

    /// One campaign, or [`CampaignError::NotFound`].
    pub fn require(&self, id: CampaignId) -> Result<CampaignMeta, CampaignError> {
        self.get(id)?.ok_or(CampaignError::NotFound(id))
    }

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
        self.db.flush().map_err(StoreError::from)?;
        Ok((meta, skipped))
    }

    /// All campaigns, newest first.
    pub fn list(&self) -> Result<Vec<CampaignMeta>, StoreError> {
        let mut out = Vec::new();
        for r in self.meta.iter() {
            let (k, v) = r?;
            if k.len() == 4 {
                out.push(serde_json::from_slice(&v).map_err(|e| corrupt("campaign", e))?);
            }
        }
        out.reverse();
        Ok(out)
    }

    /// A campaign's journal.
    pub fn journal(&self, id: CampaignId) -> Result<Journal, StoreError> {
        Ok(Journal {
            id,
            tree: self.db.open_tree(format!("journal/{id}"))?,
        })
    }

    /// Which campaign and recipient a message id belongs to, for messages
    /// sent by bote 0.1 (which kept this index; callback data replaced it).
    pub fn locate_wamid(&self, wamid: &str) -> Result<Option<(CampaignId, u32)>, StoreError> {
        Ok(self.wamids.get(wamid)?.and_then(|v| {
            let c = u32::from_be_bytes(v.get(..4)?.try_into().ok()?);
            let r = u32::from_be_bytes(v.get(4..8)?.try_into().ok()?);
            Some((CampaignId(c), r))
        }))
    }

    /// The database (for flushes by the owner).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

/// One campaign's per-recipient records.
#[derive(Clone)]
pub struct Journal {
    id: CampaignId,
    tree: sled::Tree,
}

impl Journal {
    /// The campaign.
    pub fn id(&self) -> CampaignId {
        self.id
    }

    /// One record.
    pub fn get(&self, index: u32) -> Result<Option<RecipientRecord>, StoreError> {
        let key = index.to_be_bytes();
        self.tree.get(key)?.map(|v| decode(&key, &v)).transpose()
    }

    /// Every record in index order.
    pub fn iter(&self) -> impl Iterator<Item = Result<(u32, RecipientRecord), StoreError>> + '_ {
        self.tree.iter().map(|r| {
            let (k, v) = r?;
            let idx = k
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| corrupt("journal key", hex::encode(&k)))?;
            Ok((idx, decode(&k, &v)?))
        })
    }

    /// Counts per state (a full scan, reading only each record's state).
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut c = Counts::default();
        for r in self.tree.iter() {
            let (k, v) = r?;
            c.shift(None, journal::decode_state(&k, &v)?);
        }
        Ok(c)
    }

    /// Up to `n` pending records at or after `from`.
    pub fn pending_from(
        &self,
        from: u32,
        n: usize,
    ) -> Result<Vec<(u32, RecipientRecord)>, StoreError> {
        let mut out = Vec::with_capacity(n);
        for r in self.tree.range(from.to_be_bytes()..) {
            let (k, v) = r?;
            if journal::decode_state(&k, &v)? == RecipientState::Pending {
                let rec = decode(&k, &v)?;
                let idx = k
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| corrupt("journal key", hex::encode(&k)))?;
                out.push((idx, rec));
                if out.len() == n {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Writes records, each atomically.
    ///
    /// Deliberately not one `sled::Batch`: sled seals and writes its log
    /// buffer (two `pwrite` + `sync_file_range`) for every batch, which
    /// made batches the dispatcher's biggest cost. No caller needs the
    /// records to land together — marking in flight, repair, requeue and
    /// skip are each per record and idempotent when re-run after a crash —
    /// and durability comes from the caller's [`Journal::flush`].
    pub fn write(&self, records: &[(u32, RecipientRecord)]) -> Result<(), StoreError> {
        for (idx, rec) in records {
            self.tree.insert(idx.to_be_bytes(), encode(rec))?;
        }
        Ok(())
    }

    /// Changes one record atomically against concurrent writers (the
    /// dispatcher's writer and the webhook processor): `f` sees the record
    /// as it is and returns its new state, or `None` to leave it.
    pub fn update(
        &self,
        index: u32,
        mut f: impl FnMut(&RecipientRecord) -> Option<RecipientRecord>,
    ) -> Result<Option<RecipientRecord>, StoreError> {
        let key = index.to_be_bytes();
        let mut changed = None;
        let mut failure = None;
        self.tree.update_and_fetch(key, |old| {
            let old = old?;
            match decode(&key, old) {
                Ok(cur) => {
                    let next = f(&cur);
                    changed.clone_from(&next);
                    Some(next.as_ref().map_or_else(|| old.to_vec(), encode))
                }
                Err(e) => {
                    failure = Some(e);
                    Some(old.to_vec())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(changed)
    }

    /// Writes a dispatcher outcome over the in-flight record it came from.
    /// Usually nothing else touched the record, and one compare-and-swap
    /// against `marked` does it (`None` returned: the record is `outcome`).
    /// If a webhook got there first, the outcome is merged with what it
    /// wrote ([`journal::merge_outcome`]: nothing moves backwards) and the
    /// merged record is returned.
    pub fn settle(
        &self,
        index: u32,
        marked: Option<&RecipientRecord>,
        outcome: &RecipientRecord,
    ) -> Result<Option<RecipientRecord>, StoreError> {
        if let Some(marked) = marked {
            let swapped = self.tree.compare_and_swap(
                index.to_be_bytes(),
                Some(encode(marked)),
                Some(encode(outcome)),
            )?;
            if swapped.is_ok() {
                return Ok(None);
            }
        }
        self.update(index, |cur| {
            Some(journal::merge_outcome(Some(cur), outcome.clone()))
        })
    }

    /// Waits until everything written is durable.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.tree.flush_async().await?;
        Ok(())
    }

    /// After a crash: records left `in_flight` become `unknown` — their
    /// request may have reached the API, so they are never silently re-sent.
    pub fn repair(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.transition(RecipientState::InFlight, |rec| RecipientRecord {
            state: RecipientState::Unknown,
            reason: Some("in flight when bote stopped; the send may have happened".into()),
            updated_at: now,
            actor: "recovery".into(),
            ..rec
        })
    }

    /// The operator's explicit choice: send the unknown ones again.
    pub fn requeue_unknown(&self, now: DateTime<Utc>, actor: &str) -> Result<u64, StoreError> {
        self.transition(RecipientState::Unknown, |rec| RecipientRecord {
            state: RecipientState::Pending,
            reason: Some(format!(
                "re-send of an unknown outcome requested by {actor}"
            )),
            updated_at: now,
            actor: actor.into(),
            ..rec
        })
    }

    /// Skips every pending record (a cancelled campaign).
    pub fn skip_pending(
        &self,
        now: DateTime<Utc>,
        reason: &str,
        actor: &str,
    ) -> Result<u64, StoreError> {
        self.transition(RecipientState::Pending, |rec| RecipientRecord {
            state: RecipientState::Skipped,
            reason: Some(reason.into()),
            updated_at: now,
            actor: actor.into(),
            ..rec
        })
    }

    fn transition(
        &self,
        from: RecipientState,
        f: impl Fn(RecipientRecord) -> RecipientRecord,
    ) -> Result<u64, StoreError> {
        let mut changed = Vec::new();
        let mut total = 0u64;
        for r in self.iter() {
            let (idx, rec) = r?;
            if rec.state == from {
                changed.push((idx, f(rec)));
                total += 1;
            }
            if changed.len() >= 10_000 {
                self.write(&changed)?;
                changed.clear();
            }
        }
        self.write(&changed)?;
        self.tree.flush()?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settle_swaps_the_marked_record_and_merges_after_a_webhook() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let journal = Campaigns::open(&store)
            .expect("campaigns")
            .journal(CampaignId(1))
            .expect("journal");
        let rec = |state, actor: &str| RecipientRecord {
            phone: crate::phone::Phone::from_e164("+491712345678"),
            params: Default::default(),
            state,
            code: None,
            reason: None,
            wamid: Some("wamid.A".into()),
            attempts: 1,
            latency_ms: Some(20),
            updated_at: Utc::now(),
            actor: actor.into(),
        };
        let marked = rec(RecipientState::InFlight, "dispatcher");
        journal
            .write(&[(0, marked.clone()), (1, marked.clone())])
            .expect("mark");
        // The usual case: the record is as the feeder marked it.
        let accepted = rec(RecipientState::Accepted, "dispatcher");
        let merged = journal.settle(0, Some(&marked), &accepted).expect("settle");
        assert_eq!(merged, None, "swapped, nothing to merge");
        assert_eq!(journal.get(0).expect("get"), Some(accepted.clone()));
        // A webhook moved the record on first: the outcome does not undo it.
        let delivered = rec(RecipientState::Delivered, "webhook");
        journal.write(&[(1, delivered.clone())]).expect("webhook");
        let now = journal
            .settle(1, Some(&marked), &accepted)
            .expect("settle")
            .expect("merged");
        assert_eq!(now.state, RecipientState::Delivered);
        assert_eq!(journal.get(1).expect("get"), Some(now));
    }

    #[test]
    fn callback_data_round_trips() {
        let s = callback_data(CampaignId(42), 1187);
        assert_eq!(s, "c=42;r=1187");
        assert_eq!(parse_callback_data(&s), Some((CampaignId(42), 1187)));
        assert_eq!(parse_callback_data("garbage"), None);
        assert_eq!("c7".parse::<CampaignId>(), Ok(CampaignId(7)));
    }
}
