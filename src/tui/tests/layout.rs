//! Every screen at 100×30, 80×24, 40×10 and tiny sizes: nothing panics,
//! the mode banner stays; NO_COLOR means no colour at all.

use crossterm::event::KeyCode;
use ratatui::style::Color;

use super::harness::{Fixture, Harness};
use super::seed;
use crate::tui::app::ScreenId;

const SIZES: [(u16, u16); 6] = [(100, 30), (80, 24), (40, 10), (20, 6), (12, 3), (1, 1)];

fn all_sizes(h: &mut Harness) {
    for (w, hh) in SIZES {
        h.resize(w, hh);
        let screen = h.render();
        if w >= 20 && hh >= 2 {
            assert!(screen.contains("SANDBOX"), "banner at {w}×{hh}:\n{screen}");
        }
    }
    h.resize(100, 30);
}

#[tokio::test]
async fn every_screen_survives_every_size() {
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    all_sizes(&mut h);
    h.key(KeyCode::Char('?'));
    all_sizes(&mut h);
    h.key(KeyCode::Char('?'));
    h.press(&[KeyCode::Enter]).await;
    all_sizes(&mut h);
    h.key(KeyCode::Char('u'));
    h.press(&[KeyCode::Esc, KeyCode::Esc]).await;
    for step in [
        KeyCode::Char('n'),
        KeyCode::Enter,
        KeyCode::Enter,
        KeyCode::Down,
        KeyCode::Enter,
    ] {
        h.press(&[step]).await;
        all_sizes(&mut h);
    }
    h.press(&[KeyCode::Esc, KeyCode::Char('s')]).await;
    assert_eq!(h.app.screen(), ScreenId::Confirm);
    all_sizes(&mut h);
    h.press(&[KeyCode::Char('y')]).await;
    assert_eq!(h.app.screen(), ScreenId::Dashboard);
    all_sizes(&mut h);
    h.press(&[KeyCode::Esc, KeyCode::Char('c')]).await;
    h.keys("0171 1000001");
    h.press(&[KeyCode::Enter]).await;
    all_sizes(&mut h);
    h.press(&[KeyCode::Char('i')]).await;
    all_sizes(&mut h);
}

#[tokio::test]
async fn no_color_means_no_colour() {
    let fx = Fixture::new(true);
    seed::campaigns(&fx);
    let mut mono = Harness::new(&fx, true, 100, 30).await;
    mono.render();
    let coloured = |b: &ratatui::buffer::Buffer| {
        b.content()
            .iter()
            .any(|c| c.fg != Color::Reset || c.bg != Color::Reset)
    };
    assert!(!coloured(mono.buffer()), "Theme::MONO paints no colour");
    mono.app.ui.theme = crate::tui::theme::Theme::COLOR;
    mono.render();
    assert!(
        coloured(mono.buffer()),
        "colours carry meaning when allowed"
    );
}
