//! Checks of a template: structural validation at load, and compliance lints (G7, G8).

use serde::{Deserialize, Serialize};

use super::{placeholders, Binding, Category, Component, Part, Slot, Status, Template};

/// The most buttons a template may have (Meta's limit).
pub const MAX_BUTTONS: usize = 10;

/// A finding of the template lint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lint {
    /// `warning` or `error`.
    pub level: String,
    /// Human text.
    pub message: String,
}

impl Template {
    /// Checks a template file (not its status): its shape
    /// ([`Template::validate_shape`]) and every positional placeholder bound.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_shape()?;
        for slot in &self.slots() {
            if self.binding(&slot.key).is_none() {
                return Err(format!(
                    "placeholder {{{{{}}}}} has no entry in [bindings]",
                    slot.key
                ));
            }
        }
        Ok(())
    }

    /// Checks the template's shape, as Meta's definition and bote's
    /// additions: one body, at most one header, footer and row of at most
    /// [`MAX_BUTTONS`] buttons, no placeholder in the footer, placeholders
    /// numbered 1..n without gaps, positional and named not mixed, bindings
    /// only for existing placeholders, `[media]` only for a media header.
    /// Unbound placeholders are allowed (a synced template before its
    /// bindings file): [`Template::unbound`] names them.
    pub fn validate_shape(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "name {:?} must be lowercase letters, digits and _",
                self.name
            ));
        }
        let count =
            |kind: fn(&Component) -> bool| self.components.iter().filter(|c| kind(c)).count();
        let bodies = count(|c| matches!(c, Component::Body { .. }));
        if bodies != 1 {
            return Err(format!("needs exactly one BODY component, has {bodies}"));
        }
        // The message shows the first of each; a second would be dropped
        // without a word.
        for (kind, n) in [
            ("HEADER", count(|c| matches!(c, Component::Header { .. }))),
            ("FOOTER", count(|c| matches!(c, Component::Footer { .. }))),
            ("BUTTONS", count(|c| matches!(c, Component::Buttons { .. }))),
        ] {
            if n > 1 {
                return Err(format!(
                    "has {n} {kind} components; Meta allows at most one"
                ));
            }
        }
        let buttons = self.buttons().len();
        if buttons > MAX_BUTTONS {
            return Err(format!(
                "has {buttons} buttons; Meta allows at most {MAX_BUTTONS}"
            ));
        }
        if self.footer().is_some_and(|f| !placeholders(f).is_empty()) {
            return Err("the FOOTER may not hold placeholders (Meta sends it as written)".into());
        }
        let slots = self.slots();
        for part in [Part::Header, Part::Body] {
            let keys: Vec<&Slot> = slots.iter().filter(|s| s.part == part).collect();
            let positional = keys.iter().filter(|s| s.is_positional()).count();
            if positional != 0 && positional != keys.len() {
                return Err(format!("{part:?} mixes positional and named placeholders"));
            }
            if positional == keys.len() {
                let mut nums: Vec<usize> = keys.iter().filter_map(|s| s.key.parse().ok()).collect();
                nums.sort_unstable();
                nums.dedup();
                if nums.iter().enumerate().any(|(i, n)| *n != i + 1) {
                    return Err(format!(
                        "{part:?} placeholders must be numbered {{{{1}}}}..{{{{n}}}} without gaps"
                    ));
                }
            }
        }
        for key in self.bindings.keys() {
            if !slots.iter().any(|s| &s.key == key) {
                return Err(format!(
                    "[bindings] names {key:?}, which no placeholder uses"
                ));
            }
        }
        self.validate_media()
    }

    /// What bote still needs to send this template: each placeholder
    /// without a binding (`{{1}}`) and a media header without `[media]`.
    pub fn unbound(&self) -> Vec<String> {
        let mut missing: Vec<String> = self
            .slots()
            .into_iter()
            .filter(|s| self.binding(&s.key).is_none())
            .map(|s| format!("{{{{{}}}}}", s.key))
            .collect();
        missing.dedup();
        if let (Some(kind), None) = (self.media_kind(), &self.media) {
            missing.push(format!("the {kind} of the header ([media])"));
        }
        missing
    }

    /// Compliance and configuration findings: a MARKETING template without an
    /// opt-out hint (G7), attributes that are not declared (G8).
    pub fn lint(&self, consent: &crate::config::ConsentConfig) -> Vec<Lint> {
        let mut lints = Vec::new();
        if self.category == Category::Marketing && !self.has_opt_out_hint(&consent.stop_keywords) {
            lints.push(Lint {
                level: "warning".into(),
                message: "MARKETING template has no opt-out hint (a STOP keyword in body or \
                          footer, or a stop quick-reply button); recipients must learn how to \
                          revoke (G7)"
                    .into(),
            });
        }
        for slot in self.slots() {
            if let Some(Binding::Attribute { attribute, .. }) = self.binding(&slot.key) {
                if !consent.attributes.contains(&attribute) {
                    lints.push(Lint {
                        level: "error".into(),
                        message: format!(
                            "placeholder {{{{{}}}}} reads attribute {attribute:?}, which is not \
                             declared in [consent] attributes (G8)",
                            slot.key
                        ),
                    });
                }
            }
        }
        let unbound = self.unbound();
        if !unbound.is_empty() {
            lints.push(Lint {
                level: "error".into(),
                message: format!(
                    "not sendable yet: no binding for {} (add them in {})",
                    unbound.join(", "),
                    super::bindings_file(&self.name, &self.language)
                ),
            });
        }
        if self.status != Status::Approved {
            lints.push(Lint {
                level: "error".into(),
                message: format!(
                    "status is {}; only APPROVED templates can be sent",
                    self.status
                ),
            });
        }
        lints
    }

    /// Whether a recipient can tell from the message how to stop marketing.
    pub fn has_opt_out_hint(&self, stop_keywords: &[String]) -> bool {
        let words = |text: &str| -> bool {
            text.split(|c: char| !c.is_alphanumeric())
                .any(|w| stop_keywords.iter().any(|k| k.eq_ignore_ascii_case(w)))
        };
        let texts = [Some(self.body()), self.footer()];
        texts.into_iter().flatten().any(words)
            || self.buttons().iter().any(|b| {
                b.kind == "QUICK_REPLY" && {
                    let t = b.text.to_lowercase();
                    t.contains("stop") || t.contains("abmelden") || words(&b.text)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConsentConfig;
    use crate::template::fixtures::catalog;

    #[test]
    fn lint_warns_on_marketing_without_opt_out() {
        let consent = ConsentConfig::default();
        let c = catalog();
        let good = c.get("herbst_sale", None).expect("exists");
        assert!(good.lint(&consent).is_empty(), "{:?}", good.lint(&consent));
        let mut bad = good.clone();
        bad.components
            .retain(|c| !matches!(c, Component::Footer { .. } | Component::Buttons { .. }));
        let lints = bad.lint(&consent);
        assert!(lints.iter().any(|l| l.message.contains("G7")), "{lints:?}");
    }

    #[test]
    fn validation_catches_gaps_and_unbound_placeholders() {
        let c = catalog();
        let mut t = c.get("herbst_sale", None).expect("exists").clone();
        for comp in &mut t.components {
            if let Component::Body { text, .. } = comp {
                *text = "Hallo {{1}}, Code {{3}}".into();
            }
        }
        assert!(t.validate().expect_err("gap").contains("without gaps"));
    }

    #[test]
    fn more_buttons_than_meta_allows_are_refused() {
        let c = catalog();
        let mut t = c.get("herbst_sale", None).expect("exists").clone();
        let button = crate::template::Button {
            kind: "QUICK_REPLY".into(),
            text: "Mehr".into(),
            url: None,
            phone_number: None,
        };
        for comp in &mut t.components {
            if let Component::Buttons { buttons } = comp {
                buttons.resize(MAX_BUTTONS, button.clone());
            }
        }
        t.validate().expect("ten buttons");
        // 257 buttons once numbered the URL slot of the 257th as button 0.
        for comp in &mut t.components {
            if let Component::Buttons { buttons } = comp {
                buttons.resize(257, button.clone());
            }
        }
        let e = t.validate().expect_err("too many");
        assert!(e.contains("at most 10"), "{e}");
        let mut twice = c.get("herbst_sale", None).expect("exists").clone();
        twice.components.push(Component::Footer {
            text: "Noch einer".into(),
        });
        assert!(twice
            .validate()
            .expect_err("two footers")
            .contains("FOOTER"));
    }
}
