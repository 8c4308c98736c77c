//! Edges of the receiver found in review (issue 13): opt-outs from numbers
//! not in the store, replayed and late signals against newer consents,
//! callback data naming someone else's record, failures after read.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use bote::audience::{plan, Exclusion, PlanRequest};
use bote::config::Config;
use bote::consent::import::{import, ImportOptions, ImportReport};
use bote::consent::SuppressionCause;
use bote::webhook::StatusResult;
use chrono::Duration as ChronoDuration;

use super::*;

/// "Now" to the second, as message timestamps are.
fn now_s() -> DateTime<Utc> {
    at(Utc::now().timestamp())
}

/// Imports one confirmed consent for topic `sale` signed up at `signed_up`.
fn import_consent(store: &Store, dir: &Path, p: Phone, signed_up: DateTime<Utc>) -> ImportReport {
    let path = dir.join(format!("consents-{}.csv", signed_up.timestamp()));
    let text = format!(
        "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;first_name\n\
         {};{};web-form:test;{};link;sale;Anna\n",
        p,
        signed_up.to_rfc3339(),
        (signed_up + ChronoDuration::seconds(30)).to_rfc3339(),
    );
    std::fs::write(&path, text).expect("write csv");
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: "tester".into(),
        now: Utc::now(),
    };
    import(store, &Config::default(), &path, &opts, None, &|_, _| {}).expect("import")
}

/// The dry run of `herbst_sale` on topic `sale`, over the store or a list.
fn eligible(store: &Store, list: Option<&Path>) -> (Vec<Phone>, Vec<(Option<Phone>, Exclusion)>) {
    let request = PlanRequest {
        template: "herbst_sale".into(),
        topic: "sale".into(),
        list: list.map(Path::to_path_buf),
        ..PlanRequest::default()
    };
    let catalog = Catalog::embedded().expect("catalog");
    let p = plan(store, &Config::default(), &catalog, &request, Utc::now()).expect("plan");
    (
        p.eligible.iter().map(|r| r.phone).collect(),
        p.excluded
            .iter()
            .map(|e| (e.phone, e.reason.clone()))
            .collect(),
    )
}

/// Every processed outcome so far.
fn outcomes(f: &Fixture) -> Vec<Outcome> {
    f.inbox()
        .processed_all()
        .map(|r| r.expect("processed").1)
        .flat_map(|p| p.outcomes)
        .collect()
}

/// Every key and value of every tree, as one byte string.
fn everything_stored(store: &Store) -> Vec<u8> {
    let db = store.db();
    let mut all = Vec::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).expect("tree");
        for kv in tree.iter() {
            let (k, v) = kv.expect("entry");
            all.extend_from_slice(&k);
            all.extend_from_slice(&v);
        }
    }
    all
}

// ---------------------------------------------------------------- item 1

#[tokio::test]
async fn a_stop_from_a_number_not_in_the_store_suppresses_it_until_a_newer_consent() {
    let f = fixture().await;
    let dir = tempfile::tempdir().expect("tmp");
    let p = phone(2000);
    let stop = now_s() - ChronoDuration::minutes(10);
    let body = inbound_text_payload(
        &meta(),
        &p.digits(),
        "wamid.UNKNOWN",
        "STOP",
        stop.timestamp(),
    );
    assert_eq!(f.post_json(&body).await, 200);
    assert!(
        outcomes(&f).iter().any(|o| matches!(
            o,
            Outcome::Revoked {
                suppressed: true,
                topics: 0,
                ..
            }
        )),
        "{:?}",
        outcomes(&f)
    );
    assert_eq!(
        f.store.contact(p).expect("read"),
        None,
        "no contact is created"
    );
    let s = f.store.suppression(p).expect("read").expect("suppressed");
    assert_eq!((s.since, s.cause), (stop, SuppressionCause::OptedOut));
    let stored = everything_stored(&f.store);
    assert!(
        !stored
            .windows(p.digits().len())
            .any(|w| w == p.digits().as_bytes()),
        "the number is stored in plain"
    );

    // An older list (signed up before the STOP) is refused for that number.
    let old = import_consent(&f.store, dir.path(), p, stop - ChronoDuration::days(30));
    assert_eq!((old.imported, old.rejected), (0, 1), "{old:?}");
    assert!(
        old.rejects[0].reason.contains("opted out"),
        "{:?}",
        old.rejects
    );
    assert_eq!(f.store.contact(p).expect("read"), None);
    let list = dir.path().join("list.csv");
    std::fs::write(&list, format!("phone\n{p}\n")).expect("list");
    let (ok, excluded) = eligible(&f.store, Some(&list));
    assert!(ok.is_empty(), "{ok:?}");
    assert_eq!(excluded, vec![(Some(p), Exclusion::Suppressed)]);
    assert!(!eligible(&f.store, None).0.contains(&p));

    // A consent given after the STOP is a new decision: it lifts it.
    let new = import_consent(&f.store, dir.path(), p, stop + ChronoDuration::minutes(2));
    assert_eq!((new.imported, new.rejected), (1, 0), "{new:?}");
    assert_eq!(f.store.suppression(p).expect("read"), None);
    assert!(matches!(
        f.store.history(p).expect("history")[0].change,
        Change::OptOutLifted { opted_out_at } if opted_out_at == stop
    ));
    assert_eq!(eligible(&f.store, Some(&list)).0, vec![p]);
    assert!(eligible(&f.store, None).0.contains(&p));

    // The same STOP redelivered now changes nothing: it is older than the consent.
    assert_eq!(f.post_json(&body).await, 200);
    assert!(f.contact(p).may_receive("sale"));
}

// ---------------------------------------------------------------- item 2

#[tokio::test]
async fn a_replayed_or_late_stop_never_revokes_a_newer_consent() {
    let f = fixture().await;
    let dir = tempfile::tempdir().expect("tmp");
    let p = phone(2010);
    seed(&f.store, p, &[("sale", ConsentStatus::Confirmed)]);
    // 22:37 STOP; 22:39 re-opted in by import.
    let stop = now_s() - ChronoDuration::minutes(10);
    let body = serde_json::to_vec(&inbound_text_payload(
        &meta(),
        &p.digits(),
        "wamid.STOP2237",
        "STOP",
        stop.timestamp(),
    ))
    .expect("json");
    assert_eq!(f.post(body.clone()).await, 200);
    assert_revoked_by(&f, p, "webhook:wamid.STOP2237", stop);
    let reopt = stop + ChronoDuration::minutes(2);
    let r = import_consent(&f.store, dir.path(), p, reopt);
    assert_eq!(r.updated, 1, "{r:?}");
    assert!(f.contact(p).may_receive("sale"));
    let history = f.store.history(p).expect("history").len();

    // Meta redelivers the very same signed body.
    assert_eq!(f.post(body).await, 200);
    assert!(
        f.contact(p).may_receive("sale"),
        "the replay revoked the newer consent"
    );
    assert_eq!(f.store.history(p).expect("history").len(), history);
    assert!(outcomes(&f)
        .iter()
        .any(|o| matches!(o, Outcome::Ignored { what } if what.contains("redelivered"))));

    // A STOP sent at 22:38 (before the re-opt-in) that arrives only now.
    let sent = (stop + ChronoDuration::minutes(1)).timestamp();
    let late = inbound_text_payload(&meta(), &p.digits(), "wamid.STOP2238", "STOP", sent);
    assert_eq!(f.post_json(&late).await, 200);
    assert!(
        f.contact(p).may_receive("sale"),
        "a late STOP revoked a newer consent"
    );

    // A STOP sent after the re-opt-in revokes it, as always.
    let after = (reopt + ChronoDuration::minutes(3)).timestamp();
    let newer = inbound_text_payload(&meta(), &p.digits(), "wamid.STOP2245", "STOP", after);
    assert_eq!(f.post_json(&newer).await, 200);
    let t = &f.contact(p).topics["sale"];
    assert_eq!(
        (t.status, t.revoked_at, t.revoked_by.as_deref()),
        (
            ConsentStatus::Revoked,
            Some(at(after)),
            Some("webhook:wamid.STOP2245")
        )
    );
}

#[tokio::test]
async fn a_redelivered_confirmation_confirms_nothing_new_even_after_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let csv_dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("store");
    let p = phone(2020);
    let ja_at = now_s() - ChronoDuration::minutes(30);
    let body = serde_json::to_vec(&inbound_text_payload(
        &meta(),
        &p.digits(),
        "wamid.JA1",
        "JA",
        ja_at.timestamp(),
    ))
    .expect("json");
    {
        let store = Arc::new(Store::open(&path).expect("store"));
        let campaigns = Campaigns::open(&store).expect("campaigns");
        seed(&store, p, &[("sale", ConsentStatus::Pending)]);
        invited(&store, p, "sale", ja_at - ChronoDuration::hours(1));
        let handle = start(Arc::clone(&store), campaigns).await;
        assert_eq!(post_signed(handle.url(), body.clone()).await, 200);
        assert!(handle.drained(Duration::from_secs(10)).await);
        assert!(store
            .contact(p)
            .expect("read")
            .expect("c")
            .may_receive("sale"));
        handle.shutdown().await.expect("shutdown");
    }
    let store = Arc::new(Store::open(&path).expect("reopen"));
    let campaigns = Campaigns::open(&store).expect("campaigns");
    // The person withdraws, then signs up again five minutes after the JA:
    // within the skew a confirmation may predate a sign-up by.
    store
        .revoke(
            p,
            None,
            &bote::consent::Revocation {
                at: ja_at + ChronoDuration::minutes(1),
                actor: "tester".into(),
                origin: "operator".into(),
                reason: "asked by phone".into(),
            },
        )
        .expect("revoke");
    let csv = csv_dir.path().join("pending.csv");
    std::fs::write(
        &csv,
        format!(
            "phone;opted_in_at;opt_in_source;topics;first_name\n{p};{};web-form:test;sale;Anna\n",
            (ja_at + ChronoDuration::minutes(5)).to_rfc3339()
        ),
    )
    .expect("csv");
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: "tester".into(),
        now: Utc::now(),
    };
    import(&store, &Config::default(), &csv, &opts, None, &|_, _| {}).expect("import");
    assert_eq!(
        statuses(&store.contact(p).expect("read").expect("c")),
        vec![ConsentStatus::Pending]
    );
    let handle = start(Arc::clone(&store), campaigns).await;
    assert_eq!(post_signed(handle.url(), body).await, 200);
    assert!(handle.drained(Duration::from_secs(10)).await);
    assert_eq!(
        statuses(&store.contact(p).expect("read").expect("c")),
        vec![ConsentStatus::Pending],
        "the old JA confirmed the new sign-up"
    );
    handle.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------- item 3

/// Log lines written while it lives (the receiver's tasks run on the
/// test's thread in a current-thread runtime).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

#[tokio::test]
async fn a_status_naming_another_recipient_than_its_record_is_rejected_and_logged_without_the_number(
) {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let f = fixture().await;
    let (a, b) = (phone(2100), phone(2101));
    seed(&f.store, a, &[("sale", ConsentStatus::Confirmed)]);
    seed(&f.store, b, &[("sale", ConsentStatus::Confirmed)]);
    let mut records: Vec<_> = (0..3)
        .map(|i| {
            record(
                phone(2110 + i),
                RecipientState::Accepted,
                None,
                Params::default(),
            )
        })
        .collect();
    records.push(record(
        a,
        RecipientState::Accepted,
        Some("wamid.R3"),
        Params::default(),
    ));
    records.push(record(a, RecipientState::Unknown, None, Params::default()));
    let c = campaign(&f.campaigns, 2, records);
    assert_eq!(callback_data(c, 3), "c=2;r=3");
    let forged = |recipient: &str, index: u32, kind, code| {
        let mut v = status(
            "wamid.R3",
            kind,
            a,
            T + 9,
            Some(callback_data(c, index)),
            code,
        );
        v["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"] = json!(recipient);
        v
    };

    // The reported attack: a recipient that is no number, callback c=2;r=3.
    let body = forged("x", 3, StatusKind::Failed, Some(131_050));
    assert_eq!(f.post_json(&body).await, 200);
    assert!(
        f.contact(a).may_receive("sale"),
        "a forged status revoked the record's number"
    );
    assert_eq!(state_of(&f, c, 3).state, RecipientState::Accepted);
    // Another real number: not applied to the record; only that number opted out.
    let body = forged(&b.digits(), 3, StatusKind::Failed, Some(131_050));
    assert_eq!(f.post_json(&body).await, 200);
    assert!(f.contact(a).may_receive("sale"));
    assert_eq!(state_of(&f, c, 3).state, RecipientState::Accepted);
    assert!(!f.contact(b).may_receive("sale"), "the status is about b");
    // Nor can it reconcile an unknown record of someone else.
    let body = forged("", 4, StatusKind::Delivered, None);
    assert_eq!(f.post_json(&body).await, 200);
    assert_eq!(state_of(&f, c, 4).state, RecipientState::Unknown);

    let rejected = outcomes(&f)
        .into_iter()
        .filter(|o| {
            matches!(
                o,
                Outcome::Status {
                    result: StatusResult::Rejected,
                    ..
                }
            )
        })
        .count();
    assert_eq!(rejected, 3);
    let logs = logs.text();
    assert_eq!(logs.matches("status rejected").count(), 3, "{logs}");
    for n in [a, b] {
        assert!(!logs.contains(&n.digits()), "a number in the log: {logs}");
    }
    // The right number with the right callback still works.
    let ok = status(
        "wamid.R3",
        StatusKind::Delivered,
        a,
        T + 10,
        Some(callback_data(c, 3)),
        None,
    );
    f.post_json(&ok).await;
    assert_eq!(state_of(&f, c, 3).state, RecipientState::Delivered);
}

// ---------------------------------------------------------------- item 4

#[tokio::test]
async fn a_late_failure_after_read_keeps_read_and_notes_it() {
    let f = fixture().await;
    let p = phone(2200);
    let c = campaign(
        &f.campaigns,
        4,
        vec![record(
            p,
            RecipientState::Accepted,
            Some("wamid.L"),
            Params::default(),
        )],
    );
    let cb = || Some(callback_data(c, 0));
    f.post_json(&status("wamid.L", StatusKind::Read, p, T + 3, cb(), None))
        .await;
    assert_eq!(state_of(&f, c, 0).state, RecipientState::Read);
    for _ in 0..2 {
        f.post_json(&status(
            "wamid.L",
            StatusKind::Failed,
            p,
            T + 5,
            cb(),
            Some(131_026),
        ))
        .await;
        let r = state_of(&f, c, 0);
        assert_eq!((r.state, r.updated_at), (RecipientState::Read, at(T + 3)));
        assert!(
            r.reason
                .as_deref()
                .is_some_and(|n| n.contains("after read") && n.contains("131026")),
            "{:?}",
            r.reason
        );
    }
    let results: Vec<StatusResult> = outcomes(&f)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Status { result, .. } => Some(result),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        [
            StatusResult::Applied,
            StatusResult::Noted,
            StatusResult::Unchanged
        ]
    );
    assert_eq!(
        f.campaigns
            .journal(c)
            .expect("journal")
            .counts()
            .expect("counts")
            .read,
        1
    );
}

/// Issue 14 (erasure at the byte level): Meta may still deliver statuses
/// for messages sent before an erasure. One that reaches an anonymous
/// record is rejected, and, since its body named the number, the store
/// asks for the rewrite that removes those bytes at the next start.
#[tokio::test]
async fn a_status_for_an_erased_record_asks_for_another_rewrite() {
    let f = fixture().await;
    let a = phone(2200);
    let mut tombstone = record(a, RecipientState::Read, None, Params::default());
    tombstone.phone = None;
    let c = campaign(&f.campaigns, 7, vec![tombstone]);
    let pending = |f: &Fixture| {
        f.store
            .db()
            .open_tree("meta")
            .expect("meta")
            .get("rewrite_pending")
            .expect("read")
            .is_some()
    };
    assert!(!pending(&f));
    let late = status(
        "wamid.E1",
        StatusKind::Read,
        a,
        T + 5,
        Some(callback_data(c, 0)),
        None,
    );
    assert_eq!(f.post_json(&late).await, 200);
    let rejected = outcomes(&f).into_iter().any(|o| {
        matches!(
            o,
            Outcome::Status {
                result: StatusResult::Rejected,
                ..
            }
        )
    });
    assert!(rejected, "a status cannot move an anonymous record");
    assert!(
        pending(&f),
        "the body named the number: the next start rewrites"
    );
    assert_eq!(state_of(&f, c, 0).phone, None);
}
