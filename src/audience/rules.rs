//! The checks of a plan: one recipient's consent, frequency cap, a recent send of the template, parameters and template status.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::{Excluded, Exclusion, PlanRequest, RecentSends, Recipient};
use crate::consent::{ConsentStatus, Store};
use crate::phone::Phone;
use crate::template::{Status, Template};

/// The checks of a plan.
pub(super) struct Rules<'a> {
    pub(super) store: &'a Store,
    pub(super) template: &'a Template,
    pub(super) request: &'a PlanRequest,
    /// (max sends, window start) for marketing templates.
    pub(super) cap: Option<(u32, DateTime<Utc>)>,
    /// Sends per recipient since the cap's window start.
    pub(super) sent: HashMap<Phone, u32>,
    /// Who got this template recently, unless the request includes them.
    pub(super) recent: Option<&'a RecentSends>,
    /// When the plan is made.
    pub(super) now: DateTime<Utc>,
}

/// Who gets the message and who does not, in the order considered.
#[derive(Default)]
pub(super) struct Verdicts {
    pub(super) eligible: Vec<Recipient>,
    pub(super) excluded: Vec<Excluded>,
    /// Eligible recipients per language (primary subtag, `""` for none).
    pub(super) languages: BTreeMap<String, u64>,
}

/// `de` of `de_AT` (or `de-AT`), lowercase: what the plan counts per.
pub(super) fn primary_language(locale: &str) -> String {
    locale
        .split(['_', '-'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl Verdicts {
    /// Counts the latest eligible recipient as reading `locale`, if the
    /// last decision made one eligible (`before` = eligible count before it).
    pub(super) fn count_language(&mut self, before: usize, locale: Option<&str>) {
        if self.eligible.len() > before {
            let lang = locale.map(primary_language).unwrap_or_default();
            *self.languages.entry(lang).or_default() += 1;
        }
    }
}

impl Verdicts {
    pub(super) fn exclude(&mut self, phone: Option<Phone>, line: Option<u64>, reason: Exclusion) {
        self.excluded.push(Excluded {
            phone,
            input: None,
            line,
            reason,
        });
    }
}

impl Rules<'_> {
    /// Decides one stored contact: its consent `status` for the campaign's
    /// topic (None: no consent for it); its attributes are only built when
    /// the template needs them.
    pub(super) fn decide(
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
        if let Some(reason) = self.recent.and_then(|r| r.exclusion(phone, self.now)) {
            out.exclude(Some(phone), line, reason);
            return;
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
        // 132018 would refuse the send: better excluded now, with the reason.
        if let Some(i) = params
            .0
            .iter()
            .position(|v| !crate::cloud::parameter_allowed(v))
        {
            out.exclude(
                Some(phone),
                line,
                Exclusion::ParameterNotAllowed { position: i + 1 },
            );
            return;
        }
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
}
