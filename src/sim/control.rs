//! `/_sim/…`: poking a running simulator from outside the process.
//!
//! A standalone `bote sim` has no Rust handle, so these two endpoints let an
//! operator (or a script) inject an inbound message as a signed webhook and
//! read the counters. Both require the same token as the Graph endpoints.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

use super::server::{json, SimState};
use super::validate::Reject;
use super::webhooks::{button_payload, inbound_text_payload};

/// Body of `POST /_sim/inbound`.
#[derive(Debug, Deserialize)]
pub(crate) struct Inbound {
    /// Sender digits.
    from: String,
    /// A text message, e.g. `STOP`.
    text: Option<String>,
    /// A quick-reply tap: its payload …
    button_payload: Option<String>,
    /// … and its label.
    button_text: Option<String>,
}

pub(crate) async fn inbound(
    State(s): State<Arc<SimState>>,
    headers: HeaderMap,
    Json(req): Json<Inbound>,
) -> Response {
    if !s.authorized(&headers) {
        return s.refuse(&Reject::new(190, "the access token is missing or invalid"));
    }
    let Some(delivery) = &s.delivery else {
        return s.refuse(&Reject::new(100, "no webhook URL is configured"));
    };
    let wamid = format!("wamid.SIMIN{:016X}", rand::random::<u64>());
    let now = chrono::Utc::now().timestamp();
    let payload = match (&req.text, &req.button_payload) {
        (Some(text), _) => inbound_text_payload(&delivery.meta, &req.from, &wamid, text, now),
        (None, Some(p)) => {
            let label = req.button_text.as_deref().unwrap_or(p);
            button_payload(&delivery.meta, &req.from, &wamid, p, label, None, now)
        }
        (None, None) => return s.refuse(&Reject::new(100, "give text or button_payload")),
    };
    match delivery.post(&payload).await {
        Ok(status) => {
            let body = serde_json::json!({ "webhook_status": status, "id": wamid });
            json(StatusCode::OK, body.to_string().into_bytes())
        }
        Err(e) => s.refuse(&Reject::new(131000, e.to_string())),
    }
}

pub(crate) async fn stats(State(s): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    if !s.authorized(&headers) {
        return s.refuse(&Reject::new(190, "the access token is missing or invalid"));
    }
    let body = serde_json::to_vec(&super::stats_of(&s)).unwrap_or_default();
    json(StatusCode::OK, body)
}
