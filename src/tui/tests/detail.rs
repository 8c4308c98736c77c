//! Campaign detail: a finished campaign with failures, export, re-send of
//! unknowns (asked again), resume of a paused campaign.

use crossterm::event::KeyCode;

use super::harness::{Fixture, Harness};
use super::seed;
use crate::tui::app::ScreenId;

async fn open(fx: &Fixture, row: usize) -> Harness {
    let mut h = Harness::new(fx, true, 100, 30).await;
    for _ in 0..row {
        h.key(KeyCode::Down);
    }
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(h.app.screen(), ScreenId::Detail);
    h
}

#[tokio::test]
async fn finished_with_failures() {
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut h = open(&fx, 1).await;
    snap!("detail_finished", h);
    h.key(KeyCode::End);
    assert!(h.render().contains("row 10 of 10"));
}

#[tokio::test]
async fn export_writes_a_file_and_says_where() {
    let fx = Fixture::new(true);
    let (id, _) = seed::campaigns(&fx);
    let mut h = open(&fx, 1).await;
    h.press(&[KeyCode::Char('e')]).await;
    let csv = fx.path(&format!("bote-campaign-{id}.csv"));
    let text = std::fs::read_to_string(&csv).expect("export written");
    assert_eq!(text.lines().count(), 11, "header + 10 recipients");
    let status = h.app.status.clone().expect("status");
    assert!(
        status.text.contains("exported 10 rows") && status.text.contains("bote-campaign-1.csv")
    );
    h.press(&[KeyCode::Char('e')]).await;
    assert!(
        fx.path("bote-campaign-1-2.csv").is_file(),
        "never overwrites"
    );
    h.press(&[KeyCode::Char('j')]).await;
    assert!(fx.path("bote-campaign-1.jsonl").is_file());
}

#[tokio::test]
async fn resend_unknown_asks_then_sends() {
    let fx = Fixture::new(true);
    let (id, _) = seed::campaigns(&fx);
    let mut h = open(&fx, 1).await;
    h.key(KeyCode::Char('u'));
    snap!("detail_resend_dialog", h);
    h.key(KeyCode::Char('n'));
    assert!(h.app.modal.is_none());
    let unknown = |fx: &Fixture| {
        fx.engine
            .campaigns
            .journal(id)
            .and_then(|j| j.counts())
            .expect("counts")
            .unknown
    };
    assert_eq!(unknown(&fx), 1, "no is no");
    // The campaign is finished: re-sending starts it again for the requeued one.
    h.key(KeyCode::Char('u'));
    h.key(KeyCode::Char('y'));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenId::Dashboard);
    // The fake API times out on numbers ending in 9 again: still unknown, once more.
    let counts = fx
        .engine
        .campaigns
        .journal(id)
        .and_then(|j| j.counts())
        .expect("counts");
    assert_eq!(
        (counts.unknown, counts.pending, counts.in_flight),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn paused_campaign_resumes() {
    let fx = Fixture::new(true);
    let (_, paused) = seed::campaigns(&fx);
    let mut h = open(&fx, 0).await;
    snap!("detail_paused", h);
    h.key(KeyCode::Char('r'));
    h.settle().await;
    let meta = fx.engine.campaigns.get(paused).expect("get").expect("meta");
    assert_eq!(meta.state, crate::campaign::CampaignState::Finished);
    assert!(h.render().contains("FINISHED"));
}
