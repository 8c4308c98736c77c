//! `bote campaign …`: the dry run (`plan`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};

use super::{block_on, Context, Exit};
use crate::audience::{PlanRequest, PlanSummary};
use crate::campaign::export::Format;
use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::progress::{SendProgress, Standing};
use crate::campaign::{CampaignId, CampaignMeta};
use crate::engine::ops::CampaignStatus;
use crate::service::client::Attachment;
use crate::service::wire::{Request, Upload};

/// `bote campaign` subcommands.
#[derive(Debug, Subcommand)]
pub enum CampaignCmd {
    /// The dry run: eligible, excluded with reasons, previews, cost, tier.
    Plan(PlanArgs),
    /// Plan, confirm and send, with a progress bar (or JSON lines).
    Send(super::send::SendArgs),
    /// Continue a paused or interrupted campaign (never re-sends unknowns unless asked).
    Resume(super::send::ResumeArgs),
    /// Send again, in a new run, recipients deferred by Meta's marketing cap (131049) ≥ 24 h ago.
    Resend(super::resend::ResendArgs),
    /// What a campaign achieved: funnel, opt-outs, failures by reason, cost.
    Report(super::report::ReportArgs),
    /// Campaigns with their state and counts.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// One campaign's state and counts per recipient state.
    Status {
        /// Campaign id.
        id: CampaignId,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a campaign for good: everyone not yet sent is skipped.
    Cancel {
        /// Campaign id.
        id: CampaignId,
        /// Do not ask (required without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Pause a campaign running in the daemon (resume continues it).
    Pause {
        /// Campaign id.
        id: CampaignId,
    },
    /// Follow a campaign running in the daemon (Ctrl-C only stops watching).
    Watch {
        /// Campaign id.
        id: CampaignId,
        /// JSON lines instead of a progress bar.
        #[arg(long)]
        json: bool,
    },
    /// Per-recipient results (spreadsheet-safe CSV, or JSON lines).
    Export {
        /// Campaign id.
        id: CampaignId,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write to this file instead of stdout (created 0600).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace `--out` if it exists.
        #[arg(long, requires = "out")]
        force: bool,
        /// Numbers masked to their last 4 digits (for sharing results).
        #[arg(long)]
        mask: bool,
    },
}

/// Who and what a campaign sends.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Template name (see `bote template list`).
    #[arg(long)]
    pub template: String,
    /// Template language, when the template exists in several.
    #[arg(long)]
    pub language: Option<String>,
    /// The campaign's purpose; only consents covering it qualify (G6).
    #[arg(long)]
    pub topic: String,
    /// A CSV list (with a phone column) to match against the store.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Only recipients of this language (`de` also matches `de_AT`).
    #[arg(long)]
    pub locale: Option<String>,
    /// Campaign value for a placeholder, e.g. `--param 2=WINTER30`.
    #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Also send to those who got this template within the frequency cap's
    /// window (7 days without a cap); they are left out otherwise.
    #[arg(long)]
    pub include_recent: bool,
    /// Send a template written for another topic than `--topic` (the dry
    /// run warns about it).
    #[arg(long)]
    pub ack_topic: bool,
    /// Print the plan as one JSON document.
    #[arg(long)]
    pub json: bool,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

impl PlanArgs {
    /// The engine's request.
    pub(super) fn request(&self) -> PlanRequest {
        PlanRequest {
            template: self.template.clone(),
            language: self.language.clone(),
            topic: self.topic.clone(),
            locale: self.locale.clone(),
            list: self.list.clone(),
            overrides: self.params.iter().cloned().collect::<BTreeMap<_, _>>(),
            include_recent: self.include_recent,
            ack_topic: self.ack_topic,
        }
    }
}

/// The engine's request and the `--list` file to send along.
pub(super) fn plan_request(args: &PlanArgs) -> Result<(PlanRequest, Option<(Attachment, Upload)>)> {
    let list = args.list.as_deref().map(Attachment::open).transpose()?;
    let mut request = args.request();
    request.list = None;
    Ok((request, list))
}

pub(super) fn run(ctx: &Context, cmd: CampaignCmd) -> Result<Exit> {
    match cmd {
        CampaignCmd::Plan(args) => plan(ctx, &args),
        CampaignCmd::Send(args) => super::send::send(ctx, &args),
        CampaignCmd::Resume(args) => super::send::resume(ctx, &args),
        CampaignCmd::Resend(args) => super::resend::resend(ctx, &args),
        CampaignCmd::Report(args) => super::report::report(ctx, &args),
        CampaignCmd::Watch { id, json } => super::send::watch_cmd(ctx, id, json),
        CampaignCmd::List { json } => list(ctx, json),
        CampaignCmd::Status { id, json } => status(ctx, id, json),
        CampaignCmd::Pause { id } => {
            block_on(async {
                let c = ctx.client().await?;
                let s: CampaignStatus = c.call(&Request::Pause { id }, None).await?;
                outln!("campaign {id} paused in the daemon ({}); `bote campaign resume {id}` continues it", s.campaign.state)?;
                Ok(Exit::Ok)
            })
        }
        CampaignCmd::Cancel { id, yes } => block_on(async {
            let c = ctx.client().await?;
            if !yes {
                confirm_cancel(id)?;
            }
            let s: CampaignStatus = c.call(&Request::Cancel { id }, None).await?;
            outln!(
                "campaign {id} {}; {} recipient(s) skipped",
                if s.running {
                    "is being cancelled"
                } else {
                    "cancelled"
                },
                s.counts.skipped
            )?;
            Ok(Exit::Ok)
        }),
        CampaignCmd::Export {
            id,
            format,
            out,
            force,
            mask,
        } => block_on(async {
            let c = ctx.client().await?;
            #[derive(serde::Deserialize)]
            struct Exported {
                rows: u64,
                text: String,
            }
            let e: Exported = c.call(&Request::Export { id, format, mask }, None).await?;
            match out {
                Some(path) => {
                    super::write_private(&path, e.text.as_bytes(), force)?;
                    errln!("{} recipient(s) written to {}", e.rows, path.display());
                }
                None => super::output::stdout().write_all(e.text.as_bytes())?,
            }
            Ok(Exit::Ok)
        }),
    }
}

/// `campaign cancel` is final: in a terminal it asks first.
fn confirm_cancel(id: CampaignId) -> Result<()> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return Err(super::Refused(format!(
            "cancelling is final: pass --yes to cancel campaign {id} without a terminal"
        ))
        .into());
    }
    let mut err = std::io::stderr();
    write!(
        err,
        "Cancel campaign {id} for good (everyone not yet sent is skipped)? [y/N] "
    )?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "j" | "ja") {
        Ok(())
    } else {
        Err(super::Refused("not confirmed; the campaign is unchanged".into()).into())
    }
}

fn list(ctx: &Context, json: bool) -> Result<Exit> {
    let campaigns: Vec<CampaignStatus> = block_on(async {
        let c = ctx.client().await?;
        c.call(&Request::Campaigns, None).await
    })?;
    let mut out = super::output::stdout();
    if !json {
        writeln!(
            out,
            "{:>4}  {:<22} {:<14} {:<10} {:>8} {:>8} {:>7} {:>7}  CREATED ({})",
            "ID",
            "TEMPLATE",
            "TOPIC",
            "STATE",
            "AUDIENCE",
            "ACCEPTED",
            "FAILED",
            "UNKNOWN",
            ctx.config.ui.label_now()
        )?;
    }
    for s in campaigns {
        let (meta, counts) = (&s.campaign, &s.counts);
        if json {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({ "campaign": meta, "counts": counts, "running": s.running, "config_changes": s.config_changes }),
            )?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:>4}  {:<22} {:<14} {:<10} {:>8} {:>8} {:>7} {:>7}  {}",
                meta.id.to_string(),
                meta.template.name,
                meta.topic,
                meta.state.to_string(),
                meta.audience,
                counts.taken(),
                counts.failed,
                counts.unknown,
                meta.created_at
                    .with_timezone(&ctx.config.ui.timezone)
                    .format("%Y-%m-%d %H:%M")
            )?;
        }
    }
    Ok(Exit::Ok)
}

fn status(ctx: &Context, id: CampaignId, json: bool) -> Result<Exit> {
    let (banner, s) = block_on(async {
        let c = ctx.client().await?;
        let s: CampaignStatus = c.call(&Request::Status { id }, None).await?;
        anyhow::Ok((c.hello.banner.clone(), s))
    })?;
    let (meta, counts) = (&s.campaign, &s.counts);
    let mut out = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({ "campaign": meta, "counts": counts, "running": s.running, "config_changes": s.config_changes,
                "estimated_cost": meta.estimate.as_ref().map(|e| serde_json::json!({"total": e.total, "currency": e.currency})),
                "actual_cost": s.cost }),
        )?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    writeln!(out, "{banner}")?;
    writeln!(
        out,
        "campaign {} — {} ({}) — topic {} — {} — {}{}",
        meta.id,
        meta.template.name,
        meta.template.language,
        meta.topic,
        meta.mode,
        meta.state,
        if s.running {
            " (running in the daemon)"
        } else {
            ""
        }
    )?;
    if let Some(r) = &meta.state_reason {
        writeln!(out, "  reason: {r}")?;
    }
    writeln!(
        out,
        "  created {} by {}",
        ctx.config.ui.second(meta.created_at),
        meta.created_by
    )?;
    writeln!(
        out,
        "  audience {} · eligible at planning {}",
        meta.audience, meta.eligible
    )?;
    writeln!(out, "  progress: {}", standing(meta, counts))?;
    if let Some(sch) = &meta.schedule {
        let local = |t: chrono::DateTime<chrono::Utc>| ctx.config.ui.minute(t);
        writeln!(
            out,
            "  window: from {}{}",
            local(sch.at),
            sch.not_after
                .map(|e| format!(", not after {}", local(e)))
                .unwrap_or_default()
        )?;
    }
    if let Some(f) = &meta.settings {
        writeln!(
            out,
            "  settings (frozen at creation): rate {}/s · quiet hours {} · tier {}",
            f.rate,
            f.quiet_hours.map_or_else(
                || "none".to_string(),
                |q| format!("{q} (recipient's local time)")
            ),
            f.tier
        )?;
    }
    for change in &s.config_changes {
        writeln!(out, "  config changed since: {change}")?;
    }
    if let Some(actual) = &s.cost {
        let estimate = meta
            .estimate
            .as_ref()
            .map(|e| (e.total, e.currency.as_str()));
        writeln!(out, "  {}", crate::campaign::cost::line(estimate, actual))?;
    }
    for st in RecipientState::ALL {
        writeln!(out, "  {:<10}{:>8}", st.as_str(), counts.get(st))?;
    }
    Ok(Exit::Ok)
}

/// What is true of the send in the campaign's state, as the TUI says it.
fn standing(meta: &CampaignMeta, counts: &Counts) -> Standing {
    SendProgress::of(counts, meta.audience, meta.eligible).standing(meta.state)
}

fn plan(ctx: &Context, args: &PlanArgs) -> Result<Exit> {
    let (banner, summary) = block_on(async {
        let c = ctx.client().await?;
        let (request, list) = plan_request(args)?;
        let s: PlanSummary = c
            .call(
                &Request::Plan {
                    request,
                    list: list.as_ref().map(|l| l.1.clone()),
                },
                list.as_ref().map(|l| &l.0),
            )
            .await?;
        anyhow::Ok((c.hello.banner.clone(), s))
    })?;
    let mut out = super::output::stdout();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        super::dry_run::print_plan(&mut out, &banner, &summary, &ctx.config.ui)?;
        let lang = ctx
            .config
            .ui
            .language
            .unwrap_or_else(crate::i18n::Language::from_env);
        writeln!(out, "{}", lang.texts().get("cli-plan-nothing-sent"))?;
    }
    Ok(Exit::Ok)
}

/// `bote` without arguments: the sample campaign's dry run on the sandbox.
pub(super) fn sample(ctx: &Context) -> Result<Exit> {
    let list = ["sample-data/kampagne-herbst.csv"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let args = PlanArgs {
        template: "herbst_sale".into(),
        language: None,
        topic: "sale".into(),
        list,
        locale: None,
        params: Vec::new(),
        include_recent: false,
        ack_topic: false,
        json: false,
    };
    if ctx.mode != super::Mode::Sandbox {
        return Err(anyhow!(
            "a token is configured: name a command (see `bote --help`), or pass --sandbox"
        ));
    }
    plan(ctx, &args)
}
