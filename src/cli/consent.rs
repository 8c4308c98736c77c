//! `bote consent …`: import, list, show, export, revoke.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};
use chrono::Utc;
use clap::Subcommand;

use super::{Context, Exit};
use crate::consent::import::{self, ImportOptions, ImportReport, RejectsFile};
use crate::consent::{current_actor, ConsentEvent, ConsentStatus, Contact, Revocation};
use crate::phone::Phone;

/// `bote consent` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConsentCmd {
    /// Import a consent-verified CSV list (see README: the consent CSV).
    Import {
        /// The CSV file (`;` or `,`, UTF-8 or Windows-1252).
        file: PathBuf,
        /// Default opt_in_source for rows without one; labels the run.
        #[arg(long)]
        source: Option<String>,
        /// Validate and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write rejected rows (with line and reason) to this CSV.
        #[arg(long, value_name = "OUT")]
        rejects: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Browse the store.
    List {
        /// Only numbers with a consent record for this topic.
        #[arg(long)]
        topic: Option<String>,
        /// Only consents in this state (with --topic: for that topic).
        #[arg(long, value_parser = ["pending", "confirmed", "revoked"])]
        status: Option<String>,
        /// JSON lines, one contact each.
        #[arg(long)]
        json: bool,
    },
    /// One number's consent per topic and full history (G4).
    Show {
        /// The number, any format.
        phone: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Everything stored about one number, as JSON (G10 access).
    Export {
        /// The number, any format.
        phone: String,
    },
    /// Ask a pending consent to confirm (double opt-in, G3): sends the confirmation template once.
    Invite(super::webhook::InviteArgs),
    /// Revoke a number's consent, for one topic or all (G5).
    Revoke {
        /// The number, any format.
        phone: String,
        /// Only this topic.
        #[arg(long)]
        topic: Option<String>,
    },
}

pub(super) fn run(ctx: &Context, cmd: ConsentCmd) -> Result<Exit> {
    match cmd {
        ConsentCmd::Import {
            file,
            source,
            dry_run,
            rejects,
            json,
        } => run_import(ctx, &file, source, dry_run, rejects, json),
        ConsentCmd::List {
            topic,
            status,
            json,
        } => list(ctx, topic.as_deref(), status.as_deref(), json),
        ConsentCmd::Show { phone, json } => show(ctx, &phone, json),
        ConsentCmd::Export { phone } => show(ctx, &phone, true),
        ConsentCmd::Revoke { phone, topic } => revoke(ctx, &phone, topic.as_deref()),
        ConsentCmd::Invite(args) => super::webhook::invite(ctx, &args),
    }
}

fn parse_phone(ctx: &Context, input: &str) -> Result<Phone> {
    Ok(Phone::parse(input, &ctx.config.consent.default_region)?)
}

fn run_import(
    ctx: &Context,
    file: &std::path::Path,
    source: Option<String>,
    dry_run: bool,
    rejects: Option<PathBuf>,
    json: bool,
) -> Result<Exit> {
    let store = ctx.open_store_for_import()?;
    let opts = ImportOptions {
        source,
        dry_run,
        actor: current_actor(),
        now: Utc::now(),
    };
    let rejects = rejects.as_deref().map(RejectsFile::create).transpose()?;
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} importing {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let report = import::import(&store, &ctx.config, file, &opts, rejects, &progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    store.flush()?;
    tracing::info!(
        rows = report.rows,
        imported = report.imported,
        rejected = report.rejected,
        "consent import finished"
    );
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_import(&mut out, ctx, &report)?;
    }
    Ok(if report.rejected > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

fn print_import(out: &mut impl Write, ctx: &Context, r: &ImportReport) -> Result<()> {
    writeln!(out, "{}", ctx.banner())?;
    let enc = r.encoding.map(|e| e.to_string()).unwrap_or_default();
    writeln!(
        out,
        "{} {} ({enc}, delimiter '{}')",
        if r.dry_run { "Dry run of" } else { "Imported" },
        r.file,
        r.delimiter
    )?;
    for (label, n, note) in [
        ("rows", r.rows, ""),
        ("imported", r.imported, "new numbers"),
        ("updated", r.updated, ""),
        ("unchanged", r.unchanged, ""),
        ("pending", r.pending, "no marketing until confirmed (G3)"),
        ("rejected", r.rejected, ""),
        ("duplicates", r.duplicates, "merged, latest event wins"),
    ] {
        writeln!(out, "  {}", format!("{label:<11}{n:>8}  {note}").trim_end())?;
    }
    if !r.dropped_columns.is_empty() {
        writeln!(
            out,
            "  dropped columns: {} (not declared in [consent] attributes, G8)",
            r.dropped_columns.join(", ")
        )?;
    }
    if !r.rejects.is_empty() {
        writeln!(out, "Rejected rows:")?;
        for rej in &r.rejects {
            writeln!(out, "  line {}: {}", rej.line, rej.reason)?;
        }
        if r.rejected as usize > r.rejects.len() {
            writeln!(
                out,
                "  … {} more (use --rejects OUT)",
                r.rejected as usize - r.rejects.len()
            )?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(out, "Notes:")?;
        for n in &r.notes {
            writeln!(out, "  line {}: {}", n.line, n.message)?;
        }
    }
    if r.dry_run {
        writeln!(out, "Nothing was written (--dry-run).")?;
    }
    Ok(())
}

fn list(ctx: &Context, topic: Option<&str>, status: Option<&str>, json: bool) -> Result<Exit> {
    if let Some(t) = topic {
        if !ctx.config.has_topic(t) {
            bail!(
                "unknown topic {t:?} (configured: {})",
                ctx.config.consent.topics.join(", ")
            );
        }
    }
    let status: Option<ConsentStatus> = status
        .map(str::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let store = ctx.open_store()?;
    let mut out = std::io::stdout().lock();
    let mut n = 0usize;
    for contact in store.contacts() {
        let c = contact?;
        let matches = match (topic, status) {
            (Some(t), Some(s)) => c.topic(t).is_some_and(|x| x.status == s),
            (Some(t), None) => c.topic(t).is_some(),
            (None, Some(s)) => c.topics.values().any(|x| x.status == s),
            (None, None) => true,
        };
        if !matches {
            continue;
        }
        n += 1;
        if json {
            serde_json::to_writer(&mut out, &c)?;
            writeln!(out)?;
        } else {
            let topics: Vec<String> = c
                .topics
                .iter()
                .map(|(t, x)| format!("{t}:{}", x.status))
                .collect();
            writeln!(
                out,
                "{:<16} {:<6} {}",
                c.phone.e164(),
                c.locale.as_deref().unwrap_or("-"),
                topics.join(" ")
            )?;
        }
    }
    if !json {
        writeln!(out, "{n} number(s)")?;
    }
    Ok(Exit::Ok)
}

fn show(ctx: &Context, input: &str, json: bool) -> Result<Exit> {
    let phone = parse_phone(ctx, input)?;
    let store = ctx.open_store()?;
    let contact = store.contact(phone)?;
    let history = store.history(phone)?;
    let suppressed = store.suppressed_since(phone)?;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({
            "phone": phone.e164(),
            "contact": contact,
            "history": history,
            "suppressed_since": suppressed,
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    let Some(c) = contact else {
        match suppressed {
            Some(at) => writeln!(
                out,
                "{} was erased on {} (suppressed)",
                phone.e164(),
                at.format("%Y-%m-%d")
            )?,
            None => writeln!(out, "{} is not in the store", phone.e164())?,
        }
        return Ok(Exit::Ok);
    };
    print_contact(&mut out, &c, &history)?;
    Ok(Exit::Ok)
}

fn print_contact(out: &mut impl Write, c: &Contact, history: &[ConsentEvent]) -> Result<()> {
    writeln!(
        out,
        "{}  locale {}",
        c.phone.e164(),
        c.locale.as_deref().unwrap_or("-")
    )?;
    for (k, v) in &c.attributes {
        writeln!(out, "  {k}: {v}")?;
    }
    for (topic, t) in &c.topics {
        writeln!(
            out,
            "  {topic:<15} {:<9} opted in {} via {}{}{}",
            t.status.to_string(),
            t.opted_in_at.format("%Y-%m-%d %H:%M"),
            t.source,
            t.confirmed_at
                .map(|d| format!(
                    ", confirmed {} by {}",
                    d.format("%Y-%m-%d %H:%M"),
                    t.method.map(|m| m.to_string()).unwrap_or_default()
                ))
                .unwrap_or_default(),
            t.revoked_at
                .map(|d| format!(", revoked {}", d.format("%Y-%m-%d %H:%M")))
                .unwrap_or_default(),
        )?;
    }
    writeln!(out, "History:")?;
    for e in history {
        writeln!(
            out,
            "  {} {:<8} {:<28} {}",
            e.recorded_at.format("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.origin,
            serde_json::to_string(&e.change)?
        )?;
    }
    Ok(())
}

fn revoke(ctx: &Context, input: &str, topic: Option<&str>) -> Result<Exit> {
    let phone = parse_phone(ctx, input)?;
    let store = ctx.open_store()?;
    let Some(c) = store.contact(phone)? else {
        bail!("{} is not in the store", phone.e164());
    };
    if let Some(t) = topic {
        if c.topic(t).is_none() {
            bail!("{} has no consent for topic {t:?}", phone.e164());
        }
    }
    let actor = current_actor();
    let changed = store.revoke(
        phone,
        topic,
        &Revocation {
            at: Utc::now(),
            origin: format!("operator:{actor}"),
            actor,
            reason: "operator revocation".into(),
        },
    )?;
    store.flush()?;
    if changed == 0 {
        println!("{}: nothing to revoke (already revoked)", phone.e164());
    } else {
        println!("{}: revoked {changed} topic(s)", phone.e164());
    }
    Ok(Exit::Ok)
}
