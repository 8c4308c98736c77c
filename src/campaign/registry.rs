//! The campaigns of a store: creating one from a plan, reading and saving metas, opening journals.

use chrono::{DateTime, Utc};

use super::block::BLOCK;
use super::journal::{encode, RecipientRecord, RecipientState};
use super::{
    corrupt, CampaignError, CampaignId, CampaignMeta, CampaignState, Journal, SendSettings,
};
use crate::audience::Plan;
use crate::consent::store::Durability;
use crate::consent::{Store, StoreError};

/// Key prefix of the index of open scheduled campaigns (+ the id).
const SCHEDULE_PREFIX: &[u8] = b"scheduled/";
/// Present once the schedule index covers every campaign.
const SCHEDULE_INDEXED: &[u8] = b"schedule-index-v1";

/// Puts `meta` into the schedule index (or out of it) as part of `batch`.
fn index_schedule(batch: &mut sled::Batch, meta: &CampaignMeta) {
    let key = [SCHEDULE_PREFIX, &meta.id.0.to_be_bytes()[..]].concat();
    let open = !matches!(
        meta.state,
        CampaignState::Finished | CampaignState::Cancelled
    );
    if meta.schedule.is_some() && open {
        batch.insert(key, &[][..]);
    } else {
        batch.remove(key);
    }
}

/// The campaigns of a store.
#[derive(Clone)]
pub struct Campaigns {
    pub(super) db: sled::Db,
    pub(super) durability: Durability,
    pub(super) meta: sled::Tree,
    pub(super) wamids: sled::Tree,
}

impl Campaigns {
    /// The campaigns in `store`'s database.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let db = store.db().clone();
        let campaigns = Self {
            meta: db.open_tree("campaigns")?,
            wamids: db.open_tree("wamids")?,
            durability: store.durability().clone(),
            db,
        };
        campaigns.migrate_record_journals()?;
        campaigns.index_schedules()?;
        Ok(campaigns)
    }

    /// Builds the index of open scheduled campaigns once, for stores of a
    /// bote that did not keep it.
    fn index_schedules(&self) -> Result<(), StoreError> {
        if self.meta.contains_key(SCHEDULE_INDEXED)? {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for meta in self.list()? {
            index_schedule(&mut batch, &meta);
        }
        batch.insert(SCHEDULE_INDEXED, &[][..]);
        self.meta.apply_batch(batch)?;
        Ok(())
    }

    /// The campaigns with a schedule that are neither finished nor
    /// cancelled, from the index: the daemon's once-a-second look decodes
    /// these, not every campaign ever made.
    pub fn scheduled(&self) -> Result<Vec<CampaignMeta>, StoreError> {
        let mut out = Vec::new();
        for r in self.meta.scan_prefix(SCHEDULE_PREFIX) {
            let (k, _) = r?;
            let Some(id) = k
                .get(SCHEDULE_PREFIX.len()..)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
            else {
                continue;
            };
            if let Some(meta) = self.get(CampaignId(u32::from_be_bytes(id)))? {
                out.push(meta);
            }
        }
        Ok(out)
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
        self.create_with(plan, mode, actor, now, None)
    }

    /// [`Campaigns::create`], freezing the sending settings into the campaign.
    pub fn create_with(
        &self,
        plan: &Plan,
        mode: &str,
        actor: &str,
        now: DateTime<Utc>,
        settings: Option<SendSettings>,
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
            checked_at: None,
            pricing: None,
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
            settings,
            schedule: None,
            estimate: Some(plan.cost.clone()),
        };
        self.save(&meta)?;
        self.durability.flushed_blocking()?;
        Ok(meta)
    }

    /// Writes a campaign's meta, and its place in the schedule index, at once.
    pub fn save(&self, meta: &CampaignMeta) -> Result<(), StoreError> {
        let v = serde_json::to_vec(meta).map_err(|e| corrupt("campaign", e))?;
        let mut batch = sled::Batch::default();
        batch.insert(&meta.id.0.to_be_bytes()[..], v);
        index_schedule(&mut batch, meta);
        self.meta.apply_batch(batch)?;
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
            durability: self.durability.clone(),
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

    /// Waits (blocking the thread) until everything written is on disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.durability.flushed_blocking()
    }
}
