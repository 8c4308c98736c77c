//! Checking a send request the way Meta does, against the catalog: the
//! envelope first (error 100), then the template (132001, 132015, 132016),
//! then the parameters per component (132000 for counts, 132012 for kinds
//! and names), and the Graph error each refusal is answered with.

use crate::cloud::types::{RequestComponent, SendRequest, MAX_CALLBACK_DATA};
use crate::template::Status;

use super::media::{MediaProblem, MediaStore};
use super::spec::{Expect, Spec, TemplateTable};
use crate::template::MediaKind;

/// A refusal: HTTP status, Graph code, and the detail for `error_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub(crate) http: u16,
    pub(crate) code: i64,
    pub(crate) details: String,
}

impl Reject {
    pub(crate) fn new(code: i64, details: impl Into<String>) -> Self {
        let http = match code {
            190 => 401,
            130429 => 429,
            131000 => 500,
            _ => 400,
        };
        Self {
            http,
            code,
            details: details.into(),
        }
    }
}

/// Meta's `error.message` for the codes the simulator answers with.
pub(crate) fn message(code: i64) -> &'static str {
    match code {
        190 => "Invalid OAuth access token - Cannot parse access token",
        130429 => "(#130429) Rate limit hit",
        131000 => "(#131000) Something went wrong",
        131026 => "(#131026) Message undeliverable",
        131047 => "(#131047) Re-engagement message",
        131050 => "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
        131051 => "(#131051) Unsupported message type",
        131056 => "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        132000 => "(#132000) Number of parameters does not match the expected number of params",
        132001 => "(#132001) Template name does not exist in the translation",
        132012 => "(#132012) Parameter format does not match format in the created template",
        132015 => "(#132015) Template is paused",
        132016 => "(#132016) Template is disabled",
        132018 => "(#132018) There was an issue with the parameters in your template.",
        131009 => "(#131009) Parameter value is not valid",
        131053 => "(#131053) Media upload error",
        131042 => "(#131042) Business eligibility payment issue",
        131049 => "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
        131055 => "(#131055) Method not allowed",
        131057 => "(#131057) Business Account is in maintenance mode",
        _ => "(#100) Invalid parameter",
    }
}

/// A request that passed: the recipient's number and its template.
#[derive(Debug)]
pub(crate) struct Valid<'a> {
    pub(crate) to: u64,
    pub(crate) spec: &'a Spec,
}

/// Checks a parsed send request as Meta would.
pub(crate) fn check<'a>(
    req: &SendRequest,
    table: &'a TemplateTable,
    media: &MediaStore,
) -> Result<Valid<'a>, Reject> {
    if req.messaging_product != "whatsapp" {
        return Err(Reject::new(100, "messaging_product must be \"whatsapp\""));
    }
    if !req.recipient_type.is_empty() && req.recipient_type != "individual" {
        return Err(Reject::new(100, "recipient_type must be \"individual\""));
    }
    let digits = req.to.strip_prefix('+').unwrap_or(&req.to);
    let to =
        (!digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| Reject::new(100, "to must be a phone number in international format"))?;
    match req.kind.as_str() {
        "template" => {}
        "text" | "image" | "interactive" => {
            return Err(Reject::new(
                131047,
                "more than 24 hours have passed since the recipient last replied",
            ))
        }
        _ => {
            return Err(Reject::new(
                131051,
                format!("message type {:?} is not supported", req.kind),
            ))
        }
    }
    let Some(tref) = &req.template else {
        return Err(Reject::new(100, "template is required for type template"));
    };
    if req
        .biz_opaque_callback_data
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CALLBACK_DATA)
    {
        return Err(Reject::new(
            100,
            "biz_opaque_callback_data is longer than 512 characters",
        ));
    }
    let lang = &tref.language.code;
    let missing = || {
        Reject::new(
            132001,
            format!("template name ({}) does not exist in {lang}", tref.name),
        )
    };
    let spec = table
        .by_name
        .get(&tref.name)
        .and_then(|m| m.get(lang))
        .ok_or_else(missing)?;
    match spec.status() {
        Status::Approved => {}
        Status::Paused => {
            return Err(Reject::new(
                132015,
                format!("template {} is paused", tref.name),
            ))
        }
        Status::Disabled => {
            return Err(Reject::new(
                132016,
                format!("template {} is disabled", tref.name),
            ))
        }
        _ => return Err(missing()),
    }
    check_components(spec, &tref.components, media)?;
    Ok(Valid { to, spec })
}

fn check_components(
    spec: &Spec,
    given: &[RequestComponent],
    media: &MediaStore,
) -> Result<(), Reject> {
    let mut seen_header = false;
    let mut seen_body = false;
    let mut seen_buttons: Vec<&str> = Vec::new();
    for c in given {
        let twice = |name: &str| Reject::new(100, format!("{name} given twice"));
        let (expect, name) = match c.kind.as_str() {
            "header" if seen_header => return Err(twice("header")),
            "header" => {
                seen_header = true;
                (Some(&spec.header), "header")
            }
            "body" if seen_body => return Err(twice("body")),
            "body" => {
                seen_body = true;
                (Some(&spec.body), "body")
            }
            // Quick-reply payloads are optional and carry no placeholder.
            "button" if c.sub_type.as_deref() != Some("url") => continue,
            "button" => {
                let index = c.index.as_deref().unwrap_or("");
                if seen_buttons.contains(&index) {
                    return Err(twice("button"));
                }
                seen_buttons.push(index);
                (spec.buttons.get(index), "button")
            }
            other => {
                return Err(Reject::new(
                    100,
                    format!("unknown component type {other:?}"),
                ))
            }
        };
        let count = expect.map_or(0, |e| e.count);
        if c.parameters.len() != count {
            return Err(count_mismatch(name, c.parameters.len(), count));
        }
        if let Some(e) = expect {
            check_kinds(name, e, c)?;
            if let Some(kind) = e.media {
                check_media(kind, c, media)?;
            }
        }
    }
    let missing = [
        (!seen_header, &spec.header, "header"),
        (!seen_body, &spec.body, "body"),
    ]
    .into_iter()
    .find(|(unseen, e, _)| *unseen && e.count > 0);
    if let Some((_, e, name)) = missing {
        return Err(count_mismatch(name, 0, e.count));
    }
    if let Some((_, e)) = spec
        .buttons
        .iter()
        .find(|(i, _)| !seen_buttons.contains(&i.as_str()))
    {
        return Err(count_mismatch("button", 0, e.count));
    }
    Ok(())
}

fn count_mismatch(name: &str, given: usize, expected: usize) -> Reject {
    Reject::new(
        132000,
        format!("{name}: number of localizable_params ({given}) does not match the expected number of params ({expected})"),
    )
}

fn check_kinds(name: &str, e: &Expect, c: &RequestComponent) -> Result<(), Reject> {
    for (i, p) in c.parameters.iter().enumerate() {
        let text_ok = p.kind == "text" && p.text.as_deref().is_some_and(|t| !t.is_empty());
        if e.media.is_none() && !text_ok {
            return Err(Reject::new(
                132012,
                format!("{name} parameter {} must be non-empty text", i + 1),
            ));
        }
        // Meta refuses these in a parameter value (132018).
        if p.text.as_deref().is_some_and(|t| !parameter_allowed(t)) {
            return Err(Reject::new(
                132018,
                format!(
                    "{name} parameter {}: Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                    i + 1
                ),
            ));
        }
        if let Some(kind) = e.media.filter(|k| p.kind != k.as_str()) {
            return Err(Reject::new(
                132012,
                format!(
                    "{name} parameter {}: the template's header is {}, the parameter is {:?}",
                    i + 1,
                    kind.as_str().to_ascii_uppercase(),
                    p.kind
                ),
            ));
        }
        if !e.names.is_empty()
            && !p
                .parameter_name
                .as_ref()
                .is_some_and(|n| e.names.contains(n))
        {
            return Err(Reject::new(
                132012,
                format!(
                    "{name} parameter {} needs parameter_name, one of {:?}",
                    i + 1,
                    e.names
                ),
            ));
        }
    }
    Ok(())
}

/// A media header's file: a link is taken as given (the simulator cannot
/// fetch it); an id must be an upload of the header's kind, at most 30
/// days old (131053, the upload error, for an unknown or expired id: the
/// file cannot be attached; 132012 for another kind of file).
fn check_media(kind: MediaKind, c: &RequestComponent, media: &MediaStore) -> Result<(), Reject> {
    let Some(object) = c.parameters.first().and_then(|p| p.media_object()) else {
        return Err(Reject::new(
            100,
            format!("header parameter of type {kind} needs a {kind} object with id or link"),
        ));
    };
    match (&object.id, &object.link) {
        (Some(_), Some(_)) | (None, None) => Err(Reject::new(
            100,
            format!("the {kind} object needs exactly one of id and link"),
        )),
        (None, Some(_)) => Ok(()),
        (Some(id), None) => match media.check(id, kind) {
            Ok(()) => Ok(()),
            Err(MediaProblem::Unknown) => Err(Reject::new(
                131053,
                format!("Media upload error: media id {id} does not exist"),
            )),
            Err(MediaProblem::Expired) => Err(Reject::new(
                131053,
                format!("Media upload error: media id {id} has expired (uploads are kept 30 days)"),
            )),
            Err(MediaProblem::WrongKind(was)) => Err(Reject::new(
                132012,
                format!(
                    "media id {id} is a {was}, the template's header is {}",
                    kind.as_str().to_ascii_uppercase()
                ),
            )),
        },
    }
}

/// Whether Meta takes `text` as a parameter value: no newline, no tab, no
/// more than 4 consecutive spaces (else 132018).
pub(crate) fn parameter_allowed(text: &str) -> bool {
    !text.contains(['\n', '\r', '\t']) && !text.contains("     ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::types::request_components;
    use crate::template::{Catalog, Params, Template};

    fn request(t: &Template, values: &[&str]) -> SendRequest {
        let params = Params(values.iter().map(|v| v.to_string()).collect());
        let components = request_components(t, &params).expect("fits");
        serde_json::from_value(serde_json::json!({
            "messaging_product": "whatsapp", "to": "+4917612345678", "type": "template",
            "template": { "name": t.name, "language": { "code": t.language },
                          "components": components },
        }))
        .expect("request")
    }

    fn code(r: Result<Valid<'_>, Reject>) -> i64 {
        r.map_or_else(|e| e.code, |_| 0)
    }

    #[test]
    fn client_requests_pass_and_wrong_ones_get_meta_codes() {
        let catalog = Catalog::embedded().expect("catalog");
        let table = TemplateTable::new(&catalog);
        let sale = catalog.get("herbst_sale", None).expect("exists");
        let ok = check(
            &request(sale, &["Anna", "HERBST20"]),
            &table,
            &MediaStore::default(),
        )
        .expect("valid");
        assert_eq!(ok.to, 4917612345678);
        let named = catalog.get("neue_kollektion", None).expect("exists");
        assert_eq!(
            code(check(
                &request(named, &["Anna"]),
                &table,
                &MediaStore::default()
            )),
            0
        );

        let mut short = request(sale, &["Anna", "HERBST20"]);
        if let Some(t) = short.template.as_mut() {
            t.components[0].parameters.pop();
        }
        assert_eq!(code(check(&short, &table, &MediaStore::default())), 132000);
        let mut unnamed = request(named, &["Anna"]);
        if let Some(t) = unnamed.template.as_mut() {
            t.components[0].parameters[0].parameter_name = None;
        }
        assert_eq!(
            code(check(&unnamed, &table, &MediaStore::default())),
            132012
        );
        let mut other_lang = request(sale, &["Anna", "HERBST20"]);
        if let Some(t) = other_lang.template.as_mut() {
            t.language.code = "en".into();
        }
        assert_eq!(
            code(check(&other_lang, &table, &MediaStore::default())),
            132001
        );
        let paused = catalog.get("event_einladung", None).expect("exists");
        assert_eq!(
            code(check(
                &request(paused, &["Anna", "Fr"]),
                &table,
                &MediaStore::default()
            )),
            132015
        );
        assert!(table.set_status("herbst_sale", "de", Status::Disabled));
        assert_eq!(
            code(check(
                &request(sale, &["Anna", "HERBST20"]),
                &table,
                &MediaStore::default()
            )),
            132016
        );
    }

    #[test]
    fn newlines_tabs_and_five_spaces_are_refused_with_132018() {
        let catalog = Catalog::embedded().expect("catalog");
        let table = TemplateTable::new(&catalog);
        let sale = catalog.get("herbst_sale", None).expect("exists");
        for bad in ["An\nna", "An\tna", "A     nna"] {
            assert_eq!(
                code(check(
                    &request(sale, &[bad, "HERBST20"]),
                    &table,
                    &MediaStore::default()
                )),
                132018,
                "{bad:?}"
            );
        }
        assert_eq!(
            code(check(
                &request(sale, &["A    nna", "HERBST20"]),
                &table,
                &MediaStore::default()
            )),
            0,
            "4 spaces pass"
        );
    }

    #[test]
    fn media_headers_need_their_kind_of_a_known_fresh_file() {
        use super::super::media::Upload;
        let catalog = Catalog::embedded().expect("catalog");
        let table = TemplateTable::new(&catalog);
        let media = MediaStore::default();
        let mut t = catalog
            .get("winter_gutschein", None)
            .expect("exists")
            .clone();
        let values = ["Anna", "WINTER15"];
        assert_eq!(
            code(check(&request(&t, &values), &table, &media)),
            0,
            "link"
        );
        let by_id = |t: &mut Template, id: &str| {
            t.media = Some(crate::template::HeaderMedia {
                id: Some(id.into()),
                ..Default::default()
            });
        };
        by_id(&mut t, "77");
        assert_eq!(
            code(check(&request(&t, &values), &table, &media)),
            131053,
            "unknown"
        );
        let now = chrono::Utc::now();
        media.insert(
            "77".into(),
            Upload {
                kind: MediaKind::Image,
                uploaded_at: now,
            },
        );
        media.insert(
            "78".into(),
            Upload {
                kind: MediaKind::Video,
                uploaded_at: now,
            },
        );
        assert_eq!(
            code(check(&request(&t, &values), &table, &media)),
            0,
            "fresh"
        );
        by_id(&mut t, "78");
        assert_eq!(
            code(check(&request(&t, &values), &table, &media)),
            132012,
            "a video"
        );
        by_id(&mut t, "77");
        assert!(media.age("77", chrono::Duration::days(30)));
        assert_eq!(
            code(check(&request(&t, &values), &table, &media)),
            131053,
            "expired"
        );

        let mut video = request(&t, &values);
        if let Some(tr) = video.template.as_mut() {
            let p = &mut tr.components[0].parameters[0];
            p.kind = "video".into();
            p.video = p.image.take();
        }
        assert_eq!(
            code(check(&video, &table, &media)),
            132012,
            "wrong parameter type"
        );
        let mut headless = request(&t, &values);
        if let Some(tr) = headless.template.as_mut() {
            tr.components.remove(0);
        }
        assert_eq!(code(check(&headless, &table, &media)), 132000, "no header");
    }

    #[test]
    fn envelope_errors_are_code_100() {
        let table = TemplateTable::default();
        let mut r = SendRequest {
            messaging_product: "whatsapp".into(),
            to: "49 176".into(),
            kind: "template".into(),
            ..SendRequest::default()
        };
        assert_eq!(code(check(&r, &table, &MediaStore::default())), 100);
        r.to = "4917612345678".into();
        assert_eq!(
            code(check(&r, &table, &MediaStore::default())),
            100,
            "no template"
        );
        r.kind = "sticker".into();
        assert_eq!(code(check(&r, &table, &MediaStore::default())), 131051);
    }
}
