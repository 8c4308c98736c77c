//! Media headers: a template whose HEADER is an IMAGE, VIDEO or DOCUMENT
//! shows a file that each send names, by a public link or by the id of an
//! upload to the Cloud API (`bote media upload`). Which file is bote's own
//! `[media]` table; Meta's definition only says the kind.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Component, Template};

/// How long Meta keeps an uploaded file: its id is refused after this.
pub const MEDIA_ID_LIFETIME_DAYS: i64 = 30;

/// The kind of file a media header shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A JPEG or PNG picture (≤ 5 MB).
    Image,
    /// An MP4 or 3GP film (≤ 16 MB).
    Video,
    /// A PDF (≤ 100 MB).
    Document,
}

impl MediaKind {
    /// From a header's `format` (`IMAGE`, `VIDEO`, `DOCUMENT`); none for
    /// TEXT and LOCATION headers.
    pub fn from_format(format: &str) -> Option<Self> {
        match format.to_ascii_uppercase().as_str() {
            "IMAGE" => Some(Self::Image),
            "VIDEO" => Some(Self::Video),
            "DOCUMENT" => Some(Self::Document),
            _ => None,
        }
    }

    /// The parameter type the Cloud API expects (`image`, `video`, `document`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Document => "document",
        }
    }

    /// The largest file Meta takes for this kind, in bytes.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::Image => 5 << 20,
            Self::Video => 16 << 20,
            Self::Document => 100 << 20,
        }
    }

    /// The kind and MIME type of a file by its extension, for the types a
    /// template header can show; `None` for any other file.
    pub fn of_file(name: &str) -> Option<(Self, &'static str)> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jpg" | "jpeg" => (Self::Image, "image/jpeg"),
            "png" => (Self::Image, "image/png"),
            "mp4" => (Self::Video, "video/mp4"),
            "3gp" => (Self::Video, "video/3gpp"),
            "pdf" => (Self::Document, "application/pdf"),
            _ => return None,
        })
    }

    /// The kind a MIME type uploads as, for the types a header can show.
    pub fn of_mime(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" | "image/png" => Some(Self::Image),
            "video/mp4" | "video/3gpp" => Some(Self::Video),
            "application/pdf" => Some(Self::Document),
            _ => None,
        }
    }

    /// Whether `bytes` start like a file of `mime` (a renamed file is
    /// refused before it is uploaded, not by Meta at the first send).
    pub fn content_matches(mime: &str, bytes: &[u8]) -> bool {
        match mime {
            "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "application/pdf" => bytes.starts_with(b"%PDF-"),
            "video/mp4" | "video/3gpp" => bytes.get(4..8) == Some(b"ftyp"),
            _ => false,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The file a media header shows (bote's `[media]` table): exactly one of
/// a public link or an uploaded media id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMedia {
    /// An `https://` URL Meta fetches the file from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The id `bote media upload` printed (valid 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For documents: the file name the recipient sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl HeaderMedia {
    /// What is wrong with the table, if anything.
    pub fn problem(&self) -> Option<String> {
        match (&self.link, &self.id) {
            (Some(_), Some(_)) => Some("[media] has both link and id; give one".into()),
            (None, None) => Some(
                "[media] needs link = \"https://…\" or id = \"…\" (from `bote media upload FILE`)"
                    .into(),
            ),
            (Some(link), None)
                if !(link.starts_with("https://") || link.starts_with("http://")) =>
            {
                Some(format!("[media] link {link:?} must be an http(s) URL"))
            }
            (None, Some(id)) if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Some(format!(
                    "[media] id {id:?} is not a media id (the digits `bote media upload` printed)"
                ))
            }
            _ => None,
        }
    }
}

impl Template {
    /// The kind of file the header shows, if it is a media header.
    pub fn media_kind(&self) -> Option<MediaKind> {
        self.components.iter().find_map(|c| match c {
            Component::Header { format, .. } => MediaKind::from_format(format),
            _ => None,
        })
    }

    /// What a preview shows for a media header: `[image: https://…]`,
    /// `[image: media id …]`, or that the file is not set.
    pub fn media_line(&self) -> Option<String> {
        let kind = self.media_kind()?;
        let source = self
            .media
            .as_ref()
            .and_then(|m| {
                m.link
                    .clone()
                    .or_else(|| m.id.as_ref().map(|id| format!("media id {id}")))
            })
            .unwrap_or_else(|| "not set".into());
        Some(format!("[{kind}: {source}]"))
    }

    /// The media table's fit with the header: a `[media]` only for a media
    /// header, and well-formed. A media header without one is not an error
    /// here (Meta's definition has none): it is unbound, and the plan says so.
    pub(super) fn validate_media(&self) -> Result<(), String> {
        match (&self.media, self.media_kind()) {
            (Some(_), None) => Err(
                "[media] is for IMAGE, VIDEO or DOCUMENT headers; this template has none".into(),
            ),
            (Some(m), Some(_)) => m.problem().map_or(Ok(()), Err),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(format: &str, media: Option<HeaderMedia>) -> Template {
        let mut t: Template = toml::from_str(&format!(
            r#"name = "bild"
language = "de"
category = "MARKETING"
status = "APPROVED"
[[components]]
type = "HEADER"
format = "{format}"
[[components]]
type = "BODY"
text = "Hallo, STOP zum Abmelden."
"#
        ))
        .expect("template");
        t.media = media;
        t
    }

    #[test]
    fn the_media_table_must_fit_the_header() {
        let link = HeaderMedia {
            link: Some("https://shop.example/a.jpg".into()),
            ..HeaderMedia::default()
        };
        assert_eq!(
            with_header("IMAGE", Some(link.clone())).media_kind(),
            Some(MediaKind::Image)
        );
        with_header("IMAGE", Some(link.clone()))
            .validate()
            .expect("fits");
        with_header("VIDEO", None)
            .validate()
            .expect("unbound, not invalid");
        let e = with_header("TEXT", Some(link.clone()))
            .validate()
            .expect_err("no media header");
        assert!(e.contains("IMAGE, VIDEO or DOCUMENT"), "{e}");
        let both = HeaderMedia {
            id: Some("123".into()),
            ..link
        };
        let e = with_header("IMAGE", Some(both))
            .validate()
            .expect_err("both");
        assert!(e.contains("both link and id"), "{e}");
        let ftp = HeaderMedia {
            link: Some("ftp://x/a.jpg".into()),
            ..HeaderMedia::default()
        };
        assert!(with_header("IMAGE", Some(ftp)).validate().is_err());
    }

    #[test]
    fn files_are_known_by_extension_and_checked_by_content() {
        assert_eq!(
            MediaKind::of_file("Winter.JPG"),
            Some((MediaKind::Image, "image/jpeg"))
        );
        assert_eq!(
            MediaKind::of_file("prospekt.pdf"),
            Some((MediaKind::Document, "application/pdf"))
        );
        assert_eq!(MediaKind::of_file("notes.txt"), None);
        assert_eq!(MediaKind::of_file("noext"), None);
        assert!(MediaKind::content_matches(
            "image/png",
            b"\x89PNG\r\n\x1a\n...."
        ));
        assert!(!MediaKind::content_matches("image/jpeg", b"%PDF-1.7"));
        assert!(MediaKind::content_matches(
            "video/mp4",
            b"\0\0\0\x18ftypmp42"
        ));
        assert_eq!(MediaKind::Image.max_bytes(), 5 * 1024 * 1024);
    }
}
