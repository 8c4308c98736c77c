//! The data subject's rights from the command line: `consent export`
//! (access) and `consent erase` (erasure), G10.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};

use super::{block_on, Context, Exit};
use crate::engine::access::{AccessReport, ErasureReport};
use crate::engine::doctor::{Check, Verdict};
use crate::engine::retention::PurgeReport;
use crate::service::wire::Request;

/// Refuses an existing `out` unless `force`, before the daemon does the work.
pub(super) fn refuse_existing(out: Option<&std::path::Path>, force: bool) -> Result<()> {
    if let Some(path) = out.filter(|p| !force && p.exists()) {
        bail!(crate::consent::table::overwrite_refused(path));
    }
    Ok(())
}

/// `consent export PHONE`: everything stored about the number, as JSON.
pub(super) fn access(
    ctx: &Context,
    phone: &str,
    out: Option<PathBuf>,
    force: bool,
) -> Result<Exit> {
    refuse_existing(out.as_deref(), force)?;
    let report: AccessReport = block_on(async {
        ctx.client()
            .await?
            .call(
                &Request::AccessExport {
                    phone: phone.to_string(),
                },
                None,
            )
            .await
    })?;
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    match out {
        Some(path) => {
            super::write_private(&path, text.as_bytes(), force)?;
            errln!(
                "everything stored about {} written to {} ({} campaign(s), {} history event(s), {} audit entr(ies))",
                report.phone,
                path.display(),
                report.campaigns.len(),
                report.history.len(),
                report.audit.len()
            );
        }
        None => super::output::stdout().write_all(text.as_bytes())?,
    }
    Ok(Exit::Ok)
}

/// `consent erase PHONE`: final, so it asks in a terminal and needs `--yes` without one.
pub(super) fn erase(ctx: &Context, phone: &str, yes: bool) -> Result<Exit> {
    use std::io::{BufRead, IsTerminal};
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(super::Refused(format!(
                "erasure is final: pass --yes to erase {phone} without a terminal"
            ))
            .into());
        }
        let mut err = std::io::stderr();
        write!(
            err,
            "Erase {phone} from everything bote stores? This cannot be undone. [y/N] "
        )?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "j" | "ja") {
            return Err(super::Refused("not confirmed; nothing was erased".into()).into());
        }
    }
    let r: ErasureReport = block_on(async {
        ctx.client()
            .await?
            .call(
                &Request::Erase {
                    phone: phone.to_string(),
                },
                None,
            )
            .await
    })?;
    let mut out = super::output::stdout();
    writeln!(out, "Erased {} (audit reference {})", r.phone, r.reference)?;
    writeln!(
        out,
        "  contact {}, {} history record(s), {} send-index entr(ies), {} invitation(s), {} campaign record(s) made anonymous",
        if r.store.contact { "removed" } else { "was not stored" },
        r.store.history_records,
        r.store.send_entries,
        r.invitations,
        r.campaign_records
    )?;
    writeln!(out, "  kept: the salted hash, on the suppression list (a re-import needs an opt-in newer than now)")?;
    writeln!(out, "  on disk: {}", r.byte_level)?;
    Ok(Exit::Ok)
}

/// `purge [--dry-run]`: the retention periods, applied now.
pub(super) fn purge(ctx: &Context, dry_run: bool, json: bool) -> Result<Exit> {
    let r: PurgeReport = block_on(async {
        ctx.client()
            .await?
            .call(&Request::Purge { dry_run }, None)
            .await
    })?;
    let mut out = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut out, &r)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    let verb = if dry_run { "would be" } else { "were" };
    writeln!(
        out,
        "Retention periods ([retention] in bote.toml){}:",
        if dry_run { ", dry run" } else { "" }
    )?;
    for (n, what) in [
        (
            r.results_anonymised,
            format!(
                "recipient result(s) in {} campaign(s) {verb} made anonymous (counts kept)",
                r.campaigns
            ),
        ),
        (
            r.pending_removed,
            format!(
                "unconfirmed consent(s) {verb} removed ({} contact(s) entirely)",
                r.contacts_removed
            ),
        ),
        (
            r.revoked_minimised,
            format!("revoked contact(s) {verb} shrunk to the suppression hash"),
        ),
        (
            r.webhook_records,
            format!("webhook processing record(s) {verb} dropped"),
        ),
    ] {
        writeln!(out, "  {n:>7}  {what}")?;
    }
    if dry_run {
        writeln!(out, "Nothing was changed (--dry-run).")?;
    }
    Ok(Exit::Ok)
}

/// `doctor`: one line per check; exit 1 when one must be fixed.
pub(super) fn doctor(ctx: &Context, json: bool) -> Result<Exit> {
    let (banner, checks): (String, Vec<Check>) = block_on(async {
        let c = ctx.client().await?;
        let checks = c.call(&Request::Doctor, None).await?;
        anyhow::Ok((c.hello.banner.clone(), checks))
    })?;
    let mut out = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut out, &checks)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{banner}")?;
        for c in &checks {
            let mark = match c.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "WARN",
                Verdict::Fail => "FAIL",
            };
            writeln!(out, "  {mark}  {:<28} {}", c.name, c.detail)?;
        }
    }
    Ok(if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        Exit::Error
    } else {
        Exit::Ok
    })
}
