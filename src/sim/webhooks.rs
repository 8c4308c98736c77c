//! Meta-shaped webhook payloads and their signature.
//!
//! The builders are public so that the webhook receiver's tests can feed it
//! exactly what the simulator (and Meta) would send: status updates, inbound
//! texts such as `STOP`, quick-reply button taps and `user_preferences`
//! changes, all wrapped in the `whatsapp_business_account` envelope and signed
//! with `X-Hub-Signature-256: sha256=<hex hmac of the raw body>`.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Who the webhook is about: the WABA and the business number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// WhatsApp Business Account id (`entry[0].id`).
    pub waba_id: String,
    /// The business number as displayed.
    pub display_phone_number: String,
    /// The business number's phone number id.
    pub phone_number_id: String,
}

/// A message status as webhooks report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    /// Left Meta's servers.
    Sent,
    /// Arrived on the phone.
    Delivered,
    /// Opened.
    Read,
    /// Will not arrive; `errors[0].code` says why.
    Failed,
}

impl StatusKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
}

/// One status update for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// The `wamid.…` of the message.
    pub wamid: String,
    /// The new status.
    pub status: StatusKind,
    /// Recipient digits.
    pub recipient_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// `biz_opaque_callback_data` of the send, echoed.
    pub callback_data: Option<String>,
    /// For `Failed`: the Graph error code.
    pub error_code: Option<i64>,
}

/// `{"object":"whatsapp_business_account","entry":[…]}` around one `value`.
pub fn envelope(meta: &Metadata, field: &str, mut value: Value) -> Value {
    if let Some(v) = value.as_object_mut() {
        v.insert("messaging_product".into(), json!("whatsapp"));
        v.insert(
            "metadata".into(),
            json!({
                "display_phone_number": meta.display_phone_number,
                "phone_number_id": meta.phone_number_id,
            }),
        );
    }
    json!({
        "object": "whatsapp_business_account",
        "entry": [ { "id": meta.waba_id, "changes": [ { "field": field, "value": value } ] } ],
    })
}

/// A status webhook (`statuses`), priced as a regular marketing message.
pub fn status_payload(meta: &Metadata, ev: &StatusEvent) -> Value {
    let pricing = json!({ "billable": true, "pricing_model": "PMP",
                          "category": "marketing", "type": "regular" });
    status_payload_priced(meta, ev, &pricing)
}

/// A status webhook (`statuses`) whose non-failed statuses carry `pricing`
/// (Meta's shape: `billable`, `pricing_model`, `category`, `type`).
pub fn status_payload_priced(meta: &Metadata, ev: &StatusEvent, pricing: &Value) -> Value {
    // Statuses of a business's own sends carry both ids (since April 2026).
    let mut status = json!({
        "id": ev.wamid,
        "status": ev.status.as_str(),
        "timestamp": ev.timestamp.to_string(),
        "recipient_id": ev.recipient_id,
        "recipient_user_id": bsuid(&ev.recipient_id),
    });
    if let Some(s) = status.as_object_mut() {
        if let Some(cb) = &ev.callback_data {
            s.insert("biz_opaque_callback_data".into(), json!(cb));
        }
        if ev.status == StatusKind::Failed {
            let code = ev.error_code.unwrap_or(131000);
            s.insert(
                "errors".into(),
                json!([{ "code": code, "title": error_title(code),
                         "error_data": { "details": error_title(code) } }]),
            );
        } else {
            s.insert("pricing".into(), pricing.clone());
        }
    }
    envelope(meta, "messages", json!({ "statuses": [status] }))
}

/// An inbound text message, e.g. `STOP`, from `from` (digits).
pub fn inbound_text_payload(
    meta: &Metadata,
    from: &str,
    wamid: &str,
    body: &str,
    timestamp: i64,
) -> Value {
    let message = json!({
        "from": from, "id": wamid, "timestamp": timestamp.to_string(),
        "type": "text", "text": { "body": body },
    });
    inbound(meta, from, message)
}

/// A tap on a template's quick-reply button (`"type":"button"`);
/// `context_wamid` is the template message the button belongs to.
pub fn button_payload(
    meta: &Metadata,
    from: &str,
    wamid: &str,
    payload: &str,
    text: &str,
    context_wamid: Option<&str>,
    timestamp: i64,
) -> Value {
    let mut message = json!({
        "from": from, "id": wamid, "timestamp": timestamp.to_string(),
        "type": "button", "button": { "payload": payload, "text": text },
    });
    if let (Some(m), Some(ctx)) = (message.as_object_mut(), context_wamid) {
        m.insert(
            "context".into(),
            json!({ "from": meta.display_phone_number, "id": ctx }),
        );
    }
    inbound(meta, from, message)
}

fn inbound(meta: &Metadata, from: &str, message: Value) -> Value {
    envelope(
        meta,
        "messages",
        json!({
            "contacts": [ { "profile": { "name": "Sim User" }, "wa_id": from,
                            "user_id": bsuid(from) } ],
            "messages": [ message ],
        }),
    )
}

/// The business-scoped user id (BSUID) the simulator gives the user of
/// `digits`: the country's two letters, a dot and 16 digits, stable for a
/// number (a new number gets a new one, as at Meta).
pub fn bsuid(digits: &str) -> String {
    let country = match digits {
        d if d.starts_with("49") => "DE",
        d if d.starts_with("43") => "AT",
        d if d.starts_with("41") => "CH",
        d if d.starts_with('1') => "US",
        _ => "ZZ",
    };
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = digits.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{country}.{:016}", hash % 10_000_000_000_000_000)
}

/// An inbound text from a user whose number is withheld (a username
/// user): no `from`, no `wa_id`, only the BSUID.
pub fn inbound_text_from_user(
    meta: &Metadata,
    user_id: &str,
    wamid: &str,
    body: &str,
    timestamp: i64,
) -> Value {
    let message = json!({
        "from_user_id": user_id, "id": wamid, "timestamp": timestamp.to_string(),
        "type": "text", "text": { "body": body },
    });
    user_only(meta, user_id, message)
}

/// A quick-reply tap from a user whose number is withheld.
pub fn button_from_user(
    meta: &Metadata,
    user_id: &str,
    wamid: &str,
    payload: &str,
    text: &str,
    timestamp: i64,
) -> Value {
    let message = json!({
        "from_user_id": user_id, "id": wamid, "timestamp": timestamp.to_string(),
        "type": "button", "button": { "payload": payload, "text": text },
    });
    user_only(meta, user_id, message)
}

fn user_only(meta: &Metadata, user_id: &str, message: Value) -> Value {
    envelope(
        meta,
        "messages",
        json!({
            "contacts": [ { "profile": { "name": "Sim User", "username": "@sim" },
                            "user_id": user_id } ],
            "messages": [ message ],
        }),
    )
}

/// A `user_preferences` change naming only the user's BSUID.
pub fn user_preferences_from_user(
    meta: &Metadata,
    user_id: &str,
    value: &str,
    timestamp: i64,
) -> Value {
    envelope(
        meta,
        "user_preferences",
        json!({
            "contacts": [ { "profile": { "name": "Sim User" }, "user_id": user_id } ],
            "user_preferences": [ {
                "user_id": user_id, "detail": "User requested to stop marketing messages",
                "category": "marketing_messages", "value": value,
                "timestamp": timestamp,
            } ],
        }),
    )
}

/// A failed status naming only the recipient's BSUID (number withheld).
pub fn failed_status_from_user(
    meta: &Metadata,
    wamid: &str,
    user_id: &str,
    code: i64,
    timestamp: i64,
) -> Value {
    let status = json!({
        "id": wamid, "status": "failed", "timestamp": timestamp.to_string(),
        "recipient_user_id": user_id,
        "errors": [{ "code": code, "title": error_title(code) }],
    });
    envelope(meta, "messages", json!({ "statuses": [status] }))
}

/// A system message about a user's identity.
#[derive(Debug, Clone, Default)]
pub struct SystemMessage<'a> {
    /// The sender's (old) number, when not withheld.
    pub from: Option<&'a str>,
    /// The sender's (old) BSUID.
    pub from_user_id: Option<&'a str>,
    /// `user_changed_number` or `user_changed_user_id`.
    pub kind: &'a str,
    /// The new number (`user_changed_number`).
    pub new_wa_id: Option<&'a str>,
    /// The new BSUID.
    pub new_user_id: Option<&'a str>,
    /// The message id.
    pub wamid: &'a str,
    /// Unix seconds.
    pub timestamp: i64,
}

/// A system message: `user_changed_number` (from the old number, naming
/// the new one and its new BSUID) or `user_changed_user_id` (naming only
/// the new BSUID).
pub fn system_payload(meta: &Metadata, m: &SystemMessage<'_>) -> Value {
    let SystemMessage {
        from,
        from_user_id,
        kind,
        new_wa_id,
        new_user_id,
        wamid,
        timestamp,
    } = *m;
    let mut system = json!({ "body": format!("User changed ({kind})"), "type": kind });
    let mut message = json!({
        "id": wamid, "timestamp": timestamp.to_string(), "type": "system",
    });
    if let (Some(sys), Some(m)) = (system.as_object_mut(), message.as_object_mut()) {
        if let Some(w) = new_wa_id {
            sys.insert("wa_id".into(), json!(w));
        }
        if let Some(u) = new_user_id {
            sys.insert("user_id".into(), json!(u));
        }
        if let Some(f) = from {
            m.insert("from".into(), json!(f));
        }
        if let Some(u) = from_user_id {
            m.insert("from_user_id".into(), json!(u));
        }
        m.insert("system".into(), system);
    }
    let mut contact = json!({ "profile": { "name": "Sim User" } });
    if let Some(c) = contact.as_object_mut() {
        if let Some(f) = from {
            c.insert("wa_id".into(), json!(f));
        }
        if let Some(u) = from_user_id {
            c.insert("user_id".into(), json!(u));
        }
    }
    envelope(
        meta,
        "messages",
        json!({ "contacts": [contact], "messages": [message] }),
    )
}

/// `template_category_update`: completed (`previous_category` →
/// `new_category`) or, with `effective_at`, the impending notice
/// (`correct_category`, `category_update_timestamp`).
pub fn template_category_payload(
    meta: &Metadata,
    name: &str,
    language: &str,
    previous: &str,
    new: &str,
    effective_at: Option<i64>,
) -> Value {
    let value = match effective_at {
        None => json!({
            "message_template_id": 1_000_001, "message_template_name": name,
            "message_template_language": language,
            "previous_category": previous, "new_category": new,
        }),
        Some(at) => json!({
            "message_template_id": 1_000_001, "message_template_name": name,
            "message_template_language": language,
            "correct_category": new, "category_update_timestamp": at,
        }),
    };
    json!({
        "object": "whatsapp_business_account",
        "entry": [ { "id": meta.waba_id, "time": effective_at.unwrap_or(0),
                     "changes": [ { "field": "template_category_update", "value": value } ] } ],
    })
}

/// A `user_preferences` change: `value` is `stop` or `resume`.
pub fn user_preferences_payload(
    meta: &Metadata,
    wa_id: &str,
    value: &str,
    timestamp: i64,
) -> Value {
    envelope(
        meta,
        "user_preferences",
        json!({
            "contacts": [ { "profile": { "name": "Sim User" }, "wa_id": wa_id } ],
            "user_preferences": [ {
                "wa_id": wa_id, "detail": "User requested to stop marketing messages",
                "category": "marketing_messages", "value": value,
                "timestamp": timestamp,
            } ],
        }),
    )
}

/// `sha256=<hex>`: the HMAC-SHA256 of the raw body with the app secret.
pub fn signature(app_secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(app_secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Meta's title for a failure code (as in `errors[0].title`).
pub fn error_title(code: i64) -> &'static str {
    match code {
        131026 => "Message undeliverable",
        131049 => "This message was not delivered to maintain healthy ecosystem engagement.",
        131050 => "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
        131047 => "Re-engagement message",
        130472 => "User's number is part of an experiment",
        _ => "Something went wrong",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        Metadata {
            waba_id: "WABA".into(),
            display_phone_number: "15550001111".into(),
            phone_number_id: "PNID".into(),
        }
    }

    #[test]
    fn status_payload_has_meta_shape() {
        let ev = StatusEvent {
            wamid: "wamid.X".into(),
            status: StatusKind::Failed,
            recipient_id: "4917".into(),
            timestamp: 1_732_017_600,
            callback_data: Some("c=1;r=2".into()),
            error_code: Some(131050),
        };
        let v = status_payload(&meta(), &ev);
        let value = &v["entry"][0]["changes"][0]["value"];
        assert_eq!(v["object"], "whatsapp_business_account");
        assert_eq!(value["metadata"]["phone_number_id"], "PNID");
        assert_eq!(value["statuses"][0]["status"], "failed");
        assert_eq!(value["statuses"][0]["errors"][0]["code"], 131050);
        assert_eq!(value["statuses"][0]["biz_opaque_callback_data"], "c=1;r=2");
        assert_eq!(value["statuses"][0]["timestamp"], "1732017600");
    }

    #[test]
    fn inbound_shapes() {
        let v = inbound_text_payload(&meta(), "4917", "wamid.in", "STOP", 1);
        assert_eq!(
            v["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"],
            "STOP"
        );
        let v = button_payload(
            &meta(),
            "4917",
            "wamid.b",
            "stop",
            "Stop promotions",
            Some("wamid.o"),
            1,
        );
        let m = &v["entry"][0]["changes"][0]["value"]["messages"][0];
        assert_eq!(
            (m["type"].as_str(), m["context"]["id"].as_str()),
            (Some("button"), Some("wamid.o"))
        );
        let v = user_preferences_payload(&meta(), "4917", "stop", 1);
        assert_eq!(v["entry"][0]["changes"][0]["field"], "user_preferences");
    }

    #[test]
    fn bsuids_look_like_metas_and_are_stable_per_number() {
        let a = bsuid("4917612345678");
        assert_eq!(a, bsuid("4917612345678"));
        assert_ne!(a, bsuid("4917612345679"));
        let (cc, id) = a.split_once('.').expect("dot");
        assert_eq!(cc, "DE");
        assert!(id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric()));
        let v = inbound_text_from_user(&meta(), &a, "wamid.u", "STOP", 1);
        let value = &v["entry"][0]["changes"][0]["value"];
        assert!(value["messages"][0].get("from").is_none());
        assert!(value["contacts"][0].get("wa_id").is_none());
        assert_eq!(value["contacts"][0]["user_id"], a.as_str());
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
