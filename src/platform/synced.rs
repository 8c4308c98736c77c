//! The templates of the WABA as Meta defines them (`template list --sync`),
//! kept by the daemon in the store's `synced_templates` tree, one JSON value
//! per (name, language): Meta's fields only (id, category, status,
//! components); bote's bindings live in files beside the local templates.
//! A sync replaces the whole set, so a template deleted at Meta goes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PlatformError;
use crate::template::Template;

/// The tree the synced templates live in.
const TREE: &str = "synced_templates";

/// What one sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncChanges {
    /// Templates bote did not have.
    pub added: Vec<String>,
    /// Templates whose definition changed (components, category, status).
    pub changed: Vec<String>,
    /// Templates Meta no longer lists.
    pub removed: Vec<String>,
    /// Templates listed in all.
    pub listed: usize,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    template: Template,
    synced_at: DateTime<Utc>,
}

/// The synced definitions (cheap to clone).
#[derive(Debug, Clone)]
pub struct SyncedTemplates {
    tree: sled::Tree,
}

fn key(name: &str, language: &str) -> Vec<u8> {
    let mut k = name.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(language.as_bytes());
    k
}

fn label(t: &Template) -> String {
    format!("{} ({})", t.name, t.language)
}

impl SyncedTemplates {
    /// The synced templates of this store's database.
    pub fn open(db: &sled::Db) -> Result<Self, PlatformError> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// Replaces the set with what the API listed (bindings stripped: they
    /// are bote's, not Meta's), in one batch; what changed.
    pub fn replace_all(
        &self,
        listed: &[Template],
        at: DateTime<Utc>,
    ) -> Result<SyncChanges, PlatformError> {
        let before = self.all()?;
        let mut changes = SyncChanges {
            listed: listed.len(),
            ..SyncChanges::default()
        };
        let mut batch = sled::Batch::default();
        for t in listed {
            let t = Template {
                bindings: Default::default(),
                media: None,
                ..t.clone()
            };
            match before
                .iter()
                .find(|b| b.name == t.name && b.language == t.language)
            {
                None => changes.added.push(label(&t)),
                Some(b) if *b != t => changes.changed.push(label(&t)),
                Some(_) => {}
            }
            let value = serde_json::to_vec(&Stored {
                template: t.clone(),
                synced_at: at,
            })?;
            batch.insert(key(&t.name, &t.language), value);
        }
        for b in &before {
            if !listed
                .iter()
                .any(|t| t.name == b.name && t.language == b.language)
            {
                changes.removed.push(label(b));
                batch.remove(key(&b.name, &b.language));
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(changes)
    }

    /// Every synced template, by name and language.
    pub fn all(&self) -> Result<Vec<Template>, PlatformError> {
        let mut out = Vec::new();
        for item in self.tree.iter() {
            let (_, v) = item?;
            out.push(serde_json::from_slice::<Stored>(&v)?.template);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Catalog;

    #[test]
    fn a_sync_replaces_the_set_and_says_what_changed() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = sled::open(dir.path()).expect("db");
        let synced = SyncedTemplates::open(&db).expect("open");
        let catalog = Catalog::embedded().expect("catalog");
        let all: Vec<Template> = catalog.list().into_iter().cloned().collect();
        let at = Utc::now();
        let first = synced.replace_all(&all, at).expect("sync");
        assert_eq!((first.added.len(), first.listed), (all.len(), all.len()));
        let stored = synced.all().expect("all");
        assert!(stored
            .iter()
            .all(|t| t.bindings.is_empty() && t.media.is_none()));
        let mut fewer = all[1..].to_vec();
        fewer[0].status = crate::template::Status::Paused;
        let second = synced.replace_all(&fewer, at).expect("sync");
        assert_eq!(second.removed, vec![label(&all[0])]);
        assert_eq!(second.changed, vec![label(&fewer[0])]);
        assert!(second.added.is_empty());
        assert_eq!(synced.all().expect("all").len(), all.len() - 1);
    }
}
