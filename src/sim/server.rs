//! The simulator's HTTP surface: the two Graph endpoints bote uses, plus a
//! small `/_sim/` control surface for injecting inbound messages.
//!
//! The send handler does all its checking synchronously in
//! [`SimState::process`] (no lock is held across an await) and only awaits
//! for injected latency and for a deliberately hung response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use super::delivery::{Accepted, Delivery};
use super::faults::{DropStyle, Faults};
use super::limits::Limits;
use super::listener::Conn;
use super::record::{AcceptedMessage, Recorder};
use super::spec::TemplateTable;
use super::validate::{check, message, Reject};
use crate::cloud::types::{
    Contact, ErrorData, GraphError, GraphErrorEnvelope, MessageStatus, SendRequest, SendResponse,
    SentMessage,
};

/// How long a hung response is held before the connection is cut anyway.
const HANG_LIMIT: Duration = Duration::from_secs(300);

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) started: Instant,
    pub(crate) auth_header: HeaderName,
    /// The exact header value expected; `None` accepts any non-empty one.
    /// Behind a lock so a token can expire (be replaced) while traffic flows.
    pub(crate) expected_auth: std::sync::RwLock<Option<Vec<u8>>>,
    pub(crate) phone_number_id: Option<String>,
    pub(crate) waba_id: Option<String>,
    pub(crate) table: TemplateTable,
    pub(crate) limits: Limits,
    pub(crate) faults: Faults,
    pub(crate) record: Recorder,
    pub(crate) delivery: Option<Arc<Delivery>>,
    pub(crate) stop: CancellationToken,
    pub(crate) nonce: u64,
    /// Sends still answered "maintenance mode" (131057), as during a
    /// throughput upgrade.
    pub(crate) upgrading: std::sync::atomic::AtomicU32,
    /// The portfolio's messaging limit the phone number object reports.
    pub(crate) messaging_limit: std::sync::RwLock<String>,
    /// Files uploaded to `/media`, by id.
    pub(crate) media: super::media::MediaStore,
}

/// The router over `state`.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/{version}/{id}/messages", post(send))
        .route("/{version}/{id}/marketing_messages", post(send))
        .route("/{version}/{id}/media", post(super::media::upload))
        .route("/{version}/{id}/message_templates", get(templates))
        .route("/{version}/{id}", get(super::platform::number))
        .route("/_sim/inbound", post(super::control::inbound))
        .route("/_sim/stats", get(super::control::stats))
        .fallback(unsupported)
        .with_state(state)
}

/// What a send that passed every check turned into.
struct Done {
    body: Vec<u8>,
    dropped: Option<DropStyle>,
}

/// Largest send body read; Meta's are a few kilobytes.
const MAX_BODY: usize = 64 * 1024;

async fn send(
    State(s): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    request: Request,
) -> Response {
    s.record
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return s.refuse(&Reject::new(100, "request body is unreadable or too large"));
    };
    // The route is /{version}/{id}/messages: the id is the third segment,
    // the endpoint the last.
    let id = parts.uri.path().split('/').nth(2).unwrap_or_default();
    let marketing_api = parts.uri.path().ends_with("/marketing_messages");
    // Decided on arrival, answered after the latency: the API counts a
    // request against its limits when it receives it, so the simulated
    // processing time must not shift requests between rate windows.
    let decided = s.process(id, marketing_api, &parts.headers, &body);
    if let Some(d) = s.faults.delay() {
        tokio::time::sleep(d).await;
    }
    match decided {
        Err(rej) => s.refuse(&rej),
        Ok(Done {
            dropped: None,
            body,
        }) => json(StatusCode::OK, body),
        Ok(Done {
            dropped: Some(DropStyle::BadGateway),
            ..
        }) => bad_gateway(),
        Ok(Done {
            dropped: Some(style),
            ..
        }) => {
            if style == DropStyle::Hang {
                tokio::select! {
                    _ = s.stop.cancelled() => {}
                    _ = tokio::time::sleep(HANG_LIMIT) => {}
                }
            }
            // The response below is never written: the connection fails first.
            conn.cut();
            StatusCode::OK.into_response()
        }
    }
}

impl SimState {
    /// Whether the request carries the expected token.
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(&self.auth_header) else {
            return false;
        };
        let value = value.as_bytes();
        let Ok(expected) = self.expected_auth.read() else {
            return false;
        };
        match &*expected {
            Some(expected) => bool::from(value.ct_eq(expected)),
            None if self.auth_header == header::AUTHORIZATION => {
                value.len() > 7 && value[..7].eq_ignore_ascii_case(b"bearer ")
            }
            None => !value.is_empty(),
        }
    }

    fn process(
        &self,
        id: &str,
        marketing_api: bool,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Done, Reject> {
        if !self.authorized(headers) {
            return Err(Reject::new(190, "the access token is missing or invalid"));
        }
        if self.phone_number_id.as_deref().is_some_and(|p| p != id) {
            return Err(no_such_object(id));
        }
        let req: SendRequest = serde_json::from_slice(body)
            .map_err(|e| Reject::new(100, format!("request body is not valid JSON: {e}")))?;
        let valid = check(&req, &self.table, &self.media)?;
        let upgrading = self
            .upgrading
            .fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |n| n.checked_sub(1),
            )
            .is_ok();
        if upgrading {
            return Err(Reject::new(
                131057,
                "Business account is in maintenance mode: the number's throughput is being upgraded.",
            ));
        }
        if marketing_api {
            marketing_api_check(valid.spec)?;
        }
        if !self.limits.admit(id) {
            return Err(Reject::new(
                130429,
                "Cloud API message throughput has been reached.",
            ));
        }
        if !self.limits.pair_ok(valid.to) {
            return Err(Reject::new(
                131056,
                "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
            ));
        }
        if self.faults.should_fail() {
            return Err(Reject::new(131000, "simulated internal error"));
        }
        let failure = match self.faults.mark_of(valid.to) {
            Some(m) if !self.faults.async_failures() || self.delivery.is_none() => {
                return Err(Reject::new(
                    m.code(),
                    super::webhooks::error_title(m.code()),
                ));
            }
            m => m.map(|m| m.code()),
        };
        let seq = self.record.next_seq();
        let wamid = format!("wamid.HBgL{:016X}{:012}", self.nonce, seq);
        let dropped = self.faults.should_drop();
        let status = if self.faults.should_hold() {
            MessageStatus::HeldForQualityAssessment
        } else {
            MessageStatus::Accepted
        };
        let to = valid.to.to_string();
        let tref = req.template.as_ref();
        self.record.accept(AcceptedMessage {
            seq,
            wamid: wamid.clone(),
            to: to.clone(),
            template: valid.spec.template.name.clone(),
            language: valid.spec.template.language.clone(),
            params: tref
                .map(|t| t.components.iter())
                .into_iter()
                .flatten()
                .flat_map(|c| c.parameters.iter().filter_map(|p| p.text.clone()))
                .collect(),
            callback_data: req.biz_opaque_callback_data.clone(),
            at_ms: self.started.elapsed().as_millis() as u64,
            response_dropped: dropped.is_some(),
            endpoint: if marketing_api {
                "marketing_messages"
            } else {
                "messages"
            }
            .into(),
        });
        if let Some(d) = &self.delivery {
            d.spawn_statuses(Accepted {
                wamid: wamid.clone(),
                to: to.clone(),
                callback_data: req.biz_opaque_callback_data.clone(),
                failure,
                category: valid.spec.category(),
            });
        }
        let response = SendResponse {
            messaging_product: "whatsapp".into(),
            contacts: vec![Contact {
                input: req.to,
                wa_id: Some(to),
            }],
            messages: vec![SentMessage {
                id: wamid,
                message_status: status,
            }],
        };
        let body = serde_json::to_vec(&response)
            .map_err(|e| Reject::new(131000, format!("cannot encode the response: {e}")))?;
        Ok(Done { body, dropped })
    }

    /// Counts and answers a refusal in Graph's error shape.
    pub(crate) fn refuse(&self, rej: &Reject) -> Response {
        self.record.reject(rej.code);
        let seq = self
            .record
            .requests
            .load(std::sync::atomic::Ordering::Relaxed);
        let error = GraphError {
            message: message(rej.code).into(),
            kind: "OAuthException".into(),
            code: rej.code,
            error_data: Some(ErrorData {
                messaging_product: "whatsapp".into(),
                details: rej.details.clone(),
            }),
            error_subcode: (rej.code == 130429).then_some(2494055),
            fbtrace_id: Some(format!("Sim{:X}{seq:X}", self.nonce & 0xffff)),
        };
        let body = serde_json::to_vec(&GraphErrorEnvelope { error }).unwrap_or_default();
        let status = StatusCode::from_u16(rej.http).unwrap_or(StatusCode::BAD_REQUEST);
        json(status, body)
    }
}

/// What the Marketing Messages API adds to the checks: it sends MARKETING
/// templates only (by their current category), and refuses a template its
/// ad sync has not caught up with yet (new or long unused) with 131009.
fn marketing_api_check(spec: &super::spec::Spec) -> Result<(), Reject> {
    use std::sync::atomic::Ordering::Relaxed;
    if spec.category() != crate::template::Category::Marketing {
        return Err(Reject::new(
            131055,
            format!(
                "Not allowed to send messages using MM API: template {} is {}, only MARKETING templates can be sent here",
                spec.template.name,
                spec.category()
            ),
        ));
    }
    let refused = spec
        .unsynced
        .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if refused {
        return Err(Reject::new(
            131009,
            "Ad syncing may be incomplete for this template. Wait 10 minutes and try again.",
        ));
    }
    Ok(())
}

fn no_such_object(id: &str) -> Reject {
    Reject::new(
        100,
        format!("Unsupported request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
    )
}

/// What a gateway in front of the API answers when the upstream's answer
/// went missing: an HTML page, no Graph error.
fn bad_gateway() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "text/html")],
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
    )
        .into_response()
}

pub(crate) fn json(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Query of the template list.
#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
    fields: Option<String>,
}

async fn templates(
    State(s): State<Arc<SimState>>,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if !s.authorized(&headers) {
        return s.refuse(&Reject::new(190, "the access token is missing or invalid"));
    }
    if s.waba_id.as_deref().is_some_and(|w| w != id) {
        return s.refuse(&no_such_object(&id));
    }
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => 25,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return s.refuse(&Reject::new(100, "limit must be 1..=1000")),
    };
    let start = match q.after.as_deref().map(decode_cursor) {
        None => 0,
        Some(Some(i)) => i,
        Some(None) => return s.refuse(&Reject::new(100, "invalid after cursor")),
    };
    let all = &s.table.ordered;
    let end = (start + limit).min(all.len());
    let data: Vec<serde_json::Value> = (start.min(end)..end)
        .filter_map(|i| all.get(i).map(|spec| spec.listing(i)))
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let mut paging = serde_json::json!({
        "cursors": { "before": encode_cursor(start), "after": encode_cursor(end) },
    });
    if end < all.len() {
        if let Ok(mut next) =
            reqwest::Url::parse(&format!("http://{host}/{version}/{id}/message_templates"))
        {
            {
                let mut pairs = next.query_pairs_mut();
                if let Some(f) = &q.fields {
                    pairs.append_pair("fields", f);
                }
                pairs
                    .append_pair("limit", &limit.to_string())
                    .append_pair("after", &encode_cursor(end));
            }
            paging["next"] = serde_json::Value::String(next.into());
        }
    }
    let body = serde_json::json!({ "data": data, "paging": paging });
    json(StatusCode::OK, body.to_string().into_bytes())
}

fn encode_cursor(index: usize) -> String {
    hex::encode(format!("sim:{index}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let raw = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    raw.strip_prefix("sim:")?.parse().ok()
}

async fn unsupported(State(s): State<Arc<SimState>>, method: axum::http::Method) -> Response {
    s.refuse(&Reject::new(
        100,
        format!("Unsupported {method} request: the simulator serves /{{version}}/{{phone-number-id}}/messages, /media and /{{version}}/{{waba-id}}/message_templates"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor(&hex::encode("other:1")), None);
    }
}
