//! `bote consent …`: import, list, show, export, revoke.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;

use super::{block_on, Context, Exit};
use crate::consent::import::ImportReport;
use crate::consent::{ConsentEvent, Contact};
use crate::engine::ops::{ConsentLookup, ImportResult, Revoked};
use crate::service::client::Attachment;
use crate::service::wire::Request;

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
        /// Write rejected and unreadable rows (with line and reason) to this CSV.
        #[arg(long, value_name = "OUT")]
        rejects: Option<PathBuf>,
        /// Replace an existing --rejects file.
        #[arg(long, requires = "rejects")]
        force: bool,
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
    /// Everything stored about one number, as JSON (G10 access): consent,
    /// history, invitations, every campaign with outcome, audit entries.
    Export {
        /// The number, any format.
        phone: String,
        /// Write to this file instead of stdout (created 0600).
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace `--out` if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
    /// Erase a number from everything bote stores (G10): contact, history,
    /// invitations, send index; its campaign records become anonymous; only
    /// a salted hash stays, on the suppression list. Needs the admin role.
    Erase {
        /// The number, any format.
        phone: String,
        /// Erasure is final: confirm it without a question.
        #[arg(long)]
        yes: bool,
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
            force,
            json,
        } => run_import(
            ctx,
            &file,
            source,
            dry_run,
            rejects.map(|r| (r, force)),
            json,
        ),
        ConsentCmd::List {
            topic,
            status,
            json,
        } => list(ctx, topic.as_deref(), status.as_deref(), json),
        ConsentCmd::Show { phone, json } => show(ctx, &phone, json),
        ConsentCmd::Export { phone, out, force } => super::gdpr::access(ctx, &phone, out, force),
        ConsentCmd::Revoke { phone, topic } => revoke(ctx, &phone, topic.as_deref()),
        ConsentCmd::Erase { phone, yes } => super::gdpr::erase(ctx, &phone, yes),
        ConsentCmd::Invite(args) => super::webhook::invite(ctx, &args),
    }
}

/// A pipe's bytes saved to a private file first: the daemon is sent a
/// length, and the import reads the file twice. Removed on drop.
struct SpooledInput {
    dir: PathBuf,
    file: PathBuf,
}

impl SpooledInput {
    fn from(src: &std::path::Path) -> Result<Self> {
        use crate::consent::store::{create_private_dir, open_private, PrivateFile};
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("bote-import-{:016x}", rand::random::<u64>()));
        create_private_dir(&dir).with_context(|| format!("spooling {}", src.display()))?;
        let spooled = Self {
            file: dir.join("input.csv"),
            dir,
        };
        let mut out = open_private(&spooled.file, PrivateFile::New)
            .with_context(|| format!("spooling {}", src.display()))?;
        let input = std::fs::File::open(src).with_context(|| format!("{}", src.display()))?;
        let limit = crate::service::wire::MAX_ATTACHMENT;
        let n = std::io::copy(&mut input.take(limit + 1), &mut out)
            .with_context(|| format!("reading {}", src.display()))?;
        if n > limit {
            bail!(
                "{}: more than {limit} bytes; the daemon takes at most that",
                src.display()
            );
        }
        Ok(spooled)
    }
}

impl Drop for SpooledInput {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn run_import(
    ctx: &Context,
    file: &std::path::Path,
    source: Option<String>,
    dry_run: bool,
    rejects: Option<(PathBuf, bool)>,
    json: bool,
) -> Result<Exit> {
    use crate::consent::table::{same_file, NewFile};
    // Checked before anything is read: the rejects file must never be
    // the input (by any path), nor replace a file unasked.
    if let Some((out, force)) = &rejects {
        if same_file(out, file) {
            bail!(
                "--rejects {} is the file being imported; choose another name",
                out.display()
            );
        }
        if !force && std::fs::symlink_metadata(out).is_ok() {
            bail!(
                "--rejects {}: the file exists; bote does not overwrite it (pass --force, remove it or choose another name)",
                out.display()
            );
        }
    }
    // Started before the import, so that a directory bote cannot write
    // refuses the run before the store changes, not after.
    let mut rejects_out = match &rejects {
        Some((path, force)) => Some(
            NewFile::create(path, *force)
                .with_context(|| format!("--rejects {}", path.display()))?,
        ),
        None => None,
    };
    let regular = std::fs::metadata(file)
        .with_context(|| format!("{}", file.display()))?
        .is_file();
    let spooled = if regular {
        None
    } else {
        Some(SpooledInput::from(file)?)
    };
    let (attachment, mut upload) =
        Attachment::open(spooled.as_ref().map_or(file, |s| s.file.as_path()))?;
    upload.name = file.display().to_string();
    let (banner, result) = block_on(async {
        let c = ctx.client().await?;
        let r: ImportResult = c
            .call(
                &Request::Import {
                    file: upload,
                    source,
                    dry_run,
                    rejects: rejects.is_some(),
                },
                Some(&attachment),
            )
            .await?;
        anyhow::Ok((c.hello.banner.clone(), r))
    })?;
    drop(spooled);
    if let (Some(mut out), Some(csv)) = (rejects_out.take(), &result.rejects_csv) {
        let path = out.dest().to_owned();
        out.write_all(csv.as_bytes())
            .and_then(|()| out.commit())
            .with_context(|| format!("writing --rejects {}", path.display()))?;
    }
    let report = result.report;
    let mut out = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_import(&mut out, &banner, &report)?;
    }
    Ok(if report.refused_rows() > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

fn print_import(out: &mut impl Write, banner: &str, r: &ImportReport) -> Result<()> {
    writeln!(out, "{banner}")?;
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
        (
            "unreadable",
            r.unreadable,
            if r.unreadable > 0 {
                "not readable as a row: see below"
            } else {
                ""
            },
        ),
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
    if !r.topic_spellings.is_empty() {
        let mapped: Vec<String> = r
            .topic_spellings
            .iter()
            .map(|(spelling, topic)| format!("{spelling:?} → {topic}"))
            .collect();
        writeln!(out, "  topics spelled otherwise: {}", mapped.join(", "))?;
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
    if !r.unreadable_rows.is_empty() {
        writeln!(out, "Unreadable rows (not imported):")?;
        for rej in &r.unreadable_rows {
            writeln!(out, "  line {}: {}", rej.line, rej.reason)?;
        }
        if r.unreadable as usize > r.unreadable_rows.len() {
            writeln!(
                out,
                "  … {} more (use --rejects OUT)",
                r.unreadable as usize - r.unreadable_rows.len()
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
    let contacts: Vec<Contact> = block_on(async {
        let c = ctx.client().await?;
        c.call(
            &Request::Consents {
                topic: topic.map(str::to_string),
                status: status.map(str::to_string),
            },
            None,
        )
        .await
    })?;
    let mut out = super::output::stdout();
    for c in &contacts {
        if json {
            serde_json::to_writer(&mut out, c)?;
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
        writeln!(out, "{} number(s)", contacts.len())?;
    }
    Ok(Exit::Ok)
}

fn show(ctx: &Context, input: &str, json: bool) -> Result<Exit> {
    let found: ConsentLookup = block_on(async {
        let c = ctx.client().await?;
        c.call(
            &Request::Consent {
                phone: input.to_string(),
            },
            None,
        )
        .await
    })?;
    let mut out = super::output::stdout();
    if json {
        let doc = serde_json::json!({
            "phone": found.phone,
            "contact": found.contact,
            "history": found.history,
            "suppressed_since": found.suppressed_since,
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    let Some(c) = &found.contact else {
        match found.suppressed_since {
            Some(at) => writeln!(
                out,
                "{} is on the suppression list since {} (erased, or opted out while not in the store)",
                found.phone,
                ui_date(&ctx.config.ui, at)
            )?,
            None => writeln!(out, "{} is not in the store", found.phone)?,
        }
        return Ok(Exit::Ok);
    };
    print_contact(&mut out, c, &found.history, &ctx.config.ui)?;
    for (version, w) in &found.told {
        match w {
            Some(w) => writeln!(
                out,
                "Told with wording {version}: {} · {}{}",
                w.content,
                w.frequency,
                w.text_url
                    .as_deref()
                    .map(|u| format!(" · {u}"))
                    .unwrap_or_default()
            )?,
            None => writeln!(
                out,
                "Told with wording {version}: not declared in [consent.wording] (G7)"
            )?,
        }
    }
    Ok(Exit::Ok)
}

fn print_contact(
    out: &mut impl Write,
    c: &Contact,
    history: &[ConsentEvent],
    ui: &crate::config::UiConfig,
) -> Result<()> {
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
            ui.minute(t.opted_in_at),
            t.source,
            t.confirmed_at
                .map(|d| format!(
                    ", confirmed {} by {}",
                    ui.minute(d),
                    t.method.map(|m| m.to_string()).unwrap_or_default()
                ))
                .unwrap_or_default(),
            t.revoked_at
                .map(|d| format!(", revoked {}", ui.minute(d)))
                .unwrap_or_default(),
        )?;
        if let Some(v) = &t.text_version {
            writeln!(out, "  {:<15} consent wording {v}", "")?;
        }
    }
    writeln!(out, "History:")?;
    for e in history {
        writeln!(
            out,
            "  {} {:<8} {:<28} {}",
            ui.second(e.recorded_at),
            e.actor,
            e.origin,
            serde_json::to_string(&e.change)?
        )?;
    }
    Ok(())
}

fn revoke(ctx: &Context, input: &str, topic: Option<&str>) -> Result<Exit> {
    let r: Revoked = block_on(async {
        let c = ctx.client().await?;
        c.call(
            &Request::Revoke {
                phone: input.to_string(),
                topic: topic.map(str::to_string),
            },
            None,
        )
        .await
    })?;
    if r.topics == 0 {
        outln!("{}: nothing to revoke (already revoked)", r.phone)?;
    } else {
        outln!("{}: revoked {} topic(s)", r.phone, r.topics)?;
    }
    Ok(Exit::Ok)
}

/// The date of `at` in the operator's zone.
fn ui_date(ui: &crate::config::UiConfig, at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&ui.timezone)
        .format("%Y-%m-%d")
        .to_string()
}
