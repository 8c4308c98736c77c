//! The audit trail (G4, G13): every processing step bote takes — imports,
//! consent changes, campaigns, exports, erasures, backups, purges, refused
//! requests — appended to `<store>/audit.jsonl`, one JSON line each, every
//! line carrying the SHA-256 of the line before it.
//!
//! Entries never hold a phone number: a contact appears as its salted
//! reference ([`crate::consent::Store::contact_ref`]), so erasing a number
//! leaves the chain whole. The store records the head of the chain (seq and
//! hash) in its database, so that a trail cut at the end is caught too.

mod chain;
pub mod proof;
mod trail;

use serde::{Deserialize, Serialize};

pub use chain::{digest_hex, seal, unseal, verify, Break, Entry, Sealed, Verified, GENESIS};
pub use trail::{
    decode_anchor, read_anchor, verify_file, AuditError, AuditLog, Record, TrailSnapshot,
    AUDIT_FILE, HEAD_KEY,
};

/// What a processing step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A consent CSV was imported (file hash, counts).
    ConsentImport,
    /// A consent or profile changed outside an import (opt-in, profile,
    /// a lifted suppression).
    ConsentChange,
    /// A double opt-in invitation was sent.
    Invitation,
    /// A double opt-in was confirmed.
    Confirmation,
    /// A consent was revoked.
    Revocation,
    /// A number not in the store was suppressed (an opt-out signal).
    Suppression,
    /// An audience was planned (dry run).
    Plan,
    /// A campaign was created from a plan.
    CampaignCreated,
    /// A campaign was scheduled.
    CampaignScheduled,
    /// A campaign started or continued sending.
    CampaignStarted,
    /// A campaign was paused (by an operator or by bote, with the reason).
    CampaignPaused,
    /// A paused campaign was resumed.
    CampaignResumed,
    /// A campaign was cancelled.
    CampaignCancelled,
    /// A campaign's run ended (final state and counts).
    CampaignFinished,
    /// Unknown outcomes were queued to be sent again.
    UnknownRequeued,
    /// Recipients deferred by Meta (131049) were queued to be sent again.
    DeferredRequeued,
    /// A template's category changed (a `template_category_update`).
    TemplateCategoryChanged,
    /// Meta changed a template's status (`message_template_status_update`);
    /// PAUSED / DISABLED stop the campaigns using it.
    TemplateStatusChanged,
    /// Meta re-rated a template's quality (`message_template_quality_update`).
    TemplateQualityChanged,
    /// Meta reported on the account: number quality, restrictions, alerts,
    /// the messaging limit.
    AccountStateChanged,
    /// Per-recipient results were exported.
    CampaignExport,
    /// A DPO proof was exported.
    ProofExport,
    /// Everything about one number was exported (G10 access).
    AccessExport,
    /// A number was erased (G10).
    Erasure,
    /// Retention periods were applied (G9).
    Purge,
    /// A backup was written (G11).
    BackupCreated,
    /// A backup was restored (G11).
    BackupRestored,
    /// A request was refused for lack of a role (G12).
    RoleRefused,
    /// The sending settings in force changed (rate, quiet hours, tier, caps).
    SettingsChanged,
    /// The daemon took over the store.
    DaemonStarted,
    /// bote found the trail damaged at start and repaired its end.
    TrailRepaired,
}

impl Action {
    /// The name in the trail (`consent_import`, …).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl std::str::FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.trim().to_string()))
            .map_err(|_| format!("unknown audit action {s:?}"))
    }
}
