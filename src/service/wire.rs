//! The client ↔ daemon protocol over the Unix socket: one request per
//! connection, as one JSON line, optionally followed by an attachment of
//! raw bytes (a CSV file: any encoding travels unchanged); answered by JSON
//! lines — progress frames for the operations that stream, then one `done`.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::audience::PlanRequest;
use crate::campaign::export::Format;
use crate::campaign::CampaignId;
use crate::dispatch::progress::{Progress, SnapshotData};

/// The longest request line a daemon reads (the attachment is separate).
pub const MAX_LINE: usize = 1 << 20;
/// The largest attachment a daemon accepts.
pub const MAX_ATTACHMENT: u64 = 4 << 30;

/// A file the client read and sends along (the daemon never opens a
/// client's path: it might not be allowed to, or be allowed too much).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    /// The name the operator gave, for reports.
    pub name: String,
    /// Bytes that follow the request line.
    pub len: u64,
}

/// How the operator confirmed a send (the rules live in the daemon).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Confirmation {
    /// `--yes`.
    pub yes: bool,
    /// What the operator typed when asked, if asked.
    pub typed: Option<String>,
}

/// One operation of the engine façade.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Which store, which mode, who am I.
    Hello,
    /// The dry run.
    Plan {
        /// What to plan.
        request: PlanRequest,
        /// The `--list` file.
        list: Option<Upload>,
    },
    /// Plan again, check the confirmation, create and start.
    Send {
        /// What to send.
        request: PlanRequest,
        /// The `--list` file.
        list: Option<Upload>,
        /// The operator's confirmation.
        confirm: Confirmation,
        /// Start later (and not after), instead of now.
        #[serde(default)]
        schedule: Option<crate::campaign::Schedule>,
    },
    /// Continue a paused or interrupted campaign.
    Resume {
        /// Campaign.
        id: CampaignId,
        /// Also re-send unknown outcomes (asked for explicitly).
        resend_unknown: bool,
    },
    /// Records the categories a client's template list showed (if any),
    /// then answers every template's latest category.
    TemplateCategories {
        /// What the API listed.
        #[serde(default)]
        listed: Vec<crate::engine::categories::ListedCategory>,
    },
    /// Bring every template of the WABA from the API into the store.
    TemplateSync,
    /// What Meta reported about the account and the templates (webhooks).
    Platform,
    /// The number's limits a client's `template list --sync` read.
    NumberLimits {
        /// As the API answered.
        limits: crate::cloud::NumberLimits,
    },
    /// Upload a file for media headers (the bytes follow the line).
    MediaUpload {
        /// The file.
        file: Upload,
    },
    /// The files uploaded for media headers.
    MediaList,
    /// Send again the recipients deferred (131049) at least 24 h ago.
    ResendDeferred {
        /// Campaign.
        id: CampaignId,
    },
    /// Stop sending until resumed.
    Pause {
        /// Campaign.
        id: CampaignId,
    },
    /// Skip everyone not yet sent, for good.
    Cancel {
        /// Campaign.
        id: CampaignId,
    },
    /// Stream a campaign's progress until it stops running.
    Watch {
        /// Campaign.
        id: CampaignId,
    },
    /// The configuration and catalog a view is drawn with.
    Setup,
    /// Campaigns, consent totals and tier use, for the TUI's home screen.
    Home,
    /// The whole dry run (every preview, every exclusion), for the TUI.
    PlanFull {
        /// What to plan.
        request: PlanRequest,
        /// The `--list` file.
        list: Option<Upload>,
    },
    /// A page of a campaign's journal.
    Journal {
        /// Campaign.
        id: CampaignId,
        /// First row.
        from: usize,
        /// Rows at most.
        len: usize,
    },
    /// A page of a campaign's results: latest states, newest change first.
    Results {
        /// Campaign.
        id: CampaignId,
        /// Only this state; every state when absent.
        #[serde(default)]
        state: Option<crate::campaign::journal::RecipientState>,
        /// Position of the first row, newest first.
        from: usize,
        /// Rows at most.
        len: usize,
    },
    /// Stream what the daemon's webhook receiver processes, until the client leaves.
    Webhooks,
    /// Stay connected until the client leaves: a client that is open but
    /// quiet (the TUI on its home screen) keeps an auto-started daemon.
    Attach,
    /// Campaigns with counts.
    Campaigns,
    /// One campaign with counts.
    Status {
        /// Campaign.
        id: CampaignId,
    },
    /// What a campaign achieved (`campaign report`).
    Report {
        /// Campaign.
        id: CampaignId,
    },
    /// Per-recipient results, rendered.
    Export {
        /// Campaign.
        id: CampaignId,
        /// CSV or JSON lines.
        format: Format,
        /// Numbers masked to their last digits.
        #[serde(default)]
        mask: bool,
    },
    /// The store's contacts, filtered.
    Consents {
        /// Only this topic.
        topic: Option<String>,
        /// Only this state.
        status: Option<String>,
    },
    /// A page of the consent browser's list.
    ConsentPage {
        /// Which contacts.
        filter: crate::engine::browse::ConsentFilter,
        /// Position of the first row.
        from: usize,
        /// Rows at most.
        len: usize,
    },
    /// One number's state and history.
    Consent {
        /// The number as typed.
        phone: String,
    },
    /// Revoke one topic or all.
    Revoke {
        /// The number as typed.
        phone: String,
        /// Only this topic.
        topic: Option<String>,
    },
    /// Import a consent CSV.
    Import {
        /// The file.
        file: Upload,
        /// Default source.
        source: Option<String>,
        /// Write nothing.
        dry_run: bool,
        /// Return the rejected rows as a CSV.
        rejects: bool,
    },
    /// Ask a pending consent to confirm (double opt-in).
    Invite {
        /// The number as typed.
        phone: String,
        /// Topic.
        topic: String,
        /// Confirmation template.
        template: String,
        /// Its language.
        language: Option<String>,
    },
    /// Check the audit trail's chain.
    AuditVerify,
    /// Entries of the audit trail.
    AuditShow {
        /// Which.
        filter: crate::engine::gdpr::TrailFilter,
    },
    /// A campaign's DPO proof.
    AuditProof {
        /// Campaign.
        id: CampaignId,
        /// JSON, CSV or Markdown.
        format: crate::audit::proof::ProofFormat,
    },
    /// Everything stored about one number (G10 access).
    AccessExport {
        /// The number as typed.
        phone: String,
    },
    /// Erase one number from everything bote stores (G10).
    Erase {
        /// The number as typed.
        phone: String,
    },
    /// Write an encrypted backup and stream it back (G11): `bytes` frames,
    /// then the summary.
    BackupCreate {
        /// The passphrase or the public keys it is encrypted to.
        key: crate::backup::BackupKey,
        /// Where the client puts it (for the audit trail).
        out: String,
    },
    /// Apply the retention periods (G9).
    Purge {
        /// Count only.
        dry_run: bool,
    },
    /// The set-up checks a DPO reads (`bote doctor`).
    Doctor,
    /// Stop the daemon gracefully.
    Shutdown,
}

impl Request {
    /// The attachment that follows the line, if any.
    pub fn upload(&self) -> Option<&Upload> {
        match self {
            Self::Plan { list, .. } | Self::PlanFull { list, .. } | Self::Send { list, .. } => {
                list.as_ref()
            }
            Self::Import { file, .. } | Self::MediaUpload { file } => Some(file),
            _ => None,
        }
    }
}

/// Why an operation did not happen.
#[derive(Debug, Clone, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum Failure {
    /// Not allowed: role, consent, confirmation, tier (exit 4).
    #[error("refused: {0}")]
    Refused(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Error(String),
}

impl Failure {
    /// Replaces `from` with `to` in the message (a spool path by the name
    /// the operator gave).
    pub fn rename(&mut self, from: &str, to: &str) {
        let (Self::Refused(m) | Self::Error(m)) = self;
        if m.contains(from) {
            *m = m.replace(from, to);
        }
    }
}

/// One line of an answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "snake_case")]
pub enum Frame {
    /// A campaign's event.
    Event {
        /// The event.
        event: Progress,
    },
    /// A campaign's numbers (sent on attach and every few hundred ms).
    Snapshot {
        /// The numbers.
        snapshot: SnapshotData,
    },
    /// The answer; nothing follows.
    Done {
        /// The value, or why not.
        result: Result<serde_json::Value, Failure>,
    },
    /// One event the webhook receiver processed (masked numbers).
    Webhook {
        /// What happened.
        outcome: crate::webhook::Outcome,
    },
    /// Nothing new; sent now and then so that a long stream notices a
    /// client that has gone.
    Alive,
    /// `len` raw bytes follow this line (a backup's ciphertext).
    Bytes {
        /// How many.
        len: u64,
    },
}

/// Writes one frame as a JSON line.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(frame).map_err(std::io::Error::other)?;
    line.push(b'\n');
    w.write_all(&line).await
}

/// Reads one JSON line of at most `max` bytes; `None` at end of stream.
pub async fn read_line<R: AsyncBufRead + Unpin, T: serde::de::DeserializeOwned>(
    r: &mut R,
    max: usize,
) -> std::io::Result<Option<T>> {
    let mut buf = Vec::new();
    let n = (&mut *r)
        .take(max as u64 + 1)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line longer than {max} bytes or cut short"),
        ));
    }
    serde_json::from_slice(&buf)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_overlong_lines_are_refused() {
        let mut out = Vec::new();
        let done = Frame::Done {
            result: Err(Failure::Refused("no".into())),
        };
        write_frame(&mut out, &done).await.expect("write");
        let mut r = tokio::io::BufReader::new(&out[..]);
        let back: Frame = read_line(&mut r, MAX_LINE)
            .await
            .expect("read")
            .expect("a frame");
        assert!(matches!(back, Frame::Done { result: Err(Failure::Refused(m)) } if m == "no"));
        let long = [b'a'; 100];
        let mut r = tokio::io::BufReader::new(&long[..]);
        assert!(read_line::<_, Frame>(&mut r, 10).await.is_err());
    }
}
