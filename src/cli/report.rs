//! `bote campaign report ID`: what a campaign achieved, as Markdown (to
//! paste into a ticket or mail) or JSON, on stdout or into a new file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::{block_on, Context, Exit};
use crate::campaign::report::Report;
use crate::campaign::CampaignId;
use crate::service::wire::Request;

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown tables.
    Md,
    /// One JSON document.
    Json,
}

/// `campaign report` arguments.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Campaign id.
    pub id: CampaignId,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Write to this file instead of stdout (never over an existing one).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace `--out` if it exists.
    #[arg(long, requires = "out")]
    pub force: bool,
}

pub(super) fn report(ctx: &Context, args: &ReportArgs) -> Result<Exit> {
    let report: Report = block_on(async {
        let c = ctx.client().await?;
        c.call(&Request::Report { id: args.id }, None).await
    })?;
    let text = match args.format {
        ReportFormat::Md => report.markdown(ctx.config.ui.timezone),
        ReportFormat::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
    };
    match &args.out {
        Some(path) => {
            super::write_private(path, text.as_bytes(), args.force)?;
            errln!(
                "report of campaign {} written to {}",
                args.id,
                path.display()
            );
        }
        None => super::output::stdout().write_all(text.as_bytes())?,
    }
    Ok(Exit::Ok)
}
