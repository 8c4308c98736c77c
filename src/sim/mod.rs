//! A local stand-in for the WhatsApp Cloud API, faithful to
//! `docs/cloud-api.md`: the sandbox for operators, the server for tests and
//! the target of the throughput benchmark.
//!
//! It validates sends like Meta (token, envelope, template status, parameter
//! counts), enforces the per-number throughput ceiling and the pair rate,
//! injects faults (latency, 5xx, lost responses, unreachable and opted-out
//! recipients), plays status webhooks with a valid signature, and records
//! every accepted message so tests can assert "at most once" and "never over
//! the rate". Start it in-process with [`Sim::start`] or as `bote sim`.

mod control;
mod delivery;
mod faults;
mod limits;
mod listener;
mod media;
mod platform;
mod record;
mod server;
mod spec;
mod validate;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderName;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use delivery::{PricedDelivery, WebhookTarget};
pub use faults::{DropStyle, FaultSettings, Faults, Mark};
pub use platform::{account_payload, template_quality_payload, template_status_payload};
pub use record::{AcceptedMessage, SimStats};

use crate::cloud::ApiToken;
use crate::config::ApiConfig;
use crate::phone::Phone;
use crate::template::{Catalog, Category, Status};
use delivery::Delivery;
use limits::Limits;
use record::Recorder;
use server::SimState;
use webhooks::Metadata;

/// Phone number id the simulator reports when none is configured.
pub const SIM_PHONE_NUMBER_ID: &str = "100000000000001";
/// WABA id the simulator reports when none is configured.
pub const SIM_WABA_ID: &str = "200000000000002";

/// Why the simulator could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The record file could not be opened or written.
    #[error("cannot write the record file {path}: {source}")]
    Record {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A setting cannot be used.
    #[error("invalid simulator setting: {0}")]
    Config(String),
    /// Injecting needs a webhook URL and app secret.
    #[error("no webhook URL is configured")]
    NoWebhook,
    /// A webhook could not be posted.
    #[error("webhook delivery failed: {0}")]
    Webhook(String),
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; default `127.0.0.1:0` (a free loopback port).
    pub listen: SocketAddr,
    /// The templates it knows (and lists, and validates against).
    pub catalog: Catalog,
    /// The token it requires; `None` accepts any non-empty one.
    pub token: Option<ApiToken>,
    /// The header carrying the token; `Authorization` expects `Bearer …`.
    pub auth_header: String,
    /// The only phone number id it serves; `None` serves any.
    pub phone_number_id: Option<String>,
    /// The only WABA id it serves; `None` serves any.
    pub waba_id: Option<String>,
    /// The business number shown in webhooks.
    pub display_phone_number: String,
    /// Throughput ceiling per phone number id, messages per second.
    pub mps: u32,
    /// Messages to one recipient allowed in a burst.
    pub pair_burst: u32,
    /// Then one more per this interval.
    pub pair_interval: Duration,
    /// Initial faults.
    pub faults: FaultSettings,
    /// Status webhooks, if any.
    pub webhook: Option<WebhookTarget>,
    /// Append every accepted message to this JSONL file.
    pub record: Option<PathBuf>,
}

impl SimConfig {
    /// Defaults: loopback, any token and ids, Meta's default 80 mps, no faults.
    pub fn new(catalog: Catalog) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            catalog,
            token: None,
            auth_header: "Authorization".into(),
            phone_number_id: None,
            waba_id: None,
            display_phone_number: "15550000000".into(),
            mps: 80,
            pair_burst: 3,
            pair_interval: Duration::from_secs(6),
            faults: FaultSettings::default(),
            webhook: None,
            record: None,
        }
    }
}

/// The simulator (see [`Sim::start`]).
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Binds `config.listen` and serves until [`SimHandle::shutdown`].
    pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
        let auth_header = HeaderName::from_bytes(config.auth_header.as_bytes()).map_err(|_| {
            SimError::Config(format!("{:?} is not a header name", config.auth_header))
        })?;
        let expected_auth = config.token.as_ref().map(|t| auth_value(&auth_header, t));
        let stop = CancellationToken::new();
        let writer_stop = CancellationToken::new();
        let (jsonl, writer) = match &config.record {
            Some(path) => {
                let file = record::open_jsonl(path)
                    .await
                    .map_err(|source| SimError::Record {
                        path: path.clone(),
                        source,
                    })?;
                let (tx, rx) = mpsc::unbounded_channel();
                let task = tokio::spawn(record::write_jsonl(file, rx, writer_stop.clone()));
                (Some(tx), Some((path.clone(), task)))
            }
            None => (None, None),
        };
        let meta = Metadata {
            waba_id: config.waba_id.clone().unwrap_or_else(|| SIM_WABA_ID.into()),
            display_phone_number: config.display_phone_number.clone(),
            phone_number_id: config
                .phone_number_id
                .clone()
                .unwrap_or_else(|| SIM_PHONE_NUMBER_ID.into()),
        };
        let delivery = match config.webhook.clone() {
            Some(target) => Some(Arc::new(Delivery::new(target, meta, stop.clone())?)),
            None => None,
        };
        let started = Instant::now();
        let state = Arc::new(SimState {
            started,
            auth_header,
            expected_auth: std::sync::RwLock::new(expected_auth),
            phone_number_id: config.phone_number_id.clone(),
            waba_id: config.waba_id.clone(),
            table: spec::TemplateTable::new(&config.catalog),
            limits: Limits::new(started, config.mps, config.pair_burst, config.pair_interval),
            faults: Faults::new(config.faults),
            record: Recorder::new(jsonl),
            delivery,
            stop: stop.clone(),
            nonce: rand::random(),
            upgrading: std::sync::atomic::AtomicU32::new(0),
            messaging_limit: std::sync::RwLock::new("TIER_2K".into()),
            media: media::MediaStore::default(),
        });
        let tcp = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = tcp.local_addr().map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
        let app =
            server::router(state.clone()).into_make_service_with_connect_info::<listener::Conn>();
        let serve = axum::serve(listener::CuttableListener::new(tcp), app)
            .with_graceful_shutdown(stop.clone().cancelled_owned());
        let server = tokio::spawn(async move { serve.await });
        Ok(SimHandle {
            state,
            addr,
            config,
            server: Some(server),
            writer,
            writer_stop,
        })
    }
}

type WriterTask = (PathBuf, JoinHandle<std::io::Result<()>>);

/// A running simulator. Dropping it stops serving; [`SimHandle::shutdown`]
/// also waits for the server and flushes the record file.
#[derive(Debug)]
pub struct SimHandle {
    state: Arc<SimState>,
    addr: SocketAddr,
    config: SimConfig,
    server: Option<JoinHandle<std::io::Result<()>>>,
    writer: Option<WriterTask>,
    writer_stop: CancellationToken,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the `api.base_url` to point bote at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An `[api]` section that talks to this simulator (token from `BOTE_TOKEN`).
    pub fn api_config(&self) -> ApiConfig {
        ApiConfig {
            base_url: self.base_url(),
            phone_number_id: self
                .config
                .phone_number_id
                .clone()
                .unwrap_or_else(|| SIM_PHONE_NUMBER_ID.into()),
            waba_id: self
                .config
                .waba_id
                .clone()
                .unwrap_or_else(|| SIM_WABA_ID.into()),
            auth_header: self.config.auth_header.clone(),
            ..ApiConfig::default()
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> SimStats {
        stats_of(&self.state)
    }

    /// Every accepted message so far, in acceptance order.
    pub fn records(&self) -> Vec<AcceptedMessage> {
        self.state.record.messages()
    }

    /// The live fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Changes the throughput ceiling per phone number id.
    pub fn set_mps(&self, mps: u32) {
        self.state.limits.set_mps(mps);
    }

    /// Replaces the token clients must send, as an expired or rotated
    /// token does: requests with the old one are refused with error 190.
    pub fn set_token(&self, token: &ApiToken) {
        let value = auth_value(&self.state.auth_header, token);
        if let Ok(mut expected) = self.state.expected_auth.write() {
            *expected = Some(value);
        }
    }

    /// Takes an upload made earlier (to a simulator before this one), so a
    /// sandbox restarted within 30 days still knows the ids it gave out.
    pub fn restore_media(
        &self,
        id: &str,
        kind: crate::template::MediaKind,
        uploaded_at: chrono::DateTime<chrono::Utc>,
    ) {
        self.state
            .media
            .insert(id.to_string(), media::Upload { kind, uploaded_at });
    }

    /// Moves an uploaded file's upload time back by `by` (a file 31 days
    /// old is refused as expired, 131053); false if no upload has the id.
    pub fn age_media(&self, id: &str, by: chrono::Duration) -> bool {
        self.state.media.age(id, by)
    }

    /// Changes a template's status (e.g. to `Paused`); false if unknown.
    pub fn set_template_status(&self, name: &str, language: &str, status: Status) -> bool {
        self.state.table.set_status(name, language, status)
    }

    /// The metadata webhooks carry; `None` without a webhook target.
    pub fn webhook_metadata(&self) -> Option<Metadata> {
        self.state.delivery.as_ref().map(|d| d.meta.clone())
    }

    /// Posts an inbound text (e.g. `STOP`) from `from` as a signed webhook;
    /// returns the receiver's HTTP status.
    pub async fn inject_text(&self, from: Phone, body: &str) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        let wamid = format!("wamid.SIMIN{:016X}", rand::random::<u64>());
        let payload = webhooks::inbound_text_payload(&d.meta, &from.digits(), &wamid, body, now);
        d.post(&payload).await
    }

    /// Posts a quick-reply tap from `from` (answering `context_wamid`).
    pub async fn inject_button(
        &self,
        from: Phone,
        payload: &str,
        text: &str,
        context_wamid: Option<&str>,
    ) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        let wamid = format!("wamid.SIMIN{:016X}", rand::random::<u64>());
        let body = webhooks::button_payload(
            &d.meta,
            &from.digits(),
            &wamid,
            payload,
            text,
            context_wamid,
            now,
        );
        d.post(&body).await
    }

    /// Posts a `user_preferences` change (`stop` or `resume`) for `wa_id`.
    pub async fn inject_user_preference(&self, wa_id: Phone, value: &str) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        let body = webhooks::user_preferences_payload(&d.meta, &wa_id.digits(), value, now);
        d.post(&body).await
    }

    /// Changes a template's category without a webhook (a WABA that does
    /// not subscribe to `template_category_update`); false if unknown.
    pub fn set_template_category(&self, name: &str, language: &str, category: Category) -> bool {
        self.state.table.set_category(name, language, category)
    }

    /// Re-categorises a template as Meta does, effective now: sends to the
    /// Marketing Messages API follow the new category, the list shows it,
    /// and a completed `template_category_update` webhook is posted (when
    /// a receiver is configured; else `Ok(None)`).
    pub async fn recategorise(
        &self,
        name: &str,
        language: &str,
        new: Category,
    ) -> Result<Option<u16>, SimError> {
        let previous = self
            .state
            .table
            .spec(name, language)
            .map(|s| s.category())
            .ok_or_else(|| SimError::Config(format!("no template {name} ({language})")))?;
        self.state.table.set_category(name, language, new);
        let Some(d) = &self.state.delivery else {
            return Ok(None);
        };
        let body = webhooks::template_category_payload(
            &d.meta,
            name,
            language,
            &previous.to_string(),
            &new.to_string(),
            None,
        );
        d.post(&body).await.map(Some)
    }

    /// Posts the impending notice of a re-categorisation at `effective_at`
    /// (unix seconds); the template keeps its category until then.
    pub async fn announce_recategorisation(
        &self,
        name: &str,
        language: &str,
        new: Category,
        effective_at: i64,
    ) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let body = webhooks::template_category_payload(
            &d.meta,
            name,
            language,
            "",
            &new.to_string(),
            Some(effective_at),
        );
        d.post(&body).await
    }

    /// The next `sends` of a template to the Marketing Messages API are
    /// refused as not yet synced (131009), as for a new or dormant template.
    pub fn set_template_unsynced(&self, name: &str, language: &str, sends: u32) -> bool {
        match self.state.table.spec(name, language) {
            Some(spec) => {
                spec.unsynced.store(sends, Relaxed);
                true
            }
            None => false,
        }
    }

    /// The next `sends` are refused with 131057 (maintenance mode), as
    /// while Meta upgrades the number's throughput.
    pub fn throughput_upgrade(&self, sends: u32) {
        self.state.upgrading.store(sends, Relaxed);
    }

    /// Posts an inbound text from a user known only by their BSUID.
    pub async fn inject_text_from_user(&self, user_id: &str, body: &str) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        let wamid = format!("wamid.SIMIN{:016X}", rand::random::<u64>());
        d.post(&webhooks::inbound_text_from_user(
            &d.meta, user_id, &wamid, body, now,
        ))
        .await
    }

    /// Posts a quick-reply tap from a user known only by their BSUID.
    pub async fn inject_button_from_user(
        &self,
        user_id: &str,
        payload: &str,
        text: &str,
    ) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        let wamid = format!("wamid.SIMIN{:016X}", rand::random::<u64>());
        d.post(&webhooks::button_from_user(
            &d.meta, user_id, &wamid, payload, text, now,
        ))
        .await
    }

    /// Posts a `user_preferences` change naming only a BSUID.
    pub async fn inject_user_preference_from_user(
        &self,
        user_id: &str,
        value: &str,
    ) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        d.post(&webhooks::user_preferences_from_user(
            &d.meta, user_id, value, now,
        ))
        .await
    }

    /// Posts a failed status with `code` that names only a BSUID.
    pub async fn inject_failed_status_from_user(
        &self,
        user_id: &str,
        code: i64,
    ) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let now = chrono::Utc::now().timestamp();
        let wamid = format!("wamid.SIMX{:016X}", rand::random::<u64>());
        d.post(&webhooks::failed_status_from_user(
            &d.meta, &wamid, user_id, code, now,
        ))
        .await
    }

    /// Posts a system message about a user's identity (see
    /// [`webhooks::SystemMessage`]); its message id is made here.
    pub async fn inject_system(&self, m: webhooks::SystemMessage<'_>) -> Result<u16, SimError> {
        let d = self.state.delivery.as_ref().ok_or(SimError::NoWebhook)?;
        let wamid = format!("wamid.SIMSYS{:016X}", rand::random::<u64>());
        let m = webhooks::SystemMessage {
            wamid: &wamid,
            timestamp: if m.timestamp == 0 {
                chrono::Utc::now().timestamp()
            } else {
                m.timestamp
            },
            ..m
        };
        d.post(&webhooks::system_payload(&d.meta, &m)).await
    }

    /// Stops serving (open requests are answered or cut), waits for the
    /// server, then flushes the record file.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        self.state.stop.cancel();
        if let Some(server) = self.server.take() {
            // Clients holding connections open cannot delay us for long.
            if let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_secs(5), server).await {
                tracing::warn!(error = %e, "simulator server ended with an error");
            }
        }
        self.writer_stop.cancel();
        if let Some((path, task)) = self.writer.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(source)) => return Err(SimError::Record { path, source }),
                Err(e) => {
                    return Err(SimError::Record {
                        path,
                        source: std::io::Error::other(e.to_string()),
                    })
                }
            }
        }
        Ok(())
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.state.stop.cancel();
        self.writer_stop.cancel();
    }
}

/// Counters of all parts of the simulator.
fn stats_of(state: &SimState) -> SimStats {
    let mut s = state.record.stats();
    s.max_admitted_per_window = state.limits.max_in_window();
    if let Some(d) = &state.delivery {
        s.webhooks_delivered = d.delivered.load(Relaxed);
        s.webhooks_failed = d.failed.load(Relaxed);
    }
    s
}

/// The header value that carries `token`: a bearer credential in
/// `Authorization`, the bare token in a custom header.
fn auth_value(header: &HeaderName, token: &ApiToken) -> Vec<u8> {
    if header == axum::http::header::AUTHORIZATION {
        format!("Bearer {}", token.expose()).into_bytes()
    } else {
        token.expose().as_bytes().to_vec()
    }
}
