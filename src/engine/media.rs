//! The daemon's side of `bote media upload` and `bote media list`: a file
//! the client sent (spooled), checked as Meta would check it, uploaded
//! through the engine's Cloud API client (the simulator in the sandbox, so
//! the sends that name the id go to the same place), and recorded in the
//! store with its upload time for the plan's age check.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ops::error;
use super::Engine;
use crate::config::Role;
use crate::platform::{MediaRecord, MediaRegistry};
use crate::service::peer::Caller;
use crate::service::wire::Failure;
use crate::template::MediaKind;

/// What an upload answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUploaded {
    /// The upload, as recorded.
    pub record: MediaRecord,
    /// When Meta stops taking the id.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl Engine {
    /// Uploads the file at `path` (the operator called it `name`) for
    /// media headers; the id is recorded with the upload time.
    pub async fn upload_media(
        &self,
        caller: &Caller,
        path: &std::path::Path,
        name: &str,
    ) -> Result<MediaUploaded, Failure> {
        self.authorize(caller, Role::Operator, "uploading media")?;
        let file_name = std::path::Path::new(name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_string());
        let (kind, mime) = MediaKind::of_file(&file_name).ok_or_else(|| {
            Failure::Refused(format!(
                "{name}: a template header shows .jpg/.jpeg or .png (image), .mp4 or .3gp (video), or .pdf (document)"
            ))
        })?;
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| Failure::Error(format!("{name}: {e}")))?;
        let size = bytes.len() as u64;
        if size == 0 || size > kind.max_bytes() {
            return Err(Failure::Refused(format!(
                "{name}: {size} bytes; Meta takes a {kind} of 1 to {} bytes",
                kind.max_bytes()
            )));
        }
        if !MediaKind::content_matches(mime, &bytes) {
            return Err(Failure::Refused(format!(
                "{name}: the content is not {mime}, whatever its name says"
            )));
        }
        let client = self.cloud().ok_or_else(|| {
            Failure::Error("this daemon has no Cloud API client to upload with".into())
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let id = client
            .upload_media(bytes, &file_name, mime)
            .await
            .map_err(|e| Failure::Error(format!("{name}: {e}")))?;
        let record = MediaRecord {
            id,
            kind,
            mime: mime.to_string(),
            file_name,
            bytes: size,
            sha256,
            uploaded_at: self.now(),
            uploaded_by: caller.user.clone(),
        };
        self.media()?
            .record(&record)
            .map_err(|e| error(crate::consent::StoreError::from(e)))?;
        tracing::info!(id = %record.id, kind = %kind, bytes = size, "media uploaded");
        Ok(MediaUploaded {
            expires_at: record.expires_at(),
            record,
        })
    }

    /// Every file bote uploaded, newest first.
    pub fn media_list(&self, caller: &Caller) -> Result<Vec<MediaRecord>, Failure> {
        self.authorize(caller, Role::Viewer, "looking at media")?;
        self.media()?
            .all()
            .map_err(|e| error(crate::consent::StoreError::from(e)))
    }

    fn media(&self) -> Result<MediaRegistry, Failure> {
        MediaRegistry::open(self.store.db()).map_err(|e| error(crate::consent::StoreError::from(e)))
    }
}

/// The sandbox's simulator lives as long as its daemon, Meta's uploads 30
/// days: a new simulator is given the store's uploads, so an id in a
/// template file still sends after the auto-started daemon went idle.
pub(super) fn restore_sandbox_uploads(
    store: &crate::consent::Store,
    backend: &super::Backend,
) -> Result<(), crate::consent::StoreError> {
    let super::Backend::Sandbox(Some(sim)) = backend else {
        return Ok(());
    };
    for r in MediaRegistry::open(store.db())?.all()? {
        sim.restore_media(&r.id, r.kind, r.uploaded_at);
    }
    Ok(())
}
