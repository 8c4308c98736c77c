//! The consent store: per number, the current consent per topic with its
//! evidence (G3, G4, G6), declared attributes (G8), an append-only event
//! history, and the suppression list of erased numbers (G10).
//!
//! [`Contact`] is the current state; [`ConsentEvent`]s are the history that
//! proves how it came to be. Both change only together, in one atomic sled
//! batch (see [`store`]).

pub mod dates;
pub mod import;
pub mod merge;
pub mod store;
pub mod table;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::phone::Phone;

pub use store::{
    is_bsuid, Identity, OptOut, Revocation, Store, StoreError, Suppression, SuppressionCause,
    UserOptOut,
};

/// Where a consent stands for one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// Signed up, not yet confirmed: no marketing (G3).
    Pending,
    /// Double opt-in complete.
    Confirmed,
    /// Withdrawn (G5).
    Revoked,
}

impl fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Revoked => "revoked",
        })
    }
}

impl std::str::FromStr for ConsentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "confirmed" => Ok(Self::Confirmed),
            "revoked" => Ok(Self::Revoked),
            _ => Err(format!("{s:?} is not pending, confirmed or revoked")),
        }
    }
}

/// How the second step of the double opt-in happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationMethod {
    /// Clicked a confirmation link.
    Link,
    /// Replied with a confirmation keyword.
    Reply,
    /// Tapped a confirmation button.
    Button,
    /// Entered a code.
    Code,
}

impl ConfirmationMethod {
    /// Reads `link`, `reply`, `button`, `code` and their German names.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_lowercase().as_str() {
            "link" => Some(Self::Link),
            "reply" | "antwort" => Some(Self::Reply),
            "button" | "knopf" | "schaltfläche" => Some(Self::Button),
            "code" => Some(Self::Code),
            _ => None,
        }
    }
}

impl fmt::Display for ConfirmationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Link => "link",
            Self::Reply => "reply",
            Self::Button => "button",
            Self::Code => "code",
        })
    }
}

/// The consent for one topic, with its evidence (G4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConsent {
    /// Current status.
    pub status: ConsentStatus,
    /// When the person signed up.
    pub opted_in_at: DateTime<Utc>,
    /// Through which channel (e.g. `web-form:shop.example/newsletter`).
    pub source: String,
    /// When the double opt-in was confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<DateTime<Utc>>,
    /// How it was confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<ConfirmationMethod>,
    /// Which consent wording the person agreed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_version: Option<String>,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// What revoked it (keyword message id, operator, import line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl TopicConsent {
    /// The time of the latest step this consent records.
    pub fn last_event_at(&self) -> DateTime<Utc> {
        [Some(self.opted_in_at), self.confirmed_at, self.revoked_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(self.opted_in_at)
    }
}

/// One number in the store: the business's WhatsApp-only address book entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The number (E.164).
    pub phone: Phone,
    /// Preferred language, e.g. `de` or `de_AT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Declared attributes only (G8).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// When locale/attributes were last set, so older rows never overwrite them.
    pub profile_at: DateTime<Utc>,
    /// Consent per topic.
    pub topics: BTreeMap<String, TopicConsent>,
}

impl Contact {
    /// The consent covering `topic`, if any.
    pub fn topic(&self, topic: &str) -> Option<&TopicConsent> {
        self.topics.get(topic)
    }

    /// Whether marketing on `topic` is allowed right now (invariant 1).
    pub fn may_receive(&self, topic: &str) -> bool {
        self.topic(topic)
            .is_some_and(|t| t.status == ConsentStatus::Confirmed)
    }
}

/// What happened to a number, for the history (G4) and the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Signed up for a topic.
    OptedIn {
        /// Topic.
        topic: String,
        /// When.
        opted_in_at: DateTime<Utc>,
        /// Channel.
        source: String,
        /// Consent wording.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text_version: Option<String>,
    },
    /// Confirmed a topic (double opt-in).
    Confirmed {
        /// Topic.
        topic: String,
        /// When.
        confirmed_at: DateTime<Utc>,
        /// How.
        method: ConfirmationMethod,
    },
    /// Revoked a topic.
    Revoked {
        /// Topic.
        topic: String,
        /// When.
        revoked_at: DateTime<Utc>,
        /// What revoked it.
        reason: String,
    },
    /// Locale or attributes changed.
    ProfileUpdated {
        /// New locale.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locale: Option<String>,
        /// Names of the attributes that changed (values stay in the contact).
        attributes: Vec<String>,
    },
    /// A new consent lifted an erasure suppression.
    SuppressionLifted {
        /// When the number had been erased.
        erased_at: DateTime<Utc>,
    },
    /// A new consent lifted the suppression an opt-out signal from a number
    /// not yet in the store had left (G5).
    OptOutLifted {
        /// When the number had opted out.
        opted_out_at: DateTime<Utc>,
    },
    /// Meta reported that the person's WhatsApp identity changed: a new
    /// number (`user_changed_number`) or a new business-scoped user id
    /// (`user_changed_user_id`).
    IdentityChanged {
        /// `user_changed_number` or `user_changed_user_id`.
        what: String,
        /// The new BSUID, when Meta named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        /// The new number (E.164), for `user_changed_number`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        new_phone: Option<String>,
    },
}

/// One entry of a number's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEvent {
    /// When bote recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who did it (OS user, or `webhook`).
    pub actor: String,
    /// Where it came from: `import:FILE:LINE`, `webhook:WAMID`, `operator`.
    pub origin: String,
    /// What changed.
    pub change: Change,
}

/// The OS user this process runs as, for changes the process makes on its
/// own (the sandbox seed, continuing a campaign). Changes a client asks for
/// carry the client's user from the socket's peer credentials instead. The
/// environment is not asked: `$USER` can say anything.
pub fn current_actor() -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    crate::service::peer::user_name(&passwd, crate::service::peer::own_uid())
}
