//! The Cloud API client: one pooled `reqwest::Client`, two calls.
//!
//! A send never returns a Rust error: every way it can end is a
//! [`SendOutcome`] the dispatcher acts on. What matters most is telling
//! "clearly not taken" (an error body came back, or the connection could not
//! even be opened) from "maybe taken" (the request left, the answer did not
//! come back): the first may be retried, the second is `Unknown`.

mod media;
mod number;

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Url;
use tracing::debug;

use super::classify::{classify, classify_marketing, RetryScope, SendOutcome, UNREACHABLE_BACKOFF};
use super::routing::{Endpoint, TemplateCategories};
use super::token::{ApiToken, TokenError};
use super::types::{GraphError, SendRequest, SendResponse, TemplatePage, MAX_CALLBACK_DATA};
use crate::config::{ApiConfig, MarketingEndpoint, SendConfig};
use crate::phone::Phone;
use crate::template::{Params, Template};
pub use number::NumberLimits;

/// Most template pages followed before giving up (a loop guard).
const MAX_TEMPLATE_PAGES: usize = 1_000;

/// A failure outside of sending: setup, or listing templates.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The token could not be loaded.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A configuration value cannot be used.
    #[error("invalid config: `{key}`: {message}")]
    Config {
        /// Dotted key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request failed on the way (no answer).
    #[error("{what}: {source}")]
    Http {
        /// What bote was doing.
        what: &'static str,
        /// reqwest's error (names the URL, never the token).
        source: reqwest::Error,
    },
    /// The API answered with an error.
    #[error("{what}: HTTP {status}, Graph error {}: {message}", code.map_or("none".to_string(), |c| c.to_string()))]
    Api {
        /// What bote was doing.
        what: &'static str,
        /// HTTP status.
        status: u16,
        /// Graph error code, when the body had one.
        code: Option<i64>,
        /// Meta's message.
        message: String,
    },
    /// The API answered with something bote cannot read.
    #[error("{what}: unexpected response: {message}")]
    Decode {
        /// What bote was doing.
        what: &'static str,
        /// The parse error.
        message: String,
    },
    /// `paging.next` points to another host: not followed, the token would go there.
    #[error("template paging points to another host ({next}); not following it with the token")]
    ForeignPaging {
        /// The offending URL.
        next: String,
    },
    /// Paging did not end.
    #[error("template paging did not end after {0} pages")]
    EndlessPaging(usize),
}

/// The Cloud API client. Cheap to share behind an `Arc`; clones share the pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    messages_url: Url,
    marketing_url: Url,
    /// Where MARKETING templates go (`[api] marketing_endpoint`).
    marketing_endpoint: MarketingEndpoint,
    /// The latest category per template; without it, a template's own.
    categories: Option<TemplateCategories>,
    templates_url: Url,
    auth_name: HeaderName,
    /// Behind a lock so a token rewritten after an expiry (190) is picked
    /// up by the next run without a restart.
    auth_value: Arc<RwLock<HeaderValue>>,
    /// Where the token came from, when it can be read again.
    token_file: Option<PathBuf>,
    page_size: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("messages_url", &self.messages_url.as_str())
            .field("auth_header", &self.auth_name.as_str())
            .field("token", &"ApiToken(***)")
            .finish()
    }
}

impl Client {
    /// Builds a client for `api`, loading the token as `api` says.
    pub fn from_config(api: &ApiConfig, send: &SendConfig) -> Result<Self, CloudError> {
        let token = ApiToken::from_config(api)?;
        let mut client = Self::new(api, send, token)?;
        client.token_file.clone_from(&api.token_file);
        Ok(client)
    }

    /// Reads the token file again (a token renewed after an expiry); true
    /// if the token changed. Without a token file there is nothing to read:
    /// a token from the environment changes only with a restart.
    pub fn reload_token(&self) -> Result<bool, CloudError> {
        let Some(path) = &self.token_file else {
            return Ok(false);
        };
        let token = ApiToken::from_file(path)?;
        let value = auth_value(&self.auth_name, &token)?;
        let mut current = self
            .auth_value
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *current == value {
            return Ok(false);
        }
        *current = value;
        Ok(true)
    }

    fn auth(&self) -> HeaderValue {
        self.auth_value
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Builds a client for `api` with this token.
    pub fn new(api: &ApiConfig, send: &SendConfig, token: ApiToken) -> Result<Self, CloudError> {
        let base = api.base_url.trim_end_matches('/');
        let url = |key: &'static str, tail: String| {
            Url::parse(&format!("{base}/{}/{tail}", api.version)).map_err(|e| CloudError::Config {
                key,
                message: format!("{e} (from api.base_url {base:?})"),
            })
        };
        for (key, value) in [
            ("api.phone_number_id", &api.phone_number_id),
            ("api.waba_id", &api.waba_id),
        ] {
            if value.is_empty() || value.contains(['/', '?', '#']) {
                return Err(CloudError::Config {
                    key,
                    message: format!("{value:?} is not an id (Meta's ids are digits)"),
                });
            }
        }
        let messages_url = url(
            "api.phone_number_id",
            format!("{}/messages", api.phone_number_id),
        )?;
        let marketing_url = url(
            "api.phone_number_id",
            format!("{}/marketing_messages", api.phone_number_id),
        )?;
        let templates_url = url("api.waba_id", format!("{}/message_templates", api.waba_id))?;
        let auth_name =
            HeaderName::from_bytes(api.auth_header.as_bytes()).map_err(|_| CloudError::Config {
                key: "api.auth_header",
                message: format!("{:?} is not an HTTP header name", api.auth_header),
            })?;
        let auth_value = auth_value(&auth_name, &token)?;
        let timeout = send.timeout();
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(timeout)
            .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bote/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .build()
            .map_err(|source| CloudError::Http {
                what: "building the HTTP client",
                source,
            })?;
        Ok(Self {
            http,
            messages_url,
            marketing_url,
            marketing_endpoint: api.marketing_endpoint,
            categories: None,
            templates_url,
            auth_name,
            auth_value: Arc::new(RwLock::new(auth_value)),
            token_file: None,
            page_size: 100,
        })
    }

    /// Asks for `n` templates per page when listing (default 100).
    pub fn with_template_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, 1000);
        self
    }

    /// Sends MARKETING templates through the Marketing Messages API
    /// (`…/marketing_messages`, same body), whatever the config said.
    pub fn with_marketing_messages(mut self) -> Self {
        self.marketing_endpoint = MarketingEndpoint::MarketingMessages;
        self
    }

    /// Routes by the latest category in `categories` (and records the
    /// categories of every template list there).
    pub fn with_categories(mut self, categories: TemplateCategories) -> Self {
        self.categories = Some(categories);
        self
    }

    /// The latest-category map this client routes by, if any.
    pub fn categories(&self) -> Option<&TemplateCategories> {
        self.categories.as_ref()
    }

    /// Where a send of `template` goes now: by its latest category.
    pub fn endpoint_for(&self, template: &Template) -> Endpoint {
        let category = match &self.categories {
            Some(c) => c.route_category(template),
            None => template.category,
        };
        Endpoint::for_category(category, self.marketing_endpoint)
    }

    /// Sends one template message. Never retries by itself.
    pub async fn send_template(
        &self,
        to: Phone,
        template: &Template,
        params: &Params,
        callback_data: &str,
    ) -> SendOutcome {
        if callback_data.chars().count() > MAX_CALLBACK_DATA {
            return SendOutcome::StopCampaign {
                code: None,
                message: format!("callback data is longer than {MAX_CALLBACK_DATA} characters"),
            };
        }
        let request =
            match SendRequest::template_message(to.digits(), template, params, callback_data) {
                Ok(r) => r,
                Err(e) => {
                    return SendOutcome::StopCampaign {
                        code: None,
                        message: e.to_string(),
                    }
                }
            };
        let endpoint = self.endpoint_for(template);
        let outcome = self.post_message(&request, endpoint).await;
        match &outcome {
            SendOutcome::Accepted { wamid, status, .. } => {
                debug!(to = %to.masked(4), %wamid, ?status, endpoint = endpoint.as_str(), "accepted");
            }
            other => debug!(to = %to.masked(4), outcome = ?other, "not accepted"),
        }
        outcome
    }

    async fn post_message(&self, request: &SendRequest, endpoint: Endpoint) -> SendOutcome {
        let url = match endpoint {
            Endpoint::Messages => &self.messages_url,
            Endpoint::MarketingMessages => &self.marketing_url,
        };
        let body = match serde_json::to_vec(request) {
            Ok(b) => b,
            Err(e) => {
                return SendOutcome::StopCampaign {
                    code: None,
                    message: format!("cannot encode the request: {e}"),
                }
            }
        };
        let sent = self
            .http
            .post(url.clone())
            .header(self.auth_name.clone(), self.auth())
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return unsent_or_unknown(&e),
        };
        let status = response.status();
        let bytes = response.bytes().await;
        if status.is_success() {
            let Ok(bytes) = bytes else {
                return SendOutcome::Unknown {
                    reason: format!("HTTP {status} but the body was lost"),
                };
            };
            return accepted(status.as_u16(), &bytes);
        }
        let error = bytes.ok().and_then(|b| GraphError::parse(&b));
        match endpoint {
            Endpoint::Messages => classify(status.as_u16(), error.as_ref()),
            Endpoint::MarketingMessages => classify_marketing(status.as_u16(), error.as_ref()),
        }
    }

    /// `GET url` with the token, decoded as `T`; a non-2xx answer is the
    /// Graph error it carries.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        what: &'static str,
    ) -> Result<T, CloudError> {
        let response = self
            .http
            .get(url)
            .header(self.auth_name.clone(), self.auth())
            .send()
            .await
            .map_err(|source| CloudError::Http { what, source })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| CloudError::Http { what, source })?;
        if !status.is_success() {
            let error = GraphError::parse(&body);
            return Err(CloudError::Api {
                what,
                status: status.as_u16(),
                code: error.as_ref().map(|e| e.code),
                message: error.map(|e| e.describe()).unwrap_or_default(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| CloudError::Decode {
            what,
            message: e.to_string(),
        })
    }

    /// Reads every template of the WABA, following `paging.next`. Items that
    /// bote cannot represent (e.g. carousel templates) are skipped with a warning.
    pub async fn list_templates(&self) -> Result<Vec<Template>, CloudError> {
        Ok(self
            .list_template_definitions()
            .await?
            .into_iter()
            .map(|(t, _)| t)
            .collect())
    }

    /// As [`Client::list_templates`], with each template's quality rating
    /// (`quality_score.score`) when Meta gave one.
    pub async fn list_template_definitions(
        &self,
    ) -> Result<Vec<(Template, Option<crate::platform::Quality>)>, CloudError> {
        const WHAT: &str = "listing templates";
        let mut url = self.templates_url.clone();
        url.query_pairs_mut()
            .append_pair(
                "fields",
                "name,language,status,category,components,quality_score",
            )
            .append_pair("limit", &self.page_size.to_string());
        let mut out: Vec<(Template, Option<crate::platform::Quality>)> = Vec::new();
        for _ in 0..MAX_TEMPLATE_PAGES {
            let page: TemplatePage = self.get_json(url.clone(), WHAT).await?;
            for item in page.data {
                let name = item
                    .get("name")
                    .and_then(|n| n.as_str())
                    .unwrap_or("?")
                    .to_string();
                let quality = item
                    .pointer("/quality_score/score")
                    .and_then(|q| q.as_str())
                    .and_then(crate::platform::Quality::parse);
                match serde_json::from_value::<Template>(item) {
                    // A definition bote cannot hold (a malformed body) is
                    // skipped as an unrepresentable one is.
                    Ok(t) => match t.validate_shape() {
                        Ok(()) => out.push((t, quality)),
                        Err(e) => tracing::warn!(template = %name, error = %e, "skipping template"),
                    },
                    Err(e) => tracing::warn!(template = %name, error = %e, "skipping template"),
                }
            }
            let Some(next) = page.paging.and_then(|p| p.next) else {
                // The list is Meta's current truth about categories too.
                if let Some(c) = &self.categories {
                    let listed = out
                        .iter()
                        .map(|(t, _)| (t.name.as_str(), t.language.as_str(), t.category));
                    if let Err(e) = c.record_listed(listed, chrono::Utc::now()) {
                        tracing::warn!(error = %e, "recording the listed template categories");
                    }
                }
                return Ok(out);
            };
            url = self.same_origin(&next)?;
        }
        Err(CloudError::EndlessPaging(MAX_TEMPLATE_PAGES))
    }

    fn same_origin(&self, next: &str) -> Result<Url, CloudError> {
        let foreign = || CloudError::ForeignPaging { next: next.into() };
        let url = Url::parse(next).map_err(|_| foreign())?;
        if url.origin() != self.templates_url.origin() {
            return Err(foreign());
        }
        Ok(url)
    }
}

/// A 2xx answer: accepted only with a message id.
/// The header value carrying `token`, marked sensitive so it never prints.
fn auth_value(name: &HeaderName, token: &ApiToken) -> Result<HeaderValue, CloudError> {
    let raw = if name == reqwest::header::AUTHORIZATION {
        format!("Bearer {}", token.expose())
    } else {
        token.expose().to_string()
    };
    let mut value = HeaderValue::from_str(&raw).map_err(|_| {
        CloudError::Token(TokenError::NotHeaderSafe {
            origin: "the configured token".into(),
        })
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn accepted(status: u16, body: &[u8]) -> SendOutcome {
    match serde_json::from_slice::<SendResponse>(body) {
        Ok(r) => match r.messages.into_iter().next().filter(|m| !m.id.is_empty()) {
            Some(m) => SendOutcome::Accepted {
                wamid: m.id,
                status: m.message_status,
                wa_id: r.contacts.into_iter().next().and_then(|c| c.wa_id),
            },
            None => SendOutcome::Unknown {
                reason: format!("HTTP {status} without a message id"),
            },
        },
        Err(e) => SendOutcome::Unknown {
            reason: format!("HTTP {status} with an unreadable body: {e}"),
        },
    }
}

/// The request failed without an answer. Only a failed connect proves that
/// nothing was sent; anything later (timeout, reset) may have been taken.
fn unsent_or_unknown(e: &reqwest::Error) -> SendOutcome {
    if e.is_connect() {
        SendOutcome::Retry {
            code: None,
            backoff: UNREACHABLE_BACKOFF,
            scope: RetryScope::App,
        }
    } else if e.is_builder() {
        SendOutcome::StopCampaign {
            code: None,
            message: format!("cannot build the request: {e}"),
        }
    } else if e.is_timeout() {
        SendOutcome::Unknown {
            reason: format!("no answer within the timeout: {e}"),
        }
    } else {
        SendOutcome::Unknown {
            reason: format!("connection lost after sending: {}", error_chain(e)),
        }
    }
}

/// reqwest's message plus its causes ("connection closed before message completed").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
