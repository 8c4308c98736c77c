//! Media uploads as the Cloud API takes them: `POST /{version}/{phone-number-id}/media`,
//! `multipart/form-data` with `messaging_product=whatsapp`, `type` (the MIME
//! type) and `file`; the answer is `{"id": "…"}`. The id is good for 30
//! days, then a send naming it is refused (131053). The upload time can be
//! moved back ([`MediaStore::age`]) so tests reach day 31 without waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};

use super::server::{json, SimState};
use super::validate::Reject;
use crate::template::{MediaKind, MEDIA_ID_LIFETIME_DAYS};

/// Largest upload body read: a 100 MB document and the form around it.
const MAX_UPLOAD: usize = (100 << 20) + (64 << 10);

/// One uploaded file, as the simulator keeps it (its size, not its bytes).
#[derive(Debug, Clone)]
pub(crate) struct Upload {
    pub(crate) kind: MediaKind,
    pub(crate) uploaded_at: DateTime<Utc>,
}

/// The uploads by id.
#[derive(Debug, Default)]
pub(crate) struct MediaStore {
    by_id: Mutex<HashMap<String, Upload>>,
}

/// Why a send's media parameter is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaProblem {
    /// No upload has the id.
    Unknown,
    /// The upload is older than 30 days.
    Expired,
    /// The upload is another kind of file than the header shows.
    WrongKind(MediaKind),
}

impl MediaStore {
    pub(crate) fn insert(&self, id: String, upload: Upload) {
        lock(&self.by_id).insert(id, upload);
    }

    /// Whether `id` can be sent as a `kind` header now.
    pub(crate) fn check(&self, id: &str, kind: MediaKind) -> Result<(), MediaProblem> {
        let by_id = lock(&self.by_id);
        let upload = by_id.get(id).ok_or(MediaProblem::Unknown)?;
        if Utc::now() - upload.uploaded_at >= Duration::days(MEDIA_ID_LIFETIME_DAYS) {
            return Err(MediaProblem::Expired);
        }
        if upload.kind != kind {
            return Err(MediaProblem::WrongKind(upload.kind));
        }
        Ok(())
    }

    /// Moves an upload's time back by `by`; false if the id is unknown.
    pub(crate) fn age(&self, id: &str, by: Duration) -> bool {
        match lock(&self.by_id).get_mut(id) {
            Some(u) => {
                u.uploaded_at -= by;
                true
            }
            None => false,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The upload handler.
pub(crate) async fn upload(State(s): State<Arc<SimState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if !s.authorized(&parts.headers) {
        return s.refuse(&Reject::new(190, "the access token is missing or invalid"));
    }
    let id = parts.uri.path().split('/').nth(2).unwrap_or_default();
    if s.phone_number_id.as_deref().is_some_and(|p| p != id) {
        return s.refuse(&Reject::new(
            100,
            format!("Unsupported post request. Object with ID '{id}' does not exist"),
        ));
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_UPLOAD).await else {
        return s.refuse(&Reject::new(
            131053,
            "the upload is unreadable or larger than 100 MB",
        ));
    };
    let boundary = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(boundary_of);
    let Some(boundary) = boundary else {
        return s.refuse(&Reject::new(
            100,
            "the upload must be multipart/form-data with a boundary",
        ));
    };
    match accept(&s.media, &form_fields(&body, &boundary)) {
        Ok(id) => json(
            StatusCode::OK,
            serde_json::json!({ "id": id }).to_string().into_bytes(),
        ),
        Err(rej) => s.refuse(&rej),
    }
}

/// Checks the form as Meta does and keeps the upload; its new id.
fn accept(store: &MediaStore, fields: &[Field<'_>]) -> Result<String, Reject> {
    let field = |name: &str| fields.iter().find(|f| f.name == name);
    let text = |name: &str| field(name).map(|f| String::from_utf8_lossy(f.data).trim().to_string());
    if text("messaging_product").as_deref() != Some("whatsapp") {
        return Err(Reject::new(100, "messaging_product must be \"whatsapp\""));
    }
    let file = field("file").ok_or_else(|| Reject::new(100, "the form has no file part"))?;
    let mime = text("type")
        .or_else(|| file.content_type.map(str::to_string))
        .unwrap_or_default();
    let kind = MediaKind::of_mime(&mime).ok_or_else(|| {
        Reject::new(
            131053,
            format!("Media upload error: unsupported file type {mime:?}"),
        )
    })?;
    let size = file.data.len() as u64;
    if size == 0 || size > kind.max_bytes() {
        return Err(Reject::new(
            131053,
            format!(
                "Media upload error: the {kind} is {size} bytes; Meta takes 1 to {} bytes",
                kind.max_bytes()
            ),
        ));
    }
    // Random, like Meta's: a restored sandbox's ids must not be given again.
    let id = (1_000_000_000_000_000 + rand::random::<u64>() % 9_000_000_000_000_000).to_string();
    store.insert(
        id.clone(),
        Upload {
            kind,
            uploaded_at: Utc::now(),
        },
    );
    Ok(id)
}

/// `boundary=…` of a `multipart/form-data` content type.
fn boundary_of(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// One part of a form.
#[derive(Debug)]
struct Field<'a> {
    name: String,
    content_type: Option<&'a str>,
    data: &'a [u8],
}

/// The parts of a `multipart/form-data` body (RFC 7578); what cannot be
/// read is left out, and the checks then name the missing field.
fn form_fields<'a>(body: &'a [u8], boundary: &str) -> Vec<Field<'a>> {
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut rest = body;
    let Some(start) = find(rest, delimiter.as_bytes()) else {
        return fields;
    };
    rest = &rest[start + delimiter.len()..];
    let next_delimiter = format!("\r\n--{boundary}");
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        let Some(rest_after_crlf) = rest.strip_prefix(b"\r\n") else {
            break;
        };
        let Some(head_end) = find(rest_after_crlf, b"\r\n\r\n") else {
            break;
        };
        let head = std::str::from_utf8(&rest_after_crlf[..head_end]).unwrap_or("");
        let content = &rest_after_crlf[head_end + 4..];
        let Some(end) = find(content, next_delimiter.as_bytes()) else {
            break;
        };
        let mut name = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                name = value.split(';').find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    (k.trim() == "name").then(|| v.trim().trim_matches('"').to_string())
                });
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim());
            }
        }
        if let Some(name) = name {
            fields.push(Field {
                name,
                content_type,
                data: &content[..end],
            });
        }
        rest = &content[end + next_delimiter.len()..];
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, ct, data) in parts {
            body.extend_from_slice(b"--XyZ\r\n");
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes(),
            );
            if let Some(ct) = ct {
                body.extend_from_slice(
                    format!("; filename=\"a\"\r\nContent-Type: {ct}").as_bytes(),
                );
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        body
    }

    #[test]
    fn a_form_is_read_into_its_fields() {
        assert_eq!(
            boundary_of("multipart/form-data; boundary=\"XyZ\"").as_deref(),
            Some("XyZ")
        );
        assert_eq!(boundary_of("application/json"), None);
        let jpeg: &[u8] = b"\xFF\xD8\xFF\xE0\r\n--Xy not the end";
        let body = form(&[
            ("messaging_product", None, b"whatsapp"),
            ("type", None, b"image/jpeg"),
            ("file", Some("image/jpeg"), jpeg),
        ]);
        let fields = form_fields(&body, "XyZ");
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[2].data, jpeg);
        assert_eq!(fields[2].content_type, Some("image/jpeg"));
    }

    #[test]
    fn uploads_are_checked_kept_and_expire_after_30_days() {
        let store = MediaStore::default();
        let body = form(&[
            ("messaging_product", None, b"whatsapp"),
            ("type", None, b"image/png"),
            ("file", Some("image/png"), b"\x89PNG\r\n\x1a\nrest"),
        ]);
        let id = accept(&store, &form_fields(&body, "XyZ")).expect("accepted");
        assert_eq!(store.check(&id, MediaKind::Image), Ok(()));
        assert_eq!(
            store.check(&id, MediaKind::Video),
            Err(MediaProblem::WrongKind(MediaKind::Image))
        );
        assert_eq!(
            store.check("999", MediaKind::Image),
            Err(MediaProblem::Unknown)
        );
        assert!(store.age(&id, Duration::days(29)));
        assert_eq!(store.check(&id, MediaKind::Image), Ok(()));
        assert!(store.age(&id, Duration::days(1)));
        assert_eq!(
            store.check(&id, MediaKind::Image),
            Err(MediaProblem::Expired)
        );

        let text = form(&[
            ("messaging_product", None, b"whatsapp"),
            ("type", None, b"text/plain"),
            ("file", Some("text/plain"), b"hello"),
        ]);
        let e = accept(&store, &form_fields(&text, "XyZ")).expect_err("not media");
        assert_eq!(e.code, 131053);
        let no_product = form(&[("file", Some("image/png"), b"\x89PNG")]);
        let e = accept(&store, &form_fields(&no_product, "XyZ")).expect_err("no product");
        assert_eq!(e.code, 100);
    }
}
