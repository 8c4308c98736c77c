//! Guards against planning the wrong send: a `--param` the template has no
//! placeholder for, a `--locale` that matches nobody bote could know of, a
//! template bote cannot fill yet, a header media id Meta will refuse.
//! Each is an error before anything is selected, never a silent no-op.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::segment::locale_matches;
use super::{PlanError, PlanRequest};
use crate::consent::{Store, StoreError};
use crate::platform::MediaRegistry;
use crate::template::{Catalog, Lint, Template, TemplateError};

/// Every override must name one of the template's placeholders.
pub(super) fn check_overrides(template: &Template, request: &PlanRequest) -> Result<(), PlanError> {
    let keys: BTreeSet<String> = template.slots().into_iter().map(|s| s.key).collect();
    match request.overrides.keys().find(|k| !keys.contains(*k)) {
        None => Ok(()),
        Some(key) => Err(PlanError::UnknownParam {
            key: key.clone(),
            template: template.name.clone(),
            placeholders: keys.into_iter().collect(),
        }),
    }
}

/// A locale filter must match a template language of the catalog or a
/// locale some stored contact has; otherwise it would select only the
/// contacts without a locale.
pub(super) fn check_locale(
    store: &Store,
    catalog: &Catalog,
    request: &PlanRequest,
) -> Result<(), PlanError> {
    let Some(wanted) = request.locale.as_deref() else {
        return Ok(());
    };
    let languages: BTreeSet<String> = catalog.list().iter().map(|t| t.language.clone()).collect();
    if languages
        .iter()
        .any(|l| locale_matches(Some(l), Some(wanted)))
    {
        return Ok(());
    }
    // Only when no template speaks it: one pass over the contacts, ending
    // at the first that matches.
    let mut stored = BTreeSet::new();
    for c in store.contacts() {
        if let Some(l) = c?.locale {
            if locale_matches(Some(&l), Some(wanted)) {
                return Ok(());
            }
            if stored.len() < 20 {
                stored.insert(l);
            }
        }
    }
    Err(PlanError::UnknownLocale {
        locale: wanted.to_string(),
        known: languages
            .into_iter()
            .chain(stored)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    })
}

/// Refuse within this long of a media id's expiry: a run can be held by
/// quiet hours or the tier into the next day.
const MEDIA_REFUSE_WITHIN_HOURS: i64 = 24;
/// Warn within this long of a media id's expiry.
const MEDIA_WARN_WITHIN_DAYS: i64 = 7;

/// The template can be filled and its header file will still be taken:
/// every placeholder and a media header bound (else refused, naming what
/// is missing); a media id bote uploaded refused once it is expired or
/// expires within a day, a warning within a week; an id bote did not
/// upload is a warning (its age is unknown).
pub(super) fn check_template_ready(
    store: &Store,
    template: &Template,
    now: DateTime<Utc>,
) -> Result<Vec<Lint>, PlanError> {
    let missing = template.unbound();
    if !missing.is_empty() {
        return Err(TemplateError::Unbound {
            name: template.name.clone(),
            language: template.language.clone(),
            missing,
        }
        .into());
    }
    let Some(id) = template.media.as_ref().and_then(|m| m.id.as_deref()) else {
        return Ok(Vec::new());
    };
    let warning = |message: String| Lint {
        level: "warning".into(),
        message,
    };
    let registry = MediaRegistry::open(store.db()).map_err(StoreError::from)?;
    let Some(record) = registry.get(id).map_err(StoreError::from)? else {
        return Ok(vec![warning(format!(
            "media id {id} was not uploaded with `bote media upload`, so its age is unknown: Meta refuses an id 30 days after its upload (131053)"
        ))]);
    };
    let expires = record.expires_at();
    let at = expires.format("%Y-%m-%d %H:%M UTC");
    let refuse = |when: String| {
        Err(PlanError::Template(TemplateError::MediaExpired {
            name: template.name.clone(),
            language: template.language.clone(),
            id: id.to_string(),
            when,
        }))
    };
    if expires <= now {
        return refuse(format!("expired at {at} (30 days after its upload)"));
    }
    if expires - now < Duration::hours(MEDIA_REFUSE_WITHIN_HOURS) {
        return refuse(format!(
            "expires at {at}, within a day: a held run would send it expired"
        ));
    }
    if expires - now < Duration::days(MEDIA_WARN_WITHIN_DAYS) {
        return Ok(vec![warning(format!(
            "media id {id} ({}) expires at {at}; a campaign planned or resumed after that fails with 131053",
            record.file_name
        ))]);
    }
    Ok(Vec::new())
}
