//! Why a recipient is left out of a campaign: the exclusion reasons and the excluded entry.

use serde::{Deserialize, Serialize};

use crate::phone::Phone;
use crate::template::Status;

/// Why a recipient does not get the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Exclusion {
    /// The list entry is not a valid number.
    InvalidNumber {
        /// The parser's reason.
        detail: String,
    },
    /// The number appeared earlier in the list.
    DuplicateInList {
        /// Line of its first appearance.
        first_line: u64,
    },
    /// The number was erased (G10).
    Suppressed,
    /// The number is not in the consent store.
    NoConsent,
    /// The number consented, but not to this campaign's topic (G6).
    TopicNotCovered,
    /// The consent was revoked (G5).
    Revoked,
    /// The double opt-in is not complete (G3).
    Pending,
    /// The recipient already got the maximum of marketing messages (G15).
    FrequencyCap {
        /// Sends in the window.
        sent: u32,
        /// The cap.
        max: u32,
    },
    /// The recipient got this template shortly before (the frequency cap's
    /// window, or 7 days): a second copy is a mistake more often than not.
    RecentlySent {
        /// The template.
        template: String,
        /// The campaign that sent it.
        campaign: String,
        /// Minutes between that send and this plan.
        minutes_before: u64,
    },
    /// A placeholder cannot be filled for this recipient.
    MissingParameter {
        /// The attribute that is missing.
        attribute: String,
    },
    /// A parameter value Meta refuses (132018): a newline, a tab or more
    /// than 4 consecutive spaces.
    ParameterNotAllowed {
        /// The parameter's position, from 1 (header, body, buttons).
        position: usize,
    },
    /// The template may not be sent.
    TemplateNotApproved {
        /// Its status.
        status: Status,
    },
}

impl Exclusion {
    /// Stable short code (the JSON tag).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidNumber { .. } => "invalid_number",
            Self::DuplicateInList { .. } => "duplicate_in_list",
            Self::Suppressed => "suppressed",
            Self::NoConsent => "no_consent",
            Self::TopicNotCovered => "topic_not_covered",
            Self::Revoked => "revoked",
            Self::Pending => "pending",
            Self::FrequencyCap { .. } => "frequency_cap",
            Self::RecentlySent { .. } => "recently_sent",
            Self::MissingParameter { .. } => "missing_parameter",
            Self::ParameterNotAllowed { .. } => "parameter_not_allowed",
            Self::TemplateNotApproved { .. } => "template_not_approved",
        }
    }

    /// Human explanation.
    pub fn describe(&self) -> String {
        match self {
            Self::InvalidNumber { detail } => format!("invalid number: {detail}"),
            Self::DuplicateInList { first_line } => {
                format!("duplicate in list (first on line {first_line})")
            }
            Self::Suppressed => "on the suppression list: erased (G10), or opted out before it was in the store (G5)".into(),
            Self::NoConsent => "no consent in the store".into(),
            Self::TopicNotCovered => "consent does not cover this topic (G6)".into(),
            Self::Revoked => "consent revoked (G5)".into(),
            Self::Pending => "double opt-in not confirmed (G3)".into(),
            Self::FrequencyCap { sent, max } => {
                format!("frequency cap reached: {sent} of {max} marketing messages (G15)")
            }
            Self::RecentlySent {
                template,
                campaign,
                minutes_before,
            } => format!(
                "got {template} {} before this plan (campaign {campaign}); --include-recent sends it again",
                ago(*minutes_before)
            ),
            Self::MissingParameter { attribute } => {
                format!("missing template parameter: no {attribute}")
            }
            Self::ParameterNotAllowed { position } => format!(
                "parameter {position} holds a newline, a tab or more than 4 consecutive spaces: Meta refuses it (132018)"
            ),
            Self::TemplateNotApproved { status } => format!("template is {status}, not APPROVED"),
        }
    }
}

/// "less than a minute", "4 minutes", "3 hours", "2 days".
fn ago(minutes: u64) -> String {
    let (n, unit) = match minutes {
        0 => return "less than a minute".into(),
        m if m < 120 => (m, "minute"),
        m if m < 48 * 60 => (m / 60, "hour"),
        m => (m / (24 * 60), "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A recipient who will not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// The number, when it is one.
    pub phone: Option<Phone>,
    /// The list cell as written (for invalid numbers).
    pub input: Option<String>,
    /// The list line, in list mode.
    pub line: Option<u64>,
    /// Why.
    pub reason: Exclusion,
}
