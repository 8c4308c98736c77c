//! The axum side: `GET /webhook` (handshake), `POST /webhook` (signed
//! events, each stored in the inbox and made durable before its `200`).
//!
//! Durability is group-committed across requests: each request appends its
//! body (one sled insert, no batch: sled seals and syncs its log buffer for
//! every batch) and then waits for the store's flusher, whose one `flush`
//! per round answers every request that appended before the round began.
//! Requests never wait for one another, only for the next round; an earlier
//! appender task took one group at a time and flushed it before taking the
//! next, so a flush and the next group's appends never overlapped (1,768
//! events/s with 16 clients, BENCHMARKS.md).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::{broadcast, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::drain::process_loop;
use super::inbox::Inbox;
use super::keywords::Keywords;
use super::payload::Notification;
use super::process::{Outcome, Processor};
use super::{WebhookError, WebhookSecrets};
use crate::campaign::Campaigns;
use crate::connections::{ConnectionLimits, ConnectionStats, GuardedListener};
use crate::consent::Store;

/// The header carrying Meta's signature.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// Largest body accepted (Meta's bodies are a few KiB); larger → 413.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<hex>`: the signature Meta puts on `body` (for the simulator and
/// tests).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = HmacSha256::new_from_slice(app_secret).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Counters of a running receiver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bodies stored (answered 200).
    pub received: u64,
    /// Bodies refused (401, 400, 413).
    pub rejected: u64,
    /// Inbox entries processed.
    pub processed: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    received: AtomicU64,
    rejected: AtomicU64,
    pub(super) processed: AtomicU64,
}

#[derive(Clone)]
struct AppState {
    verify_token: Arc<[u8]>,
    mac: Arc<HmacSha256>,
    inbox: Inbox,
    /// Tells the processor that a body is stored.
    wake: Arc<Notify>,
    counters: Arc<Counters>,
}

/// The receiver, configured; [`Receiver::start`] binds and runs it.
pub struct Receiver {
    store: Arc<Store>,
    campaigns: Campaigns,
    secrets: WebhookSecrets,
    keywords: Keywords,
    body_limit: usize,
    limits: ConnectionLimits,
}

impl Receiver {
    /// A receiver writing to `store` (shared with its owner, e.g. the engine).
    pub fn new(store: Arc<Store>, campaigns: Campaigns, secrets: WebhookSecrets) -> Self {
        Self {
            store,
            campaigns,
            secrets,
            keywords: Keywords::default(),
            body_limit: DEFAULT_BODY_LIMIT,
            limits: ConnectionLimits::RECEIVER,
        }
    }

    /// Stop and confirm keywords (default: `[consent]`'s defaults).
    pub fn keywords(mut self, keywords: Keywords) -> Self {
        self.keywords = keywords;
        self
    }

    /// Largest accepted body in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Open connections and deadlines (default [`ConnectionLimits::RECEIVER`]).
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds `listen` (`127.0.0.1:8443`; port 0 picks one), processes what
    /// an earlier run left in the inbox, and serves until
    /// [`ReceiverHandle::shutdown`].
    pub async fn start(self, listen: &str) -> Result<ReceiverHandle, WebhookError> {
        let bind_err = |source| WebhookError::Bind {
            addr: listen.into(),
            source,
        };
        let listener = crate::connections::bind(listen).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        // The receiver faces the internet: slow or silent clients must not
        // hold its sockets (and the process's descriptors).
        let listener = GuardedListener::new(listener, self.limits);
        let connections = listener.stats();
        let inbox = Inbox::open(&self.store)?;
        let mac = HmacSha256::new_from_slice(self.secrets.app_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        let counters = Arc::new(Counters::default());
        let wake = Arc::new(Notify::new());
        let state = AppState {
            verify_token: Arc::from(self.secrets.verify_token()),
            mac: Arc::new(mac),
            inbox: inbox.clone(),
            wake: Arc::clone(&wake),
            counters: Arc::clone(&counters),
        };
        let app = Router::new()
            .route("/webhook", get(verify).post(receive))
            .layer(DefaultBodyLimit::max(self.body_limit))
            .with_state(state);
        let cancel = CancellationToken::new();
        let (notices, _) = broadcast::channel(4096);
        let store = Arc::clone(&self.store);
        let processor = Processor::new(self.store, self.campaigns, self.keywords)?;
        let process_task = tokio::spawn(process_loop(
            processor,
            inbox.clone(),
            wake,
            cancel.clone(),
            notices.clone(),
            Arc::clone(&counters),
        ));
        let shutdown = cancel.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await
        });
        tracing::info!(%addr, "webhook receiver listening");
        Ok(ReceiverHandle {
            addr,
            cancel,
            tasks: Some(Tasks {
                server,
                processor: process_task,
            }),
            _store: store,
            inbox,
            notices,
            counters,
            connections,
        })
    }
}

/// A running receiver. Dropping it stops serving; [`ReceiverHandle::shutdown`]
/// also waits for the tasks and flushes.
pub struct ReceiverHandle {
    addr: SocketAddr,
    cancel: CancellationToken,
    tasks: Option<Tasks>,
    /// Kept until the handle goes: the shutdown's last flush needs the
    /// store's flusher, which stops when the store is dropped.
    _store: Arc<Store>,
    inbox: Inbox,
    notices: broadcast::Sender<Outcome>,
    counters: Arc<Counters>,
    connections: Arc<ConnectionStats>,
}

struct Tasks {
    server: JoinHandle<std::io::Result<()>>,
    processor: JoinHandle<()>,
}

impl Drop for ReceiverHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl std::fmt::Debug for ReceiverHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverHandle")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ReceiverHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/webhook`: the callback URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    /// Every processed item from now on (for the views).
    pub fn subscribe(&self) -> broadcast::Receiver<Outcome> {
        self.notices.subscribe()
    }

    /// The inbox (pending and processed entries).
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            received: self.counters.received.load(Ordering::Relaxed),
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            processed: self.counters.processed.load(Ordering::Relaxed),
        }
    }

    /// Connections: open now, the most at once, closed for a missed deadline.
    pub fn connections(&self) -> &ConnectionStats {
        &self.connections
    }

    /// Waits until every stored body has been processed, or `timeout`;
    /// returns whether the inbox is empty.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while !self.inbox.is_idle() {
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// Stops accepting, answers requests in progress, lets the processor
    /// finish its current entry (the rest waits in the inbox for the next
    /// start) and returns.
    pub async fn shutdown(mut self) -> Result<(), WebhookError> {
        self.cancel.cancel();
        let Some(tasks) = self.tasks.take() else {
            return Ok(());
        };
        let served = tasks.server.await;
        let _ = tasks.processor.await;
        self.inbox.flush().await?;
        match served {
            Ok(r) => r.map_err(WebhookError::Server),
            Err(e) => Err(WebhookError::Server(std::io::Error::other(e))),
        }
    }
}

/// `GET /webhook?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`.
async fn verify(
    State(state): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let token_ok = q
        .get("hub.verify_token")
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(&state.verify_token)));
    match (
        q.get("hub.mode").map(String::as_str),
        q.get("hub.challenge"),
    ) {
        (Some("subscribe"), Some(challenge)) if token_ok => {
            tracing::info!("webhook subscription verified");
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge.clone(),
            )
                .into_response()
        }
        _ => {
            tracing::warn!("webhook verification refused");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

fn signature_ok(mac: &HmacSha256, headers: &HeaderMap, body: &[u8]) -> bool {
    let Some(sig) = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("sha256="))
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
    else {
        return false;
    };
    let mut mac = mac.clone();
    mac.update(body);
    // Constant-time comparison (hmac uses `subtle`).
    mac.verify_slice(&sig).is_ok()
}

/// `POST /webhook`: size limit, signature over the raw bytes, shape, then
/// durable append; `200` only once the body is on disk.
async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let reject = |status: StatusCode, why: &str| {
        state.counters.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(status = status.as_u16(), "webhook refused: {why}");
        status.into_response()
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return reject(e.status(), "body could not be read or is too large"),
    };
    if !signature_ok(&state.mac, &headers, &body) {
        return reject(
            StatusCode::UNAUTHORIZED,
            "missing or invalid X-Hub-Signature-256",
        );
    }
    if let Err(e) = serde_json::from_slice::<Notification>(&body) {
        return reject(StatusCode::BAD_REQUEST, &shape_error(&e));
    }
    // One insert, then one shared flush round (see the module doc).
    let stored = match state.inbox.append_raw(Utc::now(), &body) {
        Ok(_) => state.inbox.flush().await,
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        tracing::error!("webhook inbox write failed: {e}");
        // Not stored: Meta retries.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    state.counters.received.fetch_add(1, Ordering::Relaxed);
    state.wake.notify_one();
    StatusCode::OK.into_response()
}

/// Where and what kind of JSON error, without the offending text (which
/// may hold numbers or message text: not for logs, G8).
pub(super) fn shape_error(e: &serde_json::Error) -> String {
    format!(
        "not a webhook body ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_over_exact_bytes() {
        let mac = HmacSha256::new_from_slice(b"secret").expect("key");
        let body = br#"{"a": 1}"#;
        let mut h = HeaderMap::new();
        h.insert(
            SIGNATURE_HEADER,
            sign(b"secret", body).parse().expect("header"),
        );
        assert!(signature_ok(&mac, &h, body));
        assert!(!signature_ok(&mac, &h, br#"{"a":1}"#));
        h.insert(SIGNATURE_HEADER, "sha256=zz".parse().expect("header"));
        assert!(!signature_ok(&mac, &h, body));
        assert!(!signature_ok(&mac, &HeaderMap::new(), body));
    }
}
