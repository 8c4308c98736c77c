//! The live dashboard, fed engine events through the same action the
//! runner builds each frame (`Action::Progress`): mid-campaign with
//! throttling, paused, finished; the ring stays bounded; keys ask again.

use crossterm::event::KeyCode;

use super::harness::{now, Fixture, Harness};
use super::seed;
use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::dispatch::progress::{Progress, RecipientEvent, SnapshotData};
use crate::phone::Phone;
use crate::tui::action::{Action, ProgressBatch};
use crate::tui::app::ScreenId;
use crate::tui::screens::dashboard::RING;
use crate::tui::{requests, screens};

fn planned(fx: &Fixture) -> CampaignMeta {
    let plan = requests::view(
        fx.engine
            .plan(&seed::request("herbst_sale", "sale"))
            .expect("plan"),
    );
    fx.engine
        .campaigns
        .create(&plan.plan, "sandbox", "tester", now())
        .expect("create")
}

fn recipient(index: u32, digits: &str, state: RecipientState, code: Option<u32>) -> Progress {
    let phone = Phone::from_e164(digits).expect("phone");
    Progress::Recipient(RecipientEvent {
        index,
        phone: phone.masked(4),
        state,
        code,
        reason: (state == RecipientState::Failed).then(|| "message undeliverable".into()),
        latency_ms: Some(95 + index * 11),
        attempts: 1,
        at: now(),
    })
}

fn batch(events: Vec<Progress>, counts: Counts, rate: u32, state: CampaignState) -> Action {
    Action::Progress(Box::new(ProgressBatch {
        events,
        snapshot: SnapshotData {
            workers: 116,
            counts,
            rate,
            state: Some(state),
            reason: None,
            per_second: vec![12, 40, 80, 80, 61, 40, 40],
        },
        lagged: false,
    }))
}

fn mid_counts() -> Counts {
    Counts {
        accepted: 3,
        failed: 1,
        in_flight: 1,
        pending: 1,
        skipped: 4,
        ..Counts::default()
    }
}

/// A dashboard mid-campaign: 4 of 6 decided, slowed to 40/s by 130429.
async fn mid(fx: &Fixture, w: u16, h: u16) -> (Harness, CampaignId) {
    let meta = planned(fx);
    let id = meta.id;
    let mut h = Harness::new(fx, true, w, h).await;
    h.act(Action::Started(Box::new(meta)));
    let start = Progress::Started {
        campaign: id,
        counts: Counts {
            pending: 6,
            skipped: 4,
            ..Counts::default()
        },
        rate: 80,
        workers: 116,
    };
    let events = vec![
        start,
        recipient(0, "+491711000001", RecipientState::Accepted, None),
        recipient(1, "+491711000002", RecipientState::Accepted, None),
        recipient(5, "+491711000017", RecipientState::Failed, Some(131026)),
        Progress::Rate {
            current: 40,
            ceiling: 80,
            reason: "throughput of the number exceeded (130429)".into(),
        },
        recipient(2, "+491711000003", RecipientState::Accepted, None),
    ];
    h.tick(7_000);
    h.act(batch(events, mid_counts(), 40, CampaignState::Sending));
    (h, id)
}

#[tokio::test]
async fn live_mid_campaign() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
    assert_eq!(h.app.screen(), ScreenId::Dashboard);
    snap!("dashboard_live", h);
    h.resize(80, 24);
    snap!("dashboard_live_80x24", h);
}

#[tokio::test]
async fn filter_scroll_and_follow() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
    h.key(KeyCode::Char('f'));
    let screen = h.render();
    assert!(screen.contains("· failed · 1 rows"), "{screen}");
    assert!(
        !screen.contains("accepted   "),
        "only failures listed:\n{screen}"
    );
    h.key(KeyCode::Char('f'));
    h.key(KeyCode::Char('f'));
    assert!(h.render().contains("· accepted · 3 rows"));
    h.key(KeyCode::Up);
    assert!(h.render().contains("End follows"));
    h.key(KeyCode::End);
    assert!(h.render().contains("following"));
}

#[tokio::test]
async fn paused() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
    h.key(KeyCode::Char('p'));
    assert!(h
        .app
        .status
        .as_ref()
        .is_some_and(|s| s.text.contains("pausing")));
    let paused = vec![Progress::Paused {
        reason: "paused by the operator".into(),
    }];
    h.act(batch(paused, mid_counts(), 40, CampaignState::Paused));
    snap!("dashboard_paused", h);
    h.act(batch(
        vec![Progress::Resumed],
        mid_counts(),
        40,
        CampaignState::Sending,
    ));
    assert!(h.app.dash.as_ref().is_some_and(|d| d.paused.is_none()));
}

#[tokio::test]
async fn cancel_asks_again() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
    h.key(KeyCode::Char('c'));
    snap!("dashboard_cancel_dialog", h);
    h.key(KeyCode::Char('n'));
    assert!(h.app.modal.is_none());
    h.key(KeyCode::Char('c'));
    h.key(KeyCode::Char('y'));
    assert!(
        h.app.modal.is_none(),
        "yes sends Effect::Cancel to the runner"
    );
}

#[tokio::test]
async fn finished_with_failures() {
    let fx = Fixture::new(true);
    let (mut h, id) = mid(&fx, 100, 30).await;
    let done = Counts {
        accepted: 4,
        failed: 1,
        unknown: 1,
        skipped: 4,
        ..Counts::default()
    };
    let events = vec![
        recipient(3, "+491711000004", RecipientState::Accepted, None),
        recipient(4, "+491711000009", RecipientState::Unknown, None),
        Progress::Finished {
            state: CampaignState::Finished,
            counts: done,
        },
    ];
    h.tick(2_000);
    h.act(batch(events, done, 80, CampaignState::Finished));
    h.act(Action::RunEnded {
        id,
        result: Ok(CampaignState::Finished),
    });
    assert!(h.app.running.is_none());
    h.settle().await;
    snap!("dashboard_finished", h);
}

/// Issue 17: a cancelled campaign said "100 % of 128" although 49 were
/// never sent, and kept offering pause, resume and cancel.
#[tokio::test]
async fn cancelled_says_who_was_never_sent_and_offers_only_what_works() {
    let fx = Fixture::new(true);
    let (mut h, id) = mid(&fx, 100, 30).await;
    let cancelled = Counts {
        accepted: 3,
        failed: 1,
        skipped: 4 + 2,
        ..Counts::default()
    };
    let events = vec![Progress::Finished {
        state: CampaignState::Cancelled,
        counts: cancelled,
    }];
    h.act(batch(events, cancelled, 40, CampaignState::Cancelled));
    h.act(Action::RunEnded {
        id,
        result: Ok(CampaignState::Cancelled),
    });
    h.settle().await;
    snap!("dashboard_cancelled", h);
    let screen = h.render();
    assert!(
        screen.contains("4 of 6 sent, 2 skipped (cancelled)"),
        "{screen}"
    );
    assert!(!screen.contains("100 %"), "{screen}");
    let footer = screen.lines().last().unwrap_or_default().to_string();
    for gone in ["p pause", "r resume", "c cancel"] {
        assert!(!footer.contains(gone), "{gone} stays in {footer}");
    }
    assert!(footer.contains("Enter details"), "{footer}");
    h.key(KeyCode::Char('p'));
    let said = h.app.status.as_ref().map(|s| s.text.clone());
    assert_eq!(
        said.as_deref(),
        Some("campaign 1 is cancelled: nothing to pause")
    );
    h.key(KeyCode::Char('c'));
    assert!(
        h.app.modal.is_none(),
        "no cancel dialog for a cancelled campaign"
    );
}

#[tokio::test]
async fn while_paused_resume_is_offered_and_pause_is_not() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
    let footer = |h: &mut Harness| h.render().lines().last().unwrap_or_default().to_string();
    let sending = footer(&mut h);
    assert!(
        sending.contains("p pause") && !sending.contains("r resume"),
        "{sending}"
    );
    assert!(
        !sending.contains("Enter"),
        "no details while it sends: {sending}"
    );
    let paused = vec![Progress::Paused {
        reason: "paused by the operator".into(),
    }];
    h.act(batch(paused, mid_counts(), 40, CampaignState::Paused));
    let paused = footer(&mut h);
    assert!(
        paused.contains("r resume") && !paused.contains("p pause"),
        "{paused}"
    );
    assert!(
        paused.contains("c cancel"),
        "a paused run can be cancelled: {paused}"
    );
}

#[tokio::test]
async fn ring_is_bounded_and_lag_is_reported() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
    let many: Vec<Progress> = (0..12_000u32)
        .map(|i| recipient(i, "+491711000001", RecipientState::Accepted, None))
        .collect();
    h.act(batch(many, mid_counts(), 80, CampaignState::Sending));
    let d = h.app.dash.as_ref().expect("dash");
    assert_eq!(d.ring.len(), RING);
    assert_eq!(d.ring.back().map(|r| r.index), Some(11_999));
    let mut lagged = ProgressBatch {
        lagged: true,
        ..ProgressBatch::default()
    };
    lagged.snapshot.counts = mid_counts();
    h.act(Action::Progress(Box::new(lagged)));
    assert!(h.render().contains("fell behind"));
}

#[test]
fn eta_uses_the_observed_rate() {
    let meta = CampaignMeta {
        eligible: 1000,
        ..seed_meta()
    };
    let mut d = screens::dashboard::DashState::new(meta, 80, 4, now());
    d.snapshot.counts.pending = 800;
    d.snapshot.per_second = vec![0, 0, 40, 40, 40, 40, 40];
    assert_eq!(d.eta_secs(), Some(20));
    d.snapshot.per_second.clear();
    d.snapshot.rate = 80;
    assert_eq!(d.eta_secs(), Some(10));
    d.paused = Some("x".into());
    assert_eq!(d.eta_secs(), None);
}

fn seed_meta() -> CampaignMeta {
    let template = crate::template::Catalog::embedded()
        .expect("catalog")
        .get("herbst_sale", None)
        .expect("template")
        .clone();
    CampaignMeta {
        id: CampaignId(9),
        template,
        topic: "sale".into(),
        locale: None,
        list: None,
        mode: "sandbox".into(),
        created_at: now(),
        created_by: "tester".into(),
        state: CampaignState::Sending,
        state_reason: None,
        audience: 1000,
        eligible: 1000,
        started_at: None,
        finished_at: None,
        consent_epoch: None,
        settings: None,
        schedule: None,
    }
}
