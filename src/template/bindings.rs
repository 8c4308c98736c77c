//! What bote adds to a template Meta defined: a bindings file
//! `templates/bindings/<name>.<language>.toml` with a `[bindings]` table
//! (placeholder → attribute or fixed value) and, for a media header, a
//! `[media]` table. Synced templates (from the API, kept in the store) get
//! their bindings from here; the file's name says which template it binds.
//!
//! When a synced template and a local template file share name and
//! language, **Meta's definition wins** (components, category, status: it
//! is what Meta checks sends against); the local file's `[bindings]` and
//! `[media]` bind it, a bindings file's entries over them, and a body that
//! differs from the local file's is a warning. A bindings file also binds a
//! local template Meta does not list (offline, the sandbox).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Binding, Catalog, HeaderMedia, Lint, Template, TemplateError};

/// One bindings file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingsFile {
    /// Placeholder key → where its value comes from.
    #[serde(default)]
    pub bindings: BTreeMap<String, Binding>,
    /// The file a media header shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<HeaderMedia>,
    /// Where it was read from (for findings).
    #[serde(skip)]
    pub path: PathBuf,
}

/// (name, language) → its bindings file.
pub type BindingsByTemplate = BTreeMap<(String, String), BindingsFile>;

/// Reads every `NAME.LANGUAGE.toml` of `dir` (absent: none).
pub fn load_bindings_dir(dir: &Path) -> Result<BindingsByTemplate, TemplateError> {
    let mut out = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let read_err = |path: &Path, source| TemplateError::Read {
        path: path.to_owned(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let parse_err = |message: String| TemplateError::Parse {
            path: path.clone(),
            message,
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Names are [a-z0-9_]: the first dot ends the name.
        let Some((name, language)) = stem
            .split_once('.')
            .filter(|(n, l)| !n.is_empty() && !l.is_empty())
        else {
            return Err(parse_err(
                "a bindings file is named NAME.LANGUAGE.toml (e.g. fruehjahr_aktion.de.toml)"
                    .into(),
            ));
        };
        let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
        let mut file: BindingsFile =
            toml::from_str(&text).map_err(|e| parse_err(e.to_string().trim_end().to_string()))?;
        if let Some(problem) = file.media.as_ref().and_then(HeaderMedia::problem) {
            return Err(parse_err(problem));
        }
        file.path = path.clone();
        out.insert((name.to_string(), language.to_string()), file);
    }
    Ok(out)
}

/// The bindings and media of a template: the local file's, then the
/// bindings file's over them (entry by entry); and where they came from.
fn overlay(
    local: Option<&Template>,
    file: Option<&BindingsFile>,
) -> (String, BTreeMap<String, Binding>, Option<HeaderMedia>) {
    let mut bindings = local.map(|l| l.bindings.clone()).unwrap_or_default();
    let mut media = local.and_then(|l| l.media.clone());
    let mut sources = Vec::new();
    if let Some(l) = local {
        sources.push(format!("the local file {}.toml", l.name));
    }
    if let Some(f) = file {
        bindings.extend(f.bindings.clone());
        if f.media.is_some() {
            media.clone_from(&f.media);
        }
        sources.push(f.path.display().to_string());
    }
    (sources.join(" with "), bindings, media)
}

impl Catalog {
    /// This catalog (the local files) with the synced templates: each
    /// synced one as Meta defines it, bound by its bindings file or the
    /// local file of the same name and language; the local files Meta does
    /// not list stay. Findings per template come along (a bindings file
    /// that does not fit, a local body that differs from Meta's).
    pub fn with_synced(
        &self,
        synced: &[Template],
    ) -> (Catalog, BTreeMap<(String, String), Vec<Lint>>) {
        let mut notes: BTreeMap<(String, String), Vec<Lint>> = BTreeMap::new();
        let mut out: Vec<Template> = Vec::new();
        for s in synced {
            let key = (s.name.clone(), s.language.clone());
            let local = self.get(&s.name, Some(&s.language)).ok();
            let mut bound = Template {
                bindings: BTreeMap::new(),
                media: None,
                // Meta knows nothing of bote's topics: the local file says.
                topic: local.and_then(|l| l.topic.clone()),
                ..s.clone()
            };
            let (source, bindings, media) = overlay(local, self.bindings.get(&key));
            let candidate = Template {
                bindings,
                media,
                ..bound.clone()
            };
            match candidate.validate_shape() {
                Ok(()) => bound = candidate,
                Err(problem) => notes.entry(key.clone()).or_default().push(Lint {
                    level: "error".into(),
                    message: format!("{source} does not fit Meta's definition: {problem}"),
                }),
            }
            if let Some(l) = local.filter(|l| l.body() != s.body()) {
                notes.entry(key.clone()).or_default().push(Lint {
                    level: "warning".into(),
                    message: format!(
                        "the local file {}.toml has another body than Meta's definition; Meta's is sent: {:?}",
                        l.name,
                        s.body()
                    ),
                });
            }
            out.push(bound);
        }
        for t in self.list() {
            if synced
                .iter()
                .any(|s| s.name == t.name && s.language == t.language)
            {
                continue;
            }
            let key = (t.name.clone(), t.language.clone());
            let Some(file) = self.bindings.get(&key) else {
                out.push(t.clone());
                continue;
            };
            let (source, bindings, media) = overlay(Some(t), Some(file));
            let candidate = Template {
                bindings,
                media,
                ..t.clone()
            };
            match candidate.validate_shape() {
                Ok(()) => out.push(candidate),
                Err(problem) => {
                    notes.entry(key).or_default().push(Lint {
                        level: "error".into(),
                        message: format!("{source} does not fit the template: {problem}"),
                    });
                    out.push(t.clone());
                }
            }
        }
        let catalog = Catalog {
            templates: out,
            bindings: self.bindings.clone(),
        };
        (catalog, notes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_only() -> Template {
        serde_json::from_value(serde_json::json!({
            "id": "77", "name": "fruehjahr_aktion", "language": "de",
            "status": "APPROVED", "category": "MARKETING",
            "components": [
                { "type": "BODY", "text": "Hallo {{1}}, Frühjahrsputz: {{2}} auf alles. STOP zum Abmelden." }
            ]
        }))
        .expect("template")
    }

    #[test]
    fn bindings_files_bind_synced_templates_by_their_file_name() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("fruehjahr_aktion.de.toml"),
            "[bindings]\n\"1\" = { attribute = \"first_name\" }\n\"2\" = { value = \"20 %\" }\n",
        )
        .expect("write");
        let files = load_bindings_dir(dir.path()).expect("loads");
        let mut local = Catalog::embedded().expect("catalog");
        let (c, notes) = local.with_synced(&[meta_only()]);
        let t = c.get("fruehjahr_aktion", Some("de")).expect("synced");
        assert_eq!(t.unbound(), vec!["{{1}}", "{{2}}"]);
        assert!(notes.is_empty());
        local.bindings = files;
        let (c, notes) = local.with_synced(&[meta_only()]);
        let t = c.get("fruehjahr_aktion", Some("de")).expect("synced");
        assert!(t.unbound().is_empty(), "{:?}", t.unbound());
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(c.len(), local.len() + 1, "the local ones stay");
    }

    #[test]
    fn meta_wins_over_a_local_file_and_a_body_mismatch_is_a_warning() {
        let local = Catalog::embedded().expect("catalog");
        let mut meta = local
            .get("herbst_sale", Some("de"))
            .expect("exists")
            .clone();
        meta.bindings.clear();
        for c in &mut meta.components {
            if let super::super::Component::Body { text, .. } = c {
                *text = "Hallo {{1}}, heute {{2}} auf alles. Antworte STOP.".into();
            }
        }
        let (c, notes) = local.with_synced(std::slice::from_ref(&meta));
        let t = c.get("herbst_sale", Some("de")).expect("merged");
        assert_eq!(t.body(), meta.body(), "Meta's definition is sent");
        assert!(t.unbound().is_empty(), "the local file's bindings bind it");
        let n = &notes[&("herbst_sale".to_string(), "de".to_string())];
        assert!(
            n.iter()
                .any(|l| l.level == "warning" && l.message.contains("another body")),
            "{n:?}"
        );
        // A binding for a placeholder Meta's definition lacks does not fit.
        for c in &mut meta.components {
            if let super::super::Component::Body { text, .. } = c {
                *text = "Hallo {{1}}, STOP zum Abmelden.".into();
            }
        }
        let (c, notes) = local.with_synced(std::slice::from_ref(&meta));
        let n = &notes[&("herbst_sale".to_string(), "de".to_string())];
        assert!(
            n.iter()
                .any(|l| l.level == "error" && l.message.contains("does not fit")),
            "{n:?}"
        );
        assert_eq!(
            c.get("herbst_sale", None).expect("kept").unbound(),
            vec!["{{1}}"]
        );
    }

    #[test]
    fn a_badly_named_or_unknown_keyed_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("ohne_sprache.toml"), "").expect("write");
        let e = load_bindings_dir(dir.path()).expect_err("no language");
        assert!(e.to_string().contains("ohne_sprache.toml"), "{e}");
        std::fs::remove_file(dir.path().join("ohne_sprache.toml")).expect("rm");
        std::fs::write(dir.path().join("x.de.toml"), "[bindungen]\n").expect("write");
        let e = load_bindings_dir(dir.path()).expect_err("unknown key");
        assert!(e.to_string().contains("x.de.toml"), "{e}");
    }
}
