//! The webhook receiver (issue #7): Meta's verification handshake, signed
//! `POST`s, a durable inbox, and the processing of statuses, opt-outs (G5)
//! and double opt-in confirmations (G3).
//!
//! ```text
//!  Meta ──POST──► guarded listener: connection cap, head / body / idle deadlines
//!                   ▼
//!                server: size limit ─► HMAC over raw bytes ─► JSON shape
//!                   │ (401 / 413 / 400: nothing stored)
//!                   ▼
//!                request: one insert ──► inbox (sled), then waits for the
//!                   │ store's shared flush round; 200 only after it  │
//!                   ▼                                                 ▼
//!               processor (drain: one task, in order) ── journal / consent store
//!                   └── moves entries to `processed` (64 per transaction) + notices
//! ```
//!
//! One store, one owner: the receiver runs inside whichever process owns
//! the store (`bote webhook serve`, or the TUI / `campaign send` next to the
//! dispatcher) and shares its `Arc<Store>` and [`Campaigns`]. The dispatcher
//! re-checks consent before each send, so a revocation here stops sends to
//! that number from the next one on.
//!
//! [`Campaigns`]: crate::campaign::Campaigns

mod drain;
pub mod inbox;
pub mod invite;
pub mod keywords;
pub mod payload;
pub mod process;
pub mod seen;
mod server;

use std::fmt;

use crate::config::WebhookConfig;
use crate::consent::StoreError;

pub use inbox::{Inbox, InboxEntry, Processed};
pub use invite::{invite, InviteError, InviteRecord, Invites};
pub use keywords::{normalize, Keywords};
pub use process::{Outcome, Processor, StatusResult};
pub use seen::SeenEvents;
pub use server::{sign, Receiver, ReceiverHandle, Stats, DEFAULT_BODY_LIMIT, SIGNATURE_HEADER};

/// A problem starting or running the receiver.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A secret's environment variable is unset or empty.
    #[error("the webhook {what} is missing: set the environment variable {var} (see [webhook] in bote.toml)")]
    MissingSecret {
        /// The variable's name (never its value).
        var: String,
        /// `verify token` or `app secret`.
        what: &'static str,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server stopped with an error.
    #[error("webhook server failed: {0}")]
    Server(std::io::Error),
}

/// A secret value: never printed (G12, invariant 6).
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The verify token (handshake) and the app secret (signatures).
#[derive(Clone)]
pub struct WebhookSecrets {
    verify_token: Secret,
    app_secret: Secret,
}

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("verify_token", &self.verify_token)
            .field("app_secret", &self.app_secret)
            .finish()
    }
}

impl WebhookSecrets {
    /// From values (tests, or a secret file read by the caller).
    pub fn new(verify_token: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            verify_token: Secret(verify_token.into()),
            app_secret: Secret(app_secret.into()),
        }
    }

    /// From the environment variables named in `[webhook]`.
    pub fn from_env(config: &WebhookConfig) -> Result<Self, WebhookError> {
        Self::from_vars(config, |var| std::env::var(var).ok())
    }

    /// [`WebhookSecrets::from_env`] over any source of variables (tests
    /// never change the process's environment under other threads).
    fn from_vars(
        config: &WebhookConfig,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, WebhookError> {
        // A blank value counts as missing: a signature keyed with one space
        // is forgeable, and a handshake token of one space guessable.
        let read = |name: &str, what| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| WebhookError::MissingSecret {
                    var: name.into(),
                    what,
                })
        };
        Ok(Self::new(
            read(&config.verify_token_env, "verify token")?,
            read(&config.app_secret_env, "app secret")?,
        ))
    }

    pub(crate) fn verify_token(&self) -> &[u8] {
        self.verify_token.0.as_bytes()
    }

    pub(crate) fn app_secret(&self) -> &[u8] {
        self.app_secret.0.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = WebhookSecrets::new("tok-123", "sec-456");
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("tok-123") && !shown.contains("sec-456"),
            "{shown}"
        );
    }

    #[test]
    fn missing_secret_names_the_variable_only() {
        let config = WebhookConfig {
            listen: "127.0.0.1:0".into(),
            verify_token_env: "BOTE_TEST_SURELY_UNSET_VERIFY".into(),
            app_secret_env: "BOTE_TEST_SURELY_UNSET_SECRET".into(),
        };
        let e = WebhookSecrets::from_env(&config).expect_err("unset");
        assert!(
            e.to_string().contains("BOTE_TEST_SURELY_UNSET_VERIFY"),
            "{e}"
        );
    }

    #[test]
    fn a_blank_secret_is_refused_naming_the_variable_only() {
        let config = WebhookConfig {
            listen: "127.0.0.1:0".into(),
            verify_token_env: "V".into(),
            app_secret_env: "S".into(),
        };
        let with = |verify: &'static str, secret: &'static str| {
            WebhookSecrets::from_vars(&config, move |name| {
                Some(if name == "V" { verify } else { secret }.to_string())
            })
        };
        let missing = |e: &WebhookError| match e {
            WebhookError::MissingSecret { var, what } => (var.clone(), *what),
            other => panic!("{other:?}"),
        };
        let e = with("tok-123", " \t ").expect_err("blank app secret");
        assert_eq!(missing(&e), ("S".to_string(), "app secret"));
        assert!(!e.to_string().contains("tok-123"), "{e}");
        let e = with(" ", "sec-456").expect_err("blank verify token");
        assert_eq!(missing(&e), ("V".to_string(), "verify token"));
        assert!(!e.to_string().contains("sec-456"), "{e}");
        let ok = with("tok-123", "sec-456").expect("both set");
        assert_eq!(ok.app_secret(), b"sec-456");
    }
}
