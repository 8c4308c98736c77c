//! `template_category_update`: Meta re-categorised a template. Only the
//! completed notice (`new_category`) moves the route; the impending one
//! (`correct_category`, `category_update_timestamp`) is kept for the
//! operator. A running campaign whose template became MARKETING is paused
//! by its own dispatcher before its next send (`dispatch::worker`), since
//! the dispatcher routes by the same map.

use chrono::{DateTime, Utc};

use super::{Outcome, Processor, Value};
use crate::cloud::CategoryNotice;
use crate::consent::StoreError;
use crate::template::Category;

fn category(s: Option<&str>) -> Option<Category> {
    serde_json::from_value(serde_json::Value::String(s?.trim().to_ascii_uppercase())).ok()
}

impl Processor {
    /// A re-categorisation changes which consent a template's sends need
    /// and where they go: a processing decision the trail must show.
    fn audit_category(
        &self,
        name: &str,
        language: &str,
        details: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::audit::{Action, Record};
        self.store.audit().record(
            Record::new(Action::TemplateCategoryChanged, "webhook")
                .subject(format!("template:{name}:{language}"))
                .details(details)
                .at(at),
        )?;
        Ok(())
    }

    pub(super) fn category(
        &self,
        v: &Value,
        received_at: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let (Some(name), Some(language)) = (
            v.message_template_name.as_deref(),
            v.message_template_language.as_deref(),
        ) else {
            return Ok(Outcome::Ignored {
                what: "template_category_update without template name and language".into(),
            });
        };
        let previous = category(v.previous_category.as_deref());
        if let Some(new) = category(v.new_category.as_deref()) {
            let was =
                self.categories
                    .record_completed(name, language, previous, new, received_at)?;
            tracing::info!(template = %name, %language, category = %new, previous = ?was, "template re-categorised by Meta");
            self.audit_category(
                name,
                language,
                serde_json::json!({
                    "category": new, "previous": was, "impending": false,
                }),
                received_at,
            )?;
            return Ok(Outcome::TemplateCategory {
                template: name.into(),
                language: language.into(),
                category: new,
                previous: was,
                impending: false,
            });
        }
        if let Some(to_come) = category(v.correct_category.as_deref()) {
            self.categories.record_impending(
                name,
                language,
                CategoryNotice {
                    correct_category: to_come,
                    effective_at: v.category_update_timestamp,
                },
                received_at,
            )?;
            tracing::warn!(template = %name, %language, category = %to_come, at = ?v.category_update_timestamp, "Meta announced a re-categorisation");
            self.audit_category(
                name,
                language,
                serde_json::json!({
                    "category": to_come, "previous": previous, "impending": true,
                    "effective_at": v.category_update_timestamp,
                }),
                received_at,
            )?;
            return Ok(Outcome::TemplateCategory {
                template: name.into(),
                language: language.into(),
                category: to_come,
                previous,
                impending: true,
            });
        }
        Ok(Outcome::Ignored {
            what: format!("template_category_update of {name} without a category bote knows"),
        })
    }
}
