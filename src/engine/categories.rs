//! The latest template categories as the daemon routes by them: a
//! `template list --sync` in a client records what the API listed here
//! (the daemon owns the store), and views read the map — the impending
//! notices included, which the operator must see before they take effect.

use serde::{Deserialize, Serialize};

use super::ops::error;
use super::Engine;
use crate::cloud::{LatestCategory, TemplateCategories};
use crate::config::Role;
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::template::{Catalog, Category};

/// One template's latest category, for views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCategory {
    /// Template name.
    pub name: String,
    /// Template language.
    pub language: String,
    /// What bote knows.
    pub latest: LatestCategory,
}

/// A template as a sync listed it: what the map needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedCategory {
    /// Template name.
    pub name: String,
    /// Template language.
    pub language: String,
    /// Its category in the API's list.
    pub category: Category,
    /// Its status in the API's list (newer than an older webhook's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::template::Status>,
}

impl Engine {
    /// The catalog with each template's latest category (what sends are
    /// routed by): a plan made again after a re-categorisation is judged,
    /// frozen and sent as what the template is now.
    pub fn routed_catalog(&self) -> std::borrow::Cow<'_, Catalog> {
        let (base, _) = self.effective_catalog();
        let Ok(categories) = TemplateCategories::open(self.store.db()) else {
            return base;
        };
        let mut changed = false;
        let templates: Vec<_> = base
            .list()
            .into_iter()
            .map(|t| {
                let category = categories.route_category(t);
                // The status Meta last reported (webhook or sync) is newer
                // than the file's: a PAUSED template plans as not approved.
                let status = self
                    .store
                    .templates()
                    .get(&t.name, &t.language)
                    .and_then(|s| s.status)
                    .unwrap_or(t.status);
                changed |= category != t.category || status != t.status;
                crate::template::Template {
                    category,
                    status,
                    ..t.clone()
                }
            })
            .collect();
        if !changed {
            return base;
        }
        match Catalog::new(templates) {
            Ok(c) => std::borrow::Cow::Owned(c),
            Err(e) => {
                tracing::warn!(error = %e, "applying the latest categories to the catalog");
                base
            }
        }
    }

    fn categories(&self) -> Result<TemplateCategories, Failure> {
        TemplateCategories::open(self.store.db()).map_err(error)
    }

    /// Records the categories a template list showed (a client's sync);
    /// returns how many changed. Sends route by them from the next send on.
    pub fn record_listed_categories(
        &self,
        caller: &Caller,
        listed: &[ListedCategory],
    ) -> Result<usize, Failure> {
        self.authorize(caller, Role::Operator, "syncing templates")?;
        let now = self.now();
        for l in listed {
            if let Some(status) = l.status {
                self.store
                    .templates()
                    .record_listed(&l.name, &l.language, status, now)
                    .map_err(|e| error(crate::consent::StoreError::from(e)))?;
            }
        }
        let listed = listed
            .iter()
            .map(|l| (l.name.as_str(), l.language.as_str(), l.category));
        self.categories()?
            .record_listed(listed, self.now())
            .map_err(error)
    }

    /// Every template's latest category, impending notices included.
    pub fn template_categories(&self, caller: &Caller) -> Result<Vec<TemplateCategory>, Failure> {
        self.authorize(caller, Role::Viewer, "looking at templates")?;
        Ok(self
            .categories()?
            .all()
            .map_err(error)?
            .into_iter()
            .map(|(name, language, latest)| TemplateCategory {
                name,
                language,
                latest,
            })
            .collect())
    }
}
