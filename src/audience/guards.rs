//! Guards against planning the wrong send: a `--param` the template has no
//! placeholder for, a `--locale` that matches nobody bote could know of.
//! Each is an error before anything is selected, never a silent no-op.

use std::collections::BTreeSet;

use super::segment::locale_matches;
use super::{PlanError, PlanRequest};
use crate::consent::Store;
use crate::template::{Catalog, Template};

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
