//! Migration of stores of the first format (a JSON contact under `c‖phone`,
//! its events as JSON under `e‖phone‖id`) into binary contact records with
//! the history folded in (see `codec`), when the store is opened.

use super::history::{decode_legacy_events, legacy_prefix};
use super::{codec, corrupt, StoreError, CONTACT};

/// The `meta` key naming the format of the `consent` tree's records.
pub(super) const FORMAT_KEY: &str = "consent_format";
/// Binary contact records with their history (format 1, JSON, has no key).
pub(super) const CURRENT: u8 = 2;
/// Contacts rewritten per atomic batch.
const PER_BATCH: usize = 512;

/// Rewrites every first-format contact with its events as one binary
/// record; returns how many. Safe to interrupt: each contact and the
/// removal of its `e` records are one atomic batch, records already binary
/// are passed over, and the format is marked only once everything is
/// durable, so the next open finishes what a crash left. Runs before the
/// store's flusher starts, so it may flush sled itself.
pub(super) fn migrate(
    db: &sled::Db,
    consent: &sled::Tree,
    meta: &sled::Tree,
) -> Result<usize, StoreError> {
    match meta.get(FORMAT_KEY)?.as_deref() {
        Some([CURRENT]) => return Ok(0),
        Some(&[v]) if v > CURRENT => {
            return Err(corrupt(
                FORMAT_KEY.as_bytes(),
                format!("consent records of format {v} are from a newer bote"),
            ))
        }
        Some([_]) | None => {}
        Some(v) => {
            return Err(corrupt(
                FORMAT_KEY.as_bytes(),
                format!("format marker has {} bytes", v.len()),
            ))
        }
    }
    let mut moved = 0;
    let mut from = vec![CONTACT];
    loop {
        let mut batch = sled::Batch::default();
        let mut in_batch = 0;
        let mut last = None;
        for r in consent.range(from.as_slice()..) {
            let (k, v) = r?;
            if k.first() != Some(&CONTACT) {
                break;
            }
            if v.first() == Some(&codec::FORMAT) {
                continue;
            }
            let contact = codec::decode_contact(&k, &v)?;
            // `e` keys end in sled's increasing ids: key order is the
            // order the events were recorded in.
            let mut history = Vec::new();
            for e in consent.scan_prefix(legacy_prefix(contact.phone)) {
                let (ek, ev) = e?;
                history.extend(decode_legacy_events(&ev).map_err(|e| corrupt(&ek, e))?);
                batch.remove(ek);
            }
            batch.insert(k.clone(), codec::encode(&contact, &history));
            last = Some(k);
            in_batch += 1;
            if in_batch == PER_BATCH {
                break;
            }
        }
        consent.apply_batch(batch)?;
        moved += in_batch;
        match last {
            Some(k) if in_batch == PER_BATCH => {
                from = k.to_vec();
                from.push(0);
            }
            _ => break,
        }
    }
    db.flush()?;
    meta.insert(FORMAT_KEY, &[CURRENT])?;
    db.flush()?;
    if moved > 0 {
        tracing::info!(
            contacts = moved,
            "consent records migrated to the binary format"
        );
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::consent::store::fixtures::{contact, phone};
    use crate::consent::store::Store;
    use crate::consent::{Change, ConsentEvent, ConsentStatus};

    fn event(origin: &str, secs: i64) -> ConsentEvent {
        ConsentEvent {
            recorded_at: DateTime::from_timestamp(secs, 0).expect("time"),
            actor: "tester".into(),
            origin: origin.into(),
            change: Change::Revoked {
                topic: "sale".into(),
                revoked_at: DateTime::from_timestamp(secs, 0).expect("time"),
                reason: format!("reason {secs}"),
            },
        }
    }

    fn tree_bytes(t: &sled::Tree) -> Vec<(Vec<u8>, Vec<u8>)> {
        t.iter()
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<Result<_, _>>()
            .expect("tree")
    }

    #[test]
    fn first_format_stores_migrate_on_open_and_a_second_open_changes_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let n = PER_BATCH + 7;
        let numbers: Vec<_> = (0..n)
            .map(|i| phone(&format!("+49171{:07}", 1000 + i)))
            .collect();
        let orphan = phone("+4915100000001");
        let mut want = Vec::new();
        {
            let store = Store::open(dir.path()).expect("open");
            // Written as the first format did: JSON contacts, JSON events
            // one per record or as arrays, ids from sled.
            for (i, &p) in numbers.iter().enumerate() {
                let c = contact(p, ConsentStatus::Confirmed);
                let history: Vec<_> = (0..i % 4)
                    .map(|j| event(&format!("import:a.csv:{i}"), 1_700_000_000 + j as i64))
                    .collect();
                if i == 3 {
                    // One already migrated, as a crash in the middle leaves it.
                    store.write(&c, &history).expect("binary");
                } else {
                    let key = super::super::contacts::contact_key(p);
                    store
                        .consent
                        .insert(key, serde_json::to_vec(&c).expect("json"))
                        .expect("c");
                    for (j, e) in history.iter().enumerate() {
                        let id = store.db.generate_id().expect("id");
                        let value = if j == 1 {
                            serde_json::to_vec(&[e]).expect("array")
                        } else {
                            serde_json::to_vec(e).expect("event")
                        };
                        store
                            .consent
                            .insert([&legacy_prefix(p)[..], &id.to_be_bytes()].concat(), value)
                            .expect("e");
                    }
                }
                want.push((c, history));
            }
            // Events of a number without a contact stay where they are.
            store
                .consent
                .insert(
                    [&legacy_prefix(orphan)[..], &[0; 8]].concat(),
                    serde_json::to_vec(&event("operator", 1)).expect("event"),
                )
                .expect("orphan");
            store
                .db
                .open_tree("meta")
                .expect("meta")
                .remove(FORMAT_KEY)
                .expect("unmark");
            store.flush().expect("flush");
        }
        let store = Store::open(dir.path()).expect("migrates");
        for (c, history) in &want {
            assert_eq!(store.contact(c.phone).expect("read").as_ref(), Some(c));
            assert_eq!(&store.history(c.phone).expect("history"), history);
        }
        assert_eq!(store.history(orphan).expect("orphan").len(), 1);
        let records = tree_bytes(&store.consent);
        assert!(records
            .iter()
            .filter(|(k, _)| k[0] == CONTACT)
            .all(|(_, v)| v[0] == codec::FORMAT));
        assert_eq!(
            records.iter().filter(|(k, _)| k[0] == b'e').count(),
            1,
            "only the orphan's event is left"
        );
        assert_eq!(store.contact_count(), n);
        drop(store);
        let store = Store::open(dir.path()).expect("again");
        assert_eq!(tree_bytes(&store.consent), records, "nothing left to do");
    }

    #[test]
    fn a_store_of_a_newer_format_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .db
                .open_tree("meta")
                .expect("meta")
                .insert(FORMAT_KEY, &[CURRENT + 1])
                .expect("mark");
            store.flush().expect("flush");
        }
        let e = Store::open(dir.path()).expect_err("newer");
        assert!(e.to_string().contains("from a newer bote"), "{e}");
    }
}
