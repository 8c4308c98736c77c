//! `[api]` and `[webhook]`: where and as whom bote talks to the Cloud API, and where it hears back.

use std::path::PathBuf;

use serde::Deserialize;

use super::Problem;

/// `[api]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Graph API host, or an EU BSP's endpoint (G14).
    pub base_url: String,
    /// Graph API version path segment, e.g. `v25.0`.
    pub version: String,
    /// The sending phone number id.
    pub phone_number_id: String,
    /// The WhatsApp Business Account id (owns the templates).
    pub waba_id: String,
    /// Name of the environment variable holding the token.
    pub token_env: String,
    /// Optional file holding the token (owner-only), instead of the environment.
    pub token_file: Option<PathBuf>,
    /// Header that carries the token; `Authorization` sends `Bearer …`.
    pub auth_header: String,
    /// Unique users per rolling 24 h the business may message.
    pub messaging_tier: u64,
    /// Where MARKETING templates are sent: Meta's Marketing Messages API
    /// (the default) or the plain `/messages` endpoint Meta is retiring.
    pub marketing_endpoint: MarketingEndpoint,
}

/// `[api] marketing_endpoint`: the endpoint MARKETING templates go to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketingEndpoint {
    /// `/{phone-number-id}/marketing_messages`, what Meta asks for.
    #[default]
    MarketingMessages,
    /// `/{phone-number-id}/messages`, still accepted by Meta for now.
    Messages,
}

/// Graph API versions bote is tested against: v25.0 (the default,
/// available until July 2028), v26.0 (July 2026) and v27.0 (November 2026).
pub const SUPPORTED_VERSIONS: &[&str] = &["v25.0", "v26.0", "v27.0"];

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://graph.facebook.com".into(),
            version: "v25.0".into(),
            phone_number_id: String::new(),
            waba_id: String::new(),
            token_env: "BOTE_TOKEN".into(),
            token_file: None,
            auth_header: "Authorization".into(),
            messaging_tier: 250,
            marketing_endpoint: MarketingEndpoint::default(),
        }
    }
}

/// `[webhook]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Listen address of the receiver.
    pub listen: String,
    /// Environment variable holding the verify token.
    pub verify_token_env: String,
    /// Environment variable holding the app secret.
    pub app_secret_env: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8443".into(),
            verify_token_env: "BOTE_VERIFY_TOKEN".into(),
            app_secret_env: "BOTE_APP_SECRET".into(),
        }
    }
}

impl ApiConfig {
    pub(super) fn check(&self) -> Result<(), Problem> {
        if !self.base_url.starts_with("http://") && !self.base_url.starts_with("https://") {
            return Err(Problem::new(
                "api.base_url",
                format!("{:?} is not an http(s) URL", self.base_url),
            ));
        }
        // Another version may move or rename what bote relies on (the
        // marketing endpoint, BSUID fields): refuse it instead of guessing.
        if !SUPPORTED_VERSIONS.contains(&self.version.as_str()) {
            return Err(Problem::new(
                "api.version",
                format!(
                    "{:?} is not a Graph API version bote supports: use one of {} (default v25.0)",
                    self.version,
                    SUPPORTED_VERSIONS.join(", ")
                ),
            ));
        }
        // A tier of 0 holds every campaign for capacity that never frees.
        if self.messaging_tier == 0 {
            return Err(Problem::new(
                "api.messaging_tier",
                "0 would let nobody be messaged, and a send would wait forever: it must be \
                 at least 1 (Meta's tiers are 250, 1000, 10000, 100000 or more unique \
                 recipients per 24 h)",
            ));
        }
        env_name("api.token_env", &self.token_env)?;
        if self
            .token_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().to_string_lossy().trim().is_empty())
        {
            return Err(Problem::new(
                "api.token_file",
                "is blank: name the file holding the token, or leave the key out to use \
                 api.token_env",
            ));
        }
        Ok(())
    }
}

impl WebhookConfig {
    pub(super) fn check(&self) -> Result<(), Problem> {
        env_name("webhook.verify_token_env", &self.verify_token_env)?;
        env_name("webhook.app_secret_env", &self.app_secret_env)
    }
}

/// A key naming the environment variable a secret is read from: blank, or
/// with `=` or NUL, no variable can hold the secret.
fn env_name(key: &str, name: &str) -> Result<(), Problem> {
    if name.trim().is_empty() {
        return Err(Problem::new(
            key,
            "is blank: name the environment variable that holds the secret, e.g. \
             BOTE_APP_SECRET",
        ));
    }
    if name.contains(['=', '\0']) || name.trim() != name {
        return Err(Problem::new(
            key,
            format!(
                "{name:?} cannot be the name of an environment variable (no spaces around \
                 it, no = or NUL)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_v25_to_v27_are_accepted_and_others_refused() {
        assert_eq!(ApiConfig::default().version, "v25.0");
        for v in ["v25.0", "v26.0", "v27.0"] {
            let c = ApiConfig {
                version: v.into(),
                ..ApiConfig::default()
            };
            assert!(c.check().is_ok(), "{v}");
        }
        for v in ["v24.0", "v28.0", "25.0", "v25", "", "v25.0 "] {
            let c = ApiConfig {
                version: v.into(),
                ..ApiConfig::default()
            };
            let p = c.check().expect_err(v);
            assert_eq!(p.key, "api.version");
            assert!(p.message.contains("v25.0, v26.0, v27.0"), "{}", p.message);
        }
    }

    #[test]
    fn marketing_endpoint_defaults_to_the_marketing_messages_api() {
        assert_eq!(
            ApiConfig::default().marketing_endpoint,
            MarketingEndpoint::MarketingMessages
        );
        let c: ApiConfig = toml::from_str("marketing_endpoint = \"messages\"").expect("parses");
        assert_eq!(c.marketing_endpoint, MarketingEndpoint::Messages);
        assert!(toml::from_str::<ApiConfig>("marketing_endpoint = \"mm_lite\"").is_err());
    }
}
