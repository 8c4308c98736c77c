//! The dry run's cost estimate: eligible recipients priced per country.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::Recipient;
use crate::config::Config;
use crate::phone::Phone;
use crate::template::Category;

/// Cost per country.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CountryCost {
    /// Recipients.
    pub recipients: usize,
    /// Price per message.
    pub price: f64,
    /// recipients × price.
    pub subtotal: f64,
}

/// The dry run's cost estimate (per delivered message, so an upper bound).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CostEstimate {
    /// Currency.
    pub currency: String,
    /// Sum.
    pub total: f64,
    /// By ISO region.
    pub by_country: BTreeMap<String, CountryCost>,
}

pub(super) fn estimate_cost(
    config: &Config,
    category: Category,
    eligible: &[Recipient],
) -> CostEstimate {
    let mut by_country: BTreeMap<String, CountryCost> = BTreeMap::new();
    // Count by the first three digits (they hold the country code), then one
    // metadata lookup per prefix.
    let mut prefixes: HashMap<u64, (Phone, usize)> = HashMap::new();
    for r in eligible {
        let digits = r.phone.as_u64();
        let prefix = digits / 10u64.pow((digits.ilog10()).saturating_sub(2));
        prefixes.entry(prefix).or_insert((r.phone, 0)).1 += 1;
    }
    for (phone, recipients) in prefixes.into_values() {
        let region = phone.region_code().unwrap_or("other");
        let price = config.pricing.price(category, region);
        let e = by_country.entry(region.to_string()).or_insert(CountryCost {
            recipients: 0,
            price,
            subtotal: 0.0,
        });
        e.recipients += recipients;
    }
    let mut total = 0.0;
    for c in by_country.values_mut() {
        c.subtotal = c.recipients as f64 * c.price;
        total += c.subtotal;
    }
    CostEstimate {
        currency: config.pricing.currency.clone(),
        total,
        by_country,
    }
}
