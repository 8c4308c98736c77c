//! A campaign's actual cost so far: every delivered (or read) message
//! Meta's status webhooks priced as charged, at the `[pricing]` price of
//! its category and the recipient's country. Shown beside the plan's
//! estimate (`campaign status`, the dashboard, the export).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::journal::{Pricing, RecipientRecord, RecipientState};
use super::Journal;
use crate::config::PricingConfig;
use crate::consent::StoreError;

/// The actual cost of a campaign so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActualCost {
    /// Currency of the prices.
    pub currency: String,
    /// Sum over the charged deliveries.
    pub total: f64,
    /// Delivered (or read) messages.
    pub delivered: u64,
    /// Of those, the ones Meta priced as charged.
    pub charged: u64,
    /// Delivered messages no status priced (yet): not in the total.
    pub unpriced: u64,
    /// Charged messages per Meta pricing category (`marketing`, …).
    pub by_category: BTreeMap<String, u64>,
}

/// What one record costs, if Meta charges it: delivered (or read) and
/// priced as charged.
pub fn record_cost(prices: &PricingConfig, r: &RecipientRecord) -> Option<(Pricing, f64)> {
    if !matches!(r.state, RecipientState::Delivered | RecipientState::Read) {
        return None;
    }
    let p = r.pricing.filter(Pricing::charged)?;
    let region = r.phone.and_then(|p| p.region_code()).unwrap_or("other");
    Some((p, prices.price_of(p.category, region)))
}

/// The campaign's actual cost from its journal.
pub fn actual_cost(journal: &Journal, prices: &PricingConfig) -> Result<ActualCost, StoreError> {
    let mut out = ActualCost {
        currency: prices.currency.clone(),
        ..ActualCost::default()
    };
    for r in journal.iter() {
        let (_, rec) = r?;
        if !matches!(rec.state, RecipientState::Delivered | RecipientState::Read) {
            continue;
        }
        out.delivered += 1;
        if rec.pricing.is_none() {
            out.unpriced += 1;
        }
        if let Some((p, price)) = record_cost(prices, &rec) {
            out.charged += 1;
            out.total += price;
            let name = serde_json::to_value(p.category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *out.by_category.entry(name).or_default() += 1;
        }
    }
    Ok(out)
}

/// "Estimated 12.34 EUR · actual 5.67 EUR (50 charged of 52 delivered)".
pub fn line(estimate: Option<(f64, &str)>, actual: &ActualCost) -> String {
    let est = match estimate {
        Some((total, currency)) => format!("estimated {total:.2} {currency}"),
        None => "no estimate (a campaign of an older bote)".into(),
    };
    let unpriced = if actual.unpriced > 0 {
        format!(", {} not priced yet", actual.unpriced)
    } else {
        String::new()
    };
    format!(
        "cost: {est} · actual {:.2} {} ({} charged of {} delivered{unpriced})",
        actual.total, actual.currency, actual.charged, actual.delivered
    )
}
