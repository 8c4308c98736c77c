//! The live dashboard, fed engine events through the same action the
//! runner builds each frame (`Action::Progress`) over a journal written as
//! the run would have left it: mid-campaign with throttling, paused,
//! finished, cancelled; the results are the journal's, newest change first,
//! and every filter lists what its count says; keys ask again.

use crossterm::event::KeyCode;

use super::harness::{now, Fixture, Harness};
use super::seed;
use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::dispatch::progress::{Progress, SnapshotData};
use crate::tui::action::{Action, ProgressBatch};
use crate::tui::app::ScreenId;
use crate::tui::screens::dashboard::FILTERS;
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

/// Writes journal record `index` as the run left it: in `state`, changed
/// `secs` after [`now`] (the order the results list them in).
fn record(fx: &Fixture, id: CampaignId, index: u32, state: RecipientState, secs: i64) {
    let journal = fx.engine.campaigns.journal(id).expect("journal");
    let mut rec = journal.get(index).expect("read").expect("record");
    rec.state = state;
    rec.code = (state == RecipientState::Failed).then_some(131026);
    rec.reason = match state {
        RecipientState::Failed => Some("message undeliverable".into()),
        RecipientState::Unknown => Some("timeout after 10 s".into()),
        RecipientState::Skipped => Some("campaign cancelled".into()),
        _ => None,
    };
    // Only an answered request has a latency.
    let answered = state.is_final() && state != RecipientState::Skipped;
    rec.attempts = u32::from(state != RecipientState::Skipped);
    rec.latency_ms = answered.then_some(95 + index * 11);
    rec.updated_at = now() + chrono::Duration::seconds(secs);
    rec.actor = match state {
        RecipientState::Sent | RecipientState::Delivered | RecipientState::Read => "webhook",
        _ => "dispatcher",
    }
    .into();
    journal.write(&[(index, rec)]).expect("write");
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

/// A dashboard mid-campaign: 4 of 6 decided, one in flight, slowed to
/// 40/s by 130429.
async fn mid(fx: &Fixture, w: u16, h: u16) -> (Harness, CampaignId) {
    let meta = planned(fx);
    let id = meta.id;
    for (index, state, secs) in [
        (0, RecipientState::Accepted, 1),
        (1, RecipientState::Accepted, 2),
        (5, RecipientState::Failed, 3),
        (2, RecipientState::Accepted, 4),
        (3, RecipientState::InFlight, 5),
    ] {
        record(fx, id, index, state, secs);
    }
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
        Progress::Rate {
            current: 40,
            ceiling: 80,
            reason: "throughput of the number exceeded (130429)".into(),
        },
    ];
    h.tick(7_000);
    h.act(batch(events, mid_counts(), 40, CampaignState::Sending));
    h.settle().await;
    (h, id)
}

/// The run of [`mid`] ends: 3 accepted, 4 unknown; everyone decided.
async fn finish(fx: &Fixture, h: &mut Harness, id: CampaignId) -> Counts {
    record(fx, id, 3, RecipientState::Accepted, 6);
    record(fx, id, 4, RecipientState::Unknown, 7);
    let done = Counts {
        accepted: 4,
        failed: 1,
        unknown: 1,
        skipped: 4,
        ..Counts::default()
    };
    let events = vec![Progress::Finished {
        state: CampaignState::Finished,
        counts: done,
    }];
    h.tick(2_000);
    h.act(batch(events, done, 80, CampaignState::Finished));
    h.act(Action::RunEnded {
        id,
        result: Ok(CampaignState::Finished),
    });
    h.settle().await;
    done
}

/// The title of the results table.
fn results_title(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("Results, newest first"))
        .unwrap_or_default()
        .to_string()
}

/// Rows of the results table in state `s` (the state column).
fn rows_in(screen: &str, s: RecipientState) -> usize {
    screen
        .lines()
        .filter(|l| l.contains("+49") && l.contains(&format!(" {:<9} ", s.as_str())))
        .count()
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
    h.press(&[KeyCode::Char('f')]).await;
    let screen = h.render();
    assert!(screen.contains("· failed · 1 rows"), "{screen}");
    assert_eq!(rows_in(&screen, RecipientState::Accepted), 0, "{screen}");
    h.press(&[KeyCode::Char('f'), KeyCode::Char('f')]).await;
    assert!(h.render().contains("· accepted · 3 rows"));
    h.key(KeyCode::Up);
    assert!(h.render().contains("End follows"));
    h.press(&[KeyCode::End]).await;
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
    finish(&fx, &mut h, id).await;
    assert!(h.app.running.is_none());
    snap!("dashboard_finished", h);
    h.app.ui.lang = crate::i18n::Language::De;
    snap!("dashboard_finished_de", h);
    let screen = h.render();
    assert!(
        screen.contains("BEENDET") && screen.contains("angenommen"),
        "{screen}"
    );
}

/// Issue 17: the `read` filter listed 0 rows and `skipped` 0 against a
/// header of 11 — the table held only the events of this view's run.
#[tokio::test]
async fn every_filter_lists_what_its_count_says() {
    let fx = Fixture::new(true);
    let (mut h, id) = mid(&fx, 100, 30).await;
    finish(&fx, &mut h, id).await;
    record(&fx, id, 0, RecipientState::Read, 20);
    h.tick(1_000);
    h.settle().await;
    for _ in FILTERS {
        let d = h.app.dash.as_ref().expect("dash");
        let (filter, counts) = (d.filter_state(), d.counts());
        let screen = h.render();
        let title = results_title(&screen);
        match filter {
            None => {
                assert!(title.contains(&format!("· all states · {} rows", counts.total())));
            }
            Some(s) => {
                let n = counts.get(s);
                assert!(title.contains(&format!("· {s} · {n} rows")), "{title}");
                assert_eq!(rows_in(&screen, s) as u64, n, "{s}:\n{screen}");
            }
        }
        h.press(&[KeyCode::Char('f')]).await;
    }
    assert_eq!(
        h.app.dash.as_ref().map(|d| d.filter),
        Some(0),
        "cycled round"
    );
}

/// Issue 17: the rows stayed "accepted" while the header said `read 21`.
#[tokio::test]
async fn rows_show_the_latest_state_a_webhook_wrote() {
    let fx = Fixture::new(true);
    let (mut h, id) = mid(&fx, 100, 30).await;
    finish(&fx, &mut h, id).await;
    record(&fx, id, 1, RecipientState::Read, 30);
    h.tick(500);
    h.settle().await;
    assert_eq!(
        rows_in(&h.render(), RecipientState::Read),
        0,
        "not read again yet"
    );
    h.tick(500);
    h.settle().await;
    let screen = h.render();
    assert!(screen.contains("read 1"), "the header counts it:\n{screen}");
    let first_row = screen
        .lines()
        .find(|l| l.contains("+49"))
        .unwrap_or_default();
    assert!(
        first_row.contains("     1 ") && first_row.contains(" read "),
        "newest change first, in its new state: {first_row}"
    );
    assert_eq!(rows_in(&screen, RecipientState::Accepted), 3);
}

/// Issue 17: after a resume the table listed only that run's rows.
#[tokio::test]
async fn a_resumed_campaign_lists_its_whole_journal() {
    let fx = Fixture::new(true);
    let (mut h, id) = mid(&fx, 100, 30).await;
    let meta = h.app.dash.as_ref().map(|d| d.meta.clone()).expect("dash");
    h.act(Action::RunEnded {
        id,
        result: Ok(CampaignState::Paused),
    });
    h.settle().await;
    // The resumed run's dashboard is a new one; it has seen no events yet.
    h.act(Action::Started(Box::new(meta)));
    h.settle().await;
    let screen = h.render();
    assert!(
        results_title(&screen).contains("· all states · 10 rows"),
        "{screen}"
    );
    assert_eq!(rows_in(&screen, RecipientState::Accepted), 3, "{screen}");
    assert_eq!(rows_in(&screen, RecipientState::Failed), 1);
    assert_eq!(rows_in(&screen, RecipientState::Skipped), 4);
}

#[tokio::test]
async fn scrolling_pages_through_the_whole_journal() {
    let fx = Fixture::new(true);
    let (mut h, id) = mid(&fx, 100, 30).await;
    // A longer journal than one page: 190 more records, each newer.
    let journal = fx.engine.campaigns.journal(id).expect("journal");
    let template = journal.get(0).expect("read").expect("record");
    let more: Vec<_> = (10..200u32)
        .map(|i| {
            let mut r = template.clone();
            r.updated_at = now() + chrono::Duration::seconds(100 + i64::from(i));
            (i, r)
        })
        .collect();
    journal.write(&more).expect("write");
    h.tick(1_000);
    h.settle().await;
    assert!(results_title(&h.render()).contains("· 200 rows"));
    for _ in 0..60 {
        h.key(KeyCode::Up);
    }
    h.settle().await;
    let d = h.app.dash.as_ref().expect("dash");
    assert_eq!(d.scroll, 60);
    assert_eq!(d.page().map(|p| p.from), Some(50), "the window of row 60");
    let screen = h.render();
    let first = screen
        .lines()
        .find(|l| l.contains("+49"))
        .unwrap_or_default();
    assert!(
        first.contains("   139 "),
        "the 61st newest is index 139: {first}"
    );
    h.press(&[KeyCode::End]).await;
    let screen = h.render();
    let first = screen
        .lines()
        .find(|l| l.contains("+49"))
        .unwrap_or_default();
    assert!(
        first.contains("   199 "),
        "following the newest again: {first}"
    );
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
    record(&fx, id, 3, RecipientState::Skipped, 6);
    record(&fx, id, 4, RecipientState::Skipped, 6);
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
    h.key(KeyCode::Char('?'));
    let help = h.render();
    for gone in ["p  pause", "r  resume", "c  cancel"] {
        assert!(!help.contains(gone), "the help offers {gone}:\n{help}");
    }
    assert!(help.contains("details and export"), "{help}");
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
async fn lag_is_reported() {
    let fx = Fixture::new(true);
    let (mut h, _) = mid(&fx, 100, 30).await;
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
        estimate: None,
    }
}

#[test]
fn a_large_journal_is_read_again_less_often() {
    use crate::tui::screens::dashboard::refresh_every;
    assert_eq!(refresh_every(10), chrono::Duration::seconds(1));
    assert_eq!(refresh_every(1_000_000), chrono::Duration::seconds(5));
}
