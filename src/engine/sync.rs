//! `template list --sync` in the daemon: every template of the WABA comes
//! from the API (through the engine's Cloud API client: Meta live, the
//! simulator in the sandbox) into the store — definitions, statuses,
//! quality ratings, latest categories — and the number's limits with them.
//! The catalog the daemon plans and sends with is the local files merged
//! with these definitions (`Catalog::with_synced`: Meta's definition wins,
//! bindings come from `templates/bindings/`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::categories::ListedCategory;
use super::ops::error;
use super::Engine;
use crate::config::Role;
use crate::platform::{SyncChanges, SyncedTemplates};
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::template::{Catalog, Lint};

/// A template that cannot be sent until it is bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbound {
    /// Template name.
    pub name: String,
    /// Language.
    pub language: String,
    /// The placeholders and the header media without a source.
    pub missing: Vec<String>,
    /// The file that would bind it.
    pub bindings_file: String,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSync {
    /// Added, changed, removed definitions.
    pub changes: SyncChanges,
    /// The templates that still lack bindings (the plan refuses them).
    pub unbound: Vec<Unbound>,
    /// The number's limits as recorded, or why they were not read.
    pub limits: String,
}

/// Findings of the merge per (name, language).
pub type MergeNotes = BTreeMap<(String, String), Vec<Lint>>;

impl Engine {
    /// Brings every template of the WABA from the API into the store.
    pub async fn sync_templates(&self, caller: &Caller) -> Result<TemplateSync, Failure> {
        self.authorize(caller, Role::Operator, "syncing templates")?;
        let client = self.cloud().ok_or_else(|| {
            Failure::Error("this daemon has no Cloud API client to list templates with".into())
        })?;
        let listed = client.list_template_definitions().await.map_err(error)?;
        // The limits are extra: a BSP that does not expose the fields must
        // not fail the template sync.
        let limits = match client.number_limits().await {
            Ok(l) => self.record_number_limits(caller, &l)?,
            Err(e) => format!("could not read the number's messaging limit and throughput: {e}"),
        };
        let now = self.now();
        let store_error =
            |e: crate::platform::PlatformError| error(crate::consent::StoreError::from(e));
        for (t, quality) in &listed {
            if let Some(q) = quality {
                self.store
                    .templates()
                    .record_quality(&t.name, &t.language, *q, None, now)
                    .map_err(store_error)?;
            }
        }
        let categories: Vec<ListedCategory> = listed
            .iter()
            .map(|(t, _)| ListedCategory {
                name: t.name.clone(),
                language: t.language.clone(),
                category: t.category,
                status: Some(t.status),
            })
            .collect();
        self.record_listed_categories(caller, &categories)?;
        let definitions: Vec<_> = listed.into_iter().map(|(t, _)| t).collect();
        let changes = self
            .synced()?
            .replace_all(&definitions, now)
            .map_err(store_error)?;
        tracing::info!(
            listed = changes.listed,
            added = changes.added.len(),
            changed = changes.changed.len(),
            removed = changes.removed.len(),
            "templates synced"
        );
        Ok(TemplateSync {
            changes,
            unbound: self.unbound_templates(),
            limits,
        })
    }

    fn synced(&self) -> Result<SyncedTemplates, Failure> {
        SyncedTemplates::open(self.store.db())
            .map_err(|e| error(crate::consent::StoreError::from(e)))
    }

    /// The catalog the daemon plans with: the local files merged with the
    /// synced definitions, and the merge's findings.
    pub fn effective_catalog(&self) -> (Cow<'_, Catalog>, MergeNotes) {
        let synced = match self.synced().and_then(|s| {
            s.all()
                .map_err(|e| error(crate::consent::StoreError::from(e)))
        }) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading the synced templates; planning with the local files");
                return (Cow::Borrowed(&self.catalog), MergeNotes::new());
            }
        };
        if synced.is_empty() && self.catalog.bindings_files().is_empty() {
            return (Cow::Borrowed(&self.catalog), MergeNotes::new());
        }
        let (catalog, notes) = self.catalog.with_synced(&synced);
        (Cow::Owned(catalog), notes)
    }

    /// The templates of the catalog that cannot be sent until bound.
    pub fn unbound_templates(&self) -> Vec<Unbound> {
        self.effective_catalog()
            .0
            .list()
            .into_iter()
            .filter_map(|t| {
                let missing = t.unbound();
                (!missing.is_empty()).then(|| Unbound {
                    name: t.name.clone(),
                    language: t.language.clone(),
                    missing,
                    bindings_file: crate::template::bindings_file(&t.name, &t.language),
                })
            })
            .collect()
    }
}
