//! The template catalog: approved message templates, their placeholders,
//! how each placeholder is filled per recipient, and rendering.
//!
//! Files in `templates/` mirror the Cloud API's template shape (name,
//! language, category, status, components) so that a sync can update them,
//! plus one bote-local table, `bindings`, saying where each placeholder's
//! value comes from: a declared consent attribute (per recipient, G15) or a
//! fixed campaign value (a discount code).
//!
//! A [`Template`] is made of `components`; its placeholders (`slots`) are
//! filled per recipient (`params`) and shown as text (`render`); `lints`
//! checks it, and the [`Catalog`] (`catalog`) holds them all.

mod bindings;
mod catalog;
mod components;
mod lints;
mod media;
mod params;
#[cfg(test)]
mod properties;
mod render;
mod slots;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use bindings::{load_bindings_dir, BindingsByTemplate, BindingsFile};
pub use catalog::Catalog;
pub use components::{Button, Component};
pub use lints::Lint;
pub use media::{HeaderMedia, MediaKind, MEDIA_ID_LIFETIME_DAYS};
pub use params::{Binding, MissingParam, Params};
pub use slots::{placeholders, substitute, Part, Slot};

/// A problem loading or using templates.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid template.
    #[error("invalid template file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and key where known.
        message: String,
    },
    /// Two files define the same name and language.
    #[error("template {name} ({language}) is defined twice: {first} and {second}")]
    Duplicate {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// First file.
        first: PathBuf,
        /// Second file.
        second: PathBuf,
    },
    /// No template of that name.
    #[error("no template named {0:?} (see `bote template list`)")]
    NotFound(String),
    /// The template lacks what bote needs to fill it.
    #[error("template {name} ({language}) cannot be sent yet: no binding for {} — add them in {}", missing.join(", "), bindings_file(name, language))]
    Unbound {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// The placeholders (`{{1}}`) and the header media without a source.
        missing: Vec<String>,
    },
    /// The header's media id is, or will soon be, refused by Meta.
    #[error("template {name} ({language}): media id {id} {when}; upload the file again (`bote media upload FILE`) and put the new id in [media]")]
    MediaExpired {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// The media id.
        id: String,
        /// "expired at …" or "expires at … (within a day)".
        when: String,
    },
}

/// Where the operator writes the bindings of a synced template.
pub fn bindings_file(name: &str, language: &str) -> String {
    format!("templates/bindings/{name}.{language}.toml")
}

/// Meta's template category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    /// Promotions: needs marketing consent for the topic.
    Marketing,
    /// Transactional updates.
    Utility,
    /// One-time codes.
    Authentication,
}

/// Meta's review status; only `Approved` may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// May be sent.
    Approved,
    /// In review.
    Pending,
    /// Refused by Meta.
    Rejected,
    /// Paused for low quality (132015).
    Paused,
    /// Disabled (132016).
    Disabled,
    /// Appealing a rejection.
    InAppeal,
    /// Too many templates.
    LimitExceeded,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Approved => "APPROVED",
            Self::Pending => "PENDING",
            Self::Rejected => "REJECTED",
            Self::Paused => "PAUSED",
            Self::Disabled => "DISABLED",
            Self::InAppeal => "IN_APPEAL",
            Self::LimitExceeded => "LIMIT_EXCEEDED",
        })
    }
}

/// A template: Meta's shape plus bote's bindings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Meta's id, once synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name, `[a-z0-9_]+`.
    pub name: String,
    /// Language code, e.g. `de` or `de_AT`.
    pub language: String,
    /// Category.
    pub category: Category,
    /// Review status.
    pub status: Status,
    /// Header, body, footer, buttons.
    pub components: Vec<Component>,
    /// Placeholder key (`1`, `first_name`) → source of its value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bindings: BTreeMap<String, Binding>,
    /// The file a media header shows (bote's `[media]` table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<HeaderMedia>,
    /// The consent topic the template is written for (bote's own key): a
    /// campaign for another topic is a warning the operator acknowledges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl Template {
    /// The topic the template is meant for, when `campaign_topic` is
    /// another one.
    pub fn topic_mismatch(&self, campaign_topic: &str) -> Option<&str> {
        self.topic.as_deref().filter(|t| *t != campaign_topic)
    }
}

/// The catalog the tests of every part read their templates from.
#[cfg(test)]
mod fixtures {
    use super::Catalog;

    pub(super) fn catalog() -> Catalog {
        Catalog::embedded().expect("shipped templates are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_json_shape_parses() {
        let json = r#"{ "id": "1234", "name": "autumn_sale", "language": "de",
            "status": "APPROVED", "category": "MARKETING",
            "components": [
              { "type": "HEADER", "format": "TEXT", "text": "Herbst-Sale" },
              { "type": "BODY", "text": "Hallo {{1}}, mit dem Code {{2}} sparst du 20 %.",
                "example": { "body_text": [["Anna", "HERBST20"]] } },
              { "type": "FOOTER", "text": "Keine Werbung mehr? Antworte STOP." },
              { "type": "BUTTONS", "buttons": [ { "type": "QUICK_REPLY", "text": "Stop promotions" } ] } ] }"#;
        let t: Template = serde_json::from_str(json).expect("API shape");
        assert_eq!(t.slots().len(), 2);
        assert!(t.has_opt_out_hint(&["STOP".into()]));
    }
}
