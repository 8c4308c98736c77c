//! `[pricing]`: per-country prices for the dry run's cost estimate and
//! the actual cost of a campaign (delivered, charged messages as Meta's
//! status webhooks priced them).
//!
//! **The shipped prices are placeholders, not Meta's 2026 list prices.**
//! bote is built offline and its only source is our summary of Meta's
//! docs (`cloud-api.md`, late 2026), which says marketing to Germany is
//! "in the order of €0.11–0.14 per message; utility far less; service
//! replies free". The DE/AT/CH figures sit in that range; the others are
//! orders of magnitude from Meta's 2025 rate card as bote 0.1 shipped
//! them. An operator must check Meta's current rate card (and their BSP's
//! invoice) and put their own prices here before trusting a figure.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Problem;
use crate::campaign::journal::PricingCategory;

/// The highest price per message bote accepts: far above any rate card in
/// any currency, low enough that no audience's total overflows to `inf`.
pub const MAX_PRICE: f64 = 1_000_000.0;

/// The key of a table that prices every EU member state not listed by name.
pub const EU: &str = "EU";
/// The key of a table's price for every other region.
pub const DEFAULT: &str = "default";

/// The EU member states (ISO 3166-1 alpha-2), for the [`EU`] key.
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// `[pricing]`: price per delivered template message, per category and country.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    /// Currency of all prices.
    pub currency: String,
    /// MARKETING prices per ISO region; `EU` for the other member
    /// states, `default` for the rest.
    pub marketing: BTreeMap<String, f64>,
    /// UTILITY prices, keyed the same way.
    pub utility: BTreeMap<String, f64>,
    /// AUTHENTICATION prices, keyed the same way.
    pub authentication: BTreeMap<String, f64>,
}

impl Default for PricingConfig {
    fn default() -> Self {
        // PLACEHOLDERS (see the module docs): DE/AT/CH inside the range
        // cloud-api.md (late 2026) gives for Germany, the rest as bote 0.1
        // shipped them (orders of magnitude of Meta's 2025 rate card). Not
        // a list price: check Meta's current rate card.
        let marketing = [
            ("DE", 0.1131),
            ("AT", 0.1131),
            ("CH", 0.1131),
            ("FR", 0.0859),
            ("NL", 0.1597),
            ("IT", 0.0691),
            ("ES", 0.0615),
            (EU, 0.0800),
            (DEFAULT, 0.0604),
        ];
        let utility = [
            ("DE", 0.0456),
            ("AT", 0.0456),
            ("CH", 0.0456),
            (EU, 0.0350),
            (DEFAULT, 0.0300),
        ];
        let authentication = [
            ("DE", 0.0456),
            ("AT", 0.0456),
            ("CH", 0.0456),
            (EU, 0.0350),
            (DEFAULT, 0.0300),
        ];
        let map = |v: &[(&str, f64)]| v.iter().map(|(k, p)| (k.to_string(), *p)).collect();
        Self {
            currency: "EUR".into(),
            marketing: map(&marketing),
            utility: map(&utility),
            authentication: map(&authentication),
        }
    }
}

impl PricingConfig {
    pub(super) fn check(&self) -> Result<(), Problem> {
        for (table, prices) in [
            ("marketing", &self.marketing),
            ("utility", &self.utility),
            ("authentication", &self.authentication),
        ] {
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

    fn lookup(table: &BTreeMap<String, f64>, region: &str) -> f64 {
        table
            .get(region)
            .or_else(|| {
                EU_MEMBERS
                    .contains(&region)
                    .then(|| table.get(EU))
                    .flatten()
            })
            .or_else(|| table.get(DEFAULT))
            .copied()
            .unwrap_or(0.0)
    }

    /// The price of one message of `category` to a number in `region`
    /// (the estimate: by the template's category).
    pub fn price(&self, category: crate::template::Category, region: &str) -> f64 {
        let table = match category {
            crate::template::Category::Marketing => &self.marketing,
            crate::template::Category::Utility => &self.utility,
            crate::template::Category::Authentication => &self.authentication,
        };
        Self::lookup(table, region)
    }

    /// The price of one charged message Meta priced as `category` (the
    /// actual cost). **bote's choice:** `marketing_lite` is priced as
    /// marketing and `authentication_international` as authentication
    /// (an upper bound until the table has their own rows); `service` is
    /// free; a category bote does not know is priced as marketing, the
    /// dearest, so that an unknown never hides a cost.
    pub fn price_of(&self, category: PricingCategory, region: &str) -> f64 {
        let table = match category {
            PricingCategory::Marketing
            | PricingCategory::MarketingLite
            | PricingCategory::Other => &self.marketing,
            PricingCategory::Utility => &self.utility,
            PricingCategory::Authentication | PricingCategory::AuthenticationInternational => {
                &self.authentication
            }
            PricingCategory::Service => return 0.0,
        };
        Self::lookup(table, region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Category;

    #[test]
    fn a_member_state_without_its_own_price_takes_the_eu_one() {
        let p = PricingConfig::default();
        assert_eq!(p.price(Category::Marketing, "DE"), 0.1131);
        assert_eq!(p.price(Category::Marketing, "PL"), 0.0800, "EU");
        assert_eq!(p.price(Category::Marketing, "CH"), 0.1131, "listed by name");
        assert_eq!(p.price(Category::Marketing, "US"), 0.0604, "default");
        assert_eq!(p.price_of(PricingCategory::Service, "DE"), 0.0);
        assert_eq!(p.price_of(PricingCategory::MarketingLite, "DE"), 0.1131);
        assert_eq!(p.price(Category::Authentication, "AT"), 0.0456);
    }
}
