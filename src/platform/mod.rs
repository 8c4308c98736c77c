//! The platform's state as Meta reports it by webhook (issue #15, item 3):
//! each template's status and quality ([`templates`]), and the account's
//! quality, restrictions, alerts and messaging limit ([`account`]).
//! The files uploaded for media headers ([`media`]) and the WABA's template
//! definitions from the last sync ([`synced`]) are kept beside them.
//! The consent store owns both (one per store, shared by the webhook
//! processor that writes them and the dispatcher that obeys them).

pub mod account;
pub mod media;
pub mod synced;
pub mod templates;

pub use account::{Account, AccountState, MessagingLimit, Notice};
pub use media::{MediaRecord, MediaRegistry};
pub use synced::{SyncChanges, SyncedTemplates};
pub use templates::{Pass, Quality, TemplateState, TemplateStates};

/// A failure reading or writing the platform state.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// sled failed.
    #[error("platform state: {0}")]
    Db(#[from] sled::Error),
    /// A value could not be read back.
    #[error("platform state: damaged record: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl From<PlatformError> for crate::consent::StoreError {
    fn from(e: PlatformError) -> Self {
        match e {
            PlatformError::Db(e) => Self::Db(e),
            PlatformError::Corrupt(e) => Self::Corrupt {
                key: "platform state".into(),
                message: e.to_string(),
            },
        }
    }
}
