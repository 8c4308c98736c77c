//! Template and account state webhooks (issue #15, item 3):
//! `message_template_status_update`, `message_template_quality_update`,
//! `phone_number_quality_update`, `account_update`, `account_alerts` and
//! `business_capability_update`. Each is kept in the store
//! ([`crate::platform`]) and audited.
//!
//! A PAUSED or DISABLED status closes the send gate for that template
//! first, then this item waits (deferred, like a status for an in-flight
//! record) until every send that passed the gate before has its answer;
//! so once the item is processed no send of that template reaches Meta
//! any more. The campaigns using it stop at their next send, paused with
//! the reason (`dispatch::worker`), and say so in the trail.

use chrono::{DateTime, Utc};

use super::{Outcome, Processor, Step, Value, ACTOR};
use crate::audit::{Action, Record};
use crate::campaign::CampaignState;
use crate::consent::StoreError;
use crate::platform::account::{Account, MessagingLimit, Notice};
use crate::platform::templates::{blocks_sending, Quality};
use crate::template::Status;

/// The change fields this file handles.
pub const FIELDS: [&str; 6] = [
    "message_template_status_update",
    "message_template_quality_update",
    "phone_number_quality_update",
    "account_update",
    "account_alerts",
    "business_capability_update",
];

/// Meta's status word as bote's [`Status`]; `None` for words bote does
/// not act on (`PENDING_DELETION`, `FLAGGED`, …: kept in the outcome only).
fn status(s: &str) -> Option<Status> {
    let s = s.trim().to_ascii_uppercase();
    let s = if s == "REINSTATED" {
        "APPROVED".into()
    } else {
        s
    };
    serde_json::from_value(serde_json::Value::String(s)).ok()
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Processor {
    fn audit_platform(
        &self,
        action: Action,
        subject: String,
        details: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store.audit().record(
            Record::new(action, ACTOR)
                .subject(subject)
                .details(details)
                .at(at),
        )?;
        Ok(())
    }

    /// One template or account change; `force` stops waiting for sends
    /// still passing the gate (see the module docs).
    pub(super) fn platform(
        &self,
        field: &str,
        v: &Value,
        force: bool,
        received_at: DateTime<Utc>,
    ) -> Result<Step, StoreError> {
        let outcome = match field {
            "message_template_status_update" => return self.template_status(v, force, received_at),
            "message_template_quality_update" => self.template_quality(v, received_at)?,
            _ => self.account(field, v, received_at)?,
        };
        Ok(Step::Done(outcome))
    }

    fn template_status(
        &self,
        v: &Value,
        force: bool,
        received_at: DateTime<Utc>,
    ) -> Result<Step, StoreError> {
        let (Some(name), Some(language), Some(event)) = (
            text(&v.message_template_name),
            text(&v.message_template_language),
            text(&v.event),
        ) else {
            return Ok(Step::Done(Outcome::Ignored {
                what: "message_template_status_update without template name, language and event"
                    .into(),
            }));
        };
        let Some(new) = status(&event) else {
            return Ok(Step::Done(Outcome::Ignored {
                what: format!("template {name} ({language}): status {event} bote does not act on"),
            }));
        };
        let templates = self.store.templates();
        let state = templates.record_status(&name, &language, new, text(&v.reason), received_at)?;
        let blocking = blocks_sending(new);
        // Sends that passed the gate before the status closed it are still
        // on their way: this item is done only once they are answered.
        if blocking && !force && templates.passing(&name, &language) > 0 {
            return Ok(Step::Defer);
        }
        let campaigns: Vec<_> = self
            .campaigns
            .list()?
            .into_iter()
            .filter(|m| {
                m.template.name == name
                    && m.template.language == language
                    && matches!(
                        m.state,
                        CampaignState::Sending | CampaignState::Held | CampaignState::Scheduled
                    )
            })
            .map(|m| m.id)
            .collect();
        if blocking {
            tracing::warn!(template = %name, %language, status = ?new, campaigns = campaigns.len(), "Meta stopped a template: its campaigns pause before their next send");
        } else {
            tracing::info!(template = %name, %language, status = ?new, "template status from Meta");
        }
        self.audit_platform(
            Action::TemplateStatusChanged,
            format!("template:{name}:{language}"),
            serde_json::json!({
                "status": new, "previous": state.previous_status, "reason": state.reason,
                "stops_sending": blocking, "campaigns": campaigns,
            }),
            received_at,
        )?;
        Ok(Step::Done(Outcome::TemplateStatus {
            template: name,
            language,
            status: new,
            previous: state.previous_status,
            campaigns,
        }))
    }

    fn template_quality(
        &self,
        v: &Value,
        received_at: DateTime<Utc>,
    ) -> Result<Outcome, StoreError> {
        let (Some(name), Some(language), Some(q)) = (
            text(&v.message_template_name),
            text(&v.message_template_language),
            v.new_quality_score.as_deref().and_then(Quality::parse),
        ) else {
            return Ok(Outcome::Ignored {
                what: "message_template_quality_update without template, language or a known score"
                    .into(),
            });
        };
        let previous = v.previous_quality_score.as_deref().and_then(Quality::parse);
        let state =
            self.store
                .templates()
                .record_quality(&name, &language, q, previous, received_at)?;
        self.audit_platform(
            Action::TemplateQualityChanged,
            format!("template:{name}:{language}"),
            serde_json::json!({ "quality": q, "previous": state.previous_quality }),
            received_at,
        )?;
        Ok(Outcome::TemplateQuality {
            template: name,
            language,
            quality: q,
            previous: state.previous_quality,
        })
    }

    fn account(&self, field: &str, v: &Value, at: DateTime<Utc>) -> Result<Outcome, StoreError> {
        let account = Account::open(self.store.db())?;
        let compact = |x: &Option<serde_json::Value>| x.as_ref().map(|x| x.to_string());
        let (event, detail) = match field {
            "phone_number_quality_update" => (
                text(&v.event).unwrap_or_else(|| "QUALITY_UPDATE".into()),
                text(&v.current_limit).map(|l| format!("limit {l}")),
            ),
            "account_update" => (
                text(&v.event).unwrap_or_else(|| "ACCOUNT_UPDATE".into()),
                compact(&v.restriction_info).or_else(|| compact(&v.ban_info)),
            ),
            "account_alerts" => (
                text(&v.alert_type).unwrap_or_else(|| "ALERT".into()),
                [&v.alert_severity, &v.alert_status, &v.alert_description]
                    .into_iter()
                    .filter_map(text)
                    .reduce(|a, b| format!("{a} · {b}")),
            ),
            _ => {
                let raw = v
                    .max_daily_conversations_per_business
                    .as_ref()
                    .or(v.max_daily_conversation_per_phone.as_ref());
                let tier = raw.and_then(MessagingLimit::parse_tier);
                (
                    "MESSAGING_LIMIT".into(),
                    raw.map(|r| {
                        format!(
                            "{} ({})",
                            r.as_str().map_or_else(|| r.to_string(), str::to_owned),
                            tier.map_or("not understood".into(), |t| if t == u64::MAX {
                                "unlimited".into()
                            } else {
                                t.to_string()
                            })
                        )
                    }),
                )
            }
        };
        let notice = Notice {
            event: event.clone(),
            detail: detail.clone(),
            at,
        };
        let mut limit = None;
        match field {
            "phone_number_quality_update" => {
                account.update(|s| s.phone_quality = Some(notice.clone()))?;
            }
            "account_update" => {
                account.update(|s| s.account = Some(notice.clone()))?;
            }
            "account_alerts" => {
                account.alert(notice)?;
            }
            _ => {
                let raw = v
                    .max_daily_conversations_per_business
                    .as_ref()
                    .or(v.max_daily_conversation_per_phone.as_ref());
                if let Some((raw, tier)) =
                    raw.and_then(|r| Some((r, MessagingLimit::parse_tier(r)?)))
                {
                    let l = MessagingLimit {
                        tier,
                        raw: raw.as_str().map_or_else(|| raw.to_string(), str::to_owned),
                        source: "business_capability_update webhook".into(),
                        at,
                    };
                    account.update(|s| s.messaging_limit = Some(l.clone()))?;
                    limit = Some(tier);
                }
            }
        }
        tracing::info!(%field, %event, "account state from Meta");
        self.audit_platform(
            Action::AccountStateChanged,
            format!("account:{field}"),
            serde_json::json!({ "event": event, "detail": detail, "messaging_limit": limit }),
            at,
        )?;
        Ok(Outcome::Account {
            field: field.into(),
            event,
            detail,
        })
    }
}
