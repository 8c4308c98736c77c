//! The consent browser's list: every contact, a page at a time, narrowed
//! by a filter the operator types (`topic=sale status=pending source=web
//! locale=de since=2026-03-01 before=2026-04-01`). Enter opens the
//! selected number's consents and history; the daemon filters, the screen
//! only reads the expression.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::super::action::{Cmd, Effect, InputKey};
use super::super::app::App;
use super::super::mouse::{self, Rows};
use super::super::widgets::fmt;
use super::super::widgets::input::TextInput;
use super::plan::KEEP_DIGITS;
use crate::consent::ConsentStatus;
use crate::engine::browse::{ConsentFilter, ConsentPage};

/// Rows read per page.
pub const PAGE: usize = 200;

/// The list's state.
#[derive(Debug, Default)]
pub struct ContactList {
    /// The filter as typed.
    pub filter: TextInput,
    /// Whether the filter field has focus.
    pub filtering: bool,
    /// The filter in force.
    pub applied: ConsentFilter,
    /// The loaded page.
    pub page: Option<Box<ConsentPage>>,
    /// Why the filter or the page failed.
    pub error: Option<String>,
    /// Selected row (position in the whole list).
    pub selected: usize,
}

impl ContactList {
    /// The page holding the selected row, if it is loaded.
    fn row(&self) -> Option<&crate::engine::browse::ListedContact> {
        let p = self.page.as_ref()?;
        self.selected
            .checked_sub(p.from)
            .and_then(|i| p.rows.get(i))
    }
}

/// The first page under the filter in force.
pub fn load(list: &ContactList, from: usize) -> Effect {
    Effect::LoadContacts {
        filter: list.applied.clone(),
        from,
    }
}

/// A page arrived.
pub fn loaded(list: &mut ContactList, r: Result<Box<ConsentPage>, String>) {
    match r {
        Ok(p) => {
            list.selected = list.selected.min(p.total.saturating_sub(1));
            list.page = Some(p);
            list.error = None;
        }
        Err(e) => list.error = Some(e),
    }
}

/// A keystroke in the filter field.
pub fn input(list: &mut ContactList, key: InputKey) {
    list.filter.apply(key);
}

/// A key for the list (the lookup is closed): `f` edits the filter,
/// Enter opens the selected number.
pub fn cmd(app: &mut App, cmd: Cmd) -> Option<Vec<Effect>> {
    let offset = app.ui.offset;
    let l = &mut app.consent.list;
    if l.filtering {
        return Some(match cmd {
            Cmd::Enter => match ConsentFilter::parse(l.filter.get().unwrap_or_default(), offset) {
                Ok(f) => {
                    l.filtering = false;
                    l.applied = f;
                    l.selected = 0;
                    l.error = None;
                    vec![load(l, 0)]
                }
                Err(e) => {
                    l.error = Some(e.to_string());
                    vec![]
                }
            },
            Cmd::Back | Cmd::Tab => {
                l.filtering = false;
                vec![]
            }
            _ => vec![],
        });
    }
    let total = l.page.as_ref().map_or(0, |p| p.total);
    let before = l.selected;
    match cmd {
        Cmd::Filter => {
            l.filtering = true;
            return Some(vec![]);
        }
        Cmd::Up => l.selected = l.selected.saturating_sub(1),
        Cmd::Down => l.selected = (l.selected + 1).min(total.saturating_sub(1)),
        Cmd::PageUp => l.selected = l.selected.saturating_sub(20),
        Cmd::PageDown => l.selected = (l.selected + 20).min(total.saturating_sub(1)),
        Cmd::Top => l.selected = 0,
        Cmd::Bottom => l.selected = total.saturating_sub(1),
        Cmd::Enter => {
            return Some(match l.row() {
                Some(r) => vec![Effect::LookupConsent(r.phone.e164())],
                None => vec![],
            })
        }
        _ => return None,
    }
    // A row outside the loaded page: read the page it is on.
    let loaded = l
        .page
        .as_ref()
        .is_some_and(|p| l.selected >= p.from && l.selected < p.from + p.rows.len());
    Some(if l.selected != before && !loaded {
        vec![load(l, l.selected / PAGE * PAGE)]
    } else {
        vec![]
    })
}

/// Draws the filter line and the list into `filter_area` and `area`.
pub fn draw(app: &App, frame: &mut Frame, filter_area: Rect, area: Rect) {
    let t = app.ui.theme;
    let l = &app.consent.list;
    let mut lines = vec![l.filter.line(
        &app.t("tui-contacts-filter"),
        l.filtering,
        filter_area.width,
        t,
    )];
    lines.push(match &l.error {
        Some(e) => Line::styled(e.clone(), t.error()),
        None => Line::styled(app.t("tui-contacts-filter-hint"), t.dim()),
    });
    frame.render_widget(Paragraph::new(lines), filter_area);
    let Some(page) = &l.page else {
        frame.render_widget(
            Paragraph::new(app.t("tui-reading")).block(Block::bordered()),
            area,
        );
        return;
    };
    let title = app.tw(
        "tui-contacts-title",
        &[
            ("n", (l.selected + 1).min(page.total).into()),
            ("total", fmt::count(page.total as u64).into()),
        ],
    );
    let height = (area.height.saturating_sub(3) as usize).max(1);
    let local = l.selected.saturating_sub(page.from);
    let start = (local + 1).saturating_sub(height);
    let off = app.ui.offset;
    let rows = page.rows.iter().skip(start).take(height).map(|c| {
        let consents: Vec<Span> = c
            .consents
            .iter()
            .map(|x| {
                let style = match x.status {
                    ConsentStatus::Confirmed => t.ok(),
                    ConsentStatus::Pending => t.warn(),
                    ConsentStatus::Revoked => t.dim(),
                };
                Span::styled(format!("{}:{} ", x.topic, x.status), style)
            })
            .collect();
        let sources: Vec<&str> = c.consents.iter().map(|x| x.source.as_str()).collect();
        Row::new(vec![
            Cell::from(c.phone.masked(KEEP_DIGITS)),
            Cell::from(c.locale.clone().unwrap_or_else(|| "—".into())),
            Cell::from(Line::from(consents)),
            Cell::from(sources.first().copied().unwrap_or("—").to_string()),
            Cell::from(
                c.imported_at
                    .map_or_else(|| "—".into(), |at| fmt::datetime(at, off)),
            ),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(6),
            Constraint::Min(16),
            Constraint::Length(18),
            Constraint::Length(16),
        ],
    )
    .header(
        Row::new(
            [
                "tui-col-number",
                "tui-col-locale",
                "tui-col-consents",
                "tui-col-source",
                "tui-col-imported",
            ]
            .map(|id| app.t(id)),
        )
        .style(t.title()),
    )
    .row_highlight_style(t.selected())
    .highlight_symbol("▶ ")
    .block(Block::bordered().title(Span::styled(title, t.title())));
    let mut state = TableState::default().with_selected(Some(local.saturating_sub(start)));
    frame.render_stateful_widget(table, area, &mut state);
    app.hits.rows(Rows {
        area: mouse::body(area, 1),
        first: page.from + start + state.offset(),
        selected: l.selected,
        len: page.total,
    });
}
