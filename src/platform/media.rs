//! The files bote uploaded for media headers (`bote media upload`), kept in
//! the store's `media` tree by media id: what was uploaded and when, so the
//! plan can tell an id that Meta will refuse (30 days after the upload)
//! before a campaign is frozen with it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::PlatformError;
use crate::template::{MediaKind, MEDIA_ID_LIFETIME_DAYS};

/// The tree the uploads live in.
const TREE: &str = "media";

/// One upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    /// Meta's media id.
    pub id: String,
    /// Image, video or document.
    pub kind: MediaKind,
    /// The MIME type it was uploaded as.
    pub mime: String,
    /// The file's name as the operator gave it (its last component).
    pub file_name: String,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 of its content, hex (the same file uploaded twice is seen).
    pub sha256: String,
    /// When Meta took it, by the engine's clock.
    pub uploaded_at: DateTime<Utc>,
    /// Who uploaded it.
    pub uploaded_by: String,
}

impl MediaRecord {
    /// When Meta stops taking the id.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.uploaded_at + Duration::days(MEDIA_ID_LIFETIME_DAYS)
    }
}

/// The uploads, by media id (cheap to clone).
#[derive(Debug, Clone)]
pub struct MediaRegistry {
    tree: sled::Tree,
}

impl MediaRegistry {
    /// The registry of this store's database.
    pub fn open(db: &sled::Db) -> Result<Self, PlatformError> {
        Ok(Self {
            tree: db.open_tree(TREE)?,
        })
    }

    /// Keeps an upload (a second one of the same id replaces it).
    pub fn record(&self, r: &MediaRecord) -> Result<(), PlatformError> {
        self.tree.insert(r.id.as_bytes(), serde_json::to_vec(r)?)?;
        Ok(())
    }

    /// The upload with this id, if bote made it.
    pub fn get(&self, id: &str) -> Result<Option<MediaRecord>, PlatformError> {
        match self.tree.get(id.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// Every upload, newest first.
    pub fn all(&self) -> Result<Vec<MediaRecord>, PlatformError> {
        let mut out = Vec::new();
        for item in self.tree.iter() {
            let (_, v) = item?;
            out.push(serde_json::from_slice::<MediaRecord>(&v)?);
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.uploaded_at));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_kept_by_id_and_expire_thirty_days_later() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = sled::open(dir.path()).expect("db");
        let reg = MediaRegistry::open(&db).expect("registry");
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let r = MediaRecord {
            id: "4490709327".into(),
            kind: MediaKind::Image,
            mime: "image/jpeg".into(),
            file_name: "winter.jpg".into(),
            bytes: 1234,
            sha256: "ab".into(),
            uploaded_at: at,
            uploaded_by: "tester".into(),
        };
        reg.record(&r).expect("record");
        let newer = MediaRecord {
            id: "4490709328".into(),
            uploaded_at: at + Duration::hours(1),
            ..r.clone()
        };
        reg.record(&newer).expect("record");
        assert_eq!(reg.get("4490709327").expect("get"), Some(r.clone()));
        assert_eq!(reg.get("1").expect("get"), None);
        assert_eq!(reg.all().expect("all")[0].id, "4490709328");
        assert_eq!(r.expires_at(), at + Duration::days(30));
    }
}
