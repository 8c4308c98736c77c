//! Campaigns: a frozen plan plus its durable [`journal`].
//!
//! Creating a campaign writes every recipient of the plan — eligible ones as
//! `pending`, excluded ones as `skipped` with their reason — so the journal
//! always holds the whole audience. Trees in the store's database:
//!
//! ```text
//! campaigns          id(4 BE)            → CampaignMeta (JSON); "next_id" → u32
//! recipients/<id>    block(4 BE)         → 16 RecipientRecords (see block; each binary, journal::encode)
//! wamids             wamid               → id(4 BE) ‖ index(4 BE)   (bote 0.1; read only)
//! ```

pub mod block;
pub mod export;
pub mod journal;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audience::Plan;
use crate::consent::{Store, StoreError};
use crate::template::Template;
use block::BLOCK;
use journal::{decode, encode, Counts, RecipientRecord, RecipientState};

/// Tree-name prefix of journals kept one sled key per recipient.
const LEGACY_JOURNAL: &str = "journal/";

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
        let campaigns = Self {
            meta: db.open_tree("campaigns")?,
            wamids: db.open_tree("wamids")?,
            db,
        };
        campaigns.migrate_record_journals()?;
        Ok(campaigns)
    }

    /// Moves journals written one sled key per recipient (tree
    /// `journal/<id>`, bote before blocks) into blocks. Safe to interrupt:
    /// the old tree is dropped only once the new one is complete and
    /// durable, and a rerun rebuilds the new one from scratch.
    fn migrate_record_journals(&self) -> Result<(), StoreError> {
        for name in self.db.tree_names() {
            let Some(id) = name
                .strip_prefix(LEGACY_JOURNAL.as_bytes())
                .and_then(|id| std::str::from_utf8(id).ok()?.parse().ok())
            else {
                continue;
            };
            let old = self.db.open_tree(&name)?;
            let journal = self.journal(CampaignId(id))?;
            journal.tree.clear()?;
            let mut pending: Option<(u32, Vec<Option<Vec<u8>>>)> = None;
            for r in old.iter() {
                let (k, v) = r?;
                let index = k
                    .as_ref()
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| corrupt("journal key", hex::encode(&k)))?;
                let (key, slot) = block::locate(index);
                let block_no = u32::from_be_bytes(key);
                if let Some((b, slots)) = pending.take_if(|(b, _)| *b != block_no) {
                    journal.put_block(b, slots.iter().map(Option::as_deref))?;
                }
                let (_, slots) = pending.get_or_insert_with(|| (block_no, Vec::new()));
                if slots.len() <= slot {
                    slots.resize(slot + 1, None);
                }
                // JSON records of bote 0.1 become binary on the way.
                slots[slot] = Some(encode(&decode(&k, &v)?));
            }
            if let Some((b, slots)) = pending {
                journal.put_block(b, slots.iter().map(Option::as_deref))?;
            }
            journal.tree.flush()?;
            self.db.drop_tree(&name)?;
            self.db.flush()?;
        }
        Ok(())
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
        let mut index: u32 = 0;
        let mut slots: Vec<Vec<u8>> = Vec::with_capacity(BLOCK as usize);
        for rec in eligible.chain(excluded) {
            slots.push(encode(&rec));
            index += 1;
            if index % BLOCK == 0 {
                journal.put_block((index - 1) / BLOCK, slots.iter().map(|r| Some(&r[..])))?;
                slots.clear();
            }
        }
        if !slots.is_empty() {
            journal.put_block((index - 1) / BLOCK, slots.iter().map(|r| Some(&r[..])))?;
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
            tree: self.db.open_tree(format!("recipients/{id}"))?,
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

/// One campaign's per-recipient records, [`BLOCK`] recipients per sled
/// value ([`block`]).
#[derive(Clone)]
pub struct Journal {
    id: CampaignId,
    tree: sled::Tree,
}

/// A dispatcher outcome to write over the in-flight record it came from.
pub struct Settlement<'a> {
    /// The recipient.
    pub index: u32,
    /// The record as the feeder marked it in flight.
    pub marked: Option<&'a RecipientRecord>,
    /// The outcome; replaced by the merged record when a webhook moved the
    /// record on first.
    pub outcome: &'a mut RecipientRecord,
}

/// The present records of one block value, with their indices.
fn present<'a>(key: &'a [u8], value: &'a [u8]) -> Result<Vec<(u32, &'a [u8])>, StoreError> {
    let (_, first) = block::parse_key(key)?;
    let mut out = Vec::with_capacity(BLOCK as usize);
    for (slot, r) in block::slots(key, value).enumerate() {
        if let Some(bytes) = r? {
            out.push((first + slot as u32, bytes));
        }
    }
    Ok(out)
}

impl Journal {
    /// The campaign.
    pub fn id(&self) -> CampaignId {
        self.id
    }

    /// One record.
    pub fn get(&self, index: u32) -> Result<Option<RecipientRecord>, StoreError> {
        let (key, slot) = block::locate(index);
        let Some(value) = self.tree.get(key)? else {
            return Ok(None);
        };
        // Bound before returning: the slot iterator borrows `value`.
        let found = match block::slots(&key, &value).nth(slot) {
            Some(Ok(Some(bytes))) => decode(&index.to_be_bytes(), bytes).map(Some),
            Some(Err(e)) => Err(e),
            Some(Ok(None)) | None => Ok(None),
        };
        found
    }

    /// Every record in index order.
    pub fn iter(&self) -> impl Iterator<Item = Result<(u32, RecipientRecord), StoreError>> + '_ {
        self.tree.iter().flat_map(|r| {
            let decoded = r.map_err(StoreError::from).and_then(|(k, v)| {
                present(&k, &v)?
                    .into_iter()
                    .map(|(idx, bytes)| Ok((idx, decode(&idx.to_be_bytes(), bytes)?)))
                    .collect::<Result<Vec<_>, StoreError>>()
            });
            match decoded {
                Ok(records) => records.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }
        })
    }

    /// Counts per state (a full scan, reading only each record's state).
    pub fn counts(&self) -> Result<Counts, StoreError> {
        let mut c = Counts::default();
        for r in self.tree.iter() {
            let (k, v) = r?;
            for (idx, bytes) in present(&k, &v)? {
                c.shift(None, journal::decode_state(&idx.to_be_bytes(), bytes)?);
            }
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
        for r in self.tree.range(block::locate(from).0..) {
            let (k, v) = r?;
            for (idx, bytes) in present(&k, &v)? {
                let key = idx.to_be_bytes();
                if idx >= from && journal::decode_state(&key, bytes)? == RecipientState::Pending {
                    out.push((idx, decode(&key, bytes)?));
                    if out.len() == n {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Writes records over whatever is there, each block atomically.
    ///
    /// Deliberately not one `sled::Batch`: sled seals and writes its log
    /// buffer (two `pwrite` + `sync_file_range`) for every batch, which
    /// made batches the dispatcher's biggest cost. No caller needs the
    /// records to land together — marking in flight, repair, requeue and
    /// skip are each per record and idempotent when re-run after a crash —
    /// and durability comes from the caller's [`Journal::flush`].
    pub fn write(&self, records: &[(u32, RecipientRecord)]) -> Result<(), StoreError> {
        for run in records.chunk_by(|a, b| a.0 / BLOCK == b.0 / BLOCK) {
            let (key, _) = block::locate(run[0].0);
            let mut slots: [Option<Vec<u8>>; BLOCK as usize] = Default::default();
            for (idx, rec) in run {
                slots[block::locate(*idx).1] = Some(encode(rec));
            }
            let last = run
                .iter()
                .map(|(i, _)| block::locate(*i).1)
                .max()
                .unwrap_or(0);
            self.swap_block(key, self.tree.get(key)?, |old| {
                let new = block::rewrite(&key, old, |slot, _| Ok(slots[slot].clone()), last)?;
                Ok(new.map(|v| (v, ())))
            })?;
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
        let (key, at) = block::locate(index);
        let changed = self.swap_block(key, self.tree.get(key)?, |old| {
            let mut next = None;
            let new = block::rewrite(
                &key,
                old,
                |slot, cur| match cur {
                    Some(bytes) if slot == at => {
                        next = f(&decode(&index.to_be_bytes(), bytes)?);
                        Ok(next.as_ref().map(encode))
                    }
                    _ => Ok(None),
                },
                at,
            )?;
            Ok(new.map(|v| (v, next)))
        })?;
        Ok(changed.flatten())
    }

    /// Writes dispatcher outcomes over the in-flight records they came
    /// from, one read-modify-write per block. Usually nothing else touched
    /// a record and the outcome replaces it as it is. If a webhook got
    /// there first, the outcome is merged with what it wrote
    /// ([`journal::merge_outcome`]: nothing moves backwards) and the
    /// settlement's outcome becomes the merged record.
    pub fn settle(&self, items: &mut [Settlement<'_>]) -> Result<(), StoreError> {
        items.sort_unstable_by_key(|s| s.index);
        for group in items.chunk_by_mut(|a, b| a.index / BLOCK == b.index / BLOCK) {
            let (key, _) = block::locate(group[0].index);
            let mut member = [None; BLOCK as usize];
            let mut coded = Vec::with_capacity(group.len());
            for (i, s) in group.iter().enumerate() {
                member[block::locate(s.index).1] = Some(i);
                coded.push((s.marked.map(encode), encode(s.outcome)));
            }
            let last = block::locate(group[group.len() - 1].index).1;
            let first = group[0].index / BLOCK * BLOCK;
            let outcomes: Vec<&RecipientRecord> = group.iter().map(|s| &*s.outcome).collect();
            let merged = self.swap_block(key, self.tree.get(key)?, |old| {
                let mut merged = Vec::new();
                let new = block::rewrite(
                    &key,
                    old,
                    |slot, cur| {
                        let Some(i) = member[slot] else {
                            return Ok(None);
                        };
                        let (marked, outcome) = &coded[i];
                        if cur.is_some() && cur == marked.as_deref() {
                            return Ok(Some(outcome.clone()));
                        }
                        let index = first + slot as u32;
                        let cur = cur.map(|b| decode(&index.to_be_bytes(), b)).transpose()?;
                        let next = journal::merge_outcome(cur.as_ref(), outcomes[i].clone());
                        let bytes = encode(&next);
                        merged.push((i, next));
                        Ok(Some(bytes))
                    },
                    last,
                )?;
                Ok(new.map(|v| (v, merged)))
            })?;
            for (i, rec) in merged.into_iter().flatten() {
                *group[i].outcome = rec;
            }
        }
        Ok(())
    }

    /// One block's read-modify-write from `old`, the block as last read,
    /// retried until no concurrent writer got in between: `attempt` sees
    /// the block and returns its new value and a result, or `None` to leave
    /// it. A failed swap hands back the block as it now is, so a retry
    /// reads nothing again.
    fn swap_block<T>(
        &self,
        key: [u8; 4],
        mut old: Option<sled::IVec>,
        mut attempt: impl FnMut(Option<&[u8]>) -> Result<Option<(Vec<u8>, T)>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        loop {
            let Some((new, result)) = attempt(old.as_deref())? else {
                return Ok(None);
            };
            match self.tree.compare_and_swap(key, old, Some(new))? {
                Ok(()) => return Ok(Some(result)),
                Err(e) => old = e.current,
            }
        }
    }

    /// Writes block number `block_no` whole, from its slots in order
    /// (creation and migration: nothing else writes there yet).
    fn put_block<'a>(
        &self,
        block_no: u32,
        slots: impl IntoIterator<Item = Option<&'a [u8]>>,
    ) -> Result<(), StoreError> {
        self.tree
            .insert(block_no.to_be_bytes(), block::build(slots))?;
        Ok(())
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

    /// Moves every record in state `from` through `f`, block by block,
    /// each atomically against concurrent writers.
    fn transition(
        &self,
        from: RecipientState,
        f: impl Fn(RecipientRecord) -> RecipientRecord,
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
                        moved += 1;
                        Ok(Some(encode(&f(decode(&index, bytes)?))))
                    },
                    0,
                )?;
                Ok(new.map(|v| (v, moved)))
            })?;
            total += moved.unwrap_or(0);
        }
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
        // Three blocks' worth, so that settling spans blocks.
        let n = 2 * BLOCK + 3;
        let marks: Vec<_> = (0..n).map(|i| (i, marked.clone())).collect();
        journal.write(&marks).expect("mark");
        // A webhook moves one record on before its outcome is settled.
        let delivered = rec(RecipientState::Delivered, "webhook");
        journal.write(&[(BLOCK + 1, delivered)]).expect("webhook");
        let accepted = rec(RecipientState::Accepted, "dispatcher");
        let mut outcomes: Vec<RecipientRecord> = (0..n).map(|_| accepted.clone()).collect();
        // Outcomes arrive in any order.
        let mut settlements: Vec<Settlement<'_>> = outcomes
            .iter_mut()
            .enumerate()
            .rev()
            .map(|(i, outcome)| Settlement {
                index: i as u32,
                marked: Some(&marked),
                outcome,
            })
            .collect();
        journal.settle(&mut settlements).expect("settle");
        drop(settlements);
        for (i, outcome) in outcomes.iter().enumerate() {
            let stored = journal.get(i as u32).expect("get").expect("present");
            assert_eq!(&stored, outcome, "record {i}");
            if i as u32 == BLOCK + 1 {
                // The outcome did not undo the webhook, and says so.
                assert_eq!(stored.state, RecipientState::Delivered);
            } else {
                assert_eq!(stored, accepted, "record {i} swapped as it was");
            }
        }
        assert_eq!(journal.counts().expect("counts").total(), u64::from(n));
        assert_eq!(journal.get(n).expect("get"), None);
    }

    /// Writers that race on one block (the dispatcher's writer and the
    /// webhook processor) each keep their changes: a lost swap retries on
    /// the block as the other left it.
    #[test]
    fn concurrent_updates_to_one_block_lose_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let journal = Campaigns::open(&store)
            .expect("campaigns")
            .journal(CampaignId(1))
            .expect("journal");
        let rec = RecipientRecord {
            phone: crate::phone::Phone::from_e164("+491712345678"),
            params: Default::default(),
            state: RecipientState::Pending,
            code: None,
            reason: None,
            wamid: None,
            attempts: 0,
            latency_ms: None,
            updated_at: Utc::now(),
            actor: "planner".into(),
        };
        let all: Vec<_> = (0..BLOCK).map(|i| (i, rec.clone())).collect();
        journal.write(&all).expect("write");
        let rounds = 200;
        std::thread::scope(|scope| {
            for half in [0..BLOCK / 2, BLOCK / 2..BLOCK] {
                let journal = &journal;
                scope.spawn(move || {
                    for _ in 0..rounds {
                        for i in half.clone() {
                            journal
                                .update(i, |r| {
                                    Some(RecipientRecord {
                                        attempts: r.attempts + 1,
                                        ..r.clone()
                                    })
                                })
                                .expect("update");
                        }
                    }
                });
            }
        });
        for i in 0..BLOCK {
            let r = journal.get(i).expect("get").expect("present");
            assert_eq!(r.attempts, rounds, "record {i}");
        }
    }

    #[test]
    fn record_journals_migrate_into_blocks() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let at = Utc::now();
        let rec = |i: u32| RecipientRecord {
            phone: crate::phone::Phone::from_e164(&format!("+4917123456{i:02}")),
            params: Default::default(),
            state: if i % 3 == 0 {
                RecipientState::Skipped
            } else {
                RecipientState::Pending
            },
            code: None,
            reason: None,
            wamid: None,
            attempts: 0,
            latency_ms: None,
            updated_at: at,
            actor: "planner".into(),
        };
        // Written as bote did before blocks: one key per recipient, some
        // records still JSON as bote 0.1 wrote them.
        let old = store.db().open_tree("journal/7").expect("tree");
        let n = BLOCK + 5;
        for i in 0..n {
            let value = if i % 2 == 0 {
                encode(&rec(i))
            } else {
                serde_json::to_vec(&rec(i)).expect("json")
            };
            old.insert(i.to_be_bytes(), value).expect("insert");
        }
        // A half-done earlier migration is redone from scratch.
        store
            .db()
            .open_tree("recipients/7")
            .expect("tree")
            .insert(0u32.to_be_bytes(), block::build([Some(&b"partial"[..])]))
            .expect("insert");
        let campaigns = Campaigns::open(&store).expect("campaigns");
        let journal = campaigns.journal(CampaignId(7)).expect("journal");
        let got: Vec<_> = journal.iter().collect::<Result<_, _>>().expect("records");
        let want: Vec<_> = (0..n).map(|i| (i, rec(i))).collect();
        assert_eq!(got, want);
        assert!(!store
            .db()
            .tree_names()
            .iter()
            .any(|t| t.starts_with(b"journal/")));
        // Opening again finds nothing left to migrate and changes nothing.
        let again = Campaigns::open(&store).expect("campaigns");
        let after: Vec<_> = again
            .journal(CampaignId(7))
            .expect("journal")
            .iter()
            .collect::<Result<_, _>>()
            .expect("records");
        assert_eq!(after, want);
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
