//! The action bus: everything that can change the [`App`](super::app::App)
//! arrives as an [`Action`] (a key already mapped to a [`Cmd`], a finished
//! background job, a batch of engine events), and everything the app wants
//! done outside itself leaves as an [`Effect`]. Only `update` turns the one
//! into the other, so screens are tested by feeding actions — no terminal,
//! no clock, no engine needed.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audience::{Plan, PlanRequest};
use crate::campaign::export::Format;
use crate::campaign::journal::RecipientState;
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::consent::import::ImportReport;
use crate::consent::{ConsentEvent, Contact};
use crate::dispatch::progress::{Progress, SnapshotData};
use crate::phone::Phone;

pub use crate::engine::reads::{Home as HomeData, JournalPage, ResultsPage};

/// A key, after the key map read it for the current screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    /// Leave bote (asks first while a campaign sends).
    Quit,
    /// One screen back (quits on the home screen).
    Back,
    /// Show or hide the keys.
    Help,
    /// Selection up.
    Up,
    /// Selection down.
    Down,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// First row.
    Top,
    /// Last row (the dashboard: follow the newest).
    Bottom,
    /// Previous value / preview.
    Left,
    /// Next value / preview.
    Right,
    /// Open, choose, submit.
    Enter,
    /// Next field.
    Tab,
    /// Previous field.
    BackTab,
    /// Home: the new-campaign wizard.
    NewCampaign,
    /// Home: the consent browser.
    Consents,
    /// Reload from the store.
    Refresh,
    /// Plan: on to the confirmation.
    Send,
    /// Include (or leave out again) who got the template recently.
    IncludeRecent,
    /// Acknowledge (or take back) a template written for another topic.
    AckTopic,
    /// Dashboard: pause sending.
    Pause,
    /// Dashboard / detail: resume sending.
    Resume,
    /// Dashboard: cancel (asks again).
    Cancel,
    /// Dashboard: cycle the state filter.
    Filter,
    /// Detail: export CSV.
    ExportCsv,
    /// Detail: export JSON lines.
    ExportJson,
    /// Detail: send the unknown ones again (asks again).
    ResendUnknown,
    /// Consent: revoke the selected topic (asks again).
    Revoke,
    /// Consent: revoke every topic (asks again).
    RevokeAll,
    /// Consent: import a CSV.
    Import,
    /// Consent: edit the search.
    Search,
    /// Modal: yes.
    Yes,
    /// Modal: no.
    No,
}

/// A keystroke for the focused text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKey {
    /// A printable character.
    Char(char),
    /// Delete before the cursor.
    Backspace,
    /// Empty the field.
    Clear,
}

/// One exclusion reason of a plan, with the indexes of its recipients.
#[derive(Debug, Clone)]
pub struct ReasonGroup {
    /// Stable code.
    pub code: &'static str,
    /// Human text (of the first member).
    pub description: String,
    /// Indexes into `plan.excluded`.
    pub members: Vec<usize>,
}

/// A plan plus what its screen needs precomputed (so drawing stays O(screen)).
#[derive(Debug, Clone)]
pub struct PlanView {
    /// The dry run.
    pub plan: Plan,
    /// Exclusions grouped per reason, most frequent first.
    pub reasons: Vec<ReasonGroup>,
}

/// One number's consent state and history.
#[derive(Debug, Clone)]
pub struct ConsentLookup {
    /// The number searched.
    pub phone: Phone,
    /// Its state, if it is in the store.
    pub contact: Option<Contact>,
    /// Its history, oldest first.
    pub history: Vec<ConsentEvent>,
    /// When it was erased, if it is on the suppression list.
    pub suppressed: Option<DateTime<Utc>>,
}

/// Engine events drained in one frame, plus the snapshot read after them.
#[derive(Debug, Clone, Default)]
pub struct ProgressBatch {
    /// Events in order.
    pub events: Vec<Progress>,
    /// The numbers as of now (authoritative for counts and rate).
    pub snapshot: SnapshotData,
    /// Whether events were lost because the view lagged.
    pub lagged: bool,
}

/// Everything that changes the app.
#[derive(Debug, Clone)]
pub enum Action {
    /// Time passes (drives clocks, ETAs, debounced planning).
    Tick(DateTime<Utc>),
    /// A mapped key.
    Cmd(Cmd),
    /// A key for the focused text field.
    Input(InputKey),
    /// The terminal's size changed: columns, rows.
    Resize(u16, u16),
    /// A left click at column, row.
    Click(u16, u16),
    /// A key no binding of the current screen knows (as the hint names it).
    UnknownKey(String),
    /// Home data arrived.
    Home(Result<HomeData, String>),
    /// A dry run finished (`seq` tells stale ones apart).
    Planned {
        /// Request number.
        seq: u64,
        /// The plan, or why not.
        result: Result<Arc<PlanView>, String>,
    },
    /// A campaign started sending (the runner holds its handle).
    Started(Box<CampaignMeta>),
    /// Engine events of this frame.
    Progress(Box<ProgressBatch>),
    /// The run ended and its handle is gone.
    RunEnded {
        /// Campaign.
        id: CampaignId,
        /// Final state, or the error.
        result: Result<CampaignState, String>,
    },
    /// A journal page arrived.
    Journal(Result<Box<JournalPage>, String>),
    /// A page of the dashboard's results arrived.
    Results(Result<Box<ResultsPage>, String>),
    /// An export finished: path and rows.
    Exported(Result<(PathBuf, u64), String>),
    /// A consent lookup finished.
    Consent(Result<Box<ConsentLookup>, String>),
    /// A page of the consent list, or why not.
    Contacts(Result<Box<crate::engine::browse::ConsentPage>, String>),
    /// A revocation finished: topics changed.
    Revoked(Result<usize, String>),
    /// An import finished.
    Imported(Result<Box<ImportReport>, String>),
    /// A background job failed.
    Failed(String),
}

/// What the app asks the runner to do.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Read campaigns, totals and the tier.
    LoadHome,
    /// The dry run.
    Plan {
        /// Request number.
        seq: u64,
        /// What to plan.
        request: PlanRequest,
    },
    /// Send the planned campaign (the daemon plans again and checks `typed`).
    CreateAndStart {
        /// The dry run the operator confirmed.
        plan: Arc<PlanView>,
        /// What the operator answered (y, or the recipient count when live).
        typed: String,
    },
    /// Start or resume a campaign; optionally requeue its unknowns first.
    Start {
        /// Campaign.
        id: CampaignId,
        /// Send the unknown ones again (the operator asked twice).
        requeue_unknown: bool,
    },
    /// Pause the running campaign.
    Pause,
    /// Resume the running campaign.
    Resume,
    /// Cancel the running campaign.
    Cancel,
    /// Read a page of a journal.
    LoadJournal {
        /// Campaign.
        id: CampaignId,
        /// First row.
        from: usize,
        /// Rows.
        len: usize,
    },
    /// Read a page of a campaign's results (newest change first).
    LoadResults {
        /// Campaign.
        id: CampaignId,
        /// Only this state; every state when `None`.
        filter: Option<RecipientState>,
        /// Position of the first row.
        from: usize,
        /// Rows.
        len: usize,
    },
    /// Export a campaign's results to a new file (never over an old one).
    Export {
        /// Campaign.
        id: CampaignId,
        /// CSV or JSON lines.
        format: Format,
        /// The file, as the operator confirmed it.
        path: PathBuf,
        /// Numbers masked to their last digits.
        mask: bool,
    },
    /// Look a number up.
    LookupConsent(String),
    /// Read a page of the consent list.
    LoadContacts {
        /// Which contacts.
        filter: crate::engine::browse::ConsentFilter,
        /// Position of the first row.
        from: usize,
    },
    /// Revoke a number's consent (one topic or all).
    Revoke {
        /// The number.
        phone: Phone,
        /// One topic, or all.
        topic: Option<String>,
    },
    /// Import a consent CSV.
    Import(PathBuf),
    /// Leave the event loop.
    Quit,
}
