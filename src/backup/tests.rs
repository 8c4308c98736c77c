//! A store through an archive and back, in-process: what verify and
//! restore refuse, and that no number travels in clear. Archives here are
//! encrypted to an X25519 key (instant) except where the passphrase path
//! itself is tested (scrypt costs about a second by design).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::DateTime;

use super::restore::restore;
use super::*;
use crate::consent::{ConsentStatus, Contact, TopicConsent};
use crate::phone::Phone;

const NUMBERS: [&str; 3] = ["+4915112345670", "+4915112345671", "+4915112345672"];

fn contact(p: &str) -> Contact {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    Contact {
        phone: Phone::parse(p, "DE").expect("phone"),
        locale: Some("de".into()),
        attributes: BTreeMap::from([("first_name".to_string(), "Ulrike".to_string())]),
        profile_at: t0,
        topics: BTreeMap::from([(
            "sale".to_string(),
            TopicConsent {
                status: ConsentStatus::Confirmed,
                opted_in_at: t0,
                source: "test".into(),
                confirmed_at: Some(t0),
                method: None,
                text_version: None,
                revoked_at: None,
                revoked_by: None,
            },
        )]),
    }
}

/// A store with three contacts and two audit entries; an archive of it
/// encrypted to a fresh key; that key's identity.
fn archived(dir: &Path) -> (Vec<u8>, Created, age::x25519::Identity) {
    let store = Store::open(&dir.join("store")).expect("open");
    for n in NUMBERS {
        store.write(&contact(n), &[]).expect("write");
    }
    for _ in 0..2 {
        store
            .audit()
            .record(crate::audit::Record::new(
                crate::audit::Action::Plan,
                "anna",
            ))
            .expect("audit");
    }
    let id = age::x25519::Identity::generate();
    let key = BackupKey::Recipients(vec![id.to_public().to_string()]);
    let mut out = Vec::new();
    let created = create(
        &store,
        Some("sandbox".into()),
        &key,
        &mut out,
        chrono::Utc::now(),
    )
    .expect("create");
    (out, created, id)
}

fn opener(id: &age::x25519::Identity) -> Opener {
    let parsed: age::x25519::Identity = age::secrecy::ExposeSecret::expose_secret(&id.to_string())
        .parse()
        .expect("identity");
    Opener::Identities(vec![Box::new(parsed)])
}

#[test]
fn a_store_round_trips_and_the_restore_is_in_the_restored_trail() {
    let dir = tempfile::tempdir().expect("dir");
    let (bytes, created, id) = archived(dir.path());
    let m = &created.manifest;
    assert_eq!((m.contacts, m.campaigns, m.audit.entries), (3, 0, 2));
    assert_eq!(m.mode.as_deref(), Some("sandbox"));
    assert_eq!(created.bytes, bytes.len() as u64);
    assert_eq!(created.sha256, crate::audit::digest_hex(&bytes));
    let names: Vec<&str> = m.trees.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"consent") && names.contains(&"meta"),
        "{names:?}"
    );

    let v = verify(&bytes[..], &opener(&id)).expect("verify");
    assert_eq!(&v.manifest, m);
    assert_eq!(v.sha256, created.sha256);

    let archive = dir.path().join("b.age");
    std::fs::write(&archive, &bytes).expect("write");
    let target = dir.path().join("restored");
    let r = restore(&archive, &opener(&id), &target, "anna", chrono::Utc::now()).expect("restore");
    assert_eq!(r.audit_entries, 3);
    let store = Store::open(&target).expect("reopen");
    assert_eq!(store.contact_count(), 3);
    let mut last = None;
    store.audit().for_each(|e| last = Some(e)).expect("trail");
    let last = last.expect("an entry");
    assert_eq!(last.action, crate::audit::Action::BackupRestored);
    assert_eq!(last.actor, "anna");
    assert_eq!(last.details["archive_sha256"], created.sha256.as_str());
    assert_eq!(store.audit().verify().expect("verify").first_break, None);
    // The salt came along: references in the old trail still name the same contacts.
    let original = Store::open(&dir.path().join("store"));
    assert!(original.is_ok());
    let p = Phone::parse(NUMBERS[0], "DE").expect("phone");
    assert_eq!(
        store.contact_ref(p),
        original.expect("original").contact_ref(p)
    );
}

#[test]
fn no_number_or_name_is_in_the_archive_in_clear() {
    let dir = tempfile::tempdir().expect("dir");
    let (bytes, _, _) = archived(dir.path());
    let packed = Phone::parse(NUMBERS[1], "DE").expect("phone").key();
    for needle in [&b"15112345671"[..], b"Ulrike", &packed[..], b"consent"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} is readable in the archive",
            String::from_utf8_lossy(needle)
        );
    }
}

#[test]
fn a_changed_byte_the_wrong_key_and_the_wrong_kind_of_key_are_named() {
    let dir = tempfile::tempdir().expect("dir");
    let (bytes, _, id) = archived(dir.path());
    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let e = verify(&flipped[..], &opener(&id))
        .expect_err("flipped")
        .to_string();
    assert!(e.contains("altered or is damaged"), "{e}");

    let e = verify(&bytes[..bytes.len() - 100], &opener(&id))
        .expect_err("cut")
        .to_string();
    assert!(e.contains("damaged"), "{e}");

    let other = age::x25519::Identity::generate();
    let e = verify(&bytes[..], &opener(&other))
        .expect_err("other")
        .to_string();
    assert!(
        e.contains("none of the identities opens this backup"),
        "{e}"
    );

    let pass = Opener::Passphrase(Secret::new("x".into()));
    let e = verify(&bytes[..], &pass).expect_err("kind").to_string();
    assert!(e.contains("encrypted to public keys"), "{e}");

    let e = verify(&b"not an age file at all"[..], &opener(&id))
        .expect_err("junk")
        .to_string();
    assert!(e.contains("not a bote backup"), "{e}");
}

#[test]
fn a_passphrase_archive_opens_with_it_and_names_a_wrong_one() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("open");
    store.write(&contact(NUMBERS[0]), &[]).expect("write");
    let key = BackupKey::Passphrase(Secret::new("correct horse".into()));
    let mut out = Vec::new();
    create(&store, None, &key, &mut out, chrono::Utc::now()).expect("create");
    let right = Opener::Passphrase(Secret::new("correct horse".into()));
    assert_eq!(
        verify(&out[..], &right).expect("verify").manifest.contacts,
        1
    );
    let wrong = Opener::Passphrase(Secret::new("battery staple".into()));
    let e = verify(&out[..], &wrong).expect_err("wrong").to_string();
    assert!(e.contains("wrong passphrase"), "{e}");
}

#[test]
fn restore_refuses_a_directory_that_is_not_empty_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let (bytes, _, id) = archived(dir.path());
    let archive = dir.path().join("b.age");
    std::fs::write(&archive, &bytes).expect("write");
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).expect("mkdir");
    std::fs::write(busy.join("notes.txt"), "mine").expect("write");
    let e = restore(&archive, &opener(&id), &busy, "anna", chrono::Utc::now())
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("not empty") && e.contains("nothing was changed"),
        "{e}"
    );
    let left: Vec<_> = std::fs::read_dir(&busy).expect("ls").flatten().collect();
    assert_eq!(left.len(), 1);
    assert_eq!(
        std::fs::read_to_string(busy.join("notes.txt")).expect("read"),
        "mine"
    );

    // A damaged archive is refused before anything is written.
    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x80;
    std::fs::write(&archive, &flipped).expect("write");
    let fresh = dir.path().join("fresh");
    assert!(restore(&archive, &opener(&id), &fresh, "anna", chrono::Utc::now()).is_err());
    assert!(
        !fresh.exists(),
        "a refused restore leaves no directory behind"
    );
}

#[test]
fn the_passphrase_never_shows_in_debug_output_and_the_key_has_a_stable_wire_shape() {
    let key = BackupKey::Passphrase(Secret::new("hunter2".into()));
    assert!(!format!("{key:?}").contains("hunter2"));
    assert_eq!(
        serde_json::to_value(&key).expect("json"),
        serde_json::json!({"passphrase": "hunter2"})
    );
    let e = BackupKey::Recipients(vec!["age1nope".into()])
        .encryptor()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("is not an age public key"), "{e}");
}
