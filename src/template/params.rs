//! Filling placeholders per recipient: bindings to attributes or fixed values, and the params.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Template;

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Binding {
    /// A declared consent attribute of the recipient (e.g. `first_name`).
    Attribute {
        /// Attribute name as declared in `[consent] attributes`.
        attribute: String,
        /// Used when the recipient lacks the attribute; without one such
        /// recipients are excluded from the campaign.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<String>,
    },
    /// The same value for everybody (a discount code).
    Value {
        /// The value.
        value: String,
    },
}

/// Placeholder values for one recipient, in slot order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Params(pub Vec<String>);

impl Params {
    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a recipient's parameters cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing template parameter {key:?} (attribute {attribute:?})")]
pub struct MissingParam {
    /// The placeholder.
    pub key: String,
    /// The attribute it needed.
    pub attribute: String,
}

impl Template {
    /// The binding of a placeholder; a named placeholder without an explicit
    /// binding reads the attribute of the same name.
    pub fn binding(&self, key: &str) -> Option<Binding> {
        self.bindings.get(key).cloned().or_else(|| {
            (!key.bytes().all(|b| b.is_ascii_digit())).then(|| Binding::Attribute {
                attribute: key.to_string(),
                fallback: None,
            })
        })
    }

    /// Attributes a recipient needs (no fallback) for this template.
    pub fn required_attributes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .slots()
            .iter()
            .filter_map(|s| match self.binding(&s.key) {
                Some(Binding::Attribute {
                    attribute,
                    fallback: None,
                }) => Some(attribute),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Fills every slot for a recipient with these attributes; `overrides`
    /// (from the campaign) win over the template's bindings.
    pub fn resolve(
        &self,
        attributes: &BTreeMap<String, String>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Params, MissingParam> {
        let mut values = Vec::new();
        for slot in self.slots() {
            if let Some(v) = overrides.get(&slot.key) {
                values.push(v.clone());
                continue;
            }
            let value = match self.binding(&slot.key) {
                Some(Binding::Value { value }) => value,
                Some(Binding::Attribute {
                    attribute,
                    fallback,
                }) => match attributes.get(&attribute).filter(|v| !v.trim().is_empty()) {
                    Some(v) => v.clone(),
                    None => fallback.ok_or(MissingParam {
                        key: slot.key.clone(),
                        attribute,
                    })?,
                },
                None => {
                    return Err(MissingParam {
                        key: slot.key.clone(),
                        attribute: String::new(),
                    })
                }
            };
            values.push(value);
        }
        Ok(Params(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::fixtures::catalog;

    #[test]
    fn missing_attribute_is_reported() {
        let c = catalog();
        let t = c.get("herbst_sale", None).expect("exists");
        let e = t
            .resolve(&BTreeMap::new(), &BTreeMap::new())
            .expect_err("no name");
        assert_eq!(e.attribute, "first_name");
    }

    #[test]
    fn overrides_beat_bindings() {
        let c = catalog();
        let t = c.get("herbst_sale", None).expect("exists");
        let attrs = BTreeMap::from([("first_name".to_string(), "Anna".to_string())]);
        let code_key = t
            .bindings
            .iter()
            .find(|(_, b)| matches!(b, Binding::Value { .. }))
            .map(|(k, _)| k.clone())
            .expect("a fixed code");
        let over = BTreeMap::from([(code_key, "WINTER30".to_string())]);
        let text = t.render(&t.resolve(&attrs, &over).expect("resolves"));
        assert!(text.contains("WINTER30"), "{text}");
    }
}
