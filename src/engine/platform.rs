//! What the platform state (Meta's template and account webhooks) changes
//! in the engine's decisions: the messaging limit Meta reported is the
//! tier the plan and the runs use (saying so), and a template's quality,
//! a stopped template and account trouble are warnings in the plan.

use serde::{Deserialize, Serialize};

use super::ops::error;
use super::Engine;
use crate::audience::Plan;
use crate::config::Role;
use crate::platform::account::Account;
use crate::platform::{AccountState, Quality, TemplateState};
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::template::Lint;

/// Words of an account or number notice that mean sending is at risk.
const TROUBLE: [&str; 6] = ["RESTRICT", "BAN", "DISABLE", "FLAGGED", "DOWNGRADE", "LOCK"];

/// What Meta reported, for views (`daemon status`, `template list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformReport {
    /// The account.
    pub account: AccountState,
    /// Per template: (name, language, state).
    pub templates: Vec<(String, String, TemplateState)>,
}

fn warning(message: String) -> Lint {
    Lint {
        level: "warning".into(),
        message,
    }
}

impl Engine {
    /// The account state Meta reported (empty when it said nothing, or
    /// unreadable: a view must not fail for it).
    pub fn account_state(&self) -> AccountState {
        Account::open(self.store.db())
            .and_then(|a| a.get())
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading the account state");
                AccountState::default()
            })
    }

    /// The tier the plan and the runs use: Meta's messaging limit when it
    /// reported one (with where from), else `[api] messaging_tier`.
    pub fn messaging_tier(&self) -> (u64, Option<String>) {
        match self.account_state().messaging_limit {
            Some(l) => (
                l.tier,
                Some(format!(
                    "Meta's messaging limit {} ({}, {})",
                    l.raw,
                    l.source,
                    l.at.format("%Y-%m-%d %H:%M UTC")
                )),
            ),
            None => (self.config.api.messaging_tier, None),
        }
    }

    /// The plan's platform warnings: the template's quality and status,
    /// account or number trouble.
    pub(super) fn platform_lints(&self, plan: &mut Plan) {
        let t = &plan.template;
        if let Some(s) = self.store.templates().get(&t.name, &t.language) {
            if s.quality == Some(Quality::Red) {
                plan.lints.push(warning(format!(
                    "template {} ({}) has quality RED (Meta{}): Meta may pause it next (3 h, then 6 h, then disabled); fewer, better-targeted sends help",
                    t.name,
                    t.language,
                    s.quality_since
                        .map(|a| format!(", {}", a.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                )));
            }
            if let Some(why) = s.blocked(&t.name, &t.language) {
                plan.lints.push(warning(format!(
                    "{why}; a campaign of it pauses before its first send"
                )));
            }
        }
        let account = self.account_state();
        for (what, n) in [
            ("the number", &account.phone_quality),
            ("the account", &account.account),
        ] {
            if let Some(n) = n.as_ref().filter(|n| {
                let e = n.event.to_ascii_uppercase();
                TROUBLE.iter().any(|w| e.contains(w))
            }) {
                let detail = n
                    .detail
                    .as_deref()
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default();
                plan.lints.push(warning(format!(
                    "Meta reported {} for {what}{detail} ({})",
                    n.event,
                    n.at.format("%Y-%m-%d %H:%M UTC")
                )));
            }
        }
    }

    /// Records the limits a client's sync read from the phone number
    /// object: the messaging limit (the tier from now on, with its source)
    /// and the throughput level; what was recorded, for the client to say.
    pub fn record_number_limits(
        &self,
        caller: &Caller,
        limits: &crate::cloud::NumberLimits,
    ) -> Result<String, Failure> {
        self.authorize(caller, Role::Operator, "syncing templates")?;
        let at = self.now();
        let store_error =
            |e: crate::platform::PlatformError| error(crate::consent::StoreError::from(e));
        let account = Account::open(self.store.db()).map_err(store_error)?;
        let tier = limits.messaging_limit.as_deref().and_then(|raw| {
            let tier = crate::platform::MessagingLimit::parse_tier(&serde_json::Value::String(
                raw.into(),
            ))?;
            Some(crate::platform::MessagingLimit {
                tier,
                raw: raw.into(),
                source: "API, template list --sync".into(),
                at,
            })
        });
        let state = account
            .update(|s| {
                if let Some(l) = &tier {
                    s.messaging_limit = Some(l.clone());
                }
                if let Some(level) = &limits.throughput {
                    s.throughput = Some(crate::platform::Notice {
                        event: level.clone(),
                        detail: None,
                        at,
                    });
                }
            })
            .map_err(store_error)?;
        self.audit(
            &caller.user,
            crate::audit::Action::AccountStateChanged,
            None,
            serde_json::json!({
                "source": "template_list_sync",
                "messaging_limit": limits.messaging_limit,
                "throughput": limits.throughput,
            }),
        )?;
        Ok(match state.lines().first() {
            Some(l) => format!("from the API: {l}"),
            None => "the API showed no messaging limit".into(),
        })
    }

    /// Everything Meta reported about the account and the templates.
    pub fn platform_report(&self, caller: &Caller) -> Result<PlatformReport, Failure> {
        self.authorize(caller, Role::Viewer, "looking at the account")?;
        Ok(PlatformReport {
            account: Account::open(self.store.db())
                .and_then(|a| a.get())
                .map_err(|e| error(crate::consent::StoreError::from(e)))?,
            templates: self.store.templates().all(),
        })
    }
}
