//! Which endpoint a template is sent to: Meta asks for MARKETING templates
//! on the Marketing Messages API (`/{phone-number-id}/marketing_messages`)
//! and everything else on `/messages`, by the template's *latest* category.
//!
//! Meta re-categorises approved templates (UTILITY → MARKETING when the
//! content is promotional), so the category frozen in a template file or a
//! campaign may be stale. [`TemplateCategories`] keeps the latest one per
//! (name, language) in the store's `template_categories` tree: filled by the
//! template list (`template list --sync`) and moved by the completed
//! `template_category_update` webhook. An *impending* notice is kept beside
//! it for the operator to see and is never routed on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::MarketingEndpoint;
use crate::template::{Category, Template};

/// The tree the latest categories live in.
const TREE: &str = "template_categories";

/// Where a send goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/{phone-number-id}/messages`.
    Messages,
    /// `/{phone-number-id}/marketing_messages`.
    MarketingMessages,
}

impl Endpoint {
    /// The endpoint for a template of `category` under `[api] marketing_endpoint`.
    pub fn for_category(category: Category, setting: MarketingEndpoint) -> Self {
        match (category, setting) {
            (Category::Marketing, MarketingEndpoint::MarketingMessages) => Self::MarketingMessages,
            _ => Self::Messages,
        }
    }

    /// The last path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::MarketingMessages => "marketing_messages",
        }
    }
}

/// A re-categorisation Meta announced but has not made yet (about 24 h ahead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryNotice {
    /// The category the template will get.
    pub correct_category: Category,
    /// When Meta says it takes effect, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<DateTime<Utc>>,
}

/// A template's latest category and where bote learnt it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestCategory {
    /// The category sends are routed by; `None` when bote has only heard
    /// of an impending change (then the template's own category routes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// When bote learnt it.
    pub since: DateTime<Utc>,
    /// `sync` (template list) or `webhook` (template_category_update).
    pub source: String,
    /// An announced change, shown to the operator only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impending: Option<CategoryNotice>,
}

/// A failure reading or writing the map.
#[derive(Debug, thiserror::Error)]
pub enum CategoryError {
    /// sled failed.
    #[error("template categories: {0}")]
    Db(#[from] sled::Error),
    /// A value could not be read back.
    #[error("template categories: damaged record: {0}")]
    Corrupt(#[from] serde_json::Error),
}

impl From<CategoryError> for crate::consent::StoreError {
    fn from(e: CategoryError) -> Self {
        match e {
            CategoryError::Db(e) => Self::Db(e),
            CategoryError::Corrupt(e) => Self::Corrupt {
                key: TREE.into(),
                message: e.to_string(),
            },
        }
    }
}

/// The template → latest category map (cheap to clone; clones share the tree).
#[derive(Debug, Clone)]
pub struct TemplateCategories {
    tree: sled::Tree,
}

fn key(name: &str, language: &str) -> Vec<u8> {
    // Template names are lower-case letters, digits and `_`: a NUL never
    // occurs in one, so the pair is unambiguous.
    let mut k = Vec::with_capacity(name.len() + language.len() + 1);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(language.as_bytes());
    k
}

impl TemplateCategories {
    /// Opens the map in `db` (the store's database).
    pub fn open(db: &sled::Db) -> Result<Self, CategoryError> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// The latest category of a template, if bote has learnt one.
    pub fn latest(
        &self,
        name: &str,
        language: &str,
    ) -> Result<Option<LatestCategory>, CategoryError> {
        match self.tree.get(key(name, language))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// The category a send of `template` is routed by: the latest one, or
    /// the template's own when bote has learnt none (or cannot read it).
    pub fn route_category(&self, template: &Template) -> Category {
        match self.latest(&template.name, &template.language) {
            Ok(Some(l)) => l.category.unwrap_or(template.category),
            Ok(None) => template.category,
            Err(e) => {
                tracing::warn!(template = %template.name, error = %e, "reading the latest category; using the template's");
                template.category
            }
        }
    }

    fn put(&self, name: &str, language: &str, value: &LatestCategory) -> Result<(), CategoryError> {
        self.tree
            .insert(key(name, language), serde_json::to_vec(value)?)?;
        Ok(())
    }

    /// Records the categories of a template list, (name, language,
    /// category) each: the list is Meta's current truth, so it replaces what
    /// a webhook said before. An impending notice stays until the list
    /// shows it done.
    pub fn record_listed<'a>(
        &self,
        listed: impl IntoIterator<Item = (&'a str, &'a str, Category)>,
        at: DateTime<Utc>,
    ) -> Result<usize, CategoryError> {
        let mut changed = 0;
        for (name, language, category) in listed {
            let before = self.latest(name, language)?;
            if before
                .as_ref()
                .is_some_and(|b| b.category == Some(category))
            {
                continue;
            }
            let impending = before
                .and_then(|b| b.impending)
                .filter(|n| n.correct_category != category);
            self.put(
                name,
                language,
                &LatestCategory {
                    category: Some(category),
                    since: at,
                    source: "sync".into(),
                    impending,
                },
            )?;
            changed += 1;
        }
        Ok(changed)
    }

    /// A completed re-categorisation: routing switches now. Returns the
    /// category before (the latest known one, else `previous` as Meta sent it).
    pub fn record_completed(
        &self,
        name: &str,
        language: &str,
        previous: Option<Category>,
        new: Category,
        at: DateTime<Utc>,
    ) -> Result<Option<Category>, CategoryError> {
        let before = self.latest(name, language)?;
        let was = before.as_ref().and_then(|b| b.category).or(previous);
        self.put(
            name,
            language,
            &LatestCategory {
                category: Some(new),
                since: at,
                source: "webhook".into(),
                impending: None,
            },
        )?;
        Ok(was)
    }

    /// An announced re-categorisation: kept for the operator, not routed on.
    pub fn record_impending(
        &self,
        name: &str,
        language: &str,
        notice: CategoryNotice,
        at: DateTime<Utc>,
    ) -> Result<(), CategoryError> {
        let before = self.latest(name, language)?;
        let value = match before {
            Some(b) => LatestCategory {
                impending: Some(notice),
                ..b
            },
            None => LatestCategory {
                category: None,
                since: at,
                source: "webhook (announced only)".into(),
                impending: Some(notice),
            },
        };
        self.put(name, language, &value)
    }

    /// Every template bote has a category for: (name, language, latest).
    pub fn all(&self) -> Result<Vec<(String, String, LatestCategory)>, CategoryError> {
        let mut out = Vec::new();
        for r in self.tree.iter() {
            let (k, v) = r?;
            let mut parts = k.splitn(2, |b| *b == 0);
            let name = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let language = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            out.push((name, language, serde_json::from_slice(&v)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Catalog;

    fn map() -> TemplateCategories {
        let db = sled::Config::new().temporary(true).open().expect("db");
        TemplateCategories::open(&db).expect("tree")
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + secs, 0).expect("time")
    }

    #[test]
    fn marketing_goes_to_the_marketing_api_unless_configured_otherwise() {
        use MarketingEndpoint as M;
        assert_eq!(
            Endpoint::for_category(Category::Marketing, M::MarketingMessages),
            Endpoint::MarketingMessages
        );
        assert_eq!(
            Endpoint::for_category(Category::Marketing, M::Messages),
            Endpoint::Messages
        );
        for c in [Category::Utility, Category::Authentication] {
            assert_eq!(
                Endpoint::for_category(c, M::MarketingMessages),
                Endpoint::Messages
            );
        }
    }

    #[test]
    fn a_notice_about_a_template_bote_has_no_category_for_routes_by_its_own() {
        let m = map();
        let catalog = Catalog::embedded().expect("catalog");
        let t = Template {
            category: Category::Utility,
            ..(*catalog.list().first().expect("a template")).clone()
        };
        let notice = CategoryNotice {
            correct_category: Category::Marketing,
            effective_at: None,
        };
        m.record_impending(&t.name, &t.language, notice, at(0))
            .expect("impending");
        assert_eq!(m.route_category(&t), Category::Utility);
    }

    #[test]
    fn only_a_completed_notice_switches_the_route() {
        let m = map();
        let catalog = Catalog::embedded().expect("catalog");
        let t = (*catalog.list().first().expect("a template")).clone();
        let utility = Template {
            category: Category::Utility,
            ..t.clone()
        };
        assert_eq!(
            m.route_category(&utility),
            Category::Utility,
            "nothing learnt: its own"
        );
        m.record_listed(
            [(t.name.as_str(), t.language.as_str(), Category::Utility)],
            at(0),
        )
        .expect("sync");
        let notice = CategoryNotice {
            correct_category: Category::Marketing,
            effective_at: Some(at(86_400)),
        };
        m.record_impending(&t.name, &t.language, notice.clone(), at(1))
            .expect("impending");
        let l = m.latest(&t.name, &t.language).expect("read").expect("some");
        assert_eq!(
            l.category,
            Some(Category::Utility),
            "impending is not routed on"
        );
        assert_eq!(m.route_category(&utility), Category::Utility);
        assert_eq!(
            l.impending,
            Some(notice.clone()),
            "but kept for the operator"
        );
        // A sync that still shows UTILITY keeps the notice visible.
        m.record_listed(
            [(t.name.as_str(), t.language.as_str(), Category::Utility)],
            at(2),
        )
        .expect("sync");
        let l = m.latest(&t.name, &t.language).expect("read").expect("some");
        assert_eq!(l.impending, Some(notice));
        let was = m
            .record_completed(
                &t.name,
                &t.language,
                Some(Category::Utility),
                Category::Marketing,
                at(3),
            )
            .expect("completed");
        assert_eq!(was, Some(Category::Utility));
        assert_eq!(m.route_category(&utility), Category::Marketing);
        let l = m.latest(&t.name, &t.language).expect("read").expect("some");
        assert_eq!((l.source.as_str(), l.impending), ("webhook", None));
        assert_eq!(m.all().expect("all").len(), 1);
    }
}
