//! The dry run: who qualifies for a campaign, who is excluded and why.
//!
//! Recipients come from the store (everyone, optionally narrowed by locale)
//! or from a CSV list matched against the store. Each ends up either
//! eligible — with its template parameters filled — or excluded with one
//! [`Exclusion`], checked in a fixed order so the most fundamental reason
//! wins (no consent before a missing first name). The same checks run again
//! right before each send (invariant 1); this is the first of the two.
//!
//! [`plan`] runs the pass: `rules` holds the checks, `segment` (the whole
//! store) and `list` (a CSV list) the two ways of finding recipients;
//! `cost`, `tier` and `summary` describe the outcome.

mod cost;
mod eta;
mod exclusion;
mod guards;
mod list;
mod recent;
mod rules;
mod segment;

pub(crate) use segment::locale_matches;
mod summary;
mod tier;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::consent::table::TableError;
use crate::consent::{Store, StoreError};
use crate::phone::Phone;
use crate::template::{Catalog, Category, Lint, Params, Template, TemplateError};

pub use cost::{CostEstimate, CountryCost};
pub use eta::{estimate, Estimated, SendEstimate};
pub use exclusion::{Excluded, Exclusion};
pub use recent::{RecentSends, DEFAULT_WINDOW as RECENT_WINDOW};
pub use summary::{ExcludedView, PlanSummary, Preview, ReasonCount};
pub use tier::{capacity, tier_check, TierCheck, TIER_WINDOW};

use cost::estimate_cost;
use rules::{Rules, Verdicts};

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
    /// A `--param` names no placeholder of the template.
    #[error("--param {key}=…: template {template} has no placeholder {{{{{key}}}}} (it has: {})", if placeholders.is_empty() { "none".to_string() } else { placeholders.join(", ") })]
    UnknownParam {
        /// The key given.
        key: String,
        /// The template.
        template: String,
        /// Its placeholders.
        placeholders: Vec<String>,
    },
    /// A `--locale` matches no template language and no stored contact.
    #[error("--locale {locale}: no template language and no stored contact has it, so it would select only contacts without a locale (known: {})", known.join(", "))]
    UnknownLocale {
        /// Asked for.
        locale: String,
        /// Template languages and stored locales.
        known: Vec<String>,
    },
    /// The list has no phone column.
    #[error("{0}: the list has no phone column (phone, Telefon, Handynummer or Mobil)")]
    NoPhoneColumn(PathBuf),
}

/// A recipient who will get the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The number.
    pub phone: Phone,
    /// Placeholder values, in slot order.
    pub params: Params,
}

/// What the operator asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
    /// Also send to those who got this template within the window
    /// ([`RecentSends`]); excluded by default.
    #[serde(default)]
    pub include_recent: bool,
    /// The operator acknowledged that the template is meant for another
    /// topic than the campaign's.
    #[serde(default)]
    pub ack_topic: bool,
}

/// A campaign's audience, frozen at planning time.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// When the sends go out, holds included.
    pub estimate: SendEstimate,
    /// The store's consent epoch before any consent was read: the sends may
    /// skip their consent re-read while it is unchanged.
    pub consent_epoch: u64,
    /// Eligible recipients per language (`""`: no language stored).
    #[serde(default)]
    pub languages: BTreeMap<String, u64>,
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

/// Makes the plan: the dry run (with no record of earlier sends of the
/// template: see [`plan_with`]).
pub fn plan(
    store: &Store,
    config: &Config,
    catalog: &Catalog,
    request: &PlanRequest,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    plan_with(
        store,
        config,
        catalog,
        request,
        &RecentSends::default(),
        now,
    )
}

/// Makes the plan: the dry run, leaving out who got the same template
/// recently unless the request includes them.
pub fn plan_with(
    store: &Store,
    config: &Config,
    catalog: &Catalog,
    request: &PlanRequest,
    recent: &RecentSends,
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
    guards::check_overrides(&template, request)?;
    guards::check_locale(store, catalog, request)?;
    let readiness = guards::check_template_ready(store, &template, now)?;
    // Read first: a change while planning makes the epochs differ, and the
    // sends then check every consent again.
    let consent_epoch = store.consent_epoch();
    let cap = (template.category == Category::Marketing)
        .then_some(config.consent.frequency_cap)
        .flatten()
        .map(|cap| {
            let window = Duration::from_std(cap.window).unwrap_or(Duration::MAX);
            (cap.max, now.checked_sub_signed(window).unwrap_or(now))
        });
    let rules = Rules {
        store,
        template: &template,
        request,
        sent: match cap {
            Some((_, since)) => store.send_counts_since(since)?,
            None => HashMap::new(),
        },
        cap,
        recent: (!request.include_recent).then_some(recent),
        now,
    };
    let Verdicts {
        eligible,
        excluded,
        languages,
    } = match &request.list {
        Some(list) => rules.list(list, config)?,
        None => rules.segment()?,
    };
    let cost = estimate_cost(config, template.category, &eligible);
    let tier = tier_check(store, config.api.messaging_tier, eligible.len() as u64, now)?;
    let Estimated { estimate, zoneless } = estimate(
        &eligible,
        config.send.rate,
        config.send.quiet_hours.as_ref(),
        &tier,
        now,
    );
    let mut lints = [template.lint(&config.consent), readiness].concat();
    lints.extend(language_lint(&template, &languages, eligible.len()));
    if let Some(intended) = template.topic_mismatch(&request.topic) {
        lints.push(Lint {
            level: "warning".into(),
            message: format!(
                "{} is written for topic {intended}; this campaign's topic is {}: {}",
                template.name,
                request.topic,
                if request.ack_topic {
                    "acknowledged"
                } else {
                    "acknowledge it to send (--ack-topic; in the TUI: a on the dry run)"
                }
            ),
        });
    }
    lints.extend(eta::zoneless_lint(&zoneless));
    Ok(Plan {
        lints,
        template,
        request: request.clone(),
        created_at: now,
        eligible,
        excluded,
        cost,
        tier,
        estimate,
        consent_epoch,
        languages,
    })
}

/// The warning when eligible recipients read another language than the
/// template's: "12 of 120 read en, 3 have no language; the template is de".
fn language_lint(
    template: &Template,
    languages: &BTreeMap<String, u64>,
    eligible: usize,
) -> Option<Lint> {
    let own = rules::primary_language(&template.language);
    let others: Vec<String> = languages
        .iter()
        .filter(|(l, _)| !l.is_empty() && **l != own)
        .map(|(l, n)| format!("{n} read {l}"))
        .collect();
    if others.is_empty() {
        return None;
    }
    let unknown = languages.get("").copied().unwrap_or(0);
    Some(Lint {
        level: "warning".into(),
        message: format!(
            "of {eligible} eligible, {}{}; the template is {} — plan each language with its own template (--locale)",
            others.join(", "),
            if unknown > 0 {
                format!(", {unknown} have no language")
            } else {
                String::new()
            },
            template.language
        ),
    })
}
