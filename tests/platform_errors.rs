//! The error codes Meta added in 2025–2026, end to end against the
//! simulator: 131049 defers (and `resend --deferred` waits 24 simulated
//! hours), 131042 pauses the campaign, 132018 is caught by the plan.

#[path = "platform/rig.rs"]
mod rig;

use bote::audience::PlanRequest;
use bote::campaign::journal::RecipientState;
use bote::campaign::CampaignState;
use bote::service::wire::Failure;
use bote::sim::Mark;
use rig::{ends, phone, rig, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketing_cap_defers_and_a_resend_waits_24_simulated_hours() {
    let r = rig(Setup::default(), |_| {}).await;
    let capped = [phone(3), phone(7)];
    for p in capped {
        r.sim().faults().mark(p, Mark::MarketingCap);
    }
    let (meta, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    let c = r.counts(meta.id);
    assert_eq!((c.deferred, c.failed), (2, 0), "{c:?}");
    assert_eq!(c.taken(), 8);
    let progress = bote::campaign::progress::SendProgress::of(&c, meta.audience, meta.eligible);
    assert_eq!(
        (progress.percent(), progress.deferred),
        (100, 2),
        "deferred is decided for this run"
    );
    for p in capped {
        assert!(r.sends_to(p).is_empty(), "131049 is not a send");
    }
    let journal = r.engine.campaigns.journal(meta.id).expect("journal");
    let deferred: Vec<_> = journal
        .iter()
        .map(|e| e.expect("record").1)
        .filter(|rec| rec.state == RecipientState::Deferred)
        .collect();
    assert!(deferred.iter().all(|d| d.code == Some(131049)));

    // Not inside the run, and not before 24 h — by the engine's clock.
    let caller = r.caller();
    let early = r.engine.resend_deferred(&caller, meta.id);
    assert!(
        matches!(&early, Err(Failure::Refused(m)) if m.contains("none deferred 24 h ago")),
        "{early:?}"
    );
    r.hand.advance(chrono::Duration::hours(23));
    assert!(r.engine.resend_deferred(&caller, meta.id).is_err());
    // Meta's cap has passed for them by now.
    for p in capped {
        r.sim().faults().unmark(p);
    }
    r.hand.advance(chrono::Duration::minutes(61));
    let done = r
        .engine
        .resend_deferred(&caller, meta.id)
        .expect("due after 24 h");
    assert_eq!((done.requeued, done.waiting), (2, 0));
    assert_eq!(r.run_ends(meta.id).await, CampaignState::Finished);
    let c = r.counts(meta.id);
    assert_eq!((c.deferred, c.taken()), (0, 10), "{c:?}");
    for p in capped {
        assert_eq!(r.sends_to(p).len(), 1, "sent once, in the later run");
    }
    assert_eq!(r.sim().stats().duplicates, 0, "nobody got it twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketing_cap_reported_by_webhook_defers_too() {
    let r = rig(Setup::default(), |_| {}).await;
    r.sim().faults().set_async_failures(true);
    r.sim().faults().mark(phone(2), Mark::MarketingCap);
    let (meta, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    // The failed status comes after the 200: poll the journal, bounded.
    let mut c = r.counts(meta.id);
    for _ in 0..500 {
        r.settle().await;
        c = r.counts(meta.id);
        if c.deferred == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!((c.deferred, c.failed), (1, 0), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_problem_pauses_the_campaign_like_other_stop_class_answers() {
    let r = rig(
        Setup {
            rate: 20,
            ..Setup::default()
        },
        |c| c.send.concurrency = bote::config::Concurrency::Fixed(1),
    )
    .await;
    r.sim().faults().mark(phone(4), Mark::PaymentProblem);
    let (meta, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Paused);
    let m = r.engine.campaigns.require(meta.id).expect("meta");
    let reason = m.state_reason.unwrap_or_default();
    assert!(reason.contains("131042"), "{reason}");
    let c = r.counts(meta.id);
    assert!(c.pending > 0, "the rest waits for the resume: {c:?}");
    assert_eq!(c.failed, 0, "stop-class is nobody's final failure");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_meta_would_refuse_with_132018_are_excluded_by_the_plan() {
    let r = rig(
        Setup {
            first_name: |i| match i {
                1 => "Anna     Maria".into(),
                2 => "Ben\tTab".into(),
                _ => format!("Kunde{i}"),
            },
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    let plan = r
        .engine
        .plan(&PlanRequest {
            template: "herbst_sale".into(),
            topic: "sale".into(),
            ..PlanRequest::default()
        })
        .expect("plan");
    let refused: Vec<_> = plan
        .excluded
        .iter()
        .filter(|e| e.reason.code() == "parameter_not_allowed")
        .map(|e| e.phone.expect("phone"))
        .collect();
    assert_eq!(refused, vec![phone(1), phone(2)]);
    assert!(plan
        .excluded
        .iter()
        .all(|e| e.reason.describe().contains("132018")
            || e.reason.code() != "parameter_not_allowed"));
    let meta = r.engine.create(&plan).expect("create");
    let handle = r.engine.start(meta.id).expect("start");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    assert_eq!(
        r.sim().stats().rejected.get(&132018),
        None,
        "nothing Meta refuses was sent"
    );
    assert_eq!(r.counts(meta.id).taken(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_during_a_throughput_upgrade_are_retried_and_everyone_is_sent_once() {
    let r = rig(
        Setup {
            contacts: 4,
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    r.sim().throughput_upgrade(2);
    let (meta, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    let c = r.counts(meta.id);
    assert_eq!((c.taken(), c.failed), (4, 0), "{c:?}");
    let stats = r.sim().stats();
    assert_eq!(stats.rejected.get(&131057), Some(&2));
    assert_eq!((stats.accepted, stats.duplicates), (4, 0));
}
