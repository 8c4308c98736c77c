//! The consent operations the daemon serves: browse, look up, revoke,
//! import, invite (G4, G5, G10).

use std::path::Path;

use super::ops::{error, refused, ConsentLookup, ImportResult, Revoked};
use super::Engine;
use crate::audit::Action;
use crate::config::Role;
use crate::consent::import::{self, ImportOptions, RejectsFile};
use crate::consent::{ConsentStatus, Contact, Revocation};
use crate::phone::Phone;
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::webhook::invite::InviteRecord;
use crate::webhook::InviteError;

impl Engine {
    pub(super) fn parse_phone(&self, input: &str) -> Result<Phone, Failure> {
        Phone::parse(input, &self.config.consent.default_region).map_err(error)
    }

    /// Contacts, optionally one topic and one state.
    pub fn consents(
        &self,
        caller: &Caller,
        topic: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<Contact>, Failure> {
        self.authorize(caller, Role::Viewer, "browsing consents")?;
        if let Some(t) = topic {
            if !self.config.has_topic(t) {
                return Err(error(format!(
                    "unknown topic {t:?} (configured: {})",
                    self.config.consent.topics.join(", ")
                )));
            }
        }
        let status: Option<ConsentStatus> = status.map(str::parse).transpose().map_err(error)?;
        let mut out = Vec::new();
        for contact in self.store.contacts() {
            let c = contact.map_err(error)?;
            let keep = match (topic, status) {
                (Some(t), Some(s)) => c.topic(t).is_some_and(|x| x.status == s),
                (Some(t), None) => c.topic(t).is_some(),
                (None, Some(s)) => c.topics.values().any(|x| x.status == s),
                (None, None) => true,
            };
            if keep {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// One number's state and history (G4, G10).
    pub fn consent(&self, caller: &Caller, input: &str) -> Result<ConsentLookup, Failure> {
        self.authorize(caller, Role::Viewer, "looking up a number")?;
        let phone = self.parse_phone(input)?;
        let contact = self.store.contact(phone).map_err(error)?;
        let told = contact
            .iter()
            .flat_map(|c| c.topics.values())
            .filter_map(|t| t.text_version.clone())
            .map(|v| {
                let w = self.config.consent.wording.get(&v).cloned();
                (v, w)
            })
            .collect();
        Ok(ConsentLookup {
            phone: phone.e164(),
            contact,
            history: self.store.history(phone).map_err(error)?,
            suppressed_since: self.store.suppressed_since(phone).map_err(error)?,
            told,
        })
    }

    /// The operator revokes (G5): durable before it answers, and in force
    /// for every running campaign's next send.
    pub fn revoke(
        &self,
        caller: &Caller,
        input: &str,
        topic: Option<&str>,
    ) -> Result<Revoked, Failure> {
        self.authorize(caller, Role::Operator, "revoking consent")?;
        let phone = self.parse_phone(input)?;
        let Some(c) = self.store.contact(phone).map_err(error)? else {
            return Err(error(format!("{} is not in the store", phone.e164())));
        };
        if let Some(t) = topic {
            if c.topic(t).is_none() {
                return Err(error(format!(
                    "{} has no consent for topic {t:?}",
                    phone.e164()
                )));
            }
        }
        let topics = self
            .store
            .revoke(
                phone,
                topic,
                &Revocation {
                    at: self.now(),
                    origin: format!("operator:{}", caller.user),
                    actor: caller.user.clone(),
                    reason: "operator revocation".into(),
                },
            )
            .map_err(error)?;
        self.store.flush().map_err(error)?;
        Ok(Revoked {
            phone: phone.e164(),
            topics,
        })
    }

    /// Imports a consent CSV the client sent (spooled at `path`, named `name`).
    pub fn import(
        &self,
        caller: &Caller,
        path: &Path,
        name: &str,
        source: Option<String>,
        dry_run: bool,
        rejects_at: Option<&Path>,
    ) -> Result<ImportResult, Failure> {
        self.authorize(caller, Role::Operator, "importing consents")?;
        let opts = ImportOptions {
            source,
            dry_run,
            actor: caller.user.clone(),
            now: self.now(),
        };
        let rejects = rejects_at
            .map(RejectsFile::create)
            .transpose()
            .map_err(error)?;
        let mut report =
            import::import(&self.store, &self.config, path, &opts, rejects, &|_, _| {})
                .map_err(error)?;
        self.store.flush().map_err(error)?;
        report.file = name.to_string();
        self.audit(
            &caller.user,
            Action::ConsentImport,
            Some(format!("file:{name}")),
            serde_json::json!({
                "sha256": file_digest(path).map_err(error)?,
                "dry_run": report.dry_run,
                "rows": report.rows,
                "imported": report.imported,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "pending": report.pending,
                "rejected": report.rejected,
                "unreadable": report.unreadable,
                "duplicates": report.duplicates,
                "dropped_columns": report.dropped_columns,
            }),
        )?;
        tracing::info!(rows = report.rows, imported = report.imported, rejected = report.rejected, actor = %caller.user, "consent import finished");
        let rejects_csv = rejects_at
            .map(std::fs::read_to_string)
            .transpose()
            .map_err(error)?;
        Ok(ImportResult {
            report,
            rejects_csv,
        })
    }

    /// The double opt-in confirmation request, only to a pending consent, once.
    pub async fn invite(
        &self,
        caller: &Caller,
        input: &str,
        topic: &str,
        template: &str,
        language: Option<&str>,
    ) -> Result<InviteRecord, Failure> {
        self.may_send(caller)?;
        self.authorize(caller, Role::Operator, "inviting")?;
        if !self.config.has_topic(topic) {
            return Err(error(format!(
                "unknown topic {topic:?}; configured: {}",
                self.config.consent.topics.join(", ")
            )));
        }
        let phone = self.parse_phone(input)?;
        let template = self.catalog.get(template, language).map_err(error)?.clone();
        let record = crate::webhook::invite(
            &self.store,
            self.messenger.as_ref(),
            &template,
            &self.config.consent.privacy_url,
            phone,
            topic,
            &caller.user,
        )
        .await
        .map_err(|e| match e {
            e @ (InviteError::NotInStore(_)
            | InviteError::NoConsent { .. }
            | InviteError::NotPending { .. }
            | InviteError::AlreadyInvited { .. }) => refused(e.to_string()),
            e => error(e),
        })?;
        self.audit(
            &caller.user,
            Action::Invitation,
            Some(self.store.contact_ref(phone)),
            serde_json::json!({
                "topic": record.topic,
                "template": record.template,
                "state": record.state,
                "detail": record.detail,
            }),
        )?;
        Ok(record)
    }
}

/// The hex SHA-256 of the file at `path`, read in pieces.
fn file_digest(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buf)? {
            0 => break,
            n => hasher.update(&buf[..n]),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}
