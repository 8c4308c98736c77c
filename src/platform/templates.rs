//! What Meta says about each template besides its category: its status
//! (`message_template_status_update`) and its quality
//! (`message_template_quality_update`), kept in the store's
//! `template_states` tree and mirrored in memory.
//!
//! The mirror is also the **send gate**: a worker takes a [`Pass`] for its
//! template right before the request leaves and holds it until the answer
//! is back; the pass is refused once the template is PAUSED or DISABLED.
//! The webhook processor records a blocking status first and then waits
//! (by deferring its item) until no pass taken before is outstanding. So
//! once a PAUSED webhook is processed, every send of that template that
//! could have slipped past has already reached Meta, and none follows:
//! the campaign stops before Meta answers 132015 / 132016.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PlatformError;
use crate::template::Status;

/// The tree the template states live in.
const TREE: &str = "template_states";

/// A template's quality rating as Meta reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Quality {
    /// Good.
    Green,
    /// Falling.
    Yellow,
    /// Low: Meta may pause the template next (3 h → 6 h → disabled).
    Red,
    /// Not rated yet.
    Unknown,
}

impl Quality {
    /// From Meta's word (`GREEN`, `YELLOW`, `RED`, `UNKNOWN`, any case).
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_uppercase())).ok()
    }
}

impl std::fmt::Display for Quality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Green => "GREEN",
            Self::Yellow => "YELLOW",
            Self::Red => "RED",
            Self::Unknown => "UNKNOWN",
        })
    }
}

/// Whether a status stops sends of the template (Meta answers 132015 / 132016).
pub fn blocks_sending(status: Status) -> bool {
    matches!(status, Status::Paused | Status::Disabled)
}

/// What bote knows about one template from Meta's webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TemplateState {
    /// The latest status Meta reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The status before it, when bote knew one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<Status>,
    /// Meta's reason (`reason` of the webhook), if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When bote learnt the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_since: Option<DateTime<Utc>>,
    /// The latest quality rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<Quality>,
    /// The rating before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_quality: Option<Quality>,
    /// When bote learnt the rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_since: Option<DateTime<Utc>>,
}

impl TemplateState {
    /// Why sends of the template must stop, if they must.
    pub fn blocked(&self, name: &str, language: &str) -> Option<String> {
        let status = self.status.filter(|s| blocks_sending(*s))?;
        let why = self
            .reason
            .as_deref()
            .filter(|r| !r.is_empty() && !r.eq_ignore_ascii_case("NONE"))
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        Some(format!(
            "template {name} ({language}) is {status} by Meta{why}: sends would fail with {}; resume once Meta approves it again",
            if status == Status::Paused { 132_015 } else { 132_016 },
        ))
    }
}

type Key = (String, String);

#[derive(Debug, Default)]
struct Inner {
    known: HashMap<Key, TemplateState>,
    /// Passes outstanding per template: sends between the gate and their answer.
    passing: HashMap<Key, usize>,
}

/// The template state map and send gate (cheap to clone; clones share both).
#[derive(Debug, Clone)]
pub struct TemplateStates {
    tree: sled::Tree,
    inner: Arc<Mutex<Inner>>,
}

/// Held by a send from the gate to its answer; see the module docs.
#[derive(Debug)]
pub struct Pass {
    inner: Arc<Mutex<Inner>>,
    key: Key,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        if let Some(n) = inner.passing.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.passing.remove(&self.key);
            }
        }
    }
}

/// A poisoned lock only means another thread panicked holding it; the
/// counts are still whole (every change is one statement).
fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn key_bytes(name: &str, language: &str) -> Vec<u8> {
    // Template names never hold a NUL, so the pair is unambiguous.
    let mut k = Vec::with_capacity(name.len() + language.len() + 1);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(language.as_bytes());
    k
}

impl TemplateStates {
    /// Opens the map in `db` and loads it into memory.
    pub fn open(db: &sled::Db) -> Result<Self, PlatformError> {
        let tree = db.open_tree(TREE)?;
        let mut known = HashMap::new();
        for r in tree.iter() {
            let (k, v) = r?;
            let mut parts = k.splitn(2, |b| *b == 0);
            let name = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let language = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            known.insert((name, language), serde_json::from_slice(&v)?);
        }
        Ok(Self {
            tree,
            inner: Arc::new(Mutex::new(Inner {
                known,
                passing: HashMap::new(),
            })),
        })
    }

    /// What bote knows about a template.
    pub fn get(&self, name: &str, language: &str) -> Option<TemplateState> {
        lock(&self.inner)
            .known
            .get(&(name.to_string(), language.to_string()))
            .cloned()
    }

    /// Every template bote has a state for: (name, language, state), sorted.
    pub fn all(&self) -> Vec<(String, String, TemplateState)> {
        let mut v: Vec<_> = lock(&self.inner)
            .known
            .iter()
            .map(|((n, l), s)| (n.clone(), l.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    }

    /// Why sends of the template must stop now, if they must.
    pub fn blocked(&self, name: &str, language: &str) -> Option<String> {
        self.get(name, language)?.blocked(name, language)
    }

    /// The gate: a pass for one send, or why there is none.
    pub fn pass(&self, name: &str, language: &str) -> Result<Pass, String> {
        let key = (name.to_string(), language.to_string());
        let mut inner = lock(&self.inner);
        if let Some(why) = inner
            .known
            .get(&key)
            .and_then(|s| s.blocked(name, language))
        {
            return Err(why);
        }
        *inner.passing.entry(key.clone()).or_default() += 1;
        drop(inner);
        Ok(Pass {
            inner: Arc::clone(&self.inner),
            key,
        })
    }

    /// Sends of the template between the gate and their answer.
    pub fn passing(&self, name: &str, language: &str) -> usize {
        lock(&self.inner)
            .passing
            .get(&(name.to_string(), language.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Changes one template's state under the lock (memory and tree
    /// together, so the gate never sees one without the other); the state
    /// afterwards.
    fn update(
        &self,
        name: &str,
        language: &str,
        change: impl FnOnce(&mut TemplateState),
    ) -> Result<TemplateState, PlatformError> {
        let key = (name.to_string(), language.to_string());
        let mut inner = lock(&self.inner);
        let mut state = inner.known.get(&key).cloned().unwrap_or_default();
        change(&mut state);
        self.tree
            .insert(key_bytes(name, language), serde_json::to_vec(&state)?)?;
        inner.known.insert(key, state.clone());
        Ok(state)
    }

    /// A status Meta reported. The same status again (a redelivery) keeps
    /// the status before it and its time.
    pub fn record_status(
        &self,
        name: &str,
        language: &str,
        status: Status,
        reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<TemplateState, PlatformError> {
        self.update(name, language, |s| {
            if s.status != Some(status) {
                s.previous_status = s.status;
                s.status = Some(status);
                s.status_since = Some(at);
            }
            s.reason = reason;
        })
    }

    /// The statuses of a template list (a sync): Meta's current truth.
    pub fn record_listed(
        &self,
        name: &str,
        language: &str,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<TemplateState, PlatformError> {
        self.update(name, language, |s| {
            if s.status != Some(status) {
                s.previous_status = s.status;
                s.status = Some(status);
                s.status_since = Some(at);
                s.reason = None;
            }
        })
    }

    /// A quality rating Meta reported.
    pub fn record_quality(
        &self,
        name: &str,
        language: &str,
        quality: Quality,
        previous: Option<Quality>,
        at: DateTime<Utc>,
    ) -> Result<TemplateState, PlatformError> {
        self.update(name, language, |s| {
            if s.quality != Some(quality) {
                s.previous_quality = s.quality.or(previous);
                s.quality = Some(quality);
                s.quality_since = Some(at);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states() -> TemplateStates {
        let db = sled::Config::new().temporary(true).open().expect("db");
        TemplateStates::open(&db).expect("tree")
    }

    #[test]
    fn a_paused_template_refuses_passes_and_counts_those_outstanding() {
        let s = states();
        let p1 = s.pass("promo", "de").expect("approved by default");
        let p2 = s.pass("promo", "de").expect("second");
        assert_eq!(s.passing("promo", "de"), 2);
        let st = s
            .record_status(
                "promo",
                "de",
                Status::Paused,
                Some("LOW_QUALITY".into()),
                Utc::now(),
            )
            .expect("record");
        assert_eq!(st.status, Some(Status::Paused));
        let why = s.pass("promo", "de").expect_err("paused");
        assert!(why.contains("PAUSED") && why.contains("132015"), "{why}");
        assert!(s.pass("other", "de").is_ok(), "only that template");
        drop(p1);
        assert_eq!(s.passing("promo", "de"), 1);
        drop(p2);
        assert_eq!(s.passing("promo", "de"), 0);
        s.record_status("promo", "de", Status::Approved, None, Utc::now())
            .expect("approved");
        assert!(s.pass("promo", "de").is_ok());
    }

    #[test]
    fn states_survive_a_reopen_and_a_redelivery_keeps_the_previous_status() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let s = TemplateStates::open(&db).expect("tree");
        s.record_status("promo", "de", Status::Approved, None, Utc::now())
            .expect("a");
        s.record_status("promo", "de", Status::Disabled, None, Utc::now())
            .expect("b");
        let again = s
            .record_status("promo", "de", Status::Disabled, None, Utc::now())
            .expect("c");
        assert_eq!(again.previous_status, Some(Status::Approved));
        s.record_quality(
            "promo",
            "de",
            Quality::Red,
            Some(Quality::Yellow),
            Utc::now(),
        )
        .expect("q");
        let s2 = TemplateStates::open(&db).expect("reopen");
        let st = s2.get("promo", "de").expect("kept");
        assert_eq!(
            (st.status, st.quality),
            (Some(Status::Disabled), Some(Quality::Red))
        );
        assert!(s2
            .blocked("promo", "de")
            .is_some_and(|w| w.contains("132016")));
        assert_eq!(Quality::parse(" red"), Some(Quality::Red));
    }
}
