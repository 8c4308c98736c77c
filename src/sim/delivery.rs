//! Posting signed webhooks to the configured receiver, as Meta does.
//!
//! After each accepted send a small task plays the message's life:
//! `sent → delivered → read`, or `failed` with the marked number's code.
//! Optionally some events are posted twice or in the wrong order, because
//! Meta's retries make both normal and the receiver must cope. Deliveries
//! that fail are retried a few times with back-off, then counted as failed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::webhooks::{
    signature, status_payload_priced, Metadata, StatusEvent, StatusKind, SIGNATURE_HEADER,
};
use super::SimError;

/// Where and how the simulator posts webhooks.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookTarget {
    /// The receiver's URL.
    pub url: String,
    /// The app secret that signs each body.
    pub app_secret: String,
    /// Fraction of events posted twice.
    pub duplicate_rate: f64,
    /// Fraction of messages whose events arrive out of order.
    pub reorder_rate: f64,
    /// Pause between a message's successive events.
    pub step: Duration,
}

impl WebhookTarget {
    /// Posts to `url` signed with `app_secret`, in order, without duplicates.
    pub fn new(url: impl Into<String>, app_secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            app_secret: app_secret.into(),
            duplicate_rate: 0.0,
            reorder_rate: 0.0,
            step: Duration::from_millis(20),
        }
    }
}

/// Most webhook POSTs in flight at once.
const IN_FLIGHT: usize = 64;
/// Attempts per event before it counts as failed.
const ATTEMPTS: u32 = 3;

/// The webhook poster of a running simulator.
#[derive(Debug)]
pub(crate) struct Delivery {
    http: reqwest::Client,
    target: WebhookTarget,
    pub(crate) meta: Metadata,
    pub(crate) delivered: AtomicU64,
    pub(crate) failed: AtomicU64,
    slots: Semaphore,
    stop: CancellationToken,
    /// Every delivery the receiver took, with its pricing (what a test
    /// checks bote's actual cost against).
    pub(crate) priced: std::sync::Mutex<Vec<PricedDelivery>>,
    /// Recipients (digits) whose messages are free (`free_entry_point`).
    pub(crate) free: std::sync::RwLock<std::collections::HashSet<String>>,
}

/// A `delivered` status the simulator posted and the receiver took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedDelivery {
    /// Recipient digits.
    pub to: String,
    /// `pricing.category` (`marketing`, `utility`, `authentication`).
    pub category: String,
    /// `pricing.type` (`regular` or `free_entry_point`).
    pub kind: String,
}

/// What the simulator knows about an accepted message, for its statuses.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) wamid: String,
    pub(crate) to: String,
    pub(crate) callback_data: Option<String>,
    /// `Some(code)`: the message fails later with this code.
    pub(crate) failure: Option<i64>,
    /// The template's category when it was sent: what Meta prices it as.
    pub(crate) category: crate::template::Category,
}

impl Delivery {
    pub(crate) fn new(
        target: WebhookTarget,
        meta: Metadata,
        stop: CancellationToken,
    ) -> Result<Self, SimError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SimError::Webhook(e.to_string()))?;
        Ok(Self {
            http,
            target,
            meta,
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            slots: Semaphore::new(IN_FLIGHT),
            stop,
            priced: std::sync::Mutex::new(Vec::new()),
            free: std::sync::RwLock::new(std::collections::HashSet::new()),
        })
    }

    /// Plays the message's statuses in the background.
    pub(crate) fn spawn_statuses(self: &std::sync::Arc<Self>, msg: Accepted) {
        let this = self.clone();
        tokio::spawn(async move {
            let stop = this.stop.clone();
            tokio::select! {
                _ = this.play(msg) => {}
                _ = stop.cancelled() => {}
            }
        });
    }

    async fn play(&self, msg: Accepted) {
        let kinds: &[StatusKind] = match msg.failure {
            Some(_) => &[StatusKind::Failed],
            None => &[StatusKind::Sent, StatusKind::Delivered, StatusKind::Read],
        };
        let (mut events, reorder, duplicate): (Vec<StatusEvent>, bool, Vec<bool>) = {
            let mut rng = rand::thread_rng();
            let now = chrono::Utc::now().timestamp();
            let events = kinds
                .iter()
                .enumerate()
                .map(|(i, k)| StatusEvent {
                    wamid: msg.wamid.clone(),
                    status: *k,
                    recipient_id: msg.to.clone(),
                    timestamp: now + i as i64,
                    callback_data: msg.callback_data.clone(),
                    error_code: msg.failure,
                })
                .collect();
            let reorder = rng.gen::<f64>() < self.target.reorder_rate;
            let duplicate = kinds
                .iter()
                .map(|_| rng.gen::<f64>() < self.target.duplicate_rate)
                .collect();
            (events, reorder, duplicate)
        };
        if reorder {
            events.reverse();
        }
        let free = self
            .free
            .read()
            .map(|f| f.contains(&msg.to))
            .unwrap_or(false);
        let category = msg.category.to_string().to_ascii_lowercase();
        let kind = if free { "free_entry_point" } else { "regular" };
        let pricing = serde_json::json!({ "billable": !free, "pricing_model": "PMP",
                                          "category": category, "type": kind });
        for (ev, twice) in events.iter().zip(duplicate) {
            tokio::time::sleep(self.target.step).await;
            let payload = status_payload_priced(&self.meta, ev, &pricing);
            let mut taken = false;
            for _ in 0..if twice { 2 } else { 1 } {
                taken |= self.deliver(&payload).await;
            }
            if taken && ev.status == StatusKind::Delivered {
                if let Ok(mut p) = self.priced.lock() {
                    p.push(PricedDelivery {
                        to: msg.to.clone(),
                        category: category.clone(),
                        kind: kind.into(),
                    });
                }
            }
        }
    }

    /// Posts with retries; counts the result; whether the receiver took it.
    async fn deliver(&self, payload: &Value) -> bool {
        let mut wait = Duration::from_millis(100);
        for attempt in 1..=ATTEMPTS {
            match self.post(payload).await {
                Ok(s) if (200..300).contains(&s) => {
                    self.delivered.fetch_add(1, Relaxed);
                    return true;
                }
                Ok(_) | Err(_) if attempt < ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Ok(_) | Err(_) => {}
            }
        }
        self.failed.fetch_add(1, Relaxed);
        false
    }

    /// Posts one signed payload once; the receiver's HTTP status.
    pub(crate) async fn post(&self, payload: &Value) -> Result<u16, SimError> {
        let body = serde_json::to_vec(payload).map_err(|e| SimError::Webhook(e.to_string()))?;
        let sig = signature(self.target.app_secret.as_bytes(), &body);
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| SimError::Webhook(e.to_string()))?;
        let response = self
            .http
            .post(&self.target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sig)
            .body(body)
            .send()
            .await
            .map_err(|e| SimError::Webhook(e.to_string()))?;
        Ok(response.status().as_u16())
    }
}
