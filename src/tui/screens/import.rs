//! Importing a consent CSV from the TUI: a path, then the same report
//! `bote consent import` prints — counts, every rejected or unreadable row with its line
//! and reason, dropped undeclared columns (G8) and merge notes.

use std::path::{Path, PathBuf};

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::super::action::{Cmd, Effect, InputKey};
use super::super::app::{App, ScreenId};
use super::super::widgets::fmt;
use super::super::widgets::input::TextInput;
use crate::consent::import::ImportReport;

/// Import screen state.
#[derive(Debug, Default)]
pub struct ImportState {
    /// The file to import.
    pub path: TextInput,
    /// The report of the last import.
    pub report: Option<Box<ImportReport>>,
    /// Why the last import failed.
    pub error: Option<String>,
    /// Whether an import runs.
    pub busy: bool,
    /// Report lines scrolled.
    pub scroll: usize,
}

/// Opens the import screen with an empty path.
pub fn open(app: &mut App) -> Vec<Effect> {
    app.import = ImportState::default();
    app.push(ScreenId::Import);
    vec![]
}

/// A keystroke in the path field.
pub fn input(app: &mut App, key: InputKey) -> Vec<Effect> {
    app.import.path.apply(key);
    vec![]
}

/// The import finished.
pub fn loaded(app: &mut App, r: Result<Box<ImportReport>, String>) -> Vec<Effect> {
    app.import.busy = false;
    match r {
        Ok(report) => {
            app.import.report = Some(report);
            app.import.error = None;
            app.import.scroll = 0;
        }
        Err(e) => app.import.error = Some(e),
    }
    vec![]
}

/// A key on the import screen.
pub fn cmd(app: &mut App, cmd: Cmd) -> Vec<Effect> {
    let s = &mut app.import;
    match cmd {
        Cmd::Enter if s.report.is_none() && !s.busy => match s.path.get() {
            Some(p) => {
                s.busy = true;
                s.error = None;
                vec![Effect::Import(PathBuf::from(p))]
            }
            None => vec![],
        },
        Cmd::Up | Cmd::PageUp => {
            s.scroll = s.scroll.saturating_sub(if cmd == Cmd::Up { 1 } else { 10 });
            vec![]
        }
        Cmd::Down | Cmd::PageDown => {
            s.scroll += if cmd == Cmd::Down { 1 } else { 10 };
            vec![]
        }
        Cmd::Back => app.back(),
        _ => vec![],
    }
}

/// The report as lines (shared by the screen and its tests).
pub fn report_lines(r: &ImportReport, app: &App) -> Vec<Line<'static>> {
    let t = app.ui.theme;
    let mut lines = vec![Line::from(vec![
        Span::styled(
            app.tw(
                "tui-import-imported",
                &[("n", fmt::count(r.imported).into())],
            ),
            t.ok(),
        ),
        Span::raw(app.tw(
            "tui-import-updated",
            &[
                ("updated", fmt::count(r.updated).into()),
                ("unchanged", fmt::count(r.unchanged).into()),
                ("pending", fmt::count(r.pending).into()),
            ],
        )),
        Span::styled(
            app.tw(
                "tui-import-rejected",
                &[("n", fmt::count(r.rejected).into())],
            ),
            if r.rejected > 0 { t.error() } else { t.dim() },
        ),
        Span::raw(app.tw(
            "tui-import-duplicates",
            &[
                ("duplicates", fmt::count(r.duplicates).into()),
                ("rows", fmt::count(r.rows).into()),
            ],
        )),
    ])];
    // Shown only when there are any, so a clean import reads as before.
    if r.unreadable > 0 {
        lines[0].spans.push(Span::styled(
            app.tw(
                "tui-import-unreadable",
                &[("n", fmt::count(r.unreadable).into())],
            ),
            t.error(),
        ));
    }
    if !r.dropped_columns.is_empty() {
        lines.push(Line::styled(
            app.tw(
                "tui-import-dropped",
                &[("columns", r.dropped_columns.join(", ").into())],
            ),
            t.warn(),
        ));
    }
    if !r.rejects.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(app.t("tui-import-rejected-rows"), t.title()));
        for x in &r.rejects {
            lines.push(Line::from(vec![
                Span::styled(line_label(app, x.line), t.error()),
                Span::raw(x.reason.clone()),
            ]));
        }
        if r.rejected as usize > r.rejects.len() {
            lines.push(Line::styled(
                app.tw(
                    "tui-import-more",
                    &[("n", (r.rejected as usize - r.rejects.len()).into())],
                ),
                t.dim(),
            ));
        }
    }
    if !r.unreadable_rows.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(app.t("tui-import-unreadable-rows"), t.title()));
        for x in &r.unreadable_rows {
            lines.push(Line::from(vec![
                Span::styled(line_label(app, x.line), t.error()),
                Span::raw(x.reason.clone()),
            ]));
        }
    }
    if !r.notes.is_empty() {
        lines.push(Line::default());
        lines.push(Line::styled(app.t("tui-import-notes"), t.title()));
        for n in &r.notes {
            lines.push(Line::from(format!(
                "{}{}",
                line_label(app, n.line),
                n.message
            )));
        }
    }
    lines
}

/// `line    12  ` in the operator's language.
fn line_label(app: &App, line: u64) -> String {
    app.tw("tui-import-line", &[("n", format!("{line:>5}").into())])
}

/// Draws the import screen.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = app.ui.theme;
    let s = &app.import;
    let [field, body] = Layout::vertical([Constraint::Length(4), Constraint::Min(3)]).areas(area);
    let name = |p: &str| {
        Path::new(p)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    // After the import only the file name shows: the path may be long.
    let mut lines = vec![match &s.report {
        None => s.path.line(
            &app.t("tui-import-file"),
            true,
            field.width.saturating_sub(2),
            t,
        ),
        Some(r) => Line::from(vec![
            Span::styled(app.t("tui-import-done"), t.dim()),
            Span::raw(name(&r.file)),
        ]),
    }];
    lines.push(match (&s.error, s.busy) {
        (Some(e), _) => Line::styled(e.clone(), t.error()),
        (None, true) => Line::styled(app.t("tui-importing"), t.warn()),
        (None, false) if s.report.is_some() => Line::styled(app.t("tui-import-esc"), t.dim()),
        (None, false) => Line::styled(app.t("tui-import-hint"), t.dim()),
    });
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(app.t("tui-import-title"), t.title())))
            .wrap(Wrap { trim: true }),
        field,
    );
    let Some(r) = &s.report else { return };
    let title = app.tw(
        "tui-import-report",
        &[
            ("file", name(&r.file).into()),
            (
                "encoding",
                r.encoding
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "?".into())
                    .into(),
            ),
            ("delimiter", r.delimiter.to_string().into()),
        ],
    );
    let lines = report_lines(r, app);
    let height = body.height.saturating_sub(2) as usize;
    let scroll = s.scroll.min(lines.len().saturating_sub(height)) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .block(Block::bordered().title(Span::styled(title, t.title())))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        body,
    );
}
