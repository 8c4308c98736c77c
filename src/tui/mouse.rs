//! The mouse: the wheel scrolls like ↑/↓, a click on a list row selects it
//! and a click on the selected row opens it (Enter).
//!
//! Drawing records where each list's rows landed ([`Rows`]) in the app's
//! hit map; a click is then turned into the keys that move the selection
//! there, so every screen keeps its one way of changing state.

use std::cell::RefCell;

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::action::{Action, Cmd};

/// One list as drawn: its rows' area and which entries they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rows {
    /// Where the rows are (below any header, inside the border).
    pub area: Rect,
    /// The entry the first visible row shows.
    pub first: usize,
    /// The selected entry.
    pub selected: usize,
    /// Entries in the list.
    pub len: usize,
}

/// What the last frame drew where.
#[derive(Debug, Default)]
pub struct HitMap {
    rows: RefCell<Vec<Rows>>,
}

impl HitMap {
    /// Forgets the previous frame.
    pub fn clear(&self) {
        self.rows.borrow_mut().clear();
    }

    /// Records a list drawn this frame.
    pub fn rows(&self, rows: Rows) {
        self.rows.borrow_mut().push(rows);
    }

    /// The keys a click at (`column`, `row`) stands for.
    pub fn click(&self, column: u16, row: u16) -> Vec<Cmd> {
        let at = Position::new(column, row);
        let lists = self.rows.borrow();
        // The last drawn is on top (a drill-down over its list).
        let Some(hit) = lists.iter().rev().find(|r| r.area.contains(at)) else {
            return Vec::new();
        };
        let target = hit.first + usize::from(row - hit.area.y);
        if target >= hit.len {
            return Vec::new();
        }
        if target == hit.selected {
            return vec![Cmd::Enter];
        }
        let (cmd, n) = if target > hit.selected {
            (Cmd::Down, target - hit.selected)
        } else {
            (Cmd::Up, hit.selected - target)
        };
        vec![cmd; n]
    }
}

/// The action of a mouse event: the wheel as ↑/↓, a left click as a click.
pub fn map(event: MouseEvent) -> Option<Action> {
    match event.kind {
        MouseEventKind::ScrollUp => Some(Action::Cmd(Cmd::Up)),
        MouseEventKind::ScrollDown => Some(Action::Cmd(Cmd::Down)),
        MouseEventKind::Down(MouseButton::Left) => Some(Action::Click(event.column, event.row)),
        _ => None,
    }
}

/// The rows area of a bordered list or table drawn into `area` with
/// `header` lines above its rows.
pub fn body(area: Rect, header: u16) -> Rect {
    let inner = area.inner(ratatui::layout::Margin::new(1, 1));
    Rect {
        y: inner.y.saturating_add(header),
        height: inner.height.saturating_sub(header),
        ..inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_moves_the_selection_or_opens_the_selected_row() {
        let map = HitMap::default();
        map.rows(Rows {
            area: Rect::new(1, 3, 30, 5),
            first: 10,
            selected: 12,
            len: 14,
        });
        assert_eq!(map.click(5, 5), vec![Cmd::Enter], "row 12 is selected");
        assert_eq!(map.click(5, 3), vec![Cmd::Up, Cmd::Up], "row 10");
        assert_eq!(map.click(5, 6), vec![Cmd::Down], "row 13");
        assert!(map.click(5, 7).is_empty(), "row 14 does not exist");
        assert!(map.click(40, 4).is_empty(), "outside the list");
        map.clear();
        assert!(map.click(5, 5).is_empty());
    }
}
