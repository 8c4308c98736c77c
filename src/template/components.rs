//! The parts of a template's message: header, body, footer and buttons, as the Cloud API has them.

use serde::{Deserialize, Serialize};

use super::Template;

/// One part of a template, as the Cloud API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Component {
    /// The optional header line or media.
    Header {
        /// TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION.
        format: String,
        /// Text for TEXT headers, may hold one placeholder.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Example values, as Meta's review wants them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        example: Option<serde_json::Value>,
    },
    /// The message body with `{{1}}` or `{{name}}` placeholders.
    Body {
        /// The text.
        text: String,
        /// Example values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        example: Option<serde_json::Value>,
    },
    /// The small print below the body; no placeholders.
    Footer {
        /// The text.
        text: String,
    },
    /// Up to ten buttons.
    Buttons {
        /// The buttons, in order (their index matters for parameters).
        buttons: Vec<Button>,
    },
}

/// One button of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The label.
    pub text: String,
    /// For URL buttons; may end in one placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For PHONE_NUMBER buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

impl Template {
    /// The body text.
    pub fn body(&self) -> &str {
        self.components
            .iter()
            .find_map(|c| match c {
                Component::Body { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    /// The header text, if the header is text.
    pub fn header_text(&self) -> Option<&str> {
        self.components.iter().find_map(|c| match c {
            Component::Header { text, .. } => text.as_deref(),
            _ => None,
        })
    }

    /// The footer text.
    pub fn footer(&self) -> Option<&str> {
        self.components.iter().find_map(|c| match c {
            Component::Footer { text } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The buttons.
    pub fn buttons(&self) -> &[Button] {
        self.components
            .iter()
            .find_map(|c| match c {
                Component::Buttons { buttons } => Some(buttons.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }
}
