//! One module per screen: its state, how keys change it, how it is drawn.
//! Every `draw` reads only [`App`]; nothing here touches the store.

pub mod audience;
pub mod confirm;
pub mod consent;
pub mod contacts;
pub mod dashboard;
pub mod detail;
pub mod home;
pub mod import;
pub mod plan;
pub mod template;
pub mod wizard;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::action::Cmd;
use super::app::{App, ScreenId};

/// `New campaign · 1 Template › 2 Audience › 3 Dry run › 4 Confirm`, the
/// current step highlighted.
pub fn steps_line(app: &App, current: ScreenId) -> Line<'static> {
    let t = app.ui.theme;
    let steps = [
        (ScreenId::Template, "tui-step-template"),
        (ScreenId::Audience, "tui-step-audience"),
        (ScreenId::Plan, "tui-step-plan"),
        (ScreenId::Confirm, "tui-step-confirm"),
    ];
    let mut spans = vec![Span::styled(app.t("tui-new-campaign"), t.dim())];
    for (i, (id, name)) in steps.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" › ", t.dim()));
        }
        let style = if *id == current {
            t.selected().patch(t.title())
        } else {
            t.dim()
        };
        spans.push(Span::styled(app.t(name), style));
    }
    Line::from(spans)
}

/// Whether `cmd` does something on the current screen now (the footer
/// shows only the keys that do).
pub fn works(app: &App, cmd: Cmd) -> bool {
    match app.screen() {
        ScreenId::Dashboard => dashboard::works(app, cmd),
        ScreenId::Detail => detail::works(app, cmd),
        ScreenId::Plan => plan::works(app, cmd),
        ScreenId::Consent => consent::works(app, cmd),
        _ => true,
    }
}

/// Draws the screen on top of the stack into `area`.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    match app.screen() {
        ScreenId::Home => home::draw(app, frame, area),
        ScreenId::Template => template::draw(app, frame, area),
        ScreenId::Audience => audience::draw(app, frame, area),
        ScreenId::Plan => plan::draw(app, frame, area),
        ScreenId::Confirm => confirm::draw(app, frame, area),
        ScreenId::Dashboard => dashboard::draw(app, frame, area),
        ScreenId::Detail => detail::draw(app, frame, area),
        ScreenId::Consent => consent::draw(app, frame, area),
        ScreenId::Import => import::draw(app, frame, area),
    }
}
