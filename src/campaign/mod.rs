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
//!
//! The types of a campaign are in `meta`; [`Campaigns`] (`registry`) creates
//! and finds them, [`Journal`] (`recipients`) holds one campaign's records,
//! `settlement` writes dispatcher outcomes into it and `lifecycle` moves
//! whole campaigns (cancel, repair, requeue); `results` pages the journal
//! newest change first and `progress` says how far a send has come.

pub mod block;
pub mod cost;
pub mod export;
pub mod journal;
pub mod progress;

mod callback;
mod deferral;
mod lifecycle;
mod meta;
mod migration;
mod recipients;
mod registry;
pub mod report;
mod results;
mod settlement;

use std::fmt;

use crate::consent::StoreError;

pub use callback::{callback_data, parse_callback_data};
pub use cost::{actual_cost, ActualCost};
pub use deferral::{DeferredRequeue, DEFERRAL};
pub use meta::{CampaignId, CampaignMeta, CampaignState, Schedule, SendSettings};
pub use recipients::Journal;
pub use registry::Campaigns;
pub use results::{Newest, MAX_PAGE};
pub use settlement::Settlement;

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

fn corrupt(what: &str, e: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: what.into(),
        message: e.to_string(),
    }
}
