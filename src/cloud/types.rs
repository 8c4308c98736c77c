//! The Cloud API's JSON shapes, shared by the client and the simulator.
//!
//! One set of types for both sides of the wire keeps them honest: the
//! simulator parses exactly what the client writes, and a curl test pins the
//! same shapes against Meta's documented examples. Request fields default to
//! empty when absent so that the simulator can answer a malformed request the
//! way Meta does (error 100) instead of failing to parse it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::template::{HeaderMedia, MediaKind, Params, Part, Template};

/// Longest `biz_opaque_callback_data` Meta accepts, in characters.
pub const MAX_CALLBACK_DATA: usize = 512;

/// `POST /{version}/{phone-number-id}/messages` body for a template message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendRequest {
    /// Always `whatsapp`.
    pub messaging_product: String,
    /// Always `individual`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub recipient_type: String,
    /// The recipient's E.164 digits, without `+`.
    pub to: String,
    /// Always `template` for bote.
    #[serde(rename = "type")]
    pub kind: String,
    /// The template and its parameters.
    pub template: Option<TemplateRef>,
    /// Echoed in every status webhook (≤ 512 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
}

impl SendRequest {
    /// The template message bote sends to `to` (E.164 digits, no `+`): the
    /// template's name and language, the recipient's values as components,
    /// and the callback data Meta echoes in every status (none if empty).
    pub fn template_message(
        to: String,
        template: &Template,
        params: &Params,
        callback_data: &str,
    ) -> Result<Self, RequestError> {
        Ok(Self {
            messaging_product: "whatsapp".into(),
            recipient_type: "individual".into(),
            to,
            kind: "template".into(),
            template: Some(TemplateRef {
                name: template.name.clone(),
                language: Language {
                    code: template.language.clone(),
                },
                components: request_components(template, params)?,
            }),
            biz_opaque_callback_data: (!callback_data.is_empty())
                .then(|| callback_data.to_string()),
        })
    }
}

/// Which template to send, and its parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplateRef {
    /// Template name.
    pub name: String,
    /// Template language.
    pub language: Language,
    /// Parameters per component; omitted when the template has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<RequestComponent>,
}

/// `{"code": "de"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Language {
    /// Language code, e.g. `de` or `de_AT`.
    pub code: String,
}

/// The parameters of one template component in a send request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestComponent {
    /// `header`, `body` or `button`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For buttons: `url`, `quick_reply`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// For buttons: the button's position, as a string (`"0"`).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "string_or_number"
    )]
    pub index: Option<String>,
    /// The values, in placeholder order.
    pub parameters: Vec<Parameter>,
}

/// One parameter value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Parameter {
    /// `text` for everything bote sends; `image`, `currency`, … exist.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value of a text parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The placeholder's name, for templates with named placeholders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter_name: Option<String>,
    /// The file of an `image` header parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<MediaObject>,
    /// The file of a `video` header parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<MediaObject>,
    /// The file of a `document` header parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<MediaObject>,
}

/// `{"id": …}` or `{"link": …}`: the file a media parameter shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaObject {
    /// An uploaded file's media id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A public URL Meta fetches the file from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// For documents: the name the recipient sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl Parameter {
    /// The header parameter showing `media` as a `kind` file.
    pub fn media(kind: MediaKind, media: &HeaderMedia) -> Self {
        let object = MediaObject {
            id: media.id.clone(),
            link: media.link.clone(),
            filename: media
                .filename
                .clone()
                .filter(|_| kind == MediaKind::Document),
        };
        let mut p = Self {
            kind: kind.as_str().into(),
            ..Self::default()
        };
        match kind {
            MediaKind::Image => p.image = Some(object),
            MediaKind::Video => p.video = Some(object),
            MediaKind::Document => p.document = Some(object),
        }
        p
    }

    /// The file of a media parameter: the object under its own `type`.
    pub fn media_object(&self) -> Option<&MediaObject> {
        match self.kind.as_str() {
            "image" => self.image.as_ref(),
            "video" => self.video.as_ref(),
            "document" => self.document.as_ref(),
            _ => None,
        }
    }
}

impl Parameter {
    /// A text parameter, named when `key` is not positional.
    pub fn text(value: &str, key: &str) -> Self {
        let named = !key.bytes().all(|b| b.is_ascii_digit());
        Self {
            kind: "text".into(),
            text: Some(value.into()),
            parameter_name: named.then(|| key.to_string()),
            ..Self::default()
        }
    }
}

/// Whether Meta takes `value` as a text parameter: a newline, a tab or
/// more than 4 consecutive spaces is refused with 132018.
pub fn parameter_allowed(value: &str) -> bool {
    !value.contains(['\n', '\r', '\t']) && !value.contains("     ")
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(u64),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|r| match r {
        Raw::S(s) => s,
        Raw::N(n) => n.to_string(),
    }))
}

/// The values do not fit the template's placeholders.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {template} has {expected} placeholders but {given} values were given")]
pub struct ParamCountMismatch {
    /// Template name.
    pub template: String,
    /// Placeholders in the template.
    pub expected: usize,
    /// Values given.
    pub given: usize,
}

/// Why a template message cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The values do not fit the placeholders.
    #[error(transparent)]
    Count(#[from] ParamCountMismatch),
    /// The header shows a file, and the template names none.
    #[error("template {template} has a {kind} header but no [media] (a link, or an id from `bote media upload`)")]
    NoMedia {
        /// Template name.
        template: String,
        /// The header's kind.
        kind: MediaKind,
    },
}

/// Builds the `components` of a send request from a template and the
/// recipient's values (in [`Template::slots`] order: header, body, buttons),
/// a media header's file first.
pub fn request_components(
    template: &Template,
    params: &Params,
) -> Result<Vec<RequestComponent>, RequestError> {
    let slots = template.slots();
    if slots.len() != params.0.len() {
        return Err(ParamCountMismatch {
            template: template.name.clone(),
            expected: slots.len(),
            given: params.0.len(),
        }
        .into());
    }
    let mut out: Vec<RequestComponent> = Vec::new();
    if let Some(kind) = template.media_kind() {
        let media = template
            .media
            .as_ref()
            .ok_or_else(|| RequestError::NoMedia {
                template: template.name.clone(),
                kind,
            })?;
        let mut header = component("header", None, None);
        header.parameters.push(Parameter::media(kind, media));
        out.push(header);
    }
    let mut current: Option<Part> = None;
    for (slot, value) in slots.iter().zip(&params.0) {
        if current != Some(slot.part) {
            current = Some(slot.part);
            out.push(match slot.part {
                Part::Header => component("header", None, None),
                Part::Body => component("body", None, None),
                Part::Button(i) => component("button", Some("url"), Some(i.to_string())),
            });
        }
        if let Some(c) = out.last_mut() {
            let p = match slot.part {
                // Button URL suffixes are always positional.
                Part::Button(_) => Parameter::text(value, "1"),
                _ => Parameter::text(value, &slot.key),
            };
            c.parameters.push(p);
        }
    }
    Ok(out)
}

fn component(kind: &str, sub_type: Option<&str>, index: Option<String>) -> RequestComponent {
    RequestComponent {
        kind: kind.into(),
        sub_type: sub_type.map(str::to_string),
        index,
        parameters: Vec::new(),
    }
}

/// HTTP 200 body of a send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SendResponse {
    /// Always `whatsapp`.
    pub messaging_product: String,
    /// The recipient as understood by Meta.
    pub contacts: Vec<Contact>,
    /// The accepted message (one).
    pub messages: Vec<SentMessage>,
}

/// A recipient in a send response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Contact {
    /// The `to` as sent.
    pub input: String,
    /// WhatsApp id; may be absent (business-scoped user ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
}

/// An accepted message in a send response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    /// The `wamid.…` id that status webhooks refer to.
    pub id: String,
    /// Accepted or held; absent in older API versions (= accepted).
    #[serde(default)]
    pub message_status: MessageStatus,
}

/// What the API did with an accepted message. Neither means delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Taken for delivery.
    #[default]
    Accepted,
    /// Held briefly for a quality check; Meta then sends or drops it.
    HeldForQualityAssessment,
    /// A status this version of bote does not know; the message has an id.
    #[serde(other)]
    Other,
}

/// `GET /{version}/{waba-id}/message_templates` page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TemplatePage {
    /// The templates, kept raw so one odd template cannot fail the sync.
    pub data: Vec<serde_json::Value>,
    /// Cursors and the next page's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// Graph paging block.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Paging {
    /// Opaque cursors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursors: Option<Cursors>,
    /// Absolute URL of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Graph cursors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cursors {
    /// Cursor before the first item of the page.
    pub before: String,
    /// Cursor after the last item of the page.
    pub after: String,
}

/// `{"error": {…}}`, the body of every Graph API error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphErrorEnvelope {
    /// The error.
    pub error: GraphError,
}

/// A Graph API error; classify by `code`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphError {
    /// Human text, e.g. `(#130429) Rate limit hit`.
    #[serde(default)]
    pub message: String,
    /// E.g. `OAuthException`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The code bote acts on.
    pub code: i64,
    /// Extra detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<ErrorData>,
    /// Finer-grained code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    /// Meta's trace id, for support requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
}

/// `error.error_data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorData {
    /// Always `whatsapp`.
    pub messaging_product: String,
    /// The detailed explanation.
    pub details: String,
}

impl GraphError {
    /// `message` plus `error_data.details` when present, for the operator.
    pub fn describe(&self) -> String {
        match &self.error_data {
            Some(d) if !d.details.is_empty() => format!("{}: {}", self.message, d.details),
            _ => self.message.clone(),
        }
    }

    /// Parses an error body; `None` when it is not a Graph error.
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<GraphErrorEnvelope>(body)
            .ok()
            .map(|e| e.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Catalog;

    fn with_url_button() -> Template {
        let json = r#"{ "name": "promo", "language": "de", "status": "APPROVED",
            "category": "MARKETING", "components": [
              { "type": "HEADER", "format": "TEXT", "text": "Hi {{1}}" },
              { "type": "BODY", "text": "{{1}} und {{2}}" },
              { "type": "BUTTONS", "buttons": [
                { "type": "QUICK_REPLY", "text": "Stop promotions" },
                { "type": "URL", "text": "Shop", "url": "https://x.example/{{1}}" } ] } ] }"#;
        serde_json::from_str(json).expect("template")
    }

    #[test]
    fn components_follow_slot_order() {
        let t = with_url_button();
        let p = Params(vec!["H".into(), "a".into(), "b".into(), "sfx".into()]);
        let json = serde_json::to_value(request_components(&t, &p).expect("fits")).expect("json");
        let expected = serde_json::json!([
            { "type": "header", "parameters": [ { "type": "text", "text": "H" } ] },
            { "type": "body", "parameters": [
                { "type": "text", "text": "a" }, { "type": "text", "text": "b" } ] },
            { "type": "button", "sub_type": "url", "index": "1",
              "parameters": [ { "type": "text", "text": "sfx" } ] }
        ]);
        assert_eq!(json, expected);
    }

    #[test]
    fn named_placeholders_carry_their_name() {
        let c = Catalog::embedded().expect("catalog");
        let t = c.get("neue_kollektion", None).expect("exists");
        let comps = request_components(t, &Params(vec!["Anna".into()])).expect("fits");
        assert_eq!(
            comps[0].parameters[0].parameter_name.as_deref(),
            Some("first_name")
        );
    }

    #[test]
    fn parameters_meta_refuses_with_132018() {
        for bad in ["a\nb", "a\r\nb", "a\tb", "a     b", "     "] {
            assert!(!parameter_allowed(bad), "{bad:?}");
        }
        for ok in ["a b", "a    b", "Grüße, Anna!", ""] {
            assert!(parameter_allowed(ok), "{ok:?}");
        }
    }

    #[test]
    fn count_mismatch_is_an_error() {
        let e =
            request_components(&with_url_button(), &Params(vec!["x".into()])).expect_err("too few");
        let RequestError::Count(e) = e else {
            panic!("a count mismatch: {e}")
        };
        assert_eq!((e.expected, e.given), (4, 1));
    }

    #[test]
    fn a_media_header_comes_first_as_metas_documented_parameter() {
        let c = Catalog::embedded().expect("catalog");
        let mut t = c.get("winter_gutschein", None).expect("exists").clone();
        let p = Params(vec!["Anna".into(), "WINTER15".into()]);
        let json = serde_json::to_value(request_components(&t, &p).expect("fits")).expect("json");
        assert_eq!(
            json[0],
            serde_json::json!({ "type": "header", "parameters": [ { "type": "image",
                "image": { "link": "https://shop.example/bilder/winter-gutschein.jpg" } } ] })
        );
        assert_eq!(json[1]["type"], "body");
        t.media = Some(crate::template::HeaderMedia {
            id: Some("4490709327".into()),
            ..Default::default()
        });
        let comps = request_components(&t, &p).expect("fits");
        assert_eq!(
            serde_json::to_value(&comps[0].parameters[0]).expect("json"),
            serde_json::json!({ "type": "image", "image": { "id": "4490709327" } })
        );
        t.media = None;
        let e = request_components(&t, &p).expect_err("no file");
        assert!(matches!(e, RequestError::NoMedia { .. }), "{e}");
        assert!(e.to_string().contains("bote media upload"), "{e}");
    }

    #[test]
    fn documented_shapes_parse() {
        let ok = r#"{ "messaging_product": "whatsapp",
            "contacts": [ { "input": "4917123456789" } ],
            "messages": [ { "id": "wamid.HBgN", "message_status": "held_for_quality_assessment" } ] }"#;
        let r: SendResponse = serde_json::from_str(ok).expect("success");
        assert_eq!(
            r.messages[0].message_status,
            MessageStatus::HeldForQualityAssessment
        );
        assert_eq!(r.contacts[0].wa_id, None);
        let err = br#"{ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException",
             "code": 130429, "error_data": { "messaging_product": "whatsapp",
             "details": "Cloud API message throughput has been reached." },
             "error_subcode": 2494055, "fbtrace_id": "A1b2" } }"#;
        let e = GraphError::parse(err).expect("error");
        assert_eq!(e.code, 130429);
        assert!(e.describe().contains("throughput"));
        assert_eq!(GraphError::parse(b"<html>bad gateway</html>"), None);
        let req: SendRequest = serde_json::from_str(
            r#"{"to":"1","template":{"name":"x","components":[{"type":"button","index":0}]}}"#,
        )
        .expect("lenient");
        let comps = req.template.map(|t| t.components).unwrap_or_default();
        assert_eq!(comps[0].index.as_deref(), Some("0"));
    }
}
