//! Uploading a header's file (`bote media upload`):
//! `POST /{phone-number-id}/media`, `multipart/form-data` with
//! `messaging_product`, `type` and `file`; Meta answers the media id, which
//! sends may name for 30 days.

use reqwest::multipart::{Form, Part};
use serde::Deserialize;

use super::{Client, CloudError};
use crate::cloud::types::GraphError;

#[derive(Deserialize)]
struct Uploaded {
    id: String,
}

impl Client {
    /// Uploads `bytes` (a file called `file_name`, of MIME type `mime`);
    /// the media id Meta gave it.
    pub async fn upload_media(
        &self,
        bytes: Vec<u8>,
        file_name: &str,
        mime: &str,
    ) -> Result<String, CloudError> {
        const WHAT: &str = "uploading the media file";
        let mut url = self.messages_url.clone();
        // …/{phone-number-id}/messages → …/{phone-number-id}/media
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop().push("media");
        }
        let part = Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(mime)
            .map_err(|source| CloudError::Http { what: WHAT, source })?;
        let form = Form::new()
            .text("messaging_product", "whatsapp")
            .text("type", mime.to_string())
            .part("file", part);
        let response = self
            .http
            .post(url)
            .header(self.auth_name.clone(), self.auth())
            .multipart(form)
            .send()
            .await
            .map_err(|source| CloudError::Http { what: WHAT, source })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| CloudError::Http { what: WHAT, source })?;
        if !status.is_success() {
            let error = GraphError::parse(&body);
            return Err(CloudError::Api {
                what: WHAT,
                status: status.as_u16(),
                code: error.as_ref().map(|e| e.code),
                message: error.map(|e| e.describe()).unwrap_or_default(),
            });
        }
        let uploaded: Uploaded = serde_json::from_slice(&body).map_err(|e| CloudError::Decode {
            what: WHAT,
            message: e.to_string(),
        })?;
        if uploaded.id.is_empty() {
            return Err(CloudError::Decode {
                what: WHAT,
                message: "the answer has an empty media id".into(),
            });
        }
        Ok(uploaded.id)
    }
}
