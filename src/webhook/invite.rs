//! `bote consent invite`: the confirmation request of the double opt-in
//! (G3), sent to a number whose consent for a topic is *pending* — only
//! then, and only once.
//!
//! The `webhook/invites` tree (`phone(8 BE) ‖ topic → InviteRecord`) is the
//! "only once": the record is claimed with a compare-and-swap and flushed
//! *before* the request leaves, like a journal record going in flight. A
//! send the API clearly refused releases the claim (it may be tried again);
//! a send whose outcome is unknown keeps it, so the person is never asked
//! twice without the operator deciding so. The invitation also belongs in
//! the number's history; until `Change` has a variant for it, this tree is
//! that record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::{ConsentStatus, Revocation, Store, StoreError};
use crate::dispatch::{Messenger, Reply};
use crate::phone::Phone;
use crate::template::{Status as TemplateStatus, Template};

const INVITES: &str = "webhook/invites";

/// The default confirmation template (carries the privacy link, G7).
pub const DEFAULT_TEMPLATE: &str = "optin_bestaetigung";

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    /// Claimed; the request may be on the wire (a crash leaves it so).
    Sending,
    /// The API took it.
    Sent,
    /// The request may or may not have reached the API.
    Unknown,
}

impl InviteState {
    /// In words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Sending => "being sent, or interrupted while sending",
            Self::Sent => "sent",
            Self::Unknown => "outcome unknown, not sent again",
        }
    }
}

/// One invitation of a number for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRecord {
    /// The topic whose pending consent it asks to confirm.
    pub topic: String,
    /// Where it stands.
    pub state: InviteState,
    /// The template sent.
    pub template: String,
    /// When it was sent (claimed).
    pub at: DateTime<Utc>,
    /// Who sent it (G13).
    pub actor: String,
    /// The message id, once taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wamid: Option<String>,
    /// Why the outcome is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why an invitation was not sent.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// The number has no record.
    #[error("{0} is not in the consent store")]
    NotInStore(String),
    /// No consent for that topic.
    #[error("{phone} has no consent record for topic {topic:?}")]
    NoConsent {
        /// Masked number.
        phone: String,
        /// Topic.
        topic: String,
    },
    /// Only pending consents are invited to confirm.
    #[error("{phone}'s consent for {topic:?} is {status}, not pending: nothing to confirm")]
    NotPending {
        /// Masked number.
        phone: String,
        /// Topic.
        topic: String,
        /// Its status.
        status: ConsentStatus,
    },
    /// Already invited.
    #[error(
        "{phone} was already invited to confirm {topic:?} on {} ({}); bote asks only once",
        at.format("%Y-%m-%d %H:%M UTC"),
        state.describe()
    )]
    AlreadyInvited {
        /// Masked number.
        phone: String,
        /// Topic.
        topic: String,
        /// When.
        at: DateTime<Utc>,
        /// How that went.
        state: InviteState,
    },
    /// The template cannot be used for the invitation.
    #[error("template {name}: {message}")]
    Template {
        /// Template name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The API refused the message (nothing was sent; may be tried again).
    #[error("the invitation was not sent: API error {code}: {message}")]
    NotSent {
        /// Error code.
        code: u32,
        /// What it means.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The invitations of a store.
#[derive(Clone)]
pub struct Invites {
    tree: sled::Tree,
    durability: crate::consent::store::Durability,
}

fn key(phone: Phone, topic: &str) -> Vec<u8> {
    let mut k = phone.key().to_vec();
    k.extend_from_slice(topic.as_bytes());
    k
}

fn encode(r: &InviteRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(r).map_err(|e| StoreError::Corrupt {
        key: "invite".into(),
        message: e.to_string(),
    })
}

impl Invites {
    /// The invitations in the store's database.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            tree: store.db().open_tree(INVITES)?,
            durability: store.durability().clone(),
        })
    }

    /// The invitation of `phone` for `topic`, if any.
    pub fn get(&self, phone: Phone, topic: &str) -> Result<Option<InviteRecord>, StoreError> {
        let k = key(phone, topic);
        self.tree
            .get(&k)?
            .map(|v| {
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    key: format!("invite {}", hex::encode(&k)),
                    message: e.to_string(),
                })
            })
            .transpose()
    }

    /// Claims the invitation; the current record if one exists.
    fn claim(
        &self,
        phone: Phone,
        record: &InviteRecord,
    ) -> Result<Result<(), InviteRecord>, StoreError> {
        let k = key(phone, &record.topic);
        match self
            .tree
            .compare_and_swap(&k, None::<&[u8]>, Some(encode(record)?))?
        {
            Ok(()) => Ok(Ok(())),
            Err(e) => {
                let current = e
                    .current
                    .and_then(|v| serde_json::from_slice(&v).ok())
                    .unwrap_or_else(|| record.clone());
                Ok(Err(current))
            }
        }
    }

    /// Writes `record` as the invitation of `phone` (what the invitation
    /// flow writes; also how a test or a migration records one made before).
    pub fn put(&self, phone: Phone, record: &InviteRecord) -> Result<(), StoreError> {
        self.tree
            .insert(key(phone, &record.topic), encode(record)?)?;
        Ok(())
    }

    /// Removes every invitation of `phone` (erasure, G10); returns how many.
    pub fn forget(&self, phone: Phone) -> Result<usize, StoreError> {
        let mut n = 0;
        for r in self.tree.scan_prefix(phone.key()) {
            let (k, _) = r?;
            self.tree.remove(k)?;
            n += 1;
        }
        Ok(n)
    }

    fn release(&self, phone: Phone, topic: &str) -> Result<(), StoreError> {
        self.tree.remove(key(phone, topic))?;
        Ok(())
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.durability.flushed().await
    }
}

/// Sends `template` to `phone` asking to confirm its pending consent for
/// `topic`. The rendered message must carry `privacy_url` (G7).
pub async fn invite(
    store: &Store,
    messenger: &dyn Messenger,
    template: &Template,
    privacy_url: &str,
    phone: Phone,
    topic: &str,
    actor: &str,
) -> Result<InviteRecord, InviteError> {
    let masked = phone.masked(4);
    let template_err = |message: String| InviteError::Template {
        name: template.name.clone(),
        message,
    };
    if template.status != TemplateStatus::Approved {
        return Err(template_err(format!(
            "is {}, only APPROVED templates can be sent",
            template.status
        )));
    }
    let contact = store
        .contact(phone)?
        .ok_or_else(|| InviteError::NotInStore(masked.clone()))?;
    let consent = contact.topic(topic).ok_or_else(|| InviteError::NoConsent {
        phone: masked.clone(),
        topic: topic.into(),
    })?;
    if consent.status != ConsentStatus::Pending {
        return Err(InviteError::NotPending {
            phone: masked,
            topic: topic.into(),
            status: consent.status,
        });
    }
    let params = template
        .resolve(&contact.attributes, &BTreeMap::new())
        .map_err(|e| template_err(e.to_string()))?;
    if privacy_url.is_empty() || !template.render(&params).contains(privacy_url) {
        return Err(template_err(format!(
            "the confirmation request must carry the privacy link {privacy_url:?} (G7); bind a placeholder to it"
        )));
    }
    let invites = Invites::open(store)?;
    let mut record = InviteRecord {
        topic: topic.into(),
        state: InviteState::Sending,
        template: template.name.clone(),
        at: Utc::now(),
        actor: actor.into(),
        wamid: None,
        detail: None,
    };
    if let Err(current) = invites.claim(phone, &record)? {
        return Err(InviteError::AlreadyInvited {
            phone: masked,
            topic: topic.into(),
            at: current.at,
            state: current.state,
        });
    }
    // Durable before the request leaves: a crash can never lead to a
    // second invitation.
    invites.flush().await?;
    let reply = messenger
        .send(phone, template, &params, &format!("invite:{topic}"))
        .await;
    let refused = |code: u32, message: String| InviteError::NotSent { code, message };
    let result = match reply {
        Reply::Accepted { wamid } => {
            record.state = InviteState::Sent;
            record.wamid = Some(wamid);
            invites.put(phone, &record)?;
            tracing::info!(phone = %masked, topic, template = %template.name, "consent invitation sent");
            Ok(record)
        }
        Reply::Unknown { reason } => {
            record.state = InviteState::Unknown;
            record.detail = Some(reason);
            invites.put(phone, &record)?;
            tracing::warn!(phone = %masked, topic, "consent invitation outcome unknown; not re-sent");
            Ok(record)
        }
        Reply::Retry { code, .. } => {
            invites.release(phone, topic)?;
            Err(refused(code, "temporarily refused; try again later".into()))
        }
        Reply::Deferred { code } => {
            invites.release(phone, topic)?;
            Err(refused(
                code,
                "Meta's per-user marketing cap (131049): try again after 24 h".into(),
            ))
        }
        Reply::Failed { code, revoke } => {
            invites.release(phone, topic)?;
            if revoke {
                store.revoke(
                    phone,
                    None,
                    &Revocation {
                        at: Utc::now(),
                        actor: actor.into(),
                        origin: "invite:131050".into(),
                        reason: "the recipient stopped marketing messages (API error 131050)"
                            .into(),
                    },
                )?;
            }
            Err(refused(code, "refused for this recipient".into()))
        }
        Reply::Stop { code, message } => {
            invites.release(phone, topic)?;
            Err(refused(code, message))
        }
    };
    invites.flush().await?;
    store.flush()?;
    result
}
