//! Per-recipient results as CSV or JSON (`bote campaign export`).
//!
//! The CSV goes through [`SheetWriter`], bote's one spreadsheet-safe writer:
//! cells a spreadsheet would run as a formula (starting with `= + - @`, tab
//! or CR) are prefixed with `'`, since exports are opened in Excel by
//! people who trust them.

use std::io::Write;

use serde::Serialize;

use super::journal::{PricingCategory, PricingType, RecipientRecord};
use super::Journal;
use crate::config::PricingConfig;
use crate::consent::table::SheetWriter;
use crate::consent::StoreError;

/// The one formula escaping, for callers that still write cells themselves
/// (new code writes through [`SheetWriter`]).
pub use crate::consent::table::escape_formula;

/// One exported row.
#[derive(Debug, Serialize)]
struct Row<'a> {
    index: u32,
    phone: String,
    state: &'a str,
    code: Option<u32>,
    reason: Option<&'a str>,
    wamid: Option<&'a str>,
    attempts: u32,
    latency_ms: Option<u32>,
    updated_at: String,
    actor: &'a str,
    /// Meta's pricing category from the status webhooks, if any.
    pricing_category: Option<PricingCategory>,
    /// Meta's pricing type (`regular`, `free_entry_point`, …).
    pricing_type: Option<PricingType>,
    /// What the message cost (delivered and charged), in `currency`.
    cost: Option<f64>,
    currency: &'a str,
}

fn row<'a>(
    index: u32,
    r: &'a RecipientRecord,
    prices: &'a PricingConfig,
    numbers: Numbers,
) -> Row<'a> {
    Row {
        pricing_category: r.pricing.map(|p| p.category),
        pricing_type: r.pricing.map(|p| p.kind),
        cost: super::cost::record_cost(prices, r).map(|(_, c)| c),
        currency: &prices.currency,
        index,
        phone: r
            .phone
            .map(|p| match numbers {
                Numbers::Full => p.e164(),
                Numbers::Masked => p.masked(MASK_KEEP),
            })
            .unwrap_or_default(),
        state: r.state.as_str(),
        code: r.code,
        reason: r.reason.as_deref(),
        wamid: r.wamid.as_deref(),
        attempts: r.attempts,
        latency_ms: r.latency_ms,
        updated_at: r.updated_at.to_rfc3339(),
        actor: &r.actor,
    }
}

/// Whether an export shows numbers in full or masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// E.164, as sent.
    Full,
    /// All but the last [`MASK_KEEP`] digits hidden: for sharing results
    /// without the numbers.
    Masked,
}

/// Digits a masked export keeps.
pub const MASK_KEEP: usize = 4;

/// Export format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `;`-separated, formula-escaped.
    Csv,
    /// JSON lines, one recipient each.
    Json,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the journal.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output.
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Encoding a row.
    #[error("encoding the export: {0}")]
    Encode(String),
}

/// Writes every recipient of `journal` to `out`, with each delivered
/// message's pricing and its cost at `prices`; returns the row count.
pub fn export(
    journal: &Journal,
    format: Format,
    prices: &PricingConfig,
    numbers: Numbers,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let word = |v: Option<String>| v.unwrap_or_default();
    let name = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    let mut n = 0;
    match format {
        Format::Json => {
            for r in journal.iter() {
                let (idx, rec) = r?;
                serde_json::to_writer(&mut *out, &row(idx, &rec, prices, numbers))
                    .map_err(|e| ExportError::Encode(e.to_string()))?;
                writeln!(out)?;
                n += 1;
            }
        }
        Format::Csv => {
            let mut w = SheetWriter::new(out);
            w.row([
                "index",
                "phone",
                "state",
                "code",
                "reason",
                "wamid",
                "attempts",
                "latency_ms",
                "updated_at",
                "actor",
                "pricing_category",
                "pricing_type",
                "cost",
                "currency",
            ])?;
            for r in journal.iter() {
                let (idx, rec) = r?;
                let x = row(idx, &rec, prices, numbers);
                let cells = [
                    x.index.to_string(),
                    x.phone,
                    x.state.to_string(),
                    x.code.map(|c| c.to_string()).unwrap_or_default(),
                    x.reason.unwrap_or_default().to_string(),
                    x.wamid.unwrap_or_default().to_string(),
                    x.attempts.to_string(),
                    x.latency_ms.map(|c| c.to_string()).unwrap_or_default(),
                    x.updated_at,
                    x.actor.to_string(),
                    word(name(
                        x.pricing_category
                            .and_then(|c| serde_json::to_value(c).ok()),
                    )),
                    word(name(
                        x.pricing_type.and_then(|t| serde_json::to_value(t).ok()),
                    )),
                    x.cost.map(|c| format!("{c:.4}")).unwrap_or_default(),
                    x.currency.to_string(),
                ];
                w.row(&cells)?;
                n += 1;
            }
            w.into_inner()?;
        }
    }
    Ok(n)
}
