//! What Meta said a message costs: the `pricing` object of its status
//! webhooks (`category`, `type`, `pricing_model`, the deprecated
//! `billable`), kept on the journal record in three bytes.

use serde::{Deserialize, Serialize};

/// Meta's pricing category of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingCategory {
    /// `marketing`.
    Marketing,
    /// `utility`.
    Utility,
    /// `authentication`.
    Authentication,
    /// `authentication_international`.
    AuthenticationInternational,
    /// `marketing_lite` (the Marketing Messages API's lighter rate).
    MarketingLite,
    /// `service` (replies inside the customer-service window; free).
    Service,
    /// A word bote does not know yet.
    Other,
}

/// Meta's pricing type: whether the message is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingType {
    /// `regular`: charged.
    Regular,
    /// `free_customer_service`.
    FreeCustomerService,
    /// `free_entry_point`.
    FreeEntryPoint,
    /// Absent or unknown: `billable` decides.
    Other,
}

/// The pricing of one message as its status webhooks reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// The category Meta priced it as.
    pub category: PricingCategory,
    /// Charged or free, and why.
    #[serde(rename = "type")]
    pub kind: PricingType,
    /// The deprecated `billable` flag (read only when `type` is absent).
    pub billable: bool,
    /// `pricing_model` is `PMP` (per-message pricing, since July 2025).
    pub per_message: bool,
}

const CATEGORIES: [PricingCategory; 7] = [
    PricingCategory::Marketing,
    PricingCategory::Utility,
    PricingCategory::Authentication,
    PricingCategory::AuthenticationInternational,
    PricingCategory::MarketingLite,
    PricingCategory::Service,
    PricingCategory::Other,
];
const TYPES: [PricingType; 4] = [
    PricingType::Regular,
    PricingType::FreeCustomerService,
    PricingType::FreeEntryPoint,
    PricingType::Other,
];

fn word<T: serde::de::DeserializeOwned>(v: &serde_json::Value, key: &str) -> Option<T> {
    let s = v.get(key)?.as_str()?.trim().to_ascii_lowercase();
    serde_json::from_value(serde_json::Value::String(s)).ok()
}

impl Pricing {
    /// From a status's `pricing` object; `None` when it is not an object.
    pub fn from_webhook(v: &serde_json::Value) -> Option<Self> {
        v.as_object()?;
        Some(Self {
            category: word(v, "category").unwrap_or(PricingCategory::Other),
            kind: word(v, "type").unwrap_or(PricingType::Other),
            billable: v
                .get("billable")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            per_message: v
                .get("pricing_model")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|m| m.eq_ignore_ascii_case("PMP")),
        })
    }

    /// Whether Meta charges the message: `type` says so (`regular`);
    /// without a known `type`, the deprecated `billable` does.
    pub fn charged(&self) -> bool {
        match self.kind {
            PricingType::Regular => self.category != PricingCategory::Service,
            PricingType::FreeCustomerService | PricingType::FreeEntryPoint => false,
            PricingType::Other => self.billable && self.category != PricingCategory::Service,
        }
    }

    /// The three bytes the journal keeps.
    pub(super) fn to_bytes(self) -> [u8; 3] {
        let pos = |i: Option<usize>| i.map_or(u8::MAX, |i| i as u8);
        let mut flags = 0;
        if self.billable {
            flags |= 1;
        }
        if self.per_message {
            flags |= 2;
        }
        [
            pos(CATEGORIES.iter().position(|c| *c == self.category)),
            pos(TYPES.iter().position(|t| *t == self.kind)),
            flags,
        ]
    }

    /// From [`Pricing::to_bytes`]; `None` for bytes no bote wrote.
    pub(super) fn from_bytes([c, t, f]: [u8; 3]) -> Option<Self> {
        Some(Self {
            category: *CATEGORIES.get(usize::from(c))?,
            kind: *TYPES.get(usize::from(t))?,
            billable: f & 1 != 0,
            per_message: f & 2 != 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn meta_pricing_reads_and_type_wins_over_billable() {
        let p = Pricing::from_webhook(&json!({"billable": true, "pricing_model": "PMP",
            "category": "marketing", "type": "regular"}))
        .expect("object");
        assert_eq!(
            (p.category, p.kind, p.per_message),
            (PricingCategory::Marketing, PricingType::Regular, true)
        );
        assert!(p.charged());
        let free = Pricing::from_webhook(&json!({"billable": true, "category": "utility",
            "type": "free_customer_service"}))
        .expect("object");
        assert!(!free.charged(), "type wins over the deprecated billable");
        let old =
            Pricing::from_webhook(&json!({"billable": true, "category": "marketing"})).expect("o");
        assert!(old.charged(), "no type: billable decides");
        let novel =
            Pricing::from_webhook(&json!({"category": "brand_new", "type": "later"})).expect("o");
        assert_eq!(
            (novel.category, novel.kind),
            (PricingCategory::Other, PricingType::Other)
        );
        assert!(Pricing::from_webhook(&json!("marketing")).is_none());
        for p in [p, free, old, novel] {
            assert_eq!(Pricing::from_bytes(p.to_bytes()), Some(p));
        }
        assert_eq!(Pricing::from_bytes([200, 0, 0]), None);
    }
}
