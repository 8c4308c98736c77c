//! `bote template …`: the catalog.

use std::io::Write;

use anyhow::Result;
use clap::Subcommand;

use super::{Context, Exit};
use crate::template::{Binding, Template};

/// `bote template` subcommands.
#[derive(Debug, Subcommand)]
pub enum TemplateCmd {
    /// All templates, APPROVED first, with lint findings.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
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
    let catalog = ctx.catalog()?;
    let mut out = std::io::stdout().lock();
    match cmd {
        TemplateCmd::List { json } => {
            if json {
                let list: Vec<serde_json::Value> = catalog
                    .list()
                    .into_iter()
                    .map(|t| {
                        serde_json::json!({
                            "name": t.name, "language": t.language, "category": t.category,
                            "status": t.status, "lints": t.lint(&ctx.config.consent),
                        })
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{:<24} {:<6} {:<14} {:<10} NOTES",
                    "NAME", "LANG", "CATEGORY", "STATUS"
                )?;
                for t in catalog.list() {
                    let lints = t.lint(&ctx.config.consent);
                    writeln!(
                        out,
                        "{:<24} {:<6} {:<14} {:<10} {}",
                        t.name,
                        t.language,
                        t.category.to_string(),
                        t.status.to_string(),
                        lints.first().map(|l| l.message.as_str()).unwrap_or("")
                    )?;
                }
            }
        }
        TemplateCmd::Show {
            name,
            language,
            json,
        } => {
            let t = catalog.get(&name, language.as_deref())?;
            if json {
                serde_json::to_writer_pretty(&mut out, t)?;
                writeln!(out)?;
            } else {
                print_template(&mut out, ctx, t)?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn print_template(out: &mut impl Write, ctx: &Context, t: &Template) -> Result<()> {
    writeln!(
        out,
        "{} ({}) — {} — {}",
        t.name, t.language, t.category, t.status
    )?;
    writeln!(out)?;
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
    for l in t.lint(&ctx.config.consent) {
        writeln!(out, "{}: {}", l.level, l.message)?;
    }
    Ok(())
}
