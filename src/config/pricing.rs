//! `[pricing]`: per-country prices for the dry run's cost estimate.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Problem;

/// The highest price per message bote accepts: far above any rate card in
/// any currency, low enough that no audience's total overflows to `inf`.
pub const MAX_PRICE: f64 = 1_000_000.0;

/// `[pricing]`: price per delivered template message, per category and country.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// Currency of all prices.
    pub currency: String,
    /// MARKETING prices per ISO region; `default` for the rest.
    pub marketing: BTreeMap<String, f64>,
    /// UTILITY prices per ISO region; `default` for the rest.
    pub utility: BTreeMap<String, f64>,
}

impl Default for PricingConfig {
    fn default() -> Self {
        // Orders of magnitude from Meta's 2025 rate card; operators put theirs.
        let marketing = [
            ("DE", 0.1131),
            ("AT", 0.1131),
            ("CH", 0.1131),
            ("FR", 0.0859),
            ("NL", 0.1597),
            ("IT", 0.0691),
            ("ES", 0.0615),
            ("default", 0.0604),
        ];
        let utility = [("DE", 0.0456), ("AT", 0.0456), ("default", 0.0300)];
        let map = |v: &[(&str, f64)]| v.iter().map(|(k, p)| (k.to_string(), *p)).collect();
        Self {
            currency: "EUR".into(),
            marketing: map(&marketing),
            utility: map(&utility),
        }
    }
}

impl PricingConfig {
    pub(super) fn check(&self) -> Result<(), Problem> {
        for (table, prices) in [("marketing", &self.marketing), ("utility", &self.utility)] {
            for (region, &price) in prices {
                // NaN, inf and negative prices make "Cost estimate: NaN EUR".
                if !price.is_finite() || !(0.0..=MAX_PRICE).contains(&price) {
                    return Err(Problem::new(
                        format!("pricing.{table}.{region}"),
                        format!(
                            "{price} is not a price: prices are numbers from 0 to {MAX_PRICE} \
                             ({} per message)",
                            self.currency
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The price of one message of `category` to a number in `region`.
    pub fn price(&self, category: crate::template::Category, region: &str) -> f64 {
        let table = match category {
            crate::template::Category::Marketing => &self.marketing,
            crate::template::Category::Utility => &self.utility,
            crate::template::Category::Authentication => &self.utility,
        };
        table
            .get(region)
            .or_else(|| table.get("default"))
            .copied()
            .unwrap_or(0.0)
    }
}
