//! The template and account webhooks Meta posts (issue #15, item 3), as
//! the simulator plays them: a template paused or re-rated, the number's
//! quality, account updates and alerts, and the messaging limit.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::server::SimState;

use super::webhooks::Metadata;
use super::{SimError, SimHandle};
use crate::template::Status;

/// A change of `field` whose `value` is `value`, in Meta's envelope (these
/// fields carry no `messaging_product` / `metadata`).
pub fn account_payload(meta: &Metadata, field: &str, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [ { "id": meta.waba_id, "time": chrono::Utc::now().timestamp(),
                     "changes": [ { "field": field, "value": value } ] } ],
    })
}

/// `message_template_status_update` for a template: `event` is APPROVED,
/// PAUSED, DISABLED, …; `reason` as Meta gives it (`NONE` when none).
pub fn template_status_payload(
    meta: &Metadata,
    name: &str,
    language: &str,
    event: &str,
    reason: Option<&str>,
) -> Value {
    account_payload(
        meta,
        "message_template_status_update",
        json!({
            "event": event, "message_template_id": 1_000_001,
            "message_template_name": name, "message_template_language": language,
            "reason": reason.unwrap_or("NONE"),
        }),
    )
}

/// `message_template_quality_update`: `GREEN`, `YELLOW`, `RED`, `UNKNOWN`.
pub fn template_quality_payload(
    meta: &Metadata,
    name: &str,
    language: &str,
    previous: &str,
    new: &str,
) -> Value {
    account_payload(
        meta,
        "message_template_quality_update",
        json!({
            "previous_quality_score": previous, "new_quality_score": new,
            "message_template_id": 1_000_001,
            "message_template_name": name, "message_template_language": language,
        }),
    )
}

impl SimHandle {
    /// Every `delivered` status posted and taken so far, with its pricing.
    pub fn priced_deliveries(&self) -> Vec<super::delivery::PricedDelivery> {
        self.state
            .delivery
            .as_ref()
            .and_then(|d| d.priced.lock().ok().map(|p| p.clone()))
            .unwrap_or_default()
    }

    /// Messages to `to` are free from now on (`type: free_entry_point`,
    /// `billable: false`), as after a click-to-WhatsApp ad.
    pub fn price_free(&self, to: crate::phone::Phone) {
        if let Some(d) = &self.state.delivery {
            if let Ok(mut f) = d.free.write() {
                f.insert(to.digits());
            }
        }
    }

    fn delivery(&self) -> Result<&super::delivery::Delivery, SimError> {
        self.state.delivery.as_deref().ok_or(SimError::NoWebhook)
    }

    /// Posts a `message_template_status_update` without changing the
    /// template here (the webhook alone: what bote does with it is then
    /// all a test sees); the receiver's HTTP status.
    pub async fn post_template_status(
        &self,
        name: &str,
        language: &str,
        status: Status,
        reason: Option<&str>,
    ) -> Result<u16, SimError> {
        let d = self.delivery()?;
        d.post(&template_status_payload(
            &d.meta,
            name,
            language,
            &status.to_string(),
            reason,
        ))
        .await
    }

    /// Changes a template's status as Meta does: sends are refused from
    /// now on (132015 / 132016 for PAUSED / DISABLED), then the webhook
    /// is posted (when a receiver is configured; else `Ok(None)`).
    pub async fn change_template_status(
        &self,
        name: &str,
        language: &str,
        status: Status,
        reason: Option<&str>,
    ) -> Result<Option<u16>, SimError> {
        if !self.set_template_status(name, language, status) {
            return Err(SimError::Config(format!("no template {name} ({language})")));
        }
        if self.state.delivery.is_none() {
            return Ok(None);
        }
        self.post_template_status(name, language, status, reason)
            .await
            .map(Some)
    }

    /// Posts a `message_template_quality_update`.
    pub async fn post_template_quality(
        &self,
        name: &str,
        language: &str,
        previous: &str,
        new: &str,
    ) -> Result<u16, SimError> {
        // The list shows the new rating from now on, as Meta's does.
        if let Some(spec) = self.state.table.spec(name, language) {
            *spec
                .quality
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = new.to_string();
        }
        let d = self.delivery()?;
        d.post(&template_quality_payload(
            &d.meta, name, language, previous, new,
        ))
        .await
    }

    /// Posts a `business_capability_update` with the portfolio's new
    /// messaging limit (`"TIER_10K"`, or a number).
    pub async fn post_messaging_limit(&self, limit: Value) -> Result<u16, SimError> {
        let d = self.delivery()?;
        d.post(&account_payload(
            &d.meta,
            "business_capability_update",
            json!({ "max_daily_conversations_per_business": limit,
                    "max_phone_numbers_per_business": 20 }),
        ))
        .await
    }

    /// Posts a `phone_number_quality_update` (`event`: FLAGGED, UNFLAGGED,
    /// UPGRADE, DOWNGRADE; `limit`: `TIER_10K`, …).
    pub async fn post_phone_quality(&self, event: &str, limit: &str) -> Result<u16, SimError> {
        let d = self.delivery()?;
        d.post(&account_payload(
            &d.meta,
            "phone_number_quality_update",
            json!({ "display_phone_number": d.meta.display_phone_number,
                    "event": event, "current_limit": limit }),
        ))
        .await
    }

    /// Posts an `account_update` (`event`: ACCOUNT_RESTRICTION, …).
    pub async fn post_account_update(&self, event: &str, info: Value) -> Result<u16, SimError> {
        let d = self.delivery()?;
        d.post(&account_payload(
            &d.meta,
            "account_update",
            json!({ "phone_number": d.meta.display_phone_number, "event": event,
                    "restriction_info": info }),
        ))
        .await
    }

    /// Posts an `account_alerts` entry.
    pub async fn post_account_alert(
        &self,
        kind: &str,
        severity: &str,
        description: &str,
    ) -> Result<u16, SimError> {
        let d = self.delivery()?;
        d.post(&account_payload(
            &d.meta,
            "account_alerts",
            json!({ "entity_type": "WABA", "entity_id": d.meta.waba_id,
                    "alert_severity": severity, "alert_status": "ACTIVE",
                    "alert_type": kind, "alert_description": description }),
        ))
        .await
    }
}

/// `GET /{version}/{phone-number-id}`: the phone number object with the
/// portfolio's messaging limit and the throughput level (80 mps is
/// `STANDARD`, more is `HIGH`).
pub(super) async fn number(
    State(s): State<Arc<SimState>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers) {
        return s.refuse(&super::validate::Reject::new(
            190,
            "the access token is missing or invalid",
        ));
    }
    let limit = s
        .messaging_limit
        .read()
        .map(|l| l.clone())
        .unwrap_or_default();
    let level = if s.limits.mps() > 80 {
        "HIGH"
    } else {
        "STANDARD"
    };
    axum::Json(json!({
        "id": id,
        "whatsapp_business_manager_messaging_limit": limit,
        "throughput": { "level": level },
    }))
    .into_response()
}

impl SimHandle {
    /// Sets the messaging limit the phone number object reports (`TIER_10K`, …).
    pub fn set_messaging_limit(&self, limit: &str) {
        if let Ok(mut l) = self.state.messaging_limit.write() {
            *l = limit.to_string();
        }
    }
}
