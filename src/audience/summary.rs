//! The plan as the operator reads it: reason counts, masked samples and rendered previews.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{CostEstimate, Exclusion, Plan, TierCheck};
use crate::template::{Category, Lint, Status};

/// One exclusion reason with its count.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReasonCount {
    /// Stable code.
    pub code: String,
    /// Recipients excluded for it.
    pub count: usize,
}

/// An excluded recipient as shown to the operator (number masked).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExcludedView {
    /// Masked number, or the invalid input.
    pub recipient: String,
    /// List line, in list mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Why.
    pub reason: Exclusion,
    /// Human text of the reason.
    pub description: String,
}

/// A rendered message for one eligible recipient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Preview {
    /// Masked number.
    pub recipient: String,
    /// The text the recipient would read.
    pub text: String,
}

/// The dry run as the CLI prints it and `--json` documents it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Template name.
    pub template: String,
    /// Template language.
    pub language: String,
    /// Template category.
    pub category: Category,
    /// Template status.
    pub status: Status,
    /// Campaign topic.
    pub topic: String,
    /// Locale filter.
    pub locale: Option<String>,
    /// List file, in list mode.
    pub list: Option<String>,
    /// Everyone considered.
    pub audience: usize,
    /// Who gets the message.
    pub eligible: usize,
    /// Who does not.
    pub excluded: usize,
    /// Exclusions per reason, most frequent first.
    pub reasons: Vec<ReasonCount>,
    /// Up to `sample` excluded recipients per reason.
    pub excluded_sample: Vec<ExcludedView>,
    /// Rendered messages for the first eligible recipients.
    pub previews: Vec<Preview>,
    /// Cost estimate.
    pub cost: CostEstimate,
    /// Tier check.
    pub tier: TierCheck,
    /// When the sends go out, holds included.
    pub estimate: super::SendEstimate,
    /// Template findings.
    pub lints: Vec<Lint>,
    /// Eligible recipients per language (`""`: no language stored).
    #[serde(default)]
    pub languages: std::collections::BTreeMap<String, u64>,
}

impl Plan {
    /// The summary with `previews` rendered messages and `sample` excluded
    /// recipients per reason; numbers masked to their last `keep` digits.
    pub fn summary(&self, previews: usize, sample: usize, keep: usize) -> PlanSummary {
        let mut per_reason: HashMap<&'static str, usize> = HashMap::new();
        let excluded_sample = self
            .excluded
            .iter()
            .filter(|e| {
                let n = per_reason.entry(e.reason.code()).or_default();
                *n += 1;
                *n <= sample
            })
            .map(|e| ExcludedView {
                recipient: e
                    .phone
                    .map(|p| p.masked(keep))
                    .or_else(|| e.input.clone())
                    .unwrap_or_default(),
                line: e.line,
                description: e.reason.describe(),
                reason: e.reason.clone(),
            })
            .collect();
        PlanSummary {
            template: self.template.name.clone(),
            language: self.template.language.clone(),
            category: self.template.category,
            status: self.template.status,
            topic: self.request.topic.clone(),
            locale: self.request.locale.clone(),
            list: self.request.list.as_ref().map(|p| p.display().to_string()),
            audience: self.audience(),
            eligible: self.eligible.len(),
            excluded: self.excluded.len(),
            reasons: self
                .reasons()
                .into_iter()
                .map(|(code, count)| ReasonCount {
                    code: code.to_string(),
                    count,
                })
                .collect(),
            excluded_sample,
            previews: self
                .eligible
                .iter()
                .take(previews)
                .map(|r| Preview {
                    recipient: r.phone.masked(keep),
                    text: self.template.render(&r.params),
                })
                .collect(),
            cost: self.cost.clone(),
            tier: self.tier.clone(),
            estimate: self.estimate,
            lints: self.lints.clone(),
            languages: self.languages.clone(),
        }
    }
}
