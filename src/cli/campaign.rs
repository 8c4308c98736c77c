//! `bote campaign …`: the dry run (`plan`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use chrono::Utc;
use clap::{Args, Subcommand};

use super::{Context, Exit};
use crate::audience::{self, PlanRequest, PlanSummary};

/// `bote campaign` subcommands.
#[derive(Debug, Subcommand)]
pub enum CampaignCmd {
    /// The dry run: eligible, excluded with reasons, previews, cost, tier.
    Plan(PlanArgs),
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
    fn request(&self) -> PlanRequest {
        PlanRequest {
            template: self.template.clone(),
            language: self.language.clone(),
            topic: self.topic.clone(),
            locale: self.locale.clone(),
            list: self.list.clone(),
            overrides: self.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        }
    }
}

pub(super) fn run(ctx: &Context, cmd: CampaignCmd) -> Result<Exit> {
    match cmd {
        CampaignCmd::Plan(args) => plan(ctx, &args),
    }
}

fn plan(ctx: &Context, args: &PlanArgs) -> Result<Exit> {
    let store = ctx.open_store()?;
    let catalog = ctx.catalog()?;
    let plan = audience::plan(&store, &ctx.config, &catalog, &args.request(), Utc::now())?;
    let summary = plan.summary(5, 10, 4);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        print_plan(&mut out, ctx, &summary)?;
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
        json: false,
    };
    if ctx.mode != super::Mode::Sandbox {
        return Err(anyhow!(
            "a token is configured: name a command (see `bote --help`), or pass --sandbox"
        ));
    }
    plan(ctx, &args)
}

fn money(currency: &str, v: f64) -> String {
    format!("{v:.2} {currency}")
}

fn print_plan(out: &mut impl Write, ctx: &Context, s: &PlanSummary) -> Result<()> {
    writeln!(out, "{}", ctx.banner())?;
    writeln!(
        out,
        "Dry run: template {} ({}, {}, {}) · topic {}{}{}",
        s.template,
        s.language,
        s.category,
        s.status,
        s.topic,
        s.locale
            .as_ref()
            .map(|l| format!(" · locale {l}"))
            .unwrap_or_default(),
        s.list
            .as_ref()
            .map(|l| format!(" · list {l}"))
            .unwrap_or_default(),
    )?;
    writeln!(out)?;
    writeln!(out, "  audience {:>8}", s.audience)?;
    writeln!(out, "  eligible {:>8}", s.eligible)?;
    writeln!(out, "  excluded {:>8}", s.excluded)?;
    for r in &s.reasons {
        writeln!(out, "    {:<24}{:>6}", r.code, r.count)?;
    }
    if !s.excluded_sample.is_empty() {
        writeln!(out)?;
        writeln!(out, "Excluded (up to 10 per reason):")?;
        for e in &s.excluded_sample {
            let line = e.line.map(|l| format!("line {l:>4}  ")).unwrap_or_default();
            writeln!(out, "  {line}{:<18} {}", e.recipient, e.description)?;
        }
    }
    if !s.previews.is_empty() {
        writeln!(out)?;
        writeln!(out, "Previews:")?;
        for p in &s.previews {
            writeln!(out, "  ┌─ to {}", p.recipient)?;
            for line in p.text.lines() {
                writeln!(out, "  │ {line}")?;
            }
            writeln!(out, "  └─")?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "Cost estimate: {} (per delivered message)",
        money(&s.cost.currency, s.cost.total)
    )?;
    for (country, c) in &s.cost.by_country {
        writeln!(
            out,
            "  {country:<6} {:>6} × {:.4} = {}",
            c.recipients,
            c.price,
            money(&s.cost.currency, c.subtotal)
        )?;
    }
    let t = &s.tier;
    if t.later == 0 {
        writeln!(
            out,
            "Messaging tier: {} of {} unique recipients used in the last 24 h; all {} can go now",
            t.used, t.tier, t.now
        )?;
    } else {
        let when = t
            .later_at
            .map(|d| {
                d.with_timezone(&chrono_tz::Europe::Berlin)
                    .format("%d.%m. %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "a later day (split the campaign)".into());
        writeln!(
            out,
            "Messaging tier: {} of {} used; {} now, the other {} after {when}",
            t.used, t.tier, t.now, t.later
        )?;
    }
    for l in &s.lints {
        writeln!(out, "{}: {}", l.level, l.message)?;
    }
    writeln!(out, "Nothing was sent (dry run).")?;
    Ok(())
}
