//! `bote template …`: the catalog, as the store's daemon has it (the one
//! campaigns are sent with).

use std::io::Write;

use anyhow::Result;
use clap::Subcommand;

use super::{block_on, Context, Exit};
use crate::engine::categories::{ListedCategory, TemplateCategory};
use crate::engine::reads::Setup;
use crate::engine::sync::TemplateSync;
use crate::service::wire::Request;
use crate::template::{Binding, Lint, Template};

/// `bote template` subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCmd {
    /// All templates, APPROVED first, with lint findings.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// First bring every template of the WABA from the Cloud API (the
        /// simulator in sandbox mode) into the daemon's store: definitions,
        /// statuses, quality, categories; and the number's limits.
        #[arg(long)]
        sync: bool,
    },
    /// One template: text, placeholders and where their values come from.
    Show {
        /// Template name.
        name: String,
        /// Language, when the template exists in several.
        #[arg(long)]
        language: Option<String>,
        /// As JSON (the Cloud API's shape plus bindings).
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(ctx: &Context, cmd: TemplateCmd) -> Result<Exit> {
    if let TemplateCmd::List { sync: true, .. } = cmd {
        // The daemon lists and keeps them: it owns the store, and its
        // client is the one sends go through (the sandbox's simulator).
        let report: TemplateSync = block_on(async {
            let c = ctx.client().await?;
            c.call(&Request::TemplateSync, None).await
        })?;
        let ch = &report.changes;
        errln!(
            "synced {} templates from the API: {} new, {} changed, {} removed",
            ch.listed,
            ch.added.len(),
            ch.changed.len(),
            ch.removed.len()
        );
        for (what, list) in [
            ("new", &ch.added),
            ("changed", &ch.changed),
            ("removed", &ch.removed),
        ] {
            if !list.is_empty() {
                errln!("  {what}: {}", list.join(", "));
            }
        }
        errln!("{}", report.limits);
        for u in &report.unbound {
            errln!(
                "not sendable until bound: {} ({}) — {} (write {})",
                u.name,
                u.language,
                u.missing.join(", "),
                u.bindings_file
            );
        }
    }
    let listed: Vec<ListedCategory> = Vec::new();
    // The latest categories the daemon routes by (the sync's go there at once).
    let categories: Vec<TemplateCategory> = block_on(async {
        let c = ctx.client().await?;
        c.call(&Request::TemplateCategories { listed }, None).await
    })?;
    let latest = |t: &Template| {
        categories
            .iter()
            .find(|c| c.name == t.name && c.language == t.language)
            .map(|c| &c.latest)
    };
    // The catalog and findings as the daemon that sends has them.
    let setup: Setup = block_on(async {
        let c = ctx.client().await?;
        c.call(&Request::Setup, None).await
    })?;
    let templates = setup.templates;
    // What Meta's webhooks said since (status, quality, the account).
    let platform: crate::engine::platform::PlatformReport = block_on(async {
        let c = ctx.client().await?;
        c.call(&Request::Platform, None).await
    })?;
    let state = |t: &Template| {
        platform
            .templates
            .iter()
            .find(|(n, l, _)| *n == t.name && *l == t.language)
            .map(|(_, _, s)| s)
    };
    let mut out = super::output::stdout();
    match cmd {
        TemplateCmd::List { json, .. } => {
            if json {
                let list: Vec<serde_json::Value> = templates
                    .iter()
                    .map(|(t, lints)| {
                        let l = latest(t);
                        let s = state(t);
                        serde_json::json!({
                            "name": t.name, "language": t.language,
                            "category": l.and_then(|l| l.category).unwrap_or(t.category),
                            "impending_category": l.and_then(|l| l.impending.as_ref()),
                            "status": s.and_then(|s| s.status).unwrap_or(t.status),
                            "status_from_webhook": s.and_then(|s| s.status_since),
                            "quality": s.and_then(|s| s.quality),
                            "lints": lints,
                        })
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{:<24} {:<6} {:<14} {:<10} {:<8} NOTES",
                    "NAME", "LANG", "CATEGORY", "STATUS", "QUALITY"
                )?;
                for (t, lints) in &templates {
                    let l = latest(t);
                    let category = l.and_then(|l| l.category).unwrap_or(t.category);
                    // An announced re-categorisation comes first: it changes
                    // price and consent rules within about a day.
                    let note = match l.and_then(|l| l.impending.as_ref()) {
                        Some(n) => format!(
                            "Meta will re-categorise it {}{}",
                            n.correct_category,
                            n.effective_at
                                .map(|a| format!(" at {}", ctx.config.ui.minute(a)))
                                .unwrap_or_default()
                        ),
                        None => lints.first().map(|l| l.message.clone()).unwrap_or_default(),
                    };
                    // The status Meta last reported (a webhook or a sync,
                    // kept by the daemon) is newer than the file's.
                    let s = state(t);
                    let status = s.and_then(|s| s.status).unwrap_or(t.status);
                    let quality = s
                        .and_then(|s| s.quality)
                        .map(|q| q.to_string())
                        .unwrap_or_else(|| "-".into());
                    writeln!(
                        out,
                        "{:<24} {:<6} {:<14} {:<10} {:<8} {note}",
                        t.name,
                        t.language,
                        category.to_string(),
                        status.to_string(),
                        quality,
                    )?;
                }
                for line in platform.account.lines() {
                    writeln!(out, "Meta: {line}")?;
                }
            }
        }
        TemplateCmd::Show {
            name,
            language,
            json,
        } => {
            let found: Vec<&(Template, Vec<Lint>)> = templates
                .iter()
                .filter(|(t, _)| t.name == name)
                .filter(|(t, _)| language.as_deref().is_none_or(|l| t.language == l))
                .collect();
            let (t, lints) = match found.as_slice() {
                [one] => *one,
                [] => anyhow::bail!(
                    "no template {name:?}{} in the daemon's catalog (see `bote template list`)",
                    language.map(|l| format!(" in {l}")).unwrap_or_default()
                ),
                many => anyhow::bail!(
                    "template {name:?} exists in {}: pick one with --language",
                    many.iter()
                        .map(|(t, _)| t.language.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            if json {
                serde_json::to_writer_pretty(&mut out, t)?;
                writeln!(out)?;
            } else {
                print_template(&mut out, t, lints)?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn print_template(out: &mut impl Write, t: &Template, lints: &[Lint]) -> Result<()> {
    writeln!(
        out,
        "{} ({}) — {} — {}",
        t.name, t.language, t.category, t.status
    )?;
    writeln!(out)?;
    if let Some(line) = t.media_line() {
        writeln!(out, "  {line}")?;
        writeln!(out)?;
    }
    if let Some(h) = t.header_text() {
        writeln!(out, "  {h}")?;
        writeln!(out)?;
    }
    for line in t.body().lines() {
        writeln!(out, "  {line}")?;
    }
    if let Some(f) = t.footer() {
        writeln!(out)?;
        writeln!(out, "  {f}")?;
    }
    for b in t.buttons() {
        writeln!(out, "  [ {} ] ({})", b.text, b.kind)?;
    }
    writeln!(out)?;
    writeln!(out, "Placeholders:")?;
    for slot in t.slots() {
        let source = match t.binding(&slot.key) {
            Some(Binding::Attribute {
                attribute,
                fallback,
            }) => format!(
                "attribute {attribute}{}",
                fallback
                    .map(|f| format!(" (fallback {f:?})"))
                    .unwrap_or_default()
            ),
            Some(Binding::Value { value }) => format!("fixed value {value:?}"),
            None => "unbound".into(),
        };
        writeln!(out, "  {{{{{}}}}} in {:?}: {source}", slot.key, slot.part)?;
    }
    for l in lints {
        writeln!(out, "{}: {}", l.level, l.message)?;
    }
    Ok(())
}
