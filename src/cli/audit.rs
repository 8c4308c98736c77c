//! `bote audit …`: read and verify the audit trail (G4, G13).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;

use super::{block_on, Context, Exit};
use crate::audit::proof::ProofFormat;
use crate::audit::{Action, Entry, Verified};
use crate::campaign::CampaignId;
use crate::engine::gdpr::Proof;
use crate::engine::gdpr::TrailFilter;
use crate::service::wire::Request;

/// `bote audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check every link of the trail; names the first edited, removed or
    /// reordered entry (exit 1 if there is one).
    Verify {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show entries, oldest first.
    Show {
        /// Only this action (e.g. consent_import, revocation, campaign_created).
        #[arg(long)]
        action: Option<Action>,
        /// Only about this: `campaign:N`, a contact reference `c:…`, or a
        /// phone number (its reference is looked up).
        #[arg(long)]
        subject: Option<String>,
        /// Only by this user.
        #[arg(long)]
        actor: Option<String>,
        /// Only the last N.
        #[arg(long, value_name = "N")]
        last: Option<usize>,
        /// JSON lines, as stored (without the hashes).
        #[arg(long)]
        json: bool,
    },
    /// The DPO proof of one campaign: for every recipient the consent that
    /// allowed the send and the outcome, for every excluded one the reason.
    Export {
        /// The campaign.
        #[arg(long, value_name = "ID")]
        campaign: CampaignId,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: ProofFormat,
        /// Write to this file instead of stdout (created 0600: it holds numbers).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace `--out` if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
}

pub(super) fn run(ctx: &Context, cmd: AuditCmd) -> Result<Exit> {
    match cmd {
        AuditCmd::Verify { json } => verify(ctx, json),
        AuditCmd::Show {
            action,
            subject,
            actor,
            last,
            json,
        } => show(
            ctx,
            TrailFilter {
                action,
                subject,
                actor,
                last,
            },
            json,
        ),
        AuditCmd::Export {
            campaign,
            format,
            out,
            force,
        } => export(ctx, campaign, format, out, force),
    }
}

fn export(
    ctx: &Context,
    id: CampaignId,
    format: ProofFormat,
    out: Option<PathBuf>,
    force: bool,
) -> Result<Exit> {
    // Refused before the daemon renders (and records) an export nobody gets.
    super::gdpr::refuse_existing(out.as_deref(), force)?;
    let p: Proof = block_on(async {
        ctx.client()
            .await?
            .call(&Request::AuditProof { id, format }, None)
            .await
    })?;
    let s = &p.summary;
    match out {
        Some(path) => {
            super::write_private(&path, p.text.as_bytes(), force)?;
            errln!(
                "consent proof of campaign {id} written to {}: {} recipient(s), {} messaged, {} without consent",
                path.display(),
                s.recipients,
                s.messaged,
                s.messaged_without_consent
            );
        }
        None => super::output::stdout().write_all(p.text.as_bytes())?,
    }
    Ok(if s.messaged_without_consent > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

fn verify(ctx: &Context, json: bool) -> Result<Exit> {
    let v: Verified =
        block_on(async { ctx.client().await?.call(&Request::AuditVerify, None).await })?;
    let mut out = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else if let Some(b) = &v.first_break {
        writeln!(out, "audit trail BROKEN: {b}")?;
        writeln!(
            out,
            "  entries 1..{} are sound (head {})",
            v.entries, v.head
        )?;
    } else {
        writeln!(
            out,
            "audit trail sound: {} entries, head {}",
            v.entries, v.head
        )?;
        writeln!(
            out,
            "  keep the head elsewhere (a ticket, a backup log) to detect a rewrite of the whole trail"
        )?;
    }
    if let Some(b) = v.first_break {
        if json {
            bail!("audit trail broken: {b}");
        }
        return Ok(Exit::Error);
    }
    Ok(Exit::Ok)
}

fn show(ctx: &Context, filter: TrailFilter, json: bool) -> Result<Exit> {
    let entries: Vec<Entry> = block_on(async {
        ctx.client()
            .await?
            .call(&Request::AuditShow { filter }, None)
            .await
    })?;
    let mut out = super::output::stdout();
    for e in &entries {
        if json {
            serde_json::to_writer(&mut out, e)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", line(e, &ctx.config.ui.timezone))?;
        }
    }
    if !json {
        writeln!(
            out,
            "{} entr{}",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" }
        )?;
    }
    Ok(Exit::Ok)
}

/// One entry for a person: its time in the operator's zone, labelled.
fn line<Tz: chrono::TimeZone>(e: &Entry, zone: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let at = e.at.with_timezone(zone).format("%Y-%m-%d %H:%M:%S %Z");
    let details = match &e.details {
        serde_json::Value::Null => String::new(),
        d => d.to_string(),
    };
    format!(
        "{:>6}  {at}  {:<10} {:<20} {:<22} {details}",
        e.seq,
        e.actor,
        e.action.name(),
        e.subject.as_deref().unwrap_or("-"),
    )
    .trim_end()
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_the_time_in_the_zone_it_is_given_and_names_it() {
        let e = Entry {
            seq: 7,
            at: chrono::DateTime::from_timestamp(1_780_000_000, 0).expect("time"),
            actor: "alice".into(),
            action: Action::Revocation,
            subject: Some("c:0011223344556677".into()),
            details: serde_json::json!({"origin": "operator:alice"}),
            prev: crate::audit::GENESIS.into(),
        };
        let berlin = chrono::FixedOffset::east_opt(2 * 3600).expect("offset");
        let l = line(&e, &berlin);
        assert!(
            l.starts_with("     7  2026-05-28 22:26:40 +02:00  alice"),
            "{l}"
        );
        assert!(
            l.contains("revocation") && l.contains("c:0011223344556677"),
            "{l}"
        );
        assert!(l.ends_with("{\"origin\":\"operator:alice\"}"), "{l}");
    }
}
