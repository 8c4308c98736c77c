//! The blocking jobs behind [`Effect`]s: every store read and write the TUI
//! makes happens here, on tokio's blocking pool, never while drawing. Each
//! job turns into exactly one [`Action`], errors included, so a failing
//! store becomes a message on screen rather than a crash.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::action::{Action, ConsentLookup, Effect, HomeData, JournalPage, PlanView, ReasonGroup};
use crate::audience::{self, Plan, PlanRequest};
use crate::campaign::export::{self, Format};
use crate::campaign::CampaignId;
use crate::consent::import::{self, ImportOptions};
use crate::consent::store::TopicTotals;
use crate::consent::Revocation;
use crate::engine::Engine;
use crate::phone::Phone;

/// Where "now" comes from: the system, or a fixed instant (tests).
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// `Utc::now()`.
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// Now.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(t) => t,
        }
    }
}

/// What the jobs share.
#[derive(Clone)]
pub struct Ctx {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Whether sends go to the simulator.
    pub sandbox: bool,
    /// Now.
    pub clock: Clock,
    /// Where exports are written.
    pub out_dir: PathBuf,
    /// Who acts (G13).
    pub actor: String,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs a blocking effect; `None` for effects that are not jobs.
pub fn perform(ctx: &Ctx, effect: Effect) -> Option<Action> {
    Some(match effect {
        Effect::LoadHome => Action::Home(load_home(ctx)),
        Effect::Plan { seq, request } => Action::Planned {
            seq,
            result: plan(ctx, &request).map(Arc::new),
        },
        Effect::LoadJournal { id, from, len } => {
            Action::Journal(journal_page(ctx, id, from, len).map(Box::new))
        }
        Effect::Export { id, format } => Action::Exported(export_file(ctx, id, format)),
        Effect::LookupConsent(input) => Action::Consent(lookup(ctx, &input).map(Box::new)),
        Effect::Revoke { phone, topic } => Action::Revoked(revoke(ctx, phone, topic.as_deref())),
        Effect::Import(path) => Action::Imported(import_file(ctx, &path).map(Box::new)),
        _ => return None,
    })
}

/// Campaigns with counts, consent totals (configured topics first), tier use.
pub fn load_home(ctx: &Ctx) -> Result<HomeData, String> {
    let e = &ctx.engine;
    let mut campaigns = Vec::new();
    for meta in e.campaigns.list().map_err(err)? {
        let counts = e
            .campaigns
            .journal(meta.id)
            .and_then(|j| j.counts())
            .map_err(err)?;
        campaigns.push((meta, counts));
    }
    let mut stored = e.store.totals().map_err(err)?;
    let mut totals: Vec<(String, TopicTotals)> = e
        .config
        .consent
        .topics
        .iter()
        .map(|t| (t.clone(), stored.remove(t).unwrap_or_default()))
        .collect();
    totals.extend(stored);
    let since = ctx.clock.now() - Duration::hours(24);
    let tier_used = e.store.unique_recipients_since(since).map_err(err)?.len() as u64;
    Ok(HomeData {
        campaigns,
        totals,
        tier_used,
    })
}

/// The dry run (with the injected clock: the same call `Engine::plan`
/// makes), grouped per exclusion reason for the drill-down.
pub fn plan(ctx: &Ctx, request: &PlanRequest) -> Result<PlanView, String> {
    let e = &ctx.engine;
    let plan =
        audience::plan(&e.store, &e.config, &e.catalog, request, ctx.clock.now()).map_err(err)?;
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
pub fn journal_page(
    ctx: &Ctx,
    id: CampaignId,
    from: usize,
    len: usize,
) -> Result<JournalPage, String> {
    let e = &ctx.engine;
    let meta = e.campaigns.require(id).map_err(err)?;
    let journal = e.campaigns.journal(id).map_err(err)?;
    let counts = journal.counts().map_err(err)?;
    let rows = journal
        .iter()
        .skip(from)
        .take(len)
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    Ok(JournalPage {
        meta,
        counts,
        from,
        rows,
    })
}

/// Exports to `bote-campaign-ID.csv` (or `.jsonl`) in the output dir, never
/// overwriting: an existing name gets `-2`, `-3` …; owner-only, as it holds numbers.
pub fn export_file(ctx: &Ctx, id: CampaignId, format: Format) -> Result<(PathBuf, u64), String> {
    let journal = ctx.engine.campaigns.journal(id).map_err(err)?;
    let ext = match format {
        Format::Csv => "csv",
        Format::Json => "jsonl",
    };
    for n in 1..1000 {
        let name = match n {
            1 => format!("bote-campaign-{id}.{ext}"),
            _ => format!("bote-campaign-{id}-{n}.{ext}"),
        };
        let path = ctx.out_dir.join(name);
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = match opts.open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut out = BufWriter::new(file);
        let rows = export::export(&journal, format, &mut out).map_err(err)?;
        out.flush().map_err(err)?;
        return Ok((path, rows));
    }
    Err(format!(
        "too many exports of campaign {id} in {}",
        ctx.out_dir.display()
    ))
}

/// One number's state and history.
pub fn lookup(ctx: &Ctx, input: &str) -> Result<ConsentLookup, String> {
    let store = &ctx.engine.store;
    let phone = Phone::parse(input, &ctx.engine.config.consent.default_region).map_err(err)?;
    Ok(ConsentLookup {
        phone,
        contact: store.contact(phone).map_err(err)?,
        history: store.history(phone).map_err(err)?,
        suppressed: store.suppressed_since(phone).map_err(err)?,
    })
}

/// The operator revokes (G5): one topic or all, durable before it returns.
pub fn revoke(ctx: &Ctx, phone: Phone, topic: Option<&str>) -> Result<usize, String> {
    let store = &ctx.engine.store;
    let n = store
        .revoke(
            phone,
            topic,
            &Revocation {
                at: ctx.clock.now(),
                actor: ctx.actor.clone(),
                origin: format!("operator:{}", ctx.actor),
                reason: "revoked by the operator in the TUI".into(),
            },
        )
        .map_err(err)?;
    store.flush().map_err(err)?;
    tracing::info!(topics = n, "consent revoked by the operator");
    Ok(n)
}

/// Imports a consent CSV.
pub fn import_file(ctx: &Ctx, path: &Path) -> Result<import::ImportReport, String> {
    let e = &ctx.engine;
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: ctx.actor.clone(),
        now: ctx.clock.now(),
    };
    let report = import::import(&e.store, &e.config, path, &opts, None, &|_, _| {}).map_err(err)?;
    e.store.flush().map_err(err)?;
    tracing::info!(file = %path.display(), imported = report.imported, rejected = report.rejected, "consent import");
    Ok(report)
}

/// Live sends need the operator role and a processing agreement on record
/// (G12, G16), as `campaign send` checks; the sandbox needs neither.
pub fn may_send(ctx: &Ctx) -> Result<(), String> {
    if ctx.sandbox {
        return Ok(());
    }
    let c = &ctx.engine.config;
    match c.roles.role_of(&ctx.actor) {
        Some(r) if r >= crate::config::Role::Operator => {}
        _ => {
            return Err(format!(
                "live sending needs the operator role; {} has not (see [roles])",
                ctx.actor
            ))
        }
    }
    if c.compliance.dpa_signed_at.is_none() || c.compliance.processor.is_none() {
        return Err("live sending needs a processing agreement on record (G16): set [compliance] processor and dpa_signed_at".into());
    }
    if c.api.phone_number_id.is_empty() {
        return Err("live sending needs [api] phone_number_id".into());
    }
    Ok(())
}
