//! Retention (G9): the `[retention]` periods applied by `bote purge` and by
//! the daemon, at start and daily. Per-recipient results past `results`
//! become anonymous counts; consents never confirmed past
//! `pending_unconfirmed` are removed; contacts whose every consent was
//! revoked longer than `revoked` ago shrink to their suppression hash;
//! webhook processing records past `results` are dropped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ops::error;
use super::trail::DAEMON_ACTOR;
use super::Engine;
use crate::audit::Action;
use crate::campaign::{CampaignMeta, CampaignState};
use crate::config::Role;
use crate::consent::{ConsentStatus, Contact, SuppressionCause};
use crate::service::peer::Caller;
use crate::service::wire::Failure;

/// What a purge did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// The time the periods were counted back from.
    pub at: DateTime<Utc>,
    /// Campaigns whose results became anonymous.
    pub campaigns: u64,
    /// Recipient records made anonymous in them.
    pub results_anonymised: u64,
    /// Unconfirmed consents removed.
    pub pending_removed: u64,
    /// Contacts removed because nothing confirmed was left.
    pub contacts_removed: u64,
    /// Revoked contacts shrunk to their suppression hash.
    pub revoked_minimised: u64,
    /// Webhook processing records dropped.
    pub webhook_records: u64,
}

/// The `meta` key prefix marking a campaign whose results were purged.
const PURGED: &str = "purged/";

fn period(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Engine {
    /// `bote purge`: admin only.
    pub fn purge(&self, caller: &Caller, dry_run: bool) -> Result<PurgeReport, Failure> {
        self.authorize(caller, Role::Admin, "purging by the retention periods")?;
        self.purge_as(&caller.user, dry_run)
    }

    /// The daemon's own purge (at start and daily).
    pub fn purge_scheduled(&self) -> Result<PurgeReport, Failure> {
        self.purge_as(DAEMON_ACTOR, false)
    }

    fn purge_as(&self, actor: &str, dry_run: bool) -> Result<PurgeReport, Failure> {
        let now = self.now();
        let r = &self.config.retention;
        let mut report = PurgeReport {
            dry_run,
            at: now,
            ..Default::default()
        };
        self.purge_results(now - period(r.results), dry_run, &mut report)?;
        self.purge_consents(now, dry_run, &mut report)?;
        let inbox = crate::webhook::Inbox::open(&self.store).map_err(error)?;
        report.webhook_records = inbox
            .prune_processed(now - period(r.results), dry_run)
            .map_err(error)?;
        if !dry_run {
            self.store.flush().map_err(error)?;
        }
        let mut details = serde_json::to_value(&report).unwrap_or_default();
        details["periods"] = serde_json::json!({
            "results": format!("{}d", r.results.as_secs() / 86_400),
            "pending_unconfirmed": format!("{}d", r.pending_unconfirmed.as_secs() / 86_400),
            "revoked": format!("{}d", r.revoked.as_secs() / 86_400),
        });
        self.audit(actor, Action::Purge, None, details)?;
        Ok(report)
    }

    /// Campaigns that ended before `cutoff` keep only their counts.
    fn purge_results(
        &self,
        cutoff: DateTime<Utc>,
        dry_run: bool,
        report: &mut PurgeReport,
    ) -> Result<(), Failure> {
        let meta_tree = self.store.db().open_tree("meta").map_err(error)?;
        for meta in self.campaigns.list().map_err(error)? {
            if !ended_before(&meta, cutoff) || self.runs().is_running(meta.id) {
                continue;
            }
            let mark = format!("{PURGED}{}", meta.id);
            if meta_tree.contains_key(&mark).map_err(error)? {
                continue;
            }
            let journal = self.campaigns.journal(meta.id).map_err(error)?;
            let mut batch = Vec::new();
            for r in journal.iter() {
                let (i, mut rec) = r.map_err(error)?;
                if !rec.anonymise() {
                    continue;
                }
                batch.push((i, rec));
                if batch.len() >= 1024 {
                    report.results_anonymised += batch.len() as u64;
                    if !dry_run {
                        journal.write(&batch).map_err(error)?;
                    }
                    batch.clear();
                }
            }
            report.results_anonymised += batch.len() as u64;
            if !dry_run {
                journal.write(&batch).map_err(error)?;
                meta_tree.insert(mark, now_bytes(cutoff)).map_err(error)?;
            }
            report.campaigns += 1;
        }
        Ok(())
    }

    /// Unconfirmed consents past their period go; revoked contacts past
    /// theirs shrink to the suppression hash.
    fn purge_consents(
        &self,
        now: DateTime<Utc>,
        dry_run: bool,
        report: &mut PurgeReport,
    ) -> Result<(), Failure> {
        let r = &self.config.retention;
        let pending_cutoff = now - period(r.pending_unconfirmed);
        let revoked_cutoff = now - period(r.revoked);
        let mut changes = Vec::new();
        for c in self.store.contacts() {
            let c = c.map_err(error)?;
            if let Some(change) = judge(&c, pending_cutoff, revoked_cutoff) {
                changes.push((c.phone, change));
            }
        }
        for (phone, change) in changes {
            match change {
                Judged::Minimise => {
                    report.revoked_minimised += 1;
                    if !dry_run {
                        self.store
                            .remove_contact(phone, now, Some(SuppressionCause::OptedOut))
                            .map_err(error)?;
                    }
                }
                Judged::Remove(n) => {
                    report.pending_removed += n;
                    report.contacts_removed += 1;
                    if !dry_run {
                        self.store.remove_contact(phone, now, None).map_err(error)?;
                    }
                }
                Judged::DropTopics(topics) => {
                    report.pending_removed += topics.len() as u64;
                    if dry_run {
                        continue;
                    }
                    let _writer = self.store.consent_writer();
                    // Read again under the writer: a webhook may have confirmed meanwhile.
                    if let Some(mut c) = self.store.contact(phone).map_err(error)? {
                        c.topics.retain(|t, x| {
                            !(topics.contains(t) && x.status == ConsentStatus::Pending)
                        });
                        self.store.write(&c, &[]).map_err(error)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn now_bytes(t: DateTime<Utc>) -> Vec<u8> {
    t.timestamp().to_be_bytes().to_vec()
}

/// Whether a campaign is over and ended before `cutoff`.
fn ended_before(meta: &CampaignMeta, cutoff: DateTime<Utc>) -> bool {
    matches!(
        meta.state,
        CampaignState::Finished | CampaignState::Cancelled
    ) && meta.finished_at.unwrap_or(meta.created_at) < cutoff
}

/// What retention does to one contact.
#[derive(Debug, PartialEq, Eq)]
enum Judged {
    /// Every consent revoked before the cutoff: keep only the hash.
    Minimise,
    /// Every consent an expired pending one (this many): remove it all.
    Remove(u64),
    /// Some consents are expired pending ones: drop those.
    DropTopics(Vec<String>),
}

fn judge(
    c: &Contact,
    pending_cutoff: DateTime<Utc>,
    revoked_cutoff: DateTime<Utc>,
) -> Option<Judged> {
    if c.topics.is_empty() {
        return None;
    }
    let all_revoked = c.topics.values().all(|t| {
        t.status == ConsentStatus::Revoked && t.revoked_at.is_some_and(|at| at <= revoked_cutoff)
    });
    if all_revoked {
        return Some(Judged::Minimise);
    }
    let expired: Vec<String> = c
        .topics
        .iter()
        .filter(|(_, t)| t.status == ConsentStatus::Pending && t.opted_in_at < pending_cutoff)
        .map(|(name, _)| name.clone())
        .collect();
    match expired.len() {
        0 => None,
        n if n == c.topics.len() => Some(Judged::Remove(n as u64)),
        _ => Some(Judged::DropTopics(expired)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::consent::TopicConsent;
    use crate::phone::Phone;

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + days * 86_400, 0).expect("time")
    }

    fn topic(status: ConsentStatus, opted: i64, revoked: Option<i64>) -> TopicConsent {
        TopicConsent {
            status,
            opted_in_at: t(opted),
            source: "shop".into(),
            confirmed_at: None,
            method: None,
            text_version: None,
            revoked_at: revoked.map(t),
            revoked_by: None,
        }
    }

    fn contact(topics: &[(&str, TopicConsent)]) -> Contact {
        Contact {
            phone: Phone::parse("+4915112345678", "DE").expect("phone"),
            locale: None,
            attributes: BTreeMap::new(),
            profile_at: t(0),
            topics: topics
                .iter()
                .map(|(n, x)| (n.to_string(), x.clone()))
                .collect(),
        }
    }

    #[test]
    fn each_period_judges_only_what_it_covers() {
        use ConsentStatus::*;
        let (pending_cutoff, revoked_cutoff) = (t(30), t(50));
        let old_pending = contact(&[("sale", topic(Pending, 10, None))]);
        assert_eq!(
            judge(&old_pending, pending_cutoff, revoked_cutoff),
            Some(Judged::Remove(1))
        );
        let fresh_pending = contact(&[("sale", topic(Pending, 40, None))]);
        assert_eq!(judge(&fresh_pending, pending_cutoff, revoked_cutoff), None);
        let mixed = contact(&[
            ("sale", topic(Confirmed, 10, None)),
            ("events", topic(Pending, 10, None)),
        ]);
        assert_eq!(
            judge(&mixed, pending_cutoff, revoked_cutoff),
            Some(Judged::DropTopics(vec!["events".into()]))
        );
        let revoked = contact(&[
            ("sale", topic(Revoked, 10, Some(45))),
            ("events", topic(Revoked, 10, Some(20))),
        ]);
        assert_eq!(
            judge(&revoked, pending_cutoff, revoked_cutoff),
            Some(Judged::Minimise)
        );
        let recently = contact(&[("sale", topic(Revoked, 10, Some(55)))]);
        assert_eq!(judge(&recently, pending_cutoff, revoked_cutoff), None);
        let partly = contact(&[
            ("sale", topic(Revoked, 10, Some(20))),
            ("events", topic(Confirmed, 10, None)),
        ]);
        assert_eq!(judge(&partly, pending_cutoff, revoked_cutoff), None);
    }
}
