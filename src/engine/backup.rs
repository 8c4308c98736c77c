//! Encrypted backups (G11) as the daemon serves them: the daemon owns the
//! store, so it takes the snapshot and encrypts it; the archive (ciphertext
//! only) goes back to the client, which writes it where the operator chose
//! (see `service::session`). Restore and verify need no daemon.

use std::io::Write;

use serde_json::json;

use super::ops::error;
use super::Engine;
use crate::audit::Action;
use crate::backup::{BackupError, BackupKey, Created};
use crate::config::Role;
use crate::service::peer::Caller;
use crate::service::wire::Failure;

impl Engine {
    /// Writes an encrypted archive of the store to `out` (admin only) and
    /// records it — with its counts and the archive's SHA-256 — once it is
    /// complete. `name` is where the client will put it, for the trail.
    pub fn backup_create(
        &self,
        caller: &Caller,
        key: &BackupKey,
        out: &mut dyn Write,
        name: &str,
    ) -> Result<Created, Failure> {
        self.authorize(caller, Role::Admin, "creating a backup")?;
        let started = std::time::Instant::now();
        let created =
            crate::backup::create(&self.store, Some(self.mode().into()), key, out, self.now())
                .map_err(|e| match e {
                    BackupError::Key(m) => Failure::Error(m),
                    e => error(e),
                })?;
        let m = &created.manifest;
        let encrypted_to = match key {
            BackupKey::Passphrase(_) => "passphrase".to_string(),
            BackupKey::Recipients(r) => format!("{} recipient(s)", r.len()),
        };
        self.audit(
            &caller.user,
            Action::BackupCreated,
            Some(format!("file:{name}")),
            json!({
                "archive_sha256": created.sha256,
                "bytes": created.bytes,
                "encrypted_to": encrypted_to,
                "contacts": m.contacts,
                "campaigns": m.campaigns,
                "trees": m.trees.len(),
                "records": m.records(),
                "audit_entries": m.audit.entries,
                "audit_head": m.audit.head,
                "ms": started.elapsed().as_millis() as u64,
            }),
        )?;
        Ok(created)
    }
}
