//! The requests the TUI makes to the store's daemon, one per [`Effect`].
//!
//! Each is made in the background, never while drawing, and turns into
//! exactly one [`Action`], errors included, so a failing daemon becomes a
//! message on screen rather than a crash. The TUI decides nothing here:
//! roles, the live-send gate and the confirmation rule are the daemon's.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::action::{
    Action, ConsentLookup, Effect, HomeData, JournalPage, PlanView, ReasonGroup, ResultsPage,
};
use crate::audience::{Plan, PlanRequest};
use crate::campaign::export::Format;
use crate::campaign::journal::RecipientState;
use crate::campaign::{CampaignId, CampaignMeta};
use crate::cli::output::describe_anyhow;
pub use crate::clock::Clock;
use crate::consent::import::ImportReport;
use crate::consent::store::{open_private, PrivateFile};
use crate::engine::ops::{self, CampaignStatus, ImportResult, Revoked};
use crate::phone::Phone;
use crate::service::client::{Attachment, Client};
use crate::service::wire::{Confirmation, Request, Upload};

/// What the requests share.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The daemon of the store.
    pub client: Client,
    /// The view's "now" (ticks, ETAs); the daemon keeps its own.
    pub clock: Clock,
}

/// An error as one line, each cause said once (see [`describe_anyhow`]).
fn err(e: impl Into<anyhow::Error>) -> String {
    describe_anyhow(&e.into())
}

/// Runs a request-only effect; `None` for effects the runner performs itself.
pub async fn perform(ctx: &Ctx, effect: Effect) -> Option<Action> {
    Some(match effect {
        Effect::LoadHome => Action::Home(load_home(ctx).await),
        Effect::Plan { seq, request } => Action::Planned {
            seq,
            result: plan(ctx, &request).await.map(Arc::new),
        },
        Effect::LoadJournal { id, from, len } => {
            Action::Journal(journal_page(ctx, id, from, len).await.map(Box::new))
        }
        Effect::LoadResults {
            id,
            filter,
            from,
            len,
        } => Action::Results(results_page(ctx, id, filter, from, len).await.map(Box::new)),
        Effect::Export {
            id,
            format,
            path,
            mask,
        } => Action::Exported(export_file(ctx, id, format, &path, mask).await),
        Effect::LookupConsent(input) => Action::Consent(lookup(ctx, &input).await.map(Box::new)),
        Effect::LoadContacts { filter, from } => Action::Contacts(
            ctx.client
                .call(
                    &Request::ConsentPage {
                        filter,
                        from,
                        len: super::screens::contacts::PAGE,
                    },
                    None,
                )
                .await
                .map(Box::new)
                .map_err(err),
        ),
        Effect::Revoke { phone, topic } => Action::Revoked(revoke(ctx, phone, topic).await),
        Effect::Import(path) => Action::Imported(import_file(ctx, &path).await.map(Box::new)),
        _ => return None,
    })
}

/// The `--list` file of a request, to send along (the daemon never opens
/// a client's path), and its description for the request line.
fn list_of(request: &PlanRequest) -> Result<(Option<Attachment>, Option<Upload>), String> {
    match request.list.as_deref().map(Attachment::open).transpose() {
        Ok(Some((a, u))) => Ok((Some(a), Some(u))),
        Ok(None) => Ok((None, None)),
        Err(e) => Err(err(e)),
    }
}

/// Campaigns with counts, consent totals (configured topics first), tier use.
pub async fn load_home(ctx: &Ctx) -> Result<HomeData, String> {
    ctx.client.call(&Request::Home, None).await.map_err(err)
}

/// The dry run, as the daemon makes it, grouped for the drill-down.
pub async fn plan(ctx: &Ctx, request: &PlanRequest) -> Result<PlanView, String> {
    let (attachment, upload) = list_of(request)?;
    let plan: Plan = ctx
        .client
        .call(
            &Request::PlanFull {
                request: request.clone(),
                list: upload,
            },
            attachment.as_ref(),
        )
        .await
        .map_err(err)?;
    Ok(view(plan))
}

/// Groups a plan's exclusions per reason, most frequent first.
pub fn view(plan: Plan) -> PlanView {
    let mut groups: BTreeMap<&'static str, ReasonGroup> = BTreeMap::new();
    for (i, x) in plan.excluded.iter().enumerate() {
        groups
            .entry(x.reason.code())
            .or_insert_with(|| ReasonGroup {
                code: x.reason.code(),
                description: x.reason.describe(),
                members: Vec::new(),
            })
            .members
            .push(i);
    }
    let mut reasons: Vec<ReasonGroup> = groups.into_values().collect();
    reasons.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.code.cmp(b.code))
    });
    PlanView { plan, reasons }
}

/// A page of a journal, with the campaign and its counts.
pub async fn journal_page(
    ctx: &Ctx,
    id: CampaignId,
    from: usize,
    len: usize,
) -> Result<JournalPage, String> {
    ctx.client
        .call(&Request::Journal { id, from, len }, None)
        .await
        .map_err(err)
}

/// A page of a campaign's results: latest states, newest change first.
pub async fn results_page(
    ctx: &Ctx,
    id: CampaignId,
    state: Option<RecipientState>,
    from: usize,
    len: usize,
) -> Result<ResultsPage, String> {
    ctx.client
        .call(
            &Request::Results {
                id,
                state,
                from,
                len,
            },
            None,
        )
        .await
        .map_err(err)
}

/// The daemon renders the export (numbers masked if asked); it is written
/// to `path`, owner-only as it holds numbers, and never over an existing
/// file. A missing directory is created owner-only.
pub async fn export_file(
    ctx: &Ctx,
    id: CampaignId,
    format: Format,
    path: &std::path::Path,
    mask: bool,
) -> Result<(PathBuf, u64), String> {
    #[derive(serde::Deserialize)]
    struct Rendered {
        rows: u64,
        text: String,
    }
    let r: Rendered = ctx
        .client
        .call(&Request::Export { id, format, mask }, None)
        .await
        .map_err(err)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut file = open_private(path, PrivateFile::New).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{} exists: bote never replaces an export; choose another name",
            path.display()
        ),
        _ => format!("{}: {e}", path.display()),
    })?;
    file.write_all(r.text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((path.to_owned(), r.rows))
}

/// One number's state and history.
pub async fn lookup(ctx: &Ctx, input: &str) -> Result<ConsentLookup, String> {
    let found: ops::ConsentLookup = ctx
        .client
        .call(
            &Request::Consent {
                phone: input.to_string(),
            },
            None,
        )
        .await
        .map_err(err)?;
    let phone = Phone::from_e164(&found.phone)
        .ok_or_else(|| format!("the daemon answered an invalid number {:?}", found.phone))?;
    Ok(ConsentLookup {
        phone,
        contact: found.contact,
        history: found.history,
        suppressed: found.suppressed_since,
    })
}

/// The operator revokes (G5): one topic or all, durable before it returns.
pub async fn revoke(ctx: &Ctx, phone: Phone, topic: Option<String>) -> Result<usize, String> {
    let r: Revoked = ctx
        .client
        .call(
            &Request::Revoke {
                phone: phone.e164(),
                topic,
            },
            None,
        )
        .await
        .map_err(err)?;
    Ok(r.topics)
}

/// Imports a consent CSV (the file travels to the daemon).
pub async fn import_file(ctx: &Ctx, path: &Path) -> Result<ImportReport, String> {
    let (attachment, file) = Attachment::open(path).map_err(err)?;
    let r: ImportResult = ctx
        .client
        .call(
            &Request::Import {
                file,
                source: None,
                dry_run: false,
                rejects: false,
            },
            Some(&attachment),
        )
        .await
        .map_err(err)?;
    Ok(r.report)
}

/// Sends the planned campaign: the daemon plans again, checks the gate and
/// what the operator typed, creates and starts it.
pub async fn send(ctx: &Ctx, request: &PlanRequest, typed: String) -> Result<CampaignMeta, String> {
    #[derive(serde::Deserialize)]
    struct Sent {
        campaign: CampaignMeta,
    }
    let (attachment, upload) = list_of(request)?;
    let sent: Sent = ctx
        .client
        .call(
            &Request::Send {
                request: request.clone(),
                list: upload,
                confirm: Confirmation {
                    yes: false,
                    typed: Some(typed),
                },
                schedule: None,
            },
            attachment.as_ref(),
        )
        .await
        .map_err(err)?;
    Ok(sent.campaign)
}

/// Resumes (or restarts) a campaign; unknown outcomes go again only when asked.
pub async fn resume(
    ctx: &Ctx,
    id: CampaignId,
    resend_unknown: bool,
) -> Result<CampaignMeta, String> {
    let st: CampaignStatus = ctx
        .client
        .call(&Request::Resume { id, resend_unknown }, None)
        .await
        .map_err(err)?;
    Ok(st.campaign)
}
