//! Access (G10): everything bote stores about one number, in one JSON
//! document — the contact, its history, invitations, suppression, every
//! campaign it was in with outcome, and the audit entries about it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ops::error;
use super::Engine;
use crate::audit::{Action, Entry};
use crate::campaign::journal::RecipientState;
use crate::config::Role;
use crate::consent::{ConsentEvent, Contact, Suppression};
use crate::phone::Phone;
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::webhook::invite::{InviteRecord, Invites};

/// One campaign a number was in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    /// Campaign id.
    pub campaign: u32,
    /// Template name.
    pub template: String,
    /// Consent topic.
    pub topic: String,
    /// When the campaign was created.
    pub created_at: DateTime<Utc>,
    /// Position in it.
    pub index: u32,
    /// Outcome (the latest status).
    pub state: RecipientState,
    /// Error code.
    pub code: Option<u32>,
    /// Why excluded, skipped, failed or unknown.
    pub reason: Option<String>,
    /// When consent was checked before the send.
    pub checked_at: Option<DateTime<Utc>>,
    /// When the latest status came.
    pub updated_at: DateTime<Utc>,
    /// The personalisation it was sent with.
    pub params: Vec<String>,
}

/// Everything about one number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessReport {
    /// E.164.
    pub phone: String,
    /// The number's name in the audit trail.
    pub reference: String,
    /// When this was put together.
    pub generated_at: DateTime<Utc>,
    /// The contact, if stored.
    pub contact: Option<Contact>,
    /// Its consent history.
    pub history: Vec<ConsentEvent>,
    /// Double opt-in invitations, per topic.
    pub invitations: Vec<InviteRecord>,
    /// On the suppression list, and why.
    pub suppression: Option<Suppression>,
    /// Marketing sends recorded for it in the send index (frequency cap, tier).
    pub sends_last_30_days: u32,
    /// Every campaign it was in.
    pub campaigns: Vec<Membership>,
    /// Audit entries about it.
    pub audit: Vec<Entry>,
}

impl Engine {
    /// Everything about the number `input` (G10 access); the request is recorded.
    pub fn access_export(&self, caller: &Caller, input: &str) -> Result<AccessReport, Failure> {
        self.authorize(caller, Role::Operator, "exporting a person's data")?;
        let phone = self.parse_phone(input)?;
        let reference = self.store.contact_ref(phone);
        let now = self.now();
        let invites = Invites::open(&self.store).map_err(error)?;
        let mut invitations = Vec::new();
        for topic in &self.config.consent.topics {
            if let Some(i) = invites.get(phone, topic).map_err(error)? {
                invitations.push(i);
            }
        }
        let mut audit = Vec::new();
        self.store
            .audit()
            .for_each(|e| {
                if e.subject.as_deref() == Some(reference.as_str()) {
                    audit.push(e);
                }
            })
            .map_err(error)?;
        let report = AccessReport {
            phone: phone.e164(),
            generated_at: now,
            contact: self.store.contact(phone).map_err(error)?,
            history: self.store.history(phone).map_err(error)?,
            invitations,
            suppression: self.store.suppression(phone).map_err(error)?,
            sends_last_30_days: self
                .store
                .sends_since(phone, now - chrono::Duration::days(30))
                .map_err(error)?,
            campaigns: self.memberships(phone)?,
            audit,
            reference: reference.clone(),
        };
        self.audit(
            &caller.user,
            Action::AccessExport,
            Some(reference),
            serde_json::json!({
                "campaigns": report.campaigns.len(),
                "history": report.history.len(),
                "audit_entries": report.audit.len(),
            }),
        )?;
        Ok(report)
    }

    /// Every campaign `phone` is in: a scan of every journal (an access or
    /// erasure request is rare; an index by number would be one more copy
    /// of every number to erase).
    pub(super) fn memberships(&self, phone: Phone) -> Result<Vec<Membership>, Failure> {
        let mut out = Vec::new();
        for meta in self.campaigns.list().map_err(error)? {
            let journal = self.campaigns.journal(meta.id).map_err(error)?;
            for r in journal.iter() {
                let (index, rec) = r.map_err(error)?;
                if rec.phone == Some(phone) {
                    out.push(Membership {
                        campaign: meta.id.0,
                        template: meta.template.name.clone(),
                        topic: meta.topic.clone(),
                        created_at: meta.created_at,
                        index,
                        state: rec.state,
                        code: rec.code,
                        reason: rec.reason,
                        checked_at: rec.checked_at,
                        updated_at: rec.updated_at,
                        params: rec.params.0,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// What an erasure removed (G10).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErasureReport {
    /// E.164 of the erased number (to the admin who asked, never to the trail).
    pub phone: String,
    /// Its name in the audit trail.
    pub reference: String,
    /// What the store removed.
    pub store: crate::consent::store::Erased,
    /// Invitations removed.
    pub invitations: usize,
    /// Campaign records made anonymous (state kept, so counts still add up).
    pub campaign_records: usize,
    /// How the old bytes go.
    pub byte_level: String,
}

/// What the byte-level part of an erasure is, as the admin and the trail read it.
pub const REWRITE_NOTE: &str = "the database is rewritten without the erased values when the daemon next starts (bote daemon stop, then any command; systemctl restart bote)";

impl Engine {
    /// Erases `input` from everything bote stores (G10): contact, history,
    /// invitations, send index; its campaign records become anonymous
    /// tombstones; its salted hash stays on the suppression list, so a
    /// re-import is refused unless its opt-in is newer than the erasure.
    pub fn erase(&self, caller: &Caller, input: &str) -> Result<ErasureReport, Failure> {
        self.authorize(caller, Role::Admin, "erasing a person's data")?;
        let phone = self.parse_phone(input)?;
        let memberships = self.memberships(phone)?;
        if let Some(m) = memberships.iter().find(|m| {
            self.runs()
                .is_running(crate::campaign::CampaignId(m.campaign))
        }) {
            return Err(super::ops::refused(format!(
                "campaign {} is running and includes this number: revoke the consent now (it is in force for the next send), and erase when the campaign has stopped",
                m.campaign
            )));
        }
        let now = self.now();
        for m in &memberships {
            let journal = self
                .campaigns
                .journal(crate::campaign::CampaignId(m.campaign))
                .map_err(error)?;
            if let Some(mut rec) = journal.get(m.index).map_err(error)? {
                rec.anonymise();
                rec.reason = Some(format!(
                    "erased {} (G10){}",
                    now.format("%Y-%m-%d"),
                    rec.reason
                        .map(|r| format!("; was: {r}"))
                        .unwrap_or_default()
                ));
                journal.write(&[(m.index, rec)]).map_err(error)?;
            }
        }
        let invitations = Invites::open(&self.store)
            .and_then(|i| i.forget(phone))
            .map_err(error)?;
        let store = self.store.erase(phone, now).map_err(error)?;
        self.store.flush().map_err(error)?;
        let reference = self.store.contact_ref(phone);
        let report = ErasureReport {
            phone: phone.e164(),
            reference: reference.clone(),
            store,
            invitations,
            campaign_records: memberships.len(),
            byte_level: REWRITE_NOTE.into(),
        };
        self.audit(
            &caller.user,
            Action::Erasure,
            Some(reference),
            serde_json::json!({
                "contact": store.contact,
                "history_records": store.history_records,
                "send_entries": store.send_entries,
                "invitations": invitations,
                "campaign_records": memberships.len(),
                "byte_level": REWRITE_NOTE,
            }),
        )?;
        Ok(report)
    }
}
