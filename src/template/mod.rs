//! The template catalog: approved message templates, their placeholders,
//! how each placeholder is filled per recipient, and rendering.
//!
//! Files in `templates/` mirror the Cloud API's template shape (name,
//! language, category, status, components) so that a sync can update them,
//! plus one bote-local table, `bindings`, saying where each placeholder's
//! value comes from: a declared consent attribute (per recipient, G15) or a
//! fixed campaign value (a discount code).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A problem loading or using templates.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The directory or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid template.
    #[error("invalid template file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and key where known.
        message: String,
    },
    /// Two files define the same name and language.
    #[error("template {name} ({language}) is defined twice: {first} and {second}")]
    Duplicate {
        /// Template name.
        name: String,
        /// Language code.
        language: String,
        /// First file.
        first: PathBuf,
        /// Second file.
        second: PathBuf,
    },
    /// No template of that name.
    #[error("no template named {0:?} (see `bote template list`)")]
    NotFound(String),
}

/// Meta's template category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    /// Promotions: needs marketing consent for the topic.
    Marketing,
    /// Transactional updates.
    Utility,
    /// One-time codes.
    Authentication,
}

/// Meta's review status; only `Approved` may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// May be sent.
    Approved,
    /// In review.
    Pending,
    /// Refused by Meta.
    Rejected,
    /// Paused for low quality (132015).
    Paused,
    /// Disabled (132016).
    Disabled,
    /// Appealing a rejection.
    InAppeal,
    /// Too many templates.
    LimitExceeded,
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Approved => "APPROVED",
            Self::Pending => "PENDING",
            Self::Rejected => "REJECTED",
            Self::Paused => "PAUSED",
            Self::Disabled => "DISABLED",
            Self::InAppeal => "IN_APPEAL",
            Self::LimitExceeded => "LIMIT_EXCEEDED",
        })
    }
}

/// One part of a template, as the Cloud API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Component {
    /// The optional header line or media.
    Header {
        /// TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION.
        format: String,
        /// Text for TEXT headers, may hold one placeholder.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Example values, as Meta's review wants them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        example: Option<serde_json::Value>,
    },
    /// The message body with `{{1}}` or `{{name}}` placeholders.
    Body {
        /// The text.
        text: String,
        /// Example values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        example: Option<serde_json::Value>,
    },
    /// The small print below the body; no placeholders.
    Footer {
        /// The text.
        text: String,
    },
    /// Up to ten buttons.
    Buttons {
        /// The buttons, in order (their index matters for parameters).
        buttons: Vec<Button>,
    },
}

/// One button of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The label.
    pub text: String,
    /// For URL buttons; may end in one placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For PHONE_NUMBER buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

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

/// A template: Meta's shape plus bote's bindings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Meta's id, once synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name, `[a-z0-9_]+`.
    pub name: String,
    /// Language code, e.g. `de` or `de_AT`.
    pub language: String,
    /// Category.
    pub category: Category,
    /// Review status.
    pub status: Status,
    /// Header, body, footer, buttons.
    pub components: Vec<Component>,
    /// Placeholder key (`1`, `first_name`) → source of its value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bindings: BTreeMap<String, Binding>,
}

/// Which component a placeholder sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The header text.
    Header,
    /// The body.
    Body,
    /// The URL of the button with this index.
    Button(u8),
}

/// One placeholder occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Where it is.
    pub part: Part,
    /// `1`, `2` … or a name.
    pub key: String,
}

impl Slot {
    /// Whether the key is positional (`{{1}}`) rather than named.
    pub fn is_positional(&self) -> bool {
        self.key.bytes().all(|b| b.is_ascii_digit())
    }
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

/// A finding of the template lint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lint {
    /// `warning` or `error`.
    pub level: String,
    /// Human text.
    pub message: String,
}

/// Extracts `{{…}}` placeholder keys from `text`, in order of appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

/// Replaces each `{{key}}` in `text` using `value`; unknown keys stay as they are.
pub fn substitute<'a>(text: &str, mut value: impl FnMut(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        match value(after[..end].trim()) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

impl Template {
    /// The body text.
    pub fn body(&self) -> &str {
        self.components
            .iter()
            .find_map(|c| match c {
                Component::Body { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .unwrap_or("")
    }

    /// The header text, if the header is text.
    pub fn header_text(&self) -> Option<&str> {
        self.components.iter().find_map(|c| match c {
            Component::Header { text, .. } => text.as_deref(),
            _ => None,
        })
    }

    /// The footer text.
    pub fn footer(&self) -> Option<&str> {
        self.components.iter().find_map(|c| match c {
            Component::Footer { text } => Some(text.as_str()),
            _ => None,
        })
    }

    /// The buttons.
    pub fn buttons(&self) -> &[Button] {
        self.components
            .iter()
            .find_map(|c| match c {
                Component::Buttons { buttons } => Some(buttons.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    /// Every placeholder, in the order the Cloud API expects parameters:
    /// header, body, then buttons by index.
    pub fn slots(&self) -> Vec<Slot> {
        let mut slots = Vec::new();
        let mut push = |part, text: &str| {
            for key in placeholders(text) {
                slots.push(Slot { part, key });
            }
        };
        if let Some(h) = self.header_text() {
            push(Part::Header, h);
        }
        push(Part::Body, self.body());
        for (i, b) in self.buttons().iter().enumerate() {
            if let Some(url) = &b.url {
                push(Part::Button(i as u8), url);
            }
        }
        slots
    }

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

    /// The message a recipient would read: header, body and footer with
    /// placeholders filled from `params` (in slot order).
    pub fn render(&self, params: &Params) -> String {
        let slots = self.slots();
        let lookup = |part: Part| {
            let slots = &slots;
            move |key: &str| {
                slots
                    .iter()
                    .position(|s| s.part == part && s.key == key)
                    .and_then(|i| params.0.get(i))
                    .map(String::as_str)
            }
        };
        let mut out = String::new();
        if let Some(h) = self.header_text() {
            out.push_str(&substitute(h, lookup(Part::Header)));
            out.push_str("\n\n");
        }
        out.push_str(&substitute(self.body(), lookup(Part::Body)));
        if let Some(f) = self.footer() {
            out.push_str("\n\n");
            out.push_str(f);
        }
        let buttons: Vec<&str> = self.buttons().iter().map(|b| b.text.as_str()).collect();
        if !buttons.is_empty() {
            out.push_str("\n\n[ ");
            out.push_str(&buttons.join(" ] [ "));
            out.push_str(" ]");
        }
        out
    }

    /// Checks the template itself (not its status): placeholders numbered
    /// 1..n without gaps, positional and named not mixed, every positional
    /// placeholder bound, bindings only for existing placeholders.
    pub fn validate(&self) -> Result<(), String> {
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
        let bodies = self
            .components
            .iter()
            .filter(|c| matches!(c, Component::Body { .. }))
            .count();
        if bodies != 1 {
            return Err(format!("needs exactly one BODY component, has {bodies}"));
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
        for slot in &slots {
            if self.binding(&slot.key).is_none() {
                return Err(format!(
                    "placeholder {{{{{}}}}} has no entry in [bindings]",
                    slot.key
                ));
            }
        }
        for key in self.bindings.keys() {
            if !slots.iter().any(|s| &s.key == key) {
                return Err(format!(
                    "[bindings] names {key:?}, which no placeholder uses"
                ));
            }
        }
        Ok(())
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

/// All templates known to bote, by name and language.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    templates: Vec<Template>,
}

/// The templates shipped in `templates/`, compiled in so the sandbox works
/// from any directory.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "herbst_sale.toml",
        include_str!("../../templates/herbst_sale.toml"),
    ),
    (
        "neue_kollektion.toml",
        include_str!("../../templates/neue_kollektion.toml"),
    ),
    (
        "oeffnungszeiten_update.toml",
        include_str!("../../templates/oeffnungszeiten_update.toml"),
    ),
    (
        "event_einladung.toml",
        include_str!("../../templates/event_einladung.toml"),
    ),
    (
        "optin_bestaetigung.toml",
        include_str!("../../templates/optin_bestaetigung.toml"),
    ),
];

impl Catalog {
    /// A catalog of these templates (validated).
    pub fn new(templates: Vec<Template>) -> Result<Self, TemplateError> {
        let mut catalog = Self::default();
        for t in templates {
            let path = PathBuf::from(format!("{}.toml", t.name));
            catalog.insert(t, &path, &mut BTreeMap::new())?;
        }
        Ok(catalog)
    }

    /// Parses one template file (TOML, or JSON in the API's shape).
    pub fn parse_file(path: &Path, text: &str) -> Result<Template, TemplateError> {
        let parsed: Result<Template, String> = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(text).map_err(|e| e.to_string())
        } else {
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
        };
        let template = parsed.map_err(|message| TemplateError::Parse {
            path: path.to_owned(),
            message,
        })?;
        template
            .validate()
            .map_err(|message| TemplateError::Parse {
                path: path.to_owned(),
                message,
            })?;
        Ok(template)
    }

    /// Loads every `*.toml` and `*.json` file of a directory.
    pub fn load_dir(dir: &Path) -> Result<Self, TemplateError> {
        let read_err = |source| TemplateError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml" || e == "json"))
            .collect();
        paths.sort();
        let mut catalog = Self::default();
        let mut origin = BTreeMap::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
                path: path.clone(),
                source,
            })?;
            let t = Self::parse_file(&path, &text)?;
            catalog.insert(t, &path, &mut origin)?;
        }
        Ok(catalog)
    }

    /// The templates that ship with bote.
    pub fn embedded() -> Result<Self, TemplateError> {
        let mut catalog = Self::default();
        let mut origin = BTreeMap::new();
        for (name, text) in EMBEDDED {
            let path = Path::new("templates").join(name);
            let t = Self::parse_file(&path, text)?;
            catalog.insert(t, &path, &mut origin)?;
        }
        Ok(catalog)
    }

    /// `dir` when it exists, else the embedded templates.
    pub fn load_or_embedded(dir: &Path) -> Result<Self, TemplateError> {
        if dir.is_dir() {
            Self::load_dir(dir)
        } else {
            Self::embedded()
        }
    }

    fn insert(
        &mut self,
        t: Template,
        path: &Path,
        origin: &mut BTreeMap<(String, String), PathBuf>,
    ) -> Result<(), TemplateError> {
        let key = (t.name.clone(), t.language.clone());
        if let Some(first) = origin.get(&key) {
            return Err(TemplateError::Duplicate {
                name: key.0,
                language: key.1,
                first: first.clone(),
                second: path.to_owned(),
            });
        }
        origin.insert(key, path.to_owned());
        self.templates.push(t);
        Ok(())
    }

    /// All templates: APPROVED first, then by name and language.
    pub fn list(&self) -> Vec<&Template> {
        let mut v: Vec<&Template> = self.templates.iter().collect();
        v.sort_by(|a, b| {
            (a.status != Status::Approved, &a.name, &a.language).cmp(&(
                b.status != Status::Approved,
                &b.name,
                &b.language,
            ))
        });
        v
    }

    /// The template `name` in `language`, or in its only language.
    pub fn get(&self, name: &str, language: Option<&str>) -> Result<&Template, TemplateError> {
        let mut matching = self.templates.iter().filter(|t| t.name == name);
        match language {
            Some(lang) => matching.find(|t| t.language == lang),
            None => matching.next(),
        }
        .ok_or_else(|| TemplateError::NotFound(name.to_string()))
    }

    /// Updates the status (and id) of known templates from a sync; returns
    /// how many changed.
    pub fn apply_remote(&mut self, remote: &[Template]) -> usize {
        let mut changed = 0;
        for r in remote {
            if let Some(t) = self
                .templates
                .iter_mut()
                .find(|t| t.name == r.name && t.language == r.language)
            {
                if t.status != r.status || t.id != r.id {
                    t.status = r.status;
                    t.id.clone_from(&r.id);
                    changed += 1;
                }
            }
        }
        changed
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConsentConfig;

    fn catalog() -> Catalog {
        Catalog::embedded().expect("shipped templates are valid")
    }

    #[test]
    fn shipped_templates_load_and_approved_sort_first() {
        let c = catalog();
        assert!(c.len() >= 4);
        let list = c.list();
        assert_eq!(list[0].status, Status::Approved);
        assert!(list.iter().any(|t| t.status == Status::Paused));
    }

    #[test]
    fn disk_and_embedded_catalogs_agree() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let disk = Catalog::load_dir(&dir).expect("templates/ loads");
        assert_eq!(
            disk.len(),
            EMBEDDED.len(),
            "every file in templates/ is embedded"
        );
    }

    #[test]
    fn renders_a_personalised_message() {
        let c = catalog();
        let t = c.get("herbst_sale", Some("de")).expect("exists");
        let attrs = BTreeMap::from([("first_name".to_string(), "Jürgen".to_string())]);
        let params = t.resolve(&attrs, &BTreeMap::new()).expect("resolves");
        let text = t.render(&params);
        assert!(text.contains("Hallo Jürgen"), "{text}");
        assert!(!text.contains("{{"), "{text}");
    }

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
    fn placeholder_parsing() {
        assert_eq!(
            placeholders("a {{1}} b {{ name }} c {{2"),
            vec!["1", "name"]
        );
        let out = substitute("Hi {{1}}, {{x}}!", |k| (k == "1").then_some("Bo"));
        assert_eq!(out, "Hi Bo, {{x}}!");
    }

    #[test]
    fn api_json_shape_parses() {
        let json = r#"{ "id": "1234", "name": "autumn_sale", "language": "de",
            "status": "APPROVED", "category": "MARKETING",
            "components": [
              { "type": "HEADER", "format": "TEXT", "text": "Herbst-Sale" },
              { "type": "BODY", "text": "Hallo {{1}}, mit dem Code {{2}} sparst du 20 %.",
                "example": { "body_text": [["Anna", "HERBST20"]] } },
              { "type": "FOOTER", "text": "Keine Werbung mehr? Antworte STOP." },
              { "type": "BUTTONS", "buttons": [ { "type": "QUICK_REPLY", "text": "Stop promotions" } ] } ] }"#;
        let t: Template = serde_json::from_str(json).expect("API shape");
        assert_eq!(t.slots().len(), 2);
        assert!(t.has_opt_out_hint(&["STOP".into()]));
    }
}
