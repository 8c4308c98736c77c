//! Screen tests: the whole app on ratatui's `TestBackend`, driven by keys
//! through the same path the event loop takes, snapshotted with insta
//! into `src/tui/snapshots/` (`INSTA_UPDATE=always cargo test --lib tui`
//! writes new ones; CI fails on a missing or changed one).

/// Snapshots the screen of a harness as `src/tui/snapshots/NAME.snap`.
macro_rules! snap {
    ($name:expr, $h:expr) => {{
        let screen = $h.render();
        insta::with_settings!({
            snapshot_path => $crate::tui::tests::harness::SNAPSHOTS,
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, screen);
        });
    }};
}

mod consent;
mod dashboard;
mod detail;
pub mod harness;
mod home;
mod layout;
pub mod seed;
mod wizard;
