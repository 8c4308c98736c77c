//! Segment mode: the whole store, narrowed by locale, scanned and decided in number order.

use std::sync::mpsc;

use super::rules::{Rules, Verdicts};
use super::{Exclusion, PlanError};
use crate::consent::store::decode_contact_view;

/// Contacts without a locale belong to every locale (the business's default).
pub(crate) fn locale_matches(contact: Option<&str>, wanted: Option<&str>) -> bool {
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

/// Contacts handed from the scanning thread to the deciding one at once.
const SCAN_CHUNK: usize = 1024;

impl Rules<'_> {
    /// The whole store (narrowed by locale), in number order.
    ///
    /// A million contacts cost about as much to read from sled (page reads)
    /// as to decode and decide, so a scanning thread hands raw records over
    /// in chunks while this thread decodes and decides them, in the order
    /// read: the same plan a single pass makes, in about half the time.
    pub(super) fn segment(&self) -> Result<Verdicts, PlanError> {
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
        // Only the fields the plan reads: not the evidence nor the history.
        let c = decode_contact_view(key, value)?;
        if !locale_matches(c.locale.as_deref(), self.request.locale.as_deref()) {
            return Ok(());
        }
        if suppressions && self.store.suppressed_since(c.phone)?.is_some() {
            out.exclude(Some(c.phone), None, Exclusion::Suppressed);
            return Ok(());
        }
        let status = c.status(&self.request.topic);
        let before = out.eligible.len();
        self.decide(out, c.phone, status, None, || {
            c.attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        });
        out.count_language(before, c.locale.as_deref());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use std::collections::BTreeMap;

    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::audience::{plan, PlanRequest, Recipient};
    use crate::config::Config;
    use crate::consent::{ConsentEvent, ConsentStatus, Contact, Store, TopicConsent};
    use crate::phone::Phone;
    use crate::template::Catalog;

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
                        Ok(params) => match params
                            .0
                            .iter()
                            .position(|v| !crate::cloud::parameter_allowed(v))
                        {
                            Some(i) => want_excluded.push((
                                c.phone,
                                Exclusion::ParameterNotAllowed { position: i + 1 },
                            )),
                            None => want_eligible.push(Recipient {
                                phone: c.phone,
                                params,
                            }),
                        },
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
