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
    h.key(KeyCode::Home);
    h.app.ui.lang = crate::i18n::Language::De;
    snap!("detail_finished_de", h);
    assert!(h.render().contains("Trichter"));
}

#[tokio::test]
async fn export_writes_a_file_and_says_where() {
    let fx = Fixture::new(true);
    let (id, _) = seed::campaigns(&fx);
    let mut h = open(&fx, 1).await;
    let exports = h.app.ui.export_dir.clone();
    h.app.ui.export_dir = std::path::PathBuf::from("/home/op/.local/share/bote/exports");
    h.key(KeyCode::Char('e'));
    snap!("detail_export_dialog", h);
    h.key(KeyCode::Esc);
    assert!(h.app.modal.is_none());
    h.app.ui.export_dir = exports;
    h.key(KeyCode::Char('e'));
    // The proposal: the data dir's exports/, named by campaign and minute.
    h.press(&[KeyCode::Enter]).await;
    let csv = fx.path(&format!("exports/bote-campaign-{id}-20261001-1000.csv"));
    let text = std::fs::read_to_string(&csv).expect("export written");
    assert_eq!(text.lines().count(), 11, "header + 10 recipients");
    assert!(text.contains("+49171"), "numbers in full by default");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&csv).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let status = h.app.status.clone().expect("status");
    assert!(
        status.text.contains("exported 10 rows") && status.text.contains("bote-campaign-1-"),
        "{status:?}"
    );
    // The same name again is refused, and the file stays as it was.
    h.press(&[KeyCode::Char('e'), KeyCode::Enter]).await;
    let status = h.app.status.clone().expect("status");
    assert!(
        status.error && status.text.contains("never replaces"),
        "{status:?}"
    );
    assert_eq!(std::fs::read_to_string(&csv).expect("csv"), text);
    // Another name, numbers masked.
    h.key(KeyCode::Char('j'));
    h.key_mod(KeyCode::Char('u'), crossterm::event::KeyModifiers::CONTROL);
    let masked = fx.path("shared.jsonl");
    for c in masked.display().to_string().chars() {
        h.key(KeyCode::Char(c));
    }
    h.key(KeyCode::Tab);
    assert!(h.render().contains("masked to their last 4 digits"));
    h.press(&[KeyCode::Enter]).await;
    let json = std::fs::read_to_string(&masked).expect("masked export");
    assert_eq!(json.lines().count(), 10);
    assert!(!json.contains("+49171"), "{json}");
    assert!(json.contains('•'), "{json}");
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
