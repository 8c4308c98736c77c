//! The send index: accepted sends by time — marketing ones for frequency
//! caps (G15 caps marketing only), all of them for the messaging tier.
//!
//! Keys: `g` + millis + id for marketing sends (and every send of bote
//! 0.2, which did not tell them apart: counted as marketing, the safe
//! side), `n` + millis + id for utility and authentication sends, `t` +
//! millis + number for bote 0.1's single entries.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{corrupt, Store, StoreError};
use crate::phone::Phone;
use crate::template::Category;

/// Key prefix of grouped marketing send entries.
const MARKETING: u8 = b'g';
/// Key prefix of grouped utility / authentication send entries.
const OTHER: u8 = b'n';

/// The time in a send key (after its one-byte prefix).
fn millis_of(k: &[u8]) -> Result<i64, StoreError> {
    k.get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| corrupt(k, "short send key"))
}

impl Store {
    /// Records an accepted marketing send, for caps and the tier (G15).
    pub fn record_send(
        &self,
        phone: Phone,
        at: DateTime<Utc>,
        campaign: &str,
    ) -> Result<(), StoreError> {
        self.record_sends(&[phone], at, campaign, Category::Marketing)
    }

    /// Records sends of one `category` accepted together (one dispatcher
    /// flush interval) as one index entry: one sled write for them all
    /// instead of two per send.
    pub fn record_sends(
        &self,
        phones: &[Phone],
        at: DateTime<Utc>,
        campaign: &str,
        category: Category,
    ) -> Result<(), StoreError> {
        if phones.is_empty() {
            return Ok(());
        }
        let mut key = Vec::with_capacity(17);
        key.push(match category {
            Category::Marketing => MARKETING,
            Category::Utility | Category::Authentication => OTHER,
        });
        key.extend_from_slice(&at.timestamp_millis().to_be_bytes());
        key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
        let name = &campaign.as_bytes()[..campaign.len().min(255)];
        let mut value = Vec::with_capacity(1 + name.len() + 8 * phones.len());
        value.push(name.len() as u8);
        value.extend_from_slice(name);
        for p in phones {
            value.extend_from_slice(&p.key());
        }
        self.sends.insert(key, value)?;
        Ok(())
    }

    /// Visits every grouped entry since `since` under `prefixes` as
    /// (milliseconds, campaign, numbers).
    fn each_grouped(
        &self,
        since: DateTime<Utc>,
        prefixes: &[u8],
        mut visit: impl FnMut(i64, &str, &mut dyn Iterator<Item = Phone>),
    ) -> Result<(), StoreError> {
        let from = since.timestamp_millis().to_be_bytes();
        for &prefix in prefixes {
            for r in self
                .sends
                .range([&[prefix][..], &from].concat()..vec![prefix + 1])
            {
                let (k, v) = r?;
                let ms = millis_of(&k)?;
                let name_len =
                    usize::from(*v.first().ok_or_else(|| corrupt(&k, "empty send entry"))?);
                // Cut at 255 bytes when written, so maybe mid-character.
                let name = String::from_utf8_lossy(
                    v.get(1..1 + name_len)
                        .ok_or_else(|| corrupt(&k, "short send entry"))?,
                );
                let raw = v
                    .get(1 + name_len..)
                    .filter(|p| p.len() % 8 == 0)
                    .ok_or_else(|| corrupt(&k, "bad send entry"))?;
                if let Some(bad) = raw.chunks_exact(8).find(|c| Phone::from_key(c).is_none()) {
                    return Err(corrupt(&k, format!("bad phone {bad:?}")));
                }
                visit(
                    ms,
                    &name,
                    &mut raw.chunks_exact(8).filter_map(Phone::from_key),
                );
            }
        }
        Ok(())
    }

    /// Every recorded send since `since` as (milliseconds, number), oldest
    /// first: the grouped marketing entries (and the other ones if
    /// `with_other`) and the single `t` entries of bote 0.1.
    fn sends_in_window(
        &self,
        since: DateTime<Utc>,
        with_other: bool,
    ) -> Result<Vec<(i64, Phone)>, StoreError> {
        let mut out = Vec::new();
        let prefixes: &[u8] = if with_other {
            &[MARKETING, OTHER]
        } else {
            &[MARKETING]
        };
        self.each_grouped(since, prefixes, |ms, _, phones| {
            out.extend(phones.map(|p| (ms, p)));
        })?;
        let from = since.timestamp_millis().to_be_bytes();
        for r in self.sends.range([&[b't'][..], &from].concat()..vec![b'u']) {
            let (k, _) = r?;
            let phone = k
                .get(9..)
                .and_then(Phone::from_key)
                .ok_or_else(|| corrupt(&k, "bad phone"))?;
            out.push((millis_of(&k)?, phone));
        }
        out.sort_by_key(|(ts, _)| *ts);
        Ok(out)
    }

    /// The latest send since `since` to each number from one of
    /// `campaigns` (any category), as (time, campaign): who already got a
    /// template the plan is about to send again.
    pub fn latest_sends_from(
        &self,
        since: DateTime<Utc>,
        campaigns: &HashSet<String>,
    ) -> Result<HashMap<Phone, (DateTime<Utc>, String)>, StoreError> {
        let mut latest: HashMap<Phone, (DateTime<Utc>, String)> = HashMap::new();
        if campaigns.is_empty() {
            return Ok(latest);
        }
        self.each_grouped(since, &[MARKETING, OTHER], |ms, name, phones| {
            if !campaigns.contains(name) {
                return;
            }
            let Some(at) = DateTime::<Utc>::from_timestamp_millis(ms) else {
                return;
            };
            for phone in phones {
                match latest.get(&phone) {
                    Some((t, _)) if *t >= at => {}
                    _ => {
                        latest.insert(phone, (at, name.to_string()));
                    }
                }
            }
        })?;
        Ok(latest)
    }

    /// Marketing sends per recipient since `since`: [`Store::sends_since`]
    /// for every number at once, in one pass over the index.
    pub fn send_counts_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<HashMap<Phone, u32>, StoreError> {
        let mut counts = HashMap::new();
        for (_, phone) in self.sends_in_window(since, false)? {
            *counts.entry(phone).or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Marketing sends to `phone` since `since` (a scan of the window: for
    /// many numbers use [`Store::send_counts_since`]).
    pub fn sends_since(&self, phone: Phone, since: DateTime<Utc>) -> Result<u32, StoreError> {
        Ok(self
            .sends_in_window(since, false)?
            .iter()
            .filter(|(_, p)| *p == phone)
            .count() as u32)
    }

    /// The time of the latest send to each unique recipient since `since`,
    /// oldest first: a recipient stops counting against the messaging tier
    /// only when their latest send leaves the 24-hour window.
    pub fn unique_recipients_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let mut latest: HashMap<Phone, i64> = HashMap::new();
        for (ts, phone) in self.sends_in_window(since, true)? {
            let last = latest.entry(phone).or_insert(ts);
            *last = (*last).max(ts);
        }
        let mut out: Vec<DateTime<Utc>> = latest
            .into_values()
            .filter_map(DateTime::from_timestamp_millis)
            .collect();
        out.sort_unstable();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::store::fixtures::phone;

    #[test]
    fn send_index_counts_caps_and_tier() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let (a, b) = (phone("0171 2345678"), phone("0171 2345679"));
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).expect("time");
        store.record_send(a, t(0), "c1").expect("send");
        store.record_send(a, t(10), "c2").expect("send");
        store.record_send(b, t(20), "c2").expect("send");
        assert_eq!(store.sends_since(a, t(0)).expect("count"), 2);
        assert_eq!(store.sends_since(a, t(5)).expect("count"), 1);
        assert_eq!(store.unique_recipients_since(t(0)).expect("tier").len(), 2);
        assert_eq!(store.unique_recipients_since(t(15)).expect("tier").len(), 1);
        for since in [t(0), t(5), t(15), t(25)] {
            let counts = store.send_counts_since(since).expect("counts");
            for p in [a, b] {
                assert_eq!(
                    counts.get(&p).copied().unwrap_or(0),
                    store.sends_since(p, since).expect("count"),
                    "{since}"
                );
            }
        }
    }

    /// G15 caps marketing only: a utility send counts against the tier
    /// (a unique recipient) but not against the frequency cap.
    #[test]
    fn utility_sends_count_for_the_tier_not_for_the_cap() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("open");
        let (a, b) = (phone("0171 2345678"), phone("0171 2345679"));
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).expect("time");
        for i in 0..3 {
            store.record_send(a, t(i), "c1").expect("send");
        }
        store
            .record_sends(&[a, b], t(10), "c2", Category::Utility)
            .expect("send");
        store
            .record_sends(&[b], t(11), "c3", Category::Authentication)
            .expect("send");
        assert_eq!(store.sends_since(a, t(0)).expect("count"), 3);
        assert_eq!(store.sends_since(b, t(0)).expect("count"), 0);
        let counts = store.send_counts_since(t(0)).expect("counts");
        assert_eq!(counts.get(&a), Some(&3));
        assert_eq!(counts.get(&b), None);
        let tier = store.unique_recipients_since(t(0)).expect("tier");
        assert_eq!(tier.len(), 2, "both reached: {tier:?}");
        assert_eq!(tier[1], t(11), "b's latest send counts for the window");
    }
}
