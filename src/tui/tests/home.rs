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
    let screen = h.render();
    assert_eq!(
        screen.matches("  Enter  ").count(),
        1,
        "one line a key:\n{screen}"
    );
    h.key(KeyCode::Char('x'));
    assert!(h.app.help.is_none(), "any other key closes the help");
}

/// Issue 17: on a small terminal the key list was cut off, with no way
/// to see the rest.
#[tokio::test]
async fn help_scrolls_when_it_does_not_fit() {
    let fx = Fixture::new(false);
    let mut h = Harness::new(&fx, true, 80, 12).await;
    h.key(KeyCode::Char('?'));
    let total = crate::tui::keys::help(&h.app).len();
    snap!("help_home_small", h);
    assert!(h.render().contains(&format!("Keys 1–8 of {total}")));
    h.key(KeyCode::Down);
    h.key(KeyCode::Down);
    let screen = h.render();
    assert!(
        screen.contains(&format!("Keys 3–10 of {total}")),
        "{screen}"
    );
    h.key(KeyCode::End);
    let screen = h.render();
    assert!(
        screen.contains(&format!("Keys {}–{total} of {total}", total - 7)),
        "{screen}"
    );
    assert!(screen.contains("Ctrl-C"), "the last line shows: {screen}");
    h.key(KeyCode::Up);
    assert!(h
        .render()
        .contains(&format!("Keys {}–{} of {total}", total - 8, total - 1)));
    h.key(KeyCode::Esc);
    assert!(h.app.help.is_none());
    assert_eq!(
        h.app.screen(),
        crate::tui::app::ScreenId::Home,
        "Esc only closed the help"
    );
}

/// Issue 17: a key that does nothing did nothing, without a word.
#[tokio::test]
async fn an_unknown_key_gets_a_hint_in_the_status_line() {
    let fx = Fixture::new(false);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.key(KeyCode::Char('z'));
    let said = h.app.status.as_ref().map(|s| s.text.clone());
    assert_eq!(
        said.as_deref(),
        Some("z does nothing here · ? shows the keys")
    );
    assert!(h.render().contains("z does nothing here"));
    h.key(KeyCode::F(5));
    assert!(h.render().contains("F5 does nothing here"));
    h.key(KeyCode::Char('n'));
    assert!(h.app.status.is_none(), "a known key clears the hint");
}

#[tokio::test]
async fn a_click_selects_a_row_and_a_second_opens_it_the_wheel_scrolls() {
    use crate::tui::action::Action;
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.render();
    assert_eq!(h.app.home.selected, 0);
    // The table's second row (screen line 4, under the banner, the border
    // and the header): campaign 1.
    h.act(Action::Click(20, 4));
    assert_eq!(h.app.home.selected, 1, "the click selected the row");
    assert_eq!(h.app.screen(), ScreenId::Home);
    h.render();
    h.act(Action::Click(20, 2));
    assert_eq!(h.app.home.selected, 1, "a click on the header does nothing");
    h.act(Action::Click(20, 8));
    assert_eq!(h.app.home.selected, 1, "below the last row does nothing");
    h.act(Action::Click(20, 4));
    h.settle().await;
    assert_eq!(
        h.app.screen(),
        ScreenId::Detail,
        "a click on the selected row opens it"
    );
    let m = |kind| crossterm::event::MouseEvent {
        kind,
        column: 10,
        row: 10,
        modifiers: crossterm::event::KeyModifiers::NONE,
    };
    assert!(matches!(
        crate::tui::mouse::map(m(crossterm::event::MouseEventKind::ScrollDown)),
        Some(Action::Cmd(crate::tui::action::Cmd::Down))
    ));
}

#[tokio::test]
async fn campaigns_in_german() {
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.app.ui.lang = crate::i18n::Language::De;
    snap!("home_campaigns_de", h);
    let screen = h.render();
    assert!(
        screen.contains("Kampagnen") && screen.contains("neue Kampagne"),
        "{screen}"
    );
}
