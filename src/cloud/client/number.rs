//! Reading the business phone number's limits (`template list --sync`):
//! the portfolio's messaging limit (`whatsapp_business_manager_messaging_limit`;
//! `messaging_limit_tier` is deprecated) and the number's throughput level.

use serde::{Deserialize, Serialize};

use super::{Client, CloudError};

/// What the phone number object says about its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberLimits {
    /// The portfolio's messaging limit as Meta wrote it (`TIER_2K`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<String>,
    /// The number's throughput level (`STANDARD`, `HIGH`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<String>,
}

#[derive(Deserialize)]
struct NumberObject {
    #[serde(default)]
    whatsapp_business_manager_messaging_limit: Option<serde_json::Value>,
    #[serde(default)]
    throughput: Option<Throughput>,
}

#[derive(Deserialize)]
struct Throughput {
    #[serde(default)]
    level: Option<String>,
}

impl Client {
    /// `GET /{phone-number-id}?fields=whatsapp_business_manager_messaging_limit,throughput`.
    pub async fn number_limits(&self) -> Result<NumberLimits, CloudError> {
        const WHAT: &str = "reading the number's limits";
        let mut url = self.messages_url.clone();
        // …/{phone-number-id}/messages → …/{phone-number-id}
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop();
        }
        url.query_pairs_mut().append_pair(
            "fields",
            "whatsapp_business_manager_messaging_limit,throughput",
        );
        let n: NumberObject = self.get_json(url, WHAT).await?;
        Ok(NumberLimits {
            messaging_limit: n
                .whatsapp_business_manager_messaging_limit
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
            throughput: n.throughput.and_then(|t| t.level),
        })
    }
}
