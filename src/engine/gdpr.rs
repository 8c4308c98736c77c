//! The data-protection officer's operations: read and verify the audit
//! trail (G4, G13), and everything stored about one number (G10 access).

use serde::{Deserialize, Serialize};

use super::ops::error;
use super::Engine;
use crate::audit::proof::{self, ProofFormat, ProofSummary};
use crate::audit::{Action, Entry, Verified};
use crate::campaign::CampaignId;
use crate::config::Role;
use crate::service::peer::Caller;
use crate::service::wire::Failure;

/// Which entries of the trail to show.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrailFilter {
    /// Only this action.
    #[serde(default)]
    pub action: Option<Action>,
    /// Only entries about this subject (`campaign:3`, `c:…`, `file:…`) or,
    /// given a phone number, about that contact.
    #[serde(default)]
    pub subject: Option<String>,
    /// Only entries by this actor.
    #[serde(default)]
    pub actor: Option<String>,
    /// At most this many, the latest.
    #[serde(default)]
    pub last: Option<usize>,
}

impl Engine {
    /// Checks the whole chain (G13).
    pub fn audit_verify(&self, caller: &Caller) -> Result<Verified, Failure> {
        self.authorize(caller, Role::Viewer, "verifying the audit trail")?;
        self.store.audit().verify().map_err(error)
    }

    /// Entries matching `filter`, oldest first.
    pub fn audit_show(&self, caller: &Caller, filter: &TrailFilter) -> Result<Vec<Entry>, Failure> {
        self.authorize(caller, Role::Viewer, "reading the audit trail")?;
        let subject = match filter.subject.as_deref() {
            Some(s) if looks_like_phone(s) => Some(self.store.contact_ref(self.parse_phone(s)?)),
            other => other.map(str::to_string),
        };
        let mut out = std::collections::VecDeque::new();
        self.store
            .audit()
            .for_each(|e| {
                let keep = filter.action.is_none_or(|a| a == e.action)
                    && subject
                        .as_deref()
                        .is_none_or(|s| e.subject.as_deref() == Some(s))
                    && filter.actor.as_deref().is_none_or(|a| a == e.actor);
                if keep {
                    out.push_back(e);
                    if filter.last.is_some_and(|n| out.len() > n) {
                        out.pop_front();
                    }
                }
            })
            .map_err(error)?;
        Ok(out.into())
    }
}

/// A campaign's DPO proof, rendered: the client writes it where the
/// operator chose.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proof {
    /// Its head (what the CLI prints).
    pub summary: ProofSummary,
    /// The document.
    pub text: String,
}

impl Engine {
    /// The DPO proof of campaign `id` (G2, G4); it holds numbers, so it
    /// needs the operator role and is itself recorded.
    pub fn audit_proof(
        &self,
        caller: &Caller,
        id: CampaignId,
        format: ProofFormat,
    ) -> Result<Proof, Failure> {
        self.authorize(caller, Role::Operator, "exporting a consent proof")?;
        let mut meta = self.campaigns.require(id).map_err(error)?;
        self.runs().show_live_state(&mut meta);
        let journal = self.campaigns.journal(id).map_err(error)?;
        let (summary, bytes) = proof::render(
            &self.store,
            &meta,
            &journal,
            &self.config.consent.wording,
            self.now(),
            format,
        )
        .map_err(error)?;
        self.audit_campaign(
            &caller.user,
            Action::ProofExport,
            id,
            serde_json::json!({
                "format": format,
                "recipients": summary.recipients,
                "messaged": summary.messaged,
                "messaged_without_consent": summary.messaged_without_consent,
            }),
        )?;
        Ok(Proof {
            summary,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// Whether a subject filter is a phone number rather than a reference.
fn looks_like_phone(s: &str) -> bool {
    let s = s.trim();
    !s.contains(':') && s.chars().filter(char::is_ascii_digit).count() >= 6
}

#[cfg(test)]
mod tests {
    use super::looks_like_phone;

    #[test]
    fn numbers_and_references_are_told_apart() {
        assert!(looks_like_phone("+49 151 1234567"));
        assert!(looks_like_phone("0151-1234567"));
        assert!(!looks_like_phone("campaign:3"));
        assert!(!looks_like_phone("c:0011223344556677"));
        assert!(!looks_like_phone("file:list.csv"));
    }
}
