//! Home: empty store, and a store with campaigns, totals and tier use.

use crossterm::event::KeyCode;

use super::harness::{Fixture, Harness};
use super::seed;
use crate::tui::app::ScreenId;

#[tokio::test]
async fn empty_store() {
    let fx = Fixture::new(false);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    snap!("home_empty", h);
}

#[tokio::test]
async fn campaigns_totals_and_tier() {
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    snap!("home_campaigns", h);
    let screen = h.render();
    assert!(
        screen.contains("SANDBOX"),
        "the mode banner is always visible"
    );
    assert!(
        screen.contains("4 of 250"),
        "tier: four accepted-path sends in 24 h"
    );
}

#[tokio::test]
async fn narrow_home_drops_columns() {
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    snap!("home_campaigns_80x24", h);
}

#[tokio::test]
async fn enter_opens_the_selected_campaign_and_q_quits() {
    let fx = Fixture::new(true);
    let (finished, paused) = seed::campaigns(&fx);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    // Newest first: the paused campaign is on top.
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(h.app.screen(), ScreenId::Detail);
    assert_eq!(h.app.detail.id, Some(paused));
    h.press(&[KeyCode::Esc, KeyCode::Down, KeyCode::Enter])
        .await;
    assert_eq!(h.app.detail.id, Some(finished));
    h.press(&[KeyCode::Char('q')]).await;
    assert_eq!(h.app.screen(), ScreenId::Home);
    assert!(!h.app.quit);
    h.press(&[KeyCode::Char('q')]).await;
    assert!(h.app.quit, "q on the home screen quits");
}

#[tokio::test]
async fn help_overlay_lists_the_screens_keys() {
    let fx = Fixture::new(false);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.key(KeyCode::Char('?'));
    snap!("help_home", h);
    h.key(KeyCode::Char('x'));
    assert!(!h.app.help, "any key closes the help");
}
