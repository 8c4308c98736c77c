//! The dry run: who qualifies for a campaign, who is excluded and why.
//!
//! Recipients come from the store (everyone, optionally narrowed by locale)
//! or from a CSV list matched against the store. Each ends up either
//! eligible — with its template parameters filled — or excluded with one
//! [`Exclusion`], checked in a fixed order so the most fundamental reason
//! wins (no consent before a missing first name). The same checks run again
//! right before each send (invariant 1); this is the first of the two.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::consent::store::decode_contact;
use crate::consent::table::{self, TableError};
use crate::consent::{ConsentStatus, Store, StoreError};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The number.
    pub phone: Phone,
    /// Placeholder values, in slot order.
    pub params: Params,
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
}

/// Cost per country.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CountryCost {
    /// Recipients.
    pub recipients: usize,
    /// Price per message.
    pub price: f64,
    /// recipients × price.
    pub subtotal: f64,
}

/// The dry run's cost estimate (per delivered message, so an upper bound).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostEstimate {
    /// Currency.
    pub currency: String,
    /// Sum.
    pub total: f64,
    /// By ISO region.
    pub by_country: BTreeMap<String, CountryCost>,
}

/// Whether the messaging tier allows the whole campaign now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
    /// The store's consent epoch before any consent was read: the sends may
    /// skip their consent re-read while it is unchanged.
    pub consent_epoch: u64,
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
    };
    let Verdicts { eligible, excluded } = match &request.list {
        Some(list) => rules.list(list, config)?,
        None => rules.segment()?,
    };
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
        consent_epoch,
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

/// The fields of a stored contact the plan reads; decoding only these skips
/// the consent evidence (sources, dates) that a million-contact scan would
/// otherwise parse and allocate.
#[derive(Deserialize)]
struct ContactView<'a> {
    phone: Phone,
    #[serde(default, borrow)]
    locale: Option<Text<'a>>,
    #[serde(default, borrow)]
    attributes: BTreeMap<Text<'a>, Text<'a>>,
    #[serde(borrow)]
    topics: BTreeMap<Text<'a>, TopicView>,
}

/// A JSON string borrowed from the record where it has no escapes, owned
/// where it has (serde's own `Cow` always allocates inside maps).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visitor)
    }
}

impl std::borrow::Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
struct TopicView {
    status: ConsentStatus,
}

/// Contacts handed from the scanning thread to the deciding one at once.
const SCAN_CHUNK: usize = 1024;

/// The checks of a plan.
struct Rules<'a> {
    store: &'a Store,
    template: &'a Template,
    request: &'a PlanRequest,
    /// (max sends, window start) for marketing templates.
    cap: Option<(u32, DateTime<Utc>)>,
    /// Sends per recipient since the cap's window start.
    sent: HashMap<Phone, u32>,
}

/// Who gets the message and who does not, in the order considered.
#[derive(Default)]
struct Verdicts {
    eligible: Vec<Recipient>,
    excluded: Vec<Excluded>,
}

impl Verdicts {
    fn exclude(&mut self, phone: Option<Phone>, line: Option<u64>, reason: Exclusion) {
        self.excluded.push(Excluded {
            phone,
            input: None,
            line,
            reason,
        });
    }
}

impl Rules<'_> {
    /// The whole store (narrowed by locale), in number order.
    ///
    /// A million contacts cost about as much to read from sled (page reads)
    /// as to decode and decide, so a scanning thread hands raw records over
    /// in chunks while this thread decodes and decides them, in the order
    /// read: the same plan a single pass makes, in about half the time.
    fn segment(&self) -> Result<Verdicts, PlanError> {
        let store = self.store;
        // Erasure normally removes the contact too, but a suppressed number
        // must never pass the plan: the sends trust the plan's consent check
        // while the consent epoch is unchanged.
        let suppressions = store.has_suppressions()?;
        let (tx, rx) = mpsc::sync_channel(4);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut chunk = Vec::with_capacity(SCAN_CHUNK);
                for record in store.contact_records() {
                    match record {
                        Ok(kv) => chunk.push(kv),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                    if chunk.len() == SCAN_CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(SCAN_CHUNK));
                        if tx.send(Ok(full)).is_err() {
                            return;
                        }
                    }
                }
                let _ = tx.send(Ok(chunk));
            });
            // Returning early drops `rx`, which stops the scan.
            let mut out = Verdicts::default();
            for chunk in rx {
                for (key, value) in chunk? {
                    self.segment_one(&mut out, &key, &value, suppressions)?;
                }
            }
            Ok(out)
        })
    }

    /// Decodes and decides one stored contact, unless the locale filter
    /// leaves it out.
    fn segment_one(
        &self,
        out: &mut Verdicts,
        key: &[u8],
        value: &[u8],
        suppressions: bool,
    ) -> Result<(), PlanError> {
        let c: ContactView = decode_contact(key, value)?;
        if !locale_matches(
            c.locale.as_ref().map(|l| &*l.0),
            self.request.locale.as_deref(),
        ) {
            return Ok(());
        }
        if suppressions && self.store.suppressed_since(c.phone)?.is_some() {
            out.exclude(Some(c.phone), None, Exclusion::Suppressed);
            return Ok(());
        }
        let status = c.topics.get(self.request.topic.as_str()).map(|t| t.status);
        self.decide(out, c.phone, status, None, || {
            c.attributes
                .iter()
                .map(|(k, v)| (k.0.to_string(), v.0.to_string()))
                .collect()
        });
        Ok(())
    }

    /// Decides one stored contact: its consent `status` for the campaign's
    /// topic (None: no consent for it); its attributes are only built when
    /// the template needs them.
    fn decide(
        &self,
        out: &mut Verdicts,
        phone: Phone,
        status: Option<ConsentStatus>,
        line: Option<u64>,
        attributes: impl FnOnce() -> BTreeMap<String, String>,
    ) {
        let reason = match status {
            None => Some(Exclusion::TopicNotCovered),
            Some(ConsentStatus::Revoked) => Some(Exclusion::Revoked),
            Some(ConsentStatus::Pending) => Some(Exclusion::Pending),
            Some(ConsentStatus::Confirmed) => None,
        };
        if let Some(reason) = reason {
            out.exclude(Some(phone), line, reason);
            return;
        }
        if let Some((max, _)) = self.cap {
            let sent = self.sent.get(&phone).copied().unwrap_or(0);
            if sent >= max {
                out.exclude(Some(phone), line, Exclusion::FrequencyCap { sent, max });
                return;
            }
        }
        let params = match self
            .template
            .resolve(&attributes(), &self.request.overrides)
        {
            Ok(p) => p,
            Err(missing) => {
                out.exclude(
                    Some(phone),
                    line,
                    Exclusion::MissingParameter {
                        attribute: missing.attribute,
                    },
                );
                return;
            }
        };
        if self.template.status != Status::Approved {
            out.exclude(
                Some(phone),
                line,
                Exclusion::TemplateNotApproved {
                    status: self.template.status,
                },
            );
            return;
        }
        out.eligible.push(Recipient { phone, params });
    }

    /// Matches a CSV list against the store.
    fn list(&self, path: &Path, config: &Config) -> Result<Verdicts, PlanError> {
        let mut out = Verdicts::default();
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
                    out.excluded.push(Excluded {
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
                out.exclude(
                    Some(phone),
                    Some(line),
                    Exclusion::DuplicateInList { first_line },
                );
                continue;
            }
            seen.insert(phone, line);
            if self.store.suppressed_since(phone)?.is_some() {
                out.exclude(Some(phone), Some(line), Exclusion::Suppressed);
                continue;
            }
            match self.store.contact(phone)? {
                Some(c) => {
                    let status = c.topic(&self.request.topic).map(|t| t.status);
                    self.decide(&mut out, phone, status, Some(line), || c.attributes.clone());
                }
                None => out.exclude(Some(phone), Some(line), Exclusion::NoConsent),
            }
        }
        Ok(out)
    }
}

fn estimate_cost(config: &Config, category: Category, eligible: &[Recipient]) -> CostEstimate {
    let mut by_country: BTreeMap<String, CountryCost> = BTreeMap::new();
    // Count by the first three digits (they hold the country code), then one
    // metadata lookup per prefix.
    let mut prefixes: HashMap<u64, (Phone, usize)> = HashMap::new();
    for r in eligible {
        let digits = r.phone.as_u64();
        let prefix = digits / 10u64.pow((digits.ilog10()).saturating_sub(2));
        prefixes.entry(prefix).or_insert((r.phone, 0)).1 += 1;
    }
    for (phone, recipients) in prefixes.into_values() {
        let region = phone.region_code().unwrap_or("other");
        let price = config.pricing.price(category, region);
        let e = by_country.entry(region.to_string()).or_insert(CountryCost {
            recipients: 0,
            price,
            subtotal: 0.0,
        });
        e.recipients += recipients;
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
    // Capacity frees up as recipients' latest sends leave the window, oldest
    // first. Before the rest can go, enough of them must have left to bring
    // the count (with the sends made now) down to tier − later: more than
    // `later` when the tier is already over-used.
    let must_leave = (used + wanted).saturating_sub(tier);
    let later_at = (later > 0 && must_leave >= 1 && must_leave <= used)
        .then(|| recent.get((must_leave - 1) as usize).map(|t| *t + window))
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

    use crate::consent::{ConsentEvent, Contact, TopicConsent};

    /// A store with contacts in every state the plan tells apart: topics,
    /// statuses, locales, names with escapes, recent sends.
    fn varied_store(dir: &Path) -> Store {
        let store = Store::open(dir).expect("open");
        let t0 = DateTime::from_timestamp(1_750_000_000, 0).expect("time");
        let t_sends = Utc::now() - Duration::hours(1);
        let names = ["Anna", "Jürgen", "\"Anni\" Maria", "", "Zoë\\x"];
        let locales = [None, Some("de"), Some("de_AT"), Some("en")];
        let statuses = [
            ConsentStatus::Confirmed,
            ConsentStatus::Pending,
            ConsentStatus::Revoked,
        ];
        let mut x: u64 = 7;
        let mut next = |n: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) % n
        };
        for i in 0..3_000u64 {
            let phone = Phone::from_u64(4_917_100_000_000 + i * 7_919).expect("phone");
            let mut topics = BTreeMap::new();
            for topic in ["sale", "events"] {
                if next(3) > 0 {
                    topics.insert(
                        topic.to_string(),
                        TopicConsent {
                            status: statuses[next(3) as usize],
                            opted_in_at: t0,
                            source: "test".into(),
                            confirmed_at: None,
                            method: None,
                            text_version: None,
                            revoked_at: None,
                            revoked_by: None,
                        },
                    );
                }
            }
            let name = names[next(names.len() as u64) as usize];
            let contact = Contact {
                phone,
                locale: locales[next(4) as usize].map(String::from),
                attributes: (!name.is_empty())
                    .then(|| ("first_name".to_string(), name.to_string()))
                    .into_iter()
                    .collect(),
                profile_at: t0,
                topics,
            };
            store
                .write(&contact, &[] as &[ConsentEvent])
                .expect("write");
            for k in 0..next(5) as i64 {
                store
                    .record_send(phone, t_sends - Duration::minutes(k), "c")
                    .expect("send");
            }
        }
        store
    }

    /// The plan's segment scan (threads, partial decoding, bulk send counts)
    /// decides exactly as a plain pass over fully decoded contacts.
    #[test]
    fn segment_plan_matches_a_plain_pass() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = varied_store(dir.path());
        let config = Config::default();
        let catalog = Catalog::embedded().expect("catalog");
        for locale in [None, Some("de"), Some("en")] {
            let request = PlanRequest {
                template: "herbst_sale".into(),
                topic: "sale".into(),
                locale: locale.map(String::from),
                ..PlanRequest::default()
            };
            let now = Utc::now();
            let plan = plan(&store, &config, &catalog, &request, now).expect("plan");
            let cap = config.consent.frequency_cap.expect("cap");
            let since = now - Duration::from_std(cap.window).expect("window");
            // Counted once (`store` tests pin it against `sends_since`).
            let sent_by = store.send_counts_since(since).expect("sends");
            let mut want_eligible = Vec::new();
            let mut want_excluded = Vec::new();
            for c in store.contacts() {
                let c = c.expect("contact");
                if !locale_matches(c.locale.as_deref(), locale) {
                    continue;
                }
                let sent = sent_by.get(&c.phone).copied().unwrap_or(0);
                let reason = match c.topic("sale").map(|t| t.status) {
                    None => Some(Exclusion::TopicNotCovered),
                    Some(ConsentStatus::Revoked) => Some(Exclusion::Revoked),
                    Some(ConsentStatus::Pending) => Some(Exclusion::Pending),
                    Some(ConsentStatus::Confirmed) if sent >= cap.max => {
                        Some(Exclusion::FrequencyCap { sent, max: cap.max })
                    }
                    Some(ConsentStatus::Confirmed) => None,
                };
                match reason {
                    Some(r) => want_excluded.push((c.phone, r)),
                    None => match plan.template.resolve(&c.attributes, &BTreeMap::new()) {
                        Ok(params) => want_eligible.push(Recipient {
                            phone: c.phone,
                            params,
                        }),
                        Err(m) => want_excluded.push((
                            c.phone,
                            Exclusion::MissingParameter {
                                attribute: m.attribute,
                            },
                        )),
                    },
                }
            }
            assert_eq!(plan.eligible, want_eligible, "{locale:?}");
            let got: Vec<_> = plan
                .excluded
                .iter()
                .map(|e| (e.phone.expect("phone"), e.reason.clone()))
                .collect();
            assert_eq!(got, want_excluded, "{locale:?}");
            assert!(!plan.eligible.is_empty() && !got.is_empty());
            assert!(got.iter().any(|(_, r)| r.code() == "frequency_cap"));
        }
    }

    /// A suppressed number that still has a stored consent never passes a
    /// segment plan (the sends trust the plan while the consent epoch holds).
    #[test]
    fn segment_plan_excludes_suppressed_numbers() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = varied_store(dir.path());
        let config = Config::default();
        let catalog = Catalog::embedded().expect("catalog");
        let request = PlanRequest {
            template: "herbst_sale".into(),
            topic: "sale".into(),
            ..PlanRequest::default()
        };
        let before = plan(&store, &config, &catalog, &request, Utc::now()).expect("plan");
        let victim = before.eligible[0].phone;
        store.suppress(victim, Utc::now()).expect("suppress");
        let after = plan(&store, &config, &catalog, &request, Utc::now()).expect("plan");
        assert!(after.eligible.iter().all(|r| r.phone != victim));
        assert!(after
            .excluded
            .iter()
            .any(|e| e.phone == Some(victim) && e.reason == Exclusion::Suppressed));
        assert_eq!(after.eligible.len() + 1, before.eligible.len());
        assert_ne!(after.consent_epoch, before.consent_epoch);
    }

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
