//! The WhatsApp Cloud API as bote uses it: wire types, the HTTP client and
//! the classification of every answer into what the dispatcher should do.
//!
//! The contract is `docs/cloud-api.md`; the simulator in [`crate::sim`]
//! implements the other side of the same types. Nothing here retries or
//! sleeps: the client reports a [`SendOutcome`] and the dispatcher decides.
//! The access token lives in an [`ApiToken`] and never reaches a log or an
//! error message.

mod classify;
mod client;
pub mod routing;
mod token;
pub mod types;

pub use classify::{
    classify, classify_marketing, RetryScope, SendOutcome, APP_RATE_BACKOFF, MARKETING_CAP,
    PAIR_RATE_BACKOFF, PARAMETER_NOT_ALLOWED, PAYMENT_PROBLEM, TEMPLATE_NOT_SYNCED,
    TEMPLATE_SYNC_BACKOFF, THROUGHPUT_BACKOFF, THROUGHPUT_UPGRADE, TRANSIENT_BACKOFF,
    UNREACHABLE_BACKOFF, UPGRADE_BACKOFF,
};
pub use client::{Client, CloudError, NumberLimits};
pub use routing::{CategoryNotice, Endpoint, LatestCategory, TemplateCategories};
pub use token::{ApiToken, TokenError};
pub use types::{parameter_allowed, GraphError, MessageStatus};
