//! What each template of the catalog expects from a send request.
//!
//! Worked out once at start (placeholders per component, named or
//! positional, media headers, URL buttons with a suffix), so checking a
//! request is a few map lookups. A template's status is an atomic, so tests
//! can pause a template while traffic flows (→ 132015).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;

use serde_json::Value;

use crate::template::{placeholders, Catalog, Category, Component, MediaKind, Status, Template};

const CATEGORIES: [Category; 3] = [
    Category::Marketing,
    Category::Utility,
    Category::Authentication,
];

fn category_index(c: Category) -> u8 {
    CATEGORIES.iter().position(|x| *x == c).unwrap_or(0) as u8
}

const STATUSES: [Status; 7] = [
    Status::Approved,
    Status::Pending,
    Status::Rejected,
    Status::Paused,
    Status::Disabled,
    Status::InAppeal,
    Status::LimitExceeded,
];

fn status_index(s: Status) -> u8 {
    STATUSES.iter().position(|x| *x == s).unwrap_or(0) as u8
}

/// What one component expects.
#[derive(Debug, Default)]
pub(crate) struct Expect {
    pub(crate) count: usize,
    /// Names of named placeholders; empty when positional.
    pub(crate) names: Vec<String>,
    /// A media header: one parameter of this kind.
    pub(crate) media: Option<MediaKind>,
}

impl Expect {
    fn from_text(text: &str) -> Self {
        let keys = placeholders(text);
        let named = keys.iter().any(|k| !k.bytes().all(|b| b.is_ascii_digit()));
        Self {
            count: keys.len(),
            names: if named { keys } else { Vec::new() },
            media: None,
        }
    }
}

/// A template as the simulator checks it.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) template: Template,
    status: AtomicU8,
    /// Meta may re-categorise an approved template.
    category: AtomicU8,
    /// Sends the Marketing Messages API still refuses as not yet synced.
    pub(crate) unsynced: std::sync::atomic::AtomicU32,
    /// The quality rating the list shows (`UNKNOWN` until one is posted).
    pub(crate) quality: std::sync::Mutex<String>,
    pub(crate) header: Expect,
    pub(crate) body: Expect,
    pub(crate) buttons: BTreeMap<String, Expect>,
}

impl Spec {
    fn new(template: Template) -> Self {
        let mut header = Expect::default();
        let mut buttons = BTreeMap::new();
        for c in &template.components {
            match c {
                Component::Header { format, text, .. } if format == "TEXT" => {
                    header = Expect::from_text(text.as_deref().unwrap_or(""));
                }
                Component::Header { format, .. } if MediaKind::from_format(format).is_some() => {
                    header = Expect {
                        count: 1,
                        names: Vec::new(),
                        media: MediaKind::from_format(format),
                    };
                }
                Component::Buttons { buttons: list } => {
                    for (i, b) in list.iter().enumerate() {
                        if let Some(url) = &b.url {
                            let e = Expect::from_text(url);
                            if e.count > 0 {
                                buttons.insert(i.to_string(), e);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Self {
            status: AtomicU8::new(status_index(template.status)),
            category: AtomicU8::new(category_index(template.category)),
            unsynced: std::sync::atomic::AtomicU32::new(0),
            quality: std::sync::Mutex::new("UNKNOWN".into()),
            body: Expect::from_text(template.body()),
            header,
            buttons,
            template,
        }
    }

    pub(crate) fn status(&self) -> Status {
        STATUSES
            .get(self.status.load(Relaxed) as usize)
            .copied()
            .unwrap_or(Status::Approved)
    }

    pub(crate) fn category(&self) -> Category {
        CATEGORIES
            .get(self.category.load(Relaxed) as usize)
            .copied()
            .unwrap_or(Category::Marketing)
    }

    /// The template as the list endpoint shows it: Meta's fields only.
    pub(crate) fn listing(&self, index: usize) -> Value {
        let mut v = serde_json::to_value(&self.template).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("bindings");
            o.remove("media");
            o.insert("status".into(), Value::String(self.status().to_string()));
            o.insert(
                "category".into(),
                Value::String(self.category().to_string()),
            );
            let quality = self
                .quality
                .lock()
                .map(|q| q.clone())
                .unwrap_or_else(|p| p.into_inner().clone());
            o.insert(
                "quality_score".into(),
                serde_json::json!({ "score": quality }),
            );
            if !o.contains_key("id") {
                o.insert("id".into(), Value::String(format!("{}", 1_000_000 + index)));
            }
        }
        v
    }
}

/// The catalog, indexed for checking.
#[derive(Debug, Default)]
pub(crate) struct TemplateTable {
    pub(crate) by_name: HashMap<String, HashMap<String, Arc<Spec>>>,
    pub(crate) ordered: Vec<Arc<Spec>>,
}

impl TemplateTable {
    pub(crate) fn new(catalog: &Catalog) -> Self {
        let mut table = Self::default();
        for t in catalog.list() {
            let spec = Arc::new(Spec::new(t.clone()));
            table
                .by_name
                .entry(t.name.clone())
                .or_default()
                .insert(t.language.clone(), spec.clone());
            table.ordered.push(spec);
        }
        table
    }

    pub(crate) fn spec(&self, name: &str, language: &str) -> Option<&Arc<Spec>> {
        self.by_name.get(name).and_then(|m| m.get(language))
    }

    /// Changes a template's category; false when there is no such template.
    pub(crate) fn set_category(&self, name: &str, language: &str, category: Category) -> bool {
        match self.spec(name, language) {
            Some(spec) => {
                spec.category.store(category_index(category), Relaxed);
                true
            }
            None => false,
        }
    }

    /// Changes a template's status; false when there is no such template.
    pub(crate) fn set_status(&self, name: &str, language: &str, status: Status) -> bool {
        match self.by_name.get(name).and_then(|m| m.get(language)) {
            Some(spec) => {
                spec.status.store(status_index(status), Relaxed);
                true
            }
            None => false,
        }
    }
}
