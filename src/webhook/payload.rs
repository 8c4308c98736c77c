//! Meta's webhook body, as far as bote reads it (`docs/cloud-api.md`,
//! Webhooks).
//!
//! Parsing *is* validation: a body that does not fit these types is answered
//! `400` and never stored. The types are lenient where Meta adds things
//! (unknown fields are ignored, unknown `field`s, message types and status
//! names are carried as strings and reported as ignored) and strict where
//! bote acts (ids, numbers, timestamps). They also serialise, so the
//! simulator and the tests can build bodies from them.

use chrono::{DateTime, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// The whole body: `{"object": …, "entry": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `whatsapp_business_account`.
    pub object: String,
    /// One entry per WABA.
    pub entry: Vec<Entry>,
}

/// One WABA's changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The WABA id.
    #[serde(default)]
    pub id: String,
    /// The changes.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change: `field` names what `value` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `messages`, `user_preferences`, or a field bote does not read.
    pub field: String,
    /// The content.
    #[serde(default)]
    pub value: Value,
}

/// The `value` of a change. Every list is optional: a `messages` change
/// carries `statuses` or `messages`, a `user_preferences` change its own list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Value {
    /// `whatsapp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The business number the event is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Profiles of the senders of `messages`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactInfo>,
    /// Inbound messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<InboundMessage>,
    /// Delivery statuses of sent messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<Status>,
    /// Marketing preferences (stop / resume).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_preferences: Vec<UserPreference>,
    /// `template_category_update`: which template (name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_name: Option<String>,
    /// `template_category_update`: which template (language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_language: Option<String>,
    /// `template_category_update`, completed: the category before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,
    /// `template_category_update`, completed: the category now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_category: Option<String>,
    /// `template_category_update`, impending: the category to come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correct_category: Option<String>,
    /// `template_category_update`, impending: when it takes effect.
    #[serde(
        default,
        with = "opt_unix_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub category_update_timestamp: Option<DateTime<Utc>>,
    /// `message_template_status_update` (APPROVED, PAUSED, …),
    /// `phone_number_quality_update` (FLAGGED, UPGRADE, …), `account_update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// `message_template_status_update`: Meta's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `message_template_quality_update`: the rating before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_quality_score: Option<String>,
    /// `message_template_quality_update`: the rating now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_quality_score: Option<String>,
    /// `phone_number_quality_update`: the number's limit (`TIER_10K`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_limit: Option<String>,
    /// `business_capability_update`: the portfolio's messaging limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_conversations_per_business: Option<serde_json::Value>,
    /// `business_capability_update`, older form: the limit per number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_conversation_per_phone: Option<serde_json::Value>,
    /// `account_alerts`: severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_severity: Option<String>,
    /// `account_alerts`: type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_type: Option<String>,
    /// `account_alerts`: status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_status: Option<String>,
    /// `account_alerts`: description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_description: Option<String>,
    /// `account_update`: restriction details, as Meta sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction_info: Option<serde_json::Value>,
    /// `account_update`: ban details, as Meta sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban_info: Option<serde_json::Value>,
}

/// The business number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// As displayed.
    #[serde(default)]
    pub display_phone_number: String,
    /// The phone number id.
    #[serde(default)]
    pub phone_number_id: String,
}

/// A sender's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactInfo {
    /// The WhatsApp id (usually the number's digits); empty when Meta
    /// withholds the number (a username user).
    #[serde(default)]
    pub wa_id: String,
    /// The business-scoped user id (BSUID), e.g. `DE.1502576394655843`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// A delivery status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The message id (`wamid.…`).
    pub id: String,
    /// `sent`, `delivered`, `read`, `failed` (others are ignored).
    pub status: String,
    /// When it happened.
    #[serde(with = "unix_time")]
    pub timestamp: DateTime<Utc>,
    /// The recipient's WhatsApp id; empty when withheld.
    #[serde(default)]
    pub recipient_id: String,
    /// The recipient's BSUID (beside or instead of `recipient_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_user_id: Option<String>,
    /// What bote put into the send (`c=<campaign>;r=<index>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
    /// Pricing of a billable message (kept as Meta sent it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<serde_json::Value>,
    /// Errors of a failed status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ApiError>,
}

/// An error in a status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// Graph error code, e.g. 131050.
    pub code: i64,
    /// Short text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// An inbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The sender's WhatsApp id; empty when Meta withholds the number.
    #[serde(default)]
    pub from: String,
    /// The sender's BSUID, when the message names it (else `contacts[]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_user_id: Option<String>,
    /// The message id (`wamid.…`): the evidence of a revocation or confirmation.
    pub id: String,
    /// When it was sent.
    #[serde(with = "unix_time")]
    pub timestamp: DateTime<Utc>,
    /// `text`, `button`, `interactive`, or another type bote ignores.
    #[serde(rename = "type")]
    pub kind: String,
    /// A text message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    /// A template quick-reply tap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<Button>,
    /// An interactive reply (button or list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<Interactive>,
    /// A system message (`user_changed_number`, `user_changed_user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
}

/// A system message about the user's identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// `user_changed_number`, `user_changed_user_id`, or another kind.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Meta's text (not kept: it names numbers).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// The new number (`user_changed_number`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// The new BSUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `{"body": "STOP"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text {
    /// The text.
    pub body: String,
}

/// A quick-reply tap on a template button.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// The button's payload.
    #[serde(default)]
    pub payload: String,
    /// The button's label.
    #[serde(default)]
    pub text: String,
}

/// An interactive reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interactive {
    /// A reply button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_reply: Option<Reply>,
    /// A list row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_reply: Option<Reply>,
}

/// An interactive reply's id and title.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: String,
}

/// A marketing preference change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPreference {
    /// The user's WhatsApp id; empty when withheld.
    #[serde(default)]
    pub wa_id: String,
    /// The user's BSUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `marketing_messages`.
    #[serde(default)]
    pub category: String,
    /// `stop` or `resume`.
    pub value: String,
    /// Meta's explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When (absent in some payloads: then the time bote received it).
    #[serde(
        default,
        with = "opt_unix_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<DateTime<Utc>>,
}

impl InboundMessage {
    /// The words a person sent or tapped: text body, button label and
    /// payload, interactive title and id.
    pub fn answers(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(t) = &self.text {
            out.push(t.body.as_str());
        }
        if let Some(b) = &self.button {
            out.extend([b.text.as_str(), b.payload.as_str()]);
        }
        if let Some(i) = &self.interactive {
            for r in [&i.button_reply, &i.list_reply].into_iter().flatten() {
                out.extend([r.title.as_str(), r.id.as_str()]);
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }

    /// Whether the answer came from a tap (button) rather than typed text.
    pub fn is_tap(&self) -> bool {
        self.kind != "text"
    }
}

/// Unix seconds, as Meta sends them: a string (`"1732017600"`) or a number.
fn parse_unix<E: de::Error>(raw: Raw) -> Result<DateTime<Utc>, E> {
    let secs = match raw {
        Raw::S(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| E::custom(format!("timestamp {s:?} is not unix seconds")))?,
        Raw::N(n) => n,
    };
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| E::custom(format!("timestamp {secs} is out of range")))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    N(i64),
    S(String),
}

mod unix_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.timestamp().to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        parse_unix(Raw::deserialize(d)?)
    }
}

mod opt_unix_time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_i64(t.timestamp()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<Raw>::deserialize(d)?.map(parse_unix).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shapes() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[
          {"field":"messages","value":{"messaging_product":"whatsapp",
            "metadata":{"display_phone_number":"15550001","phone_number_id":"123"},
            "statuses":[{"id":"wamid.A","status":"failed","timestamp":"1732017600",
              "recipient_id":"491711234567","biz_opaque_callback_data":"c=1;r=2",
              "pricing":{"billable":true,"pricing_model":"PMP","category":"marketing"},
              "errors":[{"code":131050,"title":"stopped"}]}]}},
          {"field":"messages","value":{"contacts":[{"profile":{"name":"A"},"wa_id":"491711234567"}],
            "messages":[{"from":"491711234567","id":"wamid.B","timestamp":"1732017601",
              "type":"button","button":{"payload":"Stop promotions","text":"Stop promotions"}}]}},
          {"field":"user_preferences","value":{"user_preferences":[{"wa_id":"491711234567",
            "detail":"User requested to stop marketing messages","category":"marketing_messages",
            "value":"stop","timestamp":1732017602}]}}]}]}"#;
        let n: Notification = serde_json::from_str(body).expect("parses");
        let changes = &n.entry[0].changes;
        assert_eq!(changes[0].value.statuses[0].errors[0].code, 131050);
        assert_eq!(
            changes[0].value.statuses[0].timestamp.timestamp(),
            1_732_017_600
        );
        assert_eq!(
            changes[1].value.messages[0].answers(),
            vec!["Stop promotions"; 2]
        );
        assert_eq!(
            changes[2].value.user_preferences[0]
                .timestamp
                .map(|t| t.timestamp()),
            Some(1_732_017_602)
        );
        let again: Notification =
            serde_json::from_slice(&serde_json::to_vec(&n).expect("ser")).expect("round trip");
        assert_eq!(again, n);
    }

    #[test]
    fn every_phone_field_may_be_absent_when_a_bsuid_is_there() {
        let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[
          {"field":"messages","value":{"statuses":[{"id":"wamid.A","status":"failed",
            "timestamp":"1","recipient_user_id":"DE.1502576394655843","errors":[{"code":131050}]}]}},
          {"field":"messages","value":{"contacts":[{"profile":{"username":"@anna"},
              "user_id":"DE.1502576394655843"}],
            "messages":[{"from_user_id":"DE.1502576394655843","id":"wamid.B","timestamp":"2",
              "type":"text","text":{"body":"STOP"}}]}},
          {"field":"messages","value":{"messages":[{"from":"491711234567","id":"wamid.C",
              "timestamp":"3","type":"system","system":{"body":"changed",
              "type":"user_changed_number","wa_id":"491719999999","user_id":"DE.77"}}]}},
          {"field":"user_preferences","value":{"user_preferences":[{"user_id":"DE.150",
            "category":"marketing_messages","value":"stop","timestamp":4}]}},
          {"field":"template_category_update","value":{"message_template_id":1,
            "message_template_name":"promo","message_template_language":"de",
            "correct_category":"MARKETING","category_update_timestamp":1790000000}}]}]}"#;
        let n: Notification = serde_json::from_str(body).expect("parses");
        let c = &n.entry[0].changes;
        assert_eq!(c[0].value.statuses[0].recipient_id, "");
        assert_eq!(
            c[0].value.statuses[0].recipient_user_id.as_deref(),
            Some("DE.1502576394655843")
        );
        assert_eq!(c[1].value.messages[0].from, "");
        assert_eq!(
            c[1].value.contacts[0].user_id.as_deref(),
            Some("DE.1502576394655843")
        );
        let sys = c[2].value.messages[0].system.as_ref().expect("system");
        assert_eq!(
            (sys.kind.as_str(), sys.wa_id.as_deref()),
            ("user_changed_number", Some("491719999999"))
        );
        assert_eq!(c[3].value.user_preferences[0].wa_id, "");
        assert_eq!(c[4].value.correct_category.as_deref(), Some("MARKETING"));
        assert_eq!(
            c[4].value.category_update_timestamp.map(|t| t.timestamp()),
            Some(1_790_000_000)
        );
    }

    #[test]
    fn rejects_what_bote_cannot_act_on() {
        for bad in [
            r#"{"entry":[]}"#,
            r#"{"object":"x","entry":{}}"#,
            r#"{"object":"x","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"read","timestamp":"1"}]}}]}]}"#,
            r#"{"object":"x","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"read","timestamp":"soon"}]}}]}]}"#,
            r#"[1,2]"#,
        ] {
            assert!(serde_json::from_str::<Notification>(bad).is_err(), "{bad}");
        }
    }
}
