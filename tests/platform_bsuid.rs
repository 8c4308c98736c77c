//! Business-scoped user ids end to end: contacts learn their BSUID from
//! the simulator's webhooks, opt-outs naming only a BSUID revoke the right
//! contact (mid-campaign too), an unknown BSUID is kept as a suppression
//! that reaches its person once the link is known, and identity changes
//! update the links and the contact's history.

#[path = "platform/rig.rs"]
mod rig;

use bote::campaign::journal::RecipientState;
use bote::campaign::CampaignState;
use bote::consent::{Change, ConsentStatus};
use bote::phone::Phone;
use bote::sim::webhooks::{bsuid, SystemMessage};
use rig::{ends, phone, rig, Setup};

fn status(r: &rig::Rig, p: Phone) -> ConsentStatus {
    r.store.contact(p).expect("read").expect("contact").topics["sale"].status
}

/// Teaches the store `p`'s BSUID the way Meta does: an inbound message
/// whose `contacts[]` names both ids.
async fn hello_from(r: &rig::Rig, p: Phone) {
    assert_eq!(r.sim().inject_text(p, "Hallo").await.expect("inject"), 200);
    r.settle().await;
    assert_eq!(
        r.store.phone_of_user(&bsuid(&p.digits())).expect("read"),
        Some(p)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_with_only_a_bsuid_mid_campaign_stops_the_send_to_that_person() {
    let r = rig(
        Setup {
            contacts: 20,
            rate: 10,
            ..Setup::default()
        },
        |c| c.send.concurrency = bote::config::Concurrency::Fixed(1),
    )
    .await;
    let target = phone(19);
    hello_from(&r, target).await;
    let (meta, handle) = r.launch("herbst_sale");
    for _ in 0..1_000 {
        if r.sim().records().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let user = bsuid(&target.digits());
    assert_eq!(
        r.sim()
            .inject_text_from_user(&user, "STOP")
            .await
            .expect("inject"),
        200
    );
    r.settle().await;
    assert!(
        r.sends_to(target).is_empty(),
        "the STOP came before its turn"
    );
    assert_eq!(status(&r, target), ConsentStatus::Revoked);
    assert_eq!(ends(handle).await, CampaignState::Finished);
    assert!(
        r.sends_to(target).is_empty(),
        "no send after a BSUID-only STOP"
    );
    let journal = r.engine.campaigns.journal(meta.id).expect("journal");
    let rec = journal.get(19).expect("read").expect("record");
    assert_eq!(rec.state, RecipientState::Skipped, "{:?}", rec.reason);
    assert_eq!(r.sim().records().len(), 19, "everyone else was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bsuids_learnt_from_own_sends_let_every_bsuid_only_opt_out_find_its_contact() {
    let r = rig(
        Setup {
            contacts: 4,
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    let (_, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    // Statuses of the sends carry recipient_user_id beside recipient_id.
    for _ in 0..500 {
        r.settle().await;
        let learnt = (0..4).all(|i| {
            r.store
                .phone_of_user(&bsuid(&phone(i).digits()))
                .expect("read")
                .is_some()
        });
        if learnt {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for i in 0..4 {
        let who = bote::consent::Identity {
            phone: None,
            user_id: Some(&bsuid(&phone(i).digits())),
        };
        let found = r.store.find_contact(who).expect("find").expect("learnt");
        assert_eq!(found.phone, phone(i));
    }
    let sim = r.sim();
    let id = |i| bsuid(&phone(i).digits());
    sim.inject_button_from_user(&id(0), "Stop promotions", "Stop promotions")
        .await
        .expect("tap");
    sim.inject_user_preference_from_user(&id(1), "stop")
        .await
        .expect("preference");
    sim.inject_failed_status_from_user(&id(2), 131050)
        .await
        .expect("131050");
    r.settle().await;
    for i in 0..3 {
        assert_eq!(status(&r, phone(i)), ConsentStatus::Revoked, "contact {i}");
    }
    assert_eq!(
        status(&r, phone(3)),
        ConsentStatus::Confirmed,
        "only the right ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_from_an_unknown_bsuid_is_kept_and_no_later_send_reaches_that_person() {
    let r = rig(
        Setup {
            contacts: 5,
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    let person = phone(2);
    let user = bsuid(&person.digits());
    r.sim()
        .inject_text_from_user(&user, "STOP")
        .await
        .expect("inject");
    r.settle().await;
    assert!(r.store.user_suppression(&user).expect("read").is_some());
    assert_eq!(
        status(&r, person),
        ConsentStatus::Confirmed,
        "bote cannot know yet whose it is"
    );
    // The person writes again, and Meta names both ids: the kept opt-out
    // reaches the contact at once, dated by the STOP.
    r.sim()
        .inject_text(person, "Wann habt ihr offen?")
        .await
        .expect("inject");
    r.settle().await;
    assert_eq!(status(&r, person), ConsentStatus::Revoked);
    let (meta, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    assert!(
        r.sends_to(person).is_empty(),
        "no later send reaches that person"
    );
    assert_eq!(r.counts(meta.id).taken(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_changes_update_the_links_and_are_recorded_in_history() {
    let r = rig(
        Setup {
            contacts: 3,
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    let (a, b) = (phone(0), phone(1));
    hello_from(&r, a).await;
    let a_digits = a.digits();
    let old = bsuid(&a_digits);
    r.sim()
        .inject_system(SystemMessage {
            from: Some(&a_digits),
            from_user_id: Some(&old),
            kind: "user_changed_user_id",
            new_user_id: Some("DE.7000000000000001"),
            ..SystemMessage::default()
        })
        .await
        .expect("inject");
    r.settle().await;
    assert_eq!(
        r.store.phone_of_user("DE.7000000000000001").expect("read"),
        Some(a)
    );
    assert_eq!(
        r.store.phone_of_user(&old).expect("read"),
        Some(a),
        "redeliveries name the old id for days"
    );
    assert!(r
        .store
        .history(a)
        .expect("history")
        .iter()
        .any(|e| matches!(
            &e.change,
            Change::IdentityChanged { what, user_id: Some(u), .. }
                if what == "user_changed_user_id" && u == "DE.7000000000000001"
        )));
    assert_eq!(
        status(&r, a),
        ConsentStatus::Confirmed,
        "a new id is the same person"
    );

    // A new number: the old one may go to someone else, so its consent ends.
    let b_digits = b.digits();
    let new_number = "4915199999999";
    r.sim()
        .inject_system(SystemMessage {
            from: Some(&b_digits),
            from_user_id: Some(&bsuid(&b_digits)),
            kind: "user_changed_number",
            new_wa_id: Some(new_number),
            new_user_id: Some(&bsuid(new_number)),
            ..SystemMessage::default()
        })
        .await
        .expect("inject");
    r.settle().await;
    assert_eq!(status(&r, b), ConsentStatus::Revoked);
    let history = r.store.history(b).expect("history");
    assert!(
        history.iter().any(|e| matches!(
            &e.change,
            Change::IdentityChanged { what, new_phone: Some(p), .. }
                if what == "user_changed_number" && p == "+4915199999999"
        )),
        "{history:?}"
    );
    assert!(
        r.store
            .contact(Phone::from_e164(new_number).expect("phone"))
            .expect("read")
            .is_none(),
        "the new number needs its own consent"
    );
}
