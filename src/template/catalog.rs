//! The catalog: every template bote knows, from files or the shipped ones, by name and language.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Status, Template, TemplateError};

/// All templates known to bote, by name and language.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub(super) templates: Vec<Template>,
    /// The bindings files of `templates/bindings/`, for synced templates.
    pub(super) bindings: super::bindings::BindingsByTemplate,
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
        "winter_gutschein.toml",
        include_str!("../../templates/winter_gutschein.toml"),
    ),
    (
        "optin_bestaetigung.toml",
        include_str!("../../templates/optin_bestaetigung.toml"),
    ),
];

impl Catalog {
    /// A catalog of these templates, each of a valid shape (placeholders
    /// may be unbound: a synced template before its bindings) and no name
    /// and language twice (errors name the template as `NAME.toml`).
    pub fn new(templates: Vec<Template>) -> Result<Self, TemplateError> {
        let mut catalog = Self::default();
        let mut origin = BTreeMap::new();
        for t in templates {
            let path = PathBuf::from(format!("{}.toml", t.name));
            t.validate_shape().map_err(|message| TemplateError::Parse {
                path: path.clone(),
                message,
            })?;
            catalog.insert(t, &path, &mut origin)?;
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
        catalog.bindings = super::bindings::load_bindings_dir(&dir.join("bindings"))?;
        Ok(catalog)
    }

    /// The bindings files this catalog was loaded with.
    pub fn bindings_files(&self) -> &super::bindings::BindingsByTemplate {
        &self.bindings
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
    use crate::template::fixtures::catalog;

    #[test]
    fn shipped_templates_load_and_approved_sort_first() {
        let c = catalog();
        assert!(c.len() >= 4);
        let list = c.list();
        assert_eq!(list[0].status, Status::Approved);
        assert!(list.iter().any(|t| t.status == Status::Paused));
    }

    #[test]
    fn a_catalog_of_given_templates_is_validated_and_unique() {
        let c = catalog();
        let sale = c.get("herbst_sale", Some("de")).expect("exists").clone();
        let e = Catalog::new(vec![sale.clone(), sale.clone()]).expect_err("twice");
        assert!(matches!(e, TemplateError::Duplicate { .. }), "{e:?}");
        let mut gap = sale.clone();
        for comp in &mut gap.components {
            if let crate::template::Component::Body { text, .. } = comp {
                *text = "Hallo {{1}}, Code {{3}}".into();
            }
        }
        let e = Catalog::new(vec![gap]).expect_err("invalid");
        assert!(e.to_string().contains("herbst_sale.toml"), "{e}");
        let mut other = sale.clone();
        other.language = "de_AT".into();
        assert_eq!(
            Catalog::new(vec![sale, other])
                .expect("two languages")
                .len(),
            2
        );
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
}
