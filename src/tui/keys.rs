//! The key map: one table per screen, read both to turn a key into a
//! [`Cmd`] and to draw the footer hints and the `?` overlay — so what the
//! screen says and what the keys do cannot drift apart.
//!
//! A screen may say that one of its keys does nothing in its present state
//! (`screens::works`: no pause once a campaign has finished); the footer
//! then leaves it out.
//!
//! Order of precedence: Ctrl-C (always quits, detaching a running
//! campaign), the help overlay (the arrows and page keys scroll it, any
//! other key closes it), a dialog, a focused text field (printable keys
//! are text), then the screen's table, then the shared navigation keys; a
//! key none of them knows earns a short hint in the status line.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::{Action, Cmd, InputKey};
use super::app::{App, Confirm, ScreenId};
use super::screens;

/// One key of a screen.
#[derive(Debug, Clone, Copy)]
pub struct Bind {
    /// The key.
    pub code: KeyCode,
    /// What it does.
    pub cmd: Cmd,
    /// How the footer and help name the key.
    pub label: &'static str,
    /// What the help says: a message id of the catalog (`i18n`).
    pub help: &'static str,
    /// Whether the footer shows it.
    pub hint: bool,
}

const fn b(code: KeyCode, cmd: Cmd, label: &'static str, help: &'static str, hint: bool) -> Bind {
    Bind {
        code,
        cmd,
        label,
        help,
        hint,
    }
}

use KeyCode::{BackTab, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up};

/// Keys shared by every screen.
pub const NAV: &[Bind] = &[
    b(Up, Cmd::Up, "↑", "key-previous-row-field", false),
    b(Down, Cmd::Down, "↓", "key-next-row-field", false),
    b(PageUp, Cmd::PageUp, "PgUp", "key-page-up", false),
    b(PageDown, Cmd::PageDown, "PgDn", "key-page-down", false),
    b(Home, Cmd::Top, "Home", "key-first-row", false),
    b(End, Cmd::Bottom, "End", "key-last-row-follow-newest", false),
    b(Left, Cmd::Left, "←", "key-previous-value", false),
    b(Right, Cmd::Right, "→", "key-next-value", false),
    b(Tab, Cmd::Tab, "Tab", "key-next-field", false),
    b(BackTab, Cmd::BackTab, "S-Tab", "key-previous-field", false),
    b(Enter, Cmd::Enter, "Enter", "key-open-choose", false),
    b(Esc, Cmd::Back, "Esc", "key-back", true),
    b(
        Char('q'),
        Cmd::Back,
        "q",
        "key-back-quit-on-the-home-screen",
        false,
    ),
    b(Char('?'), Cmd::Help, "?", "key-keys", true),
];

const HOME: &[Bind] = &[
    b(Char('n'), Cmd::NewCampaign, "n", "key-new-campaign", true),
    b(Char('c'), Cmd::Consents, "c", "key-consents", true),
    b(Enter, Cmd::Enter, "Enter", "key-open-campaign", true),
    b(Char('r'), Cmd::Refresh, "r", "key-refresh", true),
    b(Char('q'), Cmd::Back, "q", "key-quit", true),
];

const TEMPLATE: &[Bind] = &[b(Enter, Cmd::Enter, "Enter", "key-use-template", true)];

const AUDIENCE: &[Bind] = &[
    b(Left, Cmd::Left, "←→", "key-topic", true),
    b(Tab, Cmd::Tab, "Tab", "key-next-field", true),
    b(Enter, Cmd::Enter, "Enter", "key-dry-run", true),
];

const PLAN: &[Bind] = &[
    b(Enter, Cmd::Enter, "Enter", "key-recipients-of-reason", true),
    b(Left, Cmd::Left, "←→", "key-previews", true),
    b(Char('s'), Cmd::Send, "s", "key-send-ask", true),
    b(Char('a'), Cmd::AckTopic, "a", "key-ack-topic", true),
    b(
        Char('i'),
        Cmd::IncludeRecent,
        "i",
        "key-include-leave-out-who-got-this-template-recently",
        true,
    ),
];

const CONFIRM: &[Bind] = &[
    b(Char('y'), Cmd::Yes, "y", "key-send", true),
    b(Char('n'), Cmd::No, "n", "key-back", true),
];

const DASHBOARD: &[Bind] = &[
    b(Char('p'), Cmd::Pause, "p", "key-pause", true),
    b(Char('r'), Cmd::Resume, "r", "key-resume", true),
    b(Char('c'), Cmd::Cancel, "c", "key-cancel", true),
    b(Char('f'), Cmd::Filter, "f", "key-filter", true),
    b(End, Cmd::Bottom, "End", "key-follow", false),
    b(Enter, Cmd::Enter, "Enter", "key-details-and-export", true),
];

const DETAIL: &[Bind] = &[
    b(Char('e'), Cmd::ExportCsv, "e", "key-export-csv", true),
    b(Char('j'), Cmd::ExportJson, "j", "key-export-json", true),
    b(
        Char('u'),
        Cmd::ResendUnknown,
        "u",
        "key-re-send-unknown",
        true,
    ),
    b(Char('r'), Cmd::Resume, "r", "key-resume", true),
];

const CONSENT: &[Bind] = &[
    b(Char('/'), Cmd::Search, "/", "key-search", true),
    b(Char('f'), Cmd::Filter, "f", "key-filter-contacts", true),
    b(Enter, Cmd::Enter, "Enter", "key-open-number", true),
    b(Char('x'), Cmd::Revoke, "x", "key-revoke-topic", true),
    b(Char('X'), Cmd::RevokeAll, "X", "key-revoke-all", true),
    b(Char('i'), Cmd::Import, "i", "key-import-csv", true),
];

const IMPORT: &[Bind] = &[b(Enter, Cmd::Enter, "Enter", "key-import", true)];

/// The table of a screen.
pub fn screen_binds(screen: ScreenId) -> &'static [Bind] {
    match screen {
        ScreenId::Home => HOME,
        ScreenId::Template => TEMPLATE,
        ScreenId::Audience => AUDIENCE,
        ScreenId::Plan => PLAN,
        ScreenId::Confirm => CONFIRM,
        ScreenId::Dashboard => DASHBOARD,
        ScreenId::Detail => DETAIL,
        ScreenId::Consent => CONSENT,
        ScreenId::Import => IMPORT,
    }
}

/// Footer hints: the screen's keys, then back and help, in the
/// operator's language.
pub fn hints(app: &App) -> Vec<(&'static str, String)> {
    let said = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, id)| (*k, app.t(id))).collect()
    };
    if let Some(m) = &app.modal {
        return match (&m.confirm, &m.expected) {
            (Confirm::Export { .. }, _) => said(&[
                ("Enter", "hint-write"),
                ("Tab", "hint-mask-numbers"),
                ("Ctrl-U", "hint-clear"),
                ("Esc", "hint-cancel"),
            ]),
            (_, Some(_)) => said(&[("Enter", "hint-confirm"), ("Esc", "hint-no")]),
            (_, None) => said(&[("y/Enter", "hint-yes"), ("n/Esc", "hint-no")]),
        };
    }
    if app.text_focus() {
        return said(&[
            ("Enter", "hint-submit"),
            ("Tab", "key-next-field"),
            ("Esc", "key-back"),
            ("Ctrl-U", "hint-clear"),
            ("?", "key-keys"),
        ]);
    }
    let screen = app.screen();
    let own = screen_binds(screen)
        .iter()
        .filter(|b| b.hint && screens::works(app, b.cmd));
    let nav = NAV
        .iter()
        .filter(|b| b.hint && !(screen == ScreenId::Home && b.cmd == Cmd::Back));
    own.chain(nav).map(|b| (b.label, app.t(b.help))).collect()
}

/// The keys of the current screen that work now, then the shared ones it
/// does not bind itself, for the help overlay.
pub fn help(app: &App) -> Vec<(&'static str, String)> {
    let own = screen_binds(app.screen());
    let mut out: Vec<(&str, String)> = own
        .iter()
        .filter(|b| screens::works(app, b.cmd))
        .map(|b| (b.label, app.t(b.help)))
        .collect();
    // A screen's own meaning of a key (Enter, q, ←) replaces the shared one.
    out.extend(
        NAV.iter()
            .filter(|n| !own.iter().any(|b| b.code == n.code))
            .map(|b| (b.label, app.t(b.help))),
    );
    out.push(("Mouse", app.t("key-mouse")));
    out.push(("Ctrl-C", app.t("key-ctrl-c")));
    out
}

/// How the status line names a key that does nothing here; `None` for
/// keys not worth a word (modifiers, media keys).
fn unknown(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let label = match key.code {
        Char(c) if ctrl => format!("Ctrl-{c}"),
        Char(' ') => "Space".into(),
        Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Delete => "Delete".into(),
        KeyCode::Insert => "Insert".into(),
        _ => return None,
    };
    Some(Action::UnknownKey(label))
}

/// The keys that scroll the help overlay; any other closes it.
const HELP_SCROLL: [Cmd; 6] = [
    Cmd::Up,
    Cmd::Down,
    Cmd::PageUp,
    Cmd::PageDown,
    Cmd::Top,
    Cmd::Bottom,
];

/// The action a key stands for on the current screen, if any.
pub fn map(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == Char('c') {
        return Some(Action::Cmd(Cmd::Quit));
    }
    if app.help.is_some() {
        let scroll = NAV
            .iter()
            .find(|b| b.code == key.code && HELP_SCROLL.contains(&b.cmd));
        return Some(Action::Cmd(scroll.map_or(Cmd::Help, |b| b.cmd)));
    }
    if key.code == Char('?') {
        return Some(Action::Cmd(Cmd::Help));
    }
    if let Some(modal) = &app.modal {
        if key.code == Char('u') && ctrl && modal.takes_text() {
            return Some(Action::Input(InputKey::Clear));
        }
        return match (modal.takes_text(), key.code) {
            (_, Enter) => Some(Action::Cmd(Cmd::Yes)),
            (_, Esc) => Some(Action::Cmd(Cmd::No)),
            (_, Tab) => Some(Action::Cmd(Cmd::Tab)),
            (true, KeyCode::Backspace) => Some(Action::Input(InputKey::Backspace)),
            (true, Char(c)) => Some(Action::Input(InputKey::Char(c))),
            (false, Char('y' | 'Y' | 'j' | 'J')) => Some(Action::Cmd(Cmd::Yes)),
            (false, Char('n' | 'N' | 'q')) => Some(Action::Cmd(Cmd::No)),
            _ => None,
        };
    }
    if app.text_focus() {
        match key.code {
            Char('u') if ctrl => return Some(Action::Input(InputKey::Clear)),
            Char(c) if !ctrl => return Some(Action::Input(InputKey::Char(c))),
            KeyCode::Backspace => return Some(Action::Input(InputKey::Backspace)),
            Char(_) => return None,
            _ => {}
        }
    }
    // In the consent browser a number typed starts a new search, without
    // pressing / first.
    if let (ScreenId::Consent, Char(c)) = (app.screen(), key.code) {
        if !ctrl && (c.is_ascii_digit() || c == '+') {
            return Some(Action::Input(InputKey::Char(c)));
        }
    }
    let find = |table: &[Bind]| table.iter().find(|b| b.code == key.code).map(|b| b.cmd);
    match find(screen_binds(app.screen())).or_else(|| find(NAV)) {
        Some(cmd) => Some(Action::Cmd(cmd)),
        None => unknown(key),
    }
}
