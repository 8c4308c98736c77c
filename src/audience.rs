//! The dry run: who qualifies for a campaign, who is excluded and why.
//!
//! Recipients come from the store (everyone, optionally narrowed by locale)
//! or from a CSV list matched against the store. Each ends up either
//! eligible — with its template parameters filled — or excluded with one
//! [`Exclusion`], checked in a fixed order so the most fundamental reason
//! wins (no consent before a missing first name). The same checks run again
//! right before each send (invariant 1); this is the first of the two.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::consent::table::{self, TableError};
use crate::consent::{ConsentStatus, Contact, Store, StoreError};
use crate::phone::Phone;
use crate::template::{Catalog, Category, Lint, Params, Status, Template, TemplateError};

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The topic is not configured.
    #[error("unknown topic {topic:?} (configured: {})", configured.join(", "))]
    UnknownTopic {
        /// Asked for.
        topic: String,
        /// Configured topics.
        configured: Vec<String>,
    },
    /// The template is unknown or invalid.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The list file is unreadable.
    #[error(transparent)]
    List(#[from] TableError),
    /// The list has no phone column.
    #[error("{0}: the list has no phone column (phone, Telefon, Handynummer or Mobil)")]
    NoPhoneColumn(PathBuf),
}

/// Why a recipient does not get the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// A placeholder cannot be filled for this recipient.
    MissingParameter {
        /// The attribute that is missing.
        attribute: String,
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
            Self::MissingParameter { .. } => "missing_parameter",
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
            Self::Suppressed => "erased; on the suppression list (G10)".into(),
            Self::NoConsent => "no consent in the store".into(),
            Self::TopicNotCovered => "consent does not cover this topic (G6)".into(),
            Self::Revoked => "consent revoked (G5)".into(),
            Self::Pending => "double opt-in not confirmed (G3)".into(),
            Self::FrequencyCap { sent, max } => {
                format!("frequency cap reached: {sent} of {max} marketing messages (G15)")
            }
            Self::MissingParameter { attribute } => {
                format!("missing template parameter: no {attribute}")
            }
            Self::TemplateNotApproved { status } => format!("template is {status}, not APPROVED"),
        }
    }
}

/// A recipient who will get the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The number.
    pub phone: Phone,
    /// Placeholder values, in slot order.
    pub params: Params,
}

/// A recipient who will not.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What the operator asks for.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// Template name.
    pub template: String,
    /// Template language, if it has several.
    pub language: Option<String>,
    /// The campaign's purpose (G6).
    pub topic: String,
    /// Only recipients of this language (`de` also matches `de_AT`).
    pub locale: Option<String>,
    /// A CSV list to match against the store, instead of the whole store.
    pub list: Option<PathBuf>,
    /// Campaign values for placeholders (e.g. another discount code).
    pub overrides: BTreeMap<String, String>,
}

/// Cost per country.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CountryCost {
    /// Recipients.
    pub recipients: usize,
    /// Price per message.
    pub price: f64,
    /// recipients × price.
    pub subtotal: f64,
}

/// The dry run's cost estimate (per delivered message, so an upper bound).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CostEstimate {
    /// Currency.
    pub currency: String,
    /// Sum.
    pub total: f64,
    /// By ISO region.
    pub by_country: BTreeMap<String, CountryCost>,
}

/// Whether the messaging tier allows the whole campaign now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TierCheck {
    /// Unique recipients per rolling 24 h.
    pub tier: u64,
    /// Unique recipients already messaged in the last 24 h.
    pub used: u64,
    /// Recipients that can go now.
    pub now: u64,
    /// Recipients that must wait.
    pub later: u64,
    /// When the waiting ones can go (None: the campaign exceeds the tier even on an idle day).
    pub later_at: Option<DateTime<Utc>>,
}

/// A campaign's audience, frozen at planning time.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The template.
    pub template: Template,
    /// The request it answers.
    pub request: PlanRequest,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Who gets the message.
    pub eligible: Vec<Recipient>,
    /// Who does not, and why.
    pub excluded: Vec<Excluded>,
    /// Template findings (G7, G8).
    pub lints: Vec<Lint>,
    /// Cost.
    pub cost: CostEstimate,
    /// Tier.
    pub tier: TierCheck,
}

impl Plan {
    /// Everyone considered.
    pub fn audience(&self) -> usize {
        self.eligible.len() + self.excluded.len()
    }

    /// Excluded counts per reason code, most frequent first.
    pub fn reasons(&self) -> Vec<(&'static str, usize)> {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for e in &self.excluded {
            *counts.entry(e.reason.code()).or_default() += 1;
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// The message recipient `i` of the eligible would read.
    pub fn preview(&self, i: usize) -> Option<String> {
        self.eligible
            .get(i)
            .map(|r| self.template.render(&r.params))
    }
}

/// One exclusion reason with its count.
#[derive(Debug, Clone, Serialize)]
pub struct ReasonCount {
    /// Stable code.
    pub code: &'static str,
    /// Recipients excluded for it.
    pub count: usize,
}

/// An excluded recipient as shown to the operator (number masked).
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Masked number.
    pub recipient: String,
    /// The text the recipient would read.
    pub text: String,
}

/// The dry run as the CLI prints it and `--json` documents it.
#[derive(Debug, Clone, Serialize)]
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
    /// Template findings.
    pub lints: Vec<Lint>,
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
                .map(|(code, count)| ReasonCount { code, count })
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
            lints: self.lints.clone(),
        }
    }
}

/// Makes the plan: the dry run.
pub fn plan(
    store: &Store,
    config: &Config,
    catalog: &Catalog,
    request: &PlanRequest,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    if !config.has_topic(&request.topic) {
        return Err(PlanError::UnknownTopic {
            topic: request.topic.clone(),
            configured: config.consent.topics.clone(),
        });
    }
    let template = catalog
        .get(&request.template, request.language.as_deref())?
        .clone();
    let mut judge = Judge {
        store,
        template: &template,
        request,
        cap: (template.category == Category::Marketing)
            .then_some(config.consent.frequency_cap)
            .flatten()
            .map(|cap| {
                let window = Duration::from_std(cap.window).unwrap_or(Duration::MAX);
                (cap.max, now.checked_sub_signed(window).unwrap_or(now))
            }),
        eligible: Vec::new(),
        excluded: Vec::new(),
    };
    match &request.list {
        Some(list) => judge.list(list, config)?,
        None => {
            for contact in store.contacts() {
                let contact = contact?;
                if locale_matches(contact.locale.as_deref(), request.locale.as_deref()) {
                    judge.contact(&contact, None)?;
                }
            }
        }
    }
    let Judge {
        eligible, excluded, ..
    } = judge;
    let cost = estimate_cost(config, template.category, &eligible);
    let tier = tier_check(store, config.api.messaging_tier, eligible.len() as u64, now)?;
    Ok(Plan {
        lints: template.lint(&config.consent),
        template,
        request: request.clone(),
        created_at: now,
        eligible,
        excluded,
        cost,
        tier,
    })
}

/// Contacts without a locale belong to every locale (the business's default).
fn locale_matches(contact: Option<&str>, wanted: Option<&str>) -> bool {
    match (contact, wanted) {
        (_, None) | (None, _) => true,
        (Some(c), Some(w)) => {
            c.eq_ignore_ascii_case(w)
                || (!w.contains('_')
                    && c.split('_')
                        .next()
                        .is_some_and(|l| l.eq_ignore_ascii_case(w)))
        }
    }
}

struct Judge<'a> {
    store: &'a Store,
    template: &'a Template,
    request: &'a PlanRequest,
    /// (max sends, window start) for marketing templates.
    cap: Option<(u32, DateTime<Utc>)>,
    eligible: Vec<Recipient>,
    excluded: Vec<Excluded>,
}

impl Judge<'_> {
    fn exclude(&mut self, phone: Option<Phone>, line: Option<u64>, reason: Exclusion) {
        self.excluded.push(Excluded {
            phone,
            input: None,
            line,
            reason,
        });
    }

    /// Decides one stored contact.
    fn contact(&mut self, contact: &Contact, line: Option<u64>) -> Result<(), PlanError> {
        let phone = contact.phone;
        let reason = match contact.topic(&self.request.topic).map(|t| t.status) {
            None => Some(Exclusion::TopicNotCovered),
            Some(ConsentStatus::Revoked) => Some(Exclusion::Revoked),
            Some(ConsentStatus::Pending) => Some(Exclusion::Pending),
            Some(ConsentStatus::Confirmed) => None,
        };
        if let Some(reason) = reason {
            self.exclude(Some(phone), line, reason);
            return Ok(());
        }
        if let Some((max, since)) = self.cap {
            let sent = self.store.sends_since(phone, since)?;
            if sent >= max {
                self.exclude(Some(phone), line, Exclusion::FrequencyCap { sent, max });
                return Ok(());
            }
        }
        let params = match self
            .template
            .resolve(&contact.attributes, &self.request.overrides)
        {
            Ok(p) => p,
            Err(missing) => {
                self.exclude(
                    Some(phone),
                    line,
                    Exclusion::MissingParameter {
                        attribute: missing.attribute,
                    },
                );
                return Ok(());
            }
        };
        if self.template.status != Status::Approved {
            self.exclude(
                Some(phone),
                line,
                Exclusion::TemplateNotApproved {
                    status: self.template.status,
                },
            );
            return Ok(());
        }
        self.eligible.push(Recipient { phone, params });
        Ok(())
    }

    /// Matches a CSV list against the store.
    fn list(&mut self, path: &Path, config: &Config) -> Result<(), PlanError> {
        let sniffed = table::sniff(path)?;
        let (mut reader, lines) = table::open(path, &sniffed, Default::default())?;
        let headers = reader
            .headers()
            .map_err(|e| table::csv_error(path, &e))?
            .clone();
        let col = headers
            .iter()
            .position(crate::consent::import::is_phone_header)
            .ok_or_else(|| PlanError::NoPhoneColumn(path.to_owned()))?;
        let region = config
            .consent
            .default_region
            .parse()
            .map_err(|_| PlanError::NoPhoneColumn(path.to_owned()))?;
        let mut seen: HashMap<Phone, u64> = HashMap::new();
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| table::csv_error(path, &e))?
        {
            let line = lines.of(&record);
            let cell = record.get(col).unwrap_or_default();
            if record.iter().all(str::is_empty) {
                continue;
            }
            let phone = match Phone::parse_in(cell, region) {
                Ok(p) => p,
                Err(e) => {
                    self.excluded.push(Excluded {
                        phone: None,
                        input: Some(cell.to_string()),
                        line: Some(line),
                        reason: Exclusion::InvalidNumber {
                            detail: e.to_string(),
                        },
                    });
                    continue;
                }
            };
            if let Some(first_line) = seen.get(&phone).copied() {
                self.exclude(
                    Some(phone),
                    Some(line),
                    Exclusion::DuplicateInList { first_line },
                );
                continue;
            }
            seen.insert(phone, line);
            if self.store.suppressed_since(phone)?.is_some() {
                self.exclude(Some(phone), Some(line), Exclusion::Suppressed);
                continue;
            }
            match self.store.contact(phone)? {
                Some(contact) => self.contact(&contact, Some(line))?,
                None => self.exclude(Some(phone), Some(line), Exclusion::NoConsent),
            }
        }
        Ok(())
    }
}

fn estimate_cost(config: &Config, category: Category, eligible: &[Recipient]) -> CostEstimate {
    let mut by_country: BTreeMap<String, CountryCost> = BTreeMap::new();
    // Region lookups by the first three digits: one metadata lookup per prefix.
    let mut regions: HashMap<u64, String> = HashMap::new();
    for r in eligible {
        let digits = r.phone.as_u64();
        let prefix = digits / 10u64.pow((digits.ilog10()).saturating_sub(2));
        let region = regions
            .entry(prefix)
            .or_insert_with(|| r.phone.region_code().unwrap_or("other").to_string());
        let price = config.pricing.price(category, region);
        let e = by_country.entry(region.clone()).or_insert(CountryCost {
            recipients: 0,
            price,
            subtotal: 0.0,
        });
        e.recipients += 1;
    }
    let mut total = 0.0;
    for c in by_country.values_mut() {
        c.subtotal = c.recipients as f64 * c.price;
        total += c.subtotal;
    }
    CostEstimate {
        currency: config.pricing.currency.clone(),
        total,
        by_country,
    }
}

/// How many of `wanted` recipients the rolling 24-h tier lets go now.
pub fn tier_check(
    store: &Store,
    tier: u64,
    wanted: u64,
    now: DateTime<Utc>,
) -> Result<TierCheck, StoreError> {
    let window = Duration::hours(24);
    let recent = store.unique_recipients_since(now - window)?;
    let used = recent.len() as u64;
    let free = tier.saturating_sub(used);
    let now_count = wanted.min(free);
    let later = wanted - now_count;
    // Capacity frees up as old sends leave the window, oldest first.
    let later_at = (later > 0 && later <= used)
        .then(|| recent.get((later - 1) as usize).map(|t| *t + window))
        .flatten();
    Ok(TierCheck {
        tier,
        used,
        now: now_count,
        later,
        later_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_matching() {
        assert!(locale_matches(Some("de_AT"), Some("de")));
        assert!(locale_matches(Some("de"), Some("de")));
        assert!(!locale_matches(Some("en"), Some("de")));
        assert!(!locale_matches(Some("de"), Some("de_AT")));
        assert!(locale_matches(None, Some("de")));
        assert!(locale_matches(Some("en"), None));
    }
}
