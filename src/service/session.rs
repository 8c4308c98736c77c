//! One client connection: who it is (peer uid), its request (and the file
//! after it, spooled privately), the façade operation that answers it, and
//! the frames streamed back — progress for `watch`, outcomes for `webhooks`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::UnixStream;

use super::daemon::State;
use super::peer::Caller;
use super::wire::{self, Failure, Frame, Request, MAX_ATTACHMENT, MAX_LINE};
use crate::config::Role;
use crate::engine::Engine;

/// A file received from a client, removed (with its private directory)
/// when the request ends.
struct Spooled(PathBuf);

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A fresh private directory in the spool holding `name`'s last component,
/// so that what the import records as the file is the operator's name.
fn spool_path(dir: &Path, what: &str, name: &str) -> Result<PathBuf, Failure> {
    let sub = dir.join(format!("{what}-{:016x}", rand::random::<u64>()));
    crate::consent::store::create_private_dir(&sub)
        .map_err(|e| Failure::Error(format!("spooling the upload: {e}")))?;
    let base = Path::new(name)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| what.to_string());
    Ok(sub.join(base))
}

async fn receive(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    dir: &Path,
    upload: &wire::Upload,
) -> Result<Spooled, Failure> {
    let len = upload.len;
    if len > MAX_ATTACHMENT {
        return Err(Failure::Error(format!(
            "the file is {len} bytes; the daemon takes at most {MAX_ATTACHMENT}"
        )));
    }
    let path = spool_path(dir, "upload", &upload.name)?;
    let mut opts = tokio::fs::OpenOptions::new();
    opts.write(true).create_new(true).mode(0o600);
    let spooled = Spooled(path.clone());
    let mut file = opts
        .open(&path)
        .await
        .map_err(|e| Failure::Error(format!("spooling the upload: {e}")))?;
    let copied = tokio::io::copy(&mut reader.take(len), &mut file)
        .await
        .map_err(|e| Failure::Error(format!("receiving the upload: {e}")))?;
    if copied != len {
        return Err(Failure::Error(format!(
            "the upload ended after {copied} of {len} bytes"
        )));
    }
    tokio::io::AsyncWriteExt::flush(&mut file)
        .await
        .map_err(|e| Failure::Error(format!("spooling the upload: {e}")))?;
    Ok(spooled)
}

pub(super) async fn connection(state: &Arc<State>, stream: UnixStream) -> std::io::Result<()> {
    let uid = stream.peer_cred()?.uid();
    let caller = Caller::from_uid(uid, state.engine.config.roles.as_ref(), state.store_owner);
    let (r, mut w) = stream.into_split();
    let mut reader = BufReader::new(r);
    let request: Request = match wire::read_line(&mut reader, MAX_LINE).await {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(()),
        Err(e) => {
            let result = Err(Failure::Error(format!("unreadable request: {e}")));
            return wire::write_frame(&mut w, &Frame::Done { result }).await;
        }
    };
    let upload = match request.upload() {
        Some(u) => match receive(&mut reader, &state.spool, u).await {
            Ok(s) => Some(s),
            Err(f) => return wire::write_frame(&mut w, &Frame::Done { result: Err(f) }).await,
        },
        None => None,
    };
    let name = request.upload().map(|u| u.name.clone());
    let mut result = answer(
        state,
        &caller,
        request,
        upload.as_ref().map(|s| s.0.clone()),
        &mut w,
    )
    .await;
    // Errors name the file as the operator gave it, not the spool copy.
    if let (Some(spooled), Some(name), Err(f)) = (&upload, name, &mut result) {
        f.rename(&spooled.0.display().to_string(), &name);
    }
    wire::write_frame(&mut w, &Frame::Done { result }).await
}

fn value<T: serde::Serialize>(v: T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure::Error(format!("encoding the answer: {e}")))
}

async fn blocking<T: serde::Serialize + Send + 'static>(
    engine: &Arc<Engine>,
    f: impl FnOnce(&Engine) -> Result<T, Failure> + Send + 'static,
) -> Result<serde_json::Value, Failure> {
    let engine = Arc::clone(engine);
    match tokio::task::spawn_blocking(move || f(&engine)).await {
        Ok(r) => value(r?),
        Err(e) => Err(Failure::Error(format!(
            "internal: the operation failed: {e}"
        ))),
    }
}

async fn answer(
    state: &Arc<State>,
    caller: &Caller,
    request: Request,
    upload: Option<PathBuf>,
    w: &mut tokio::net::unix::OwnedWriteHalf,
) -> Result<serde_json::Value, Failure> {
    let engine = &state.engine;
    let c = caller.clone();
    tracing::debug!(user = %caller.user, op = ?std::mem::discriminant(&request), "request");
    match request {
        Request::Hello => value(engine.hello(caller)),
        Request::Plan { mut request, list } => {
            request.list = upload;
            let name = list.map(|l| l.name);
            blocking(engine, move |e| {
                e.plan_summary(&c, &request, name.as_deref())
            })
            .await
        }
        Request::Send {
            mut request,
            list,
            confirm,
            schedule,
        } => {
            request.list = upload;
            let name = list.map(|l| l.name);
            blocking(engine, move |e| {
                let (plan, campaign) = e.send(&c, &request, name.as_deref(), &confirm, schedule)?;
                Ok(serde_json::json!({ "plan": plan, "campaign": campaign }))
            })
            .await
        }
        Request::Resume { id, resend_unknown } => {
            blocking(engine, move |e| e.resume(&c, id, resend_unknown)).await
        }
        Request::TemplateCategories { listed } => {
            blocking(engine, move |e| {
                if !listed.is_empty() {
                    e.record_listed_categories(&c, &listed)?;
                }
                e.template_categories(&c)
            })
            .await
        }
        Request::TemplateSync => value(engine.sync_templates(caller).await?),
        Request::MediaUpload { file } => {
            let Some(path) = upload else {
                return Err(Failure::Error("the upload carried no file".into()));
            };
            value(engine.upload_media(caller, &path, &file.name).await?)
        }
        Request::MediaList => blocking(engine, move |e| e.media_list(&c)).await,
        Request::ResendDeferred { id } => {
            blocking(engine, move |e| e.resend_deferred(&c, id)).await
        }
        Request::Pause { id } => blocking(engine, move |e| e.pause(&c, id)).await,
        Request::Cancel { id } => blocking(engine, move |e| e.cancel_by(&c, id)).await,
        Request::Watch { id } => {
            engine.authorize(caller, Role::Viewer, "watching campaigns")?;
            watch(engine, id, w).await;
            blocking(engine, move |e| e.status(&c, id)).await
        }
        Request::Setup => blocking(engine, move |e| e.setup(&c)).await,
        Request::Platform => blocking(engine, move |e| e.platform_report(&c)).await,
        Request::NumberLimits { limits } => {
            blocking(engine, move |e| e.record_number_limits(&c, &limits)).await
        }
        Request::Home => blocking(engine, move |e| e.home(&c)).await,
        Request::PlanFull { mut request, .. } => {
            request.list = upload;
            blocking(engine, move |e| e.plan_full(&c, &request)).await
        }
        Request::Journal { id, from, len } => {
            blocking(engine, move |e| e.journal_page(&c, id, from, len)).await
        }
        Request::Results {
            id,
            state,
            from,
            len,
        } => blocking(engine, move |e| e.results(&c, id, state, from, len)).await,
        Request::Webhooks => {
            engine.authorize(caller, Role::Viewer, "following webhooks")?;
            let Some(receiver) = engine.receiver() else {
                return Err(Failure::Error(
                    "this daemon hosts no webhook receiver".into(),
                ));
            };
            let mut outcomes = receiver.subscribe();
            let mut alive = tokio::time::interval(Duration::from_secs(2));
            loop {
                let frame = tokio::select! {
                    o = outcomes.recv() => match o {
                        Ok(outcome) => Frame::Webhook { outcome },
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(k)) => {
                            tracing::warn!(missed = k, "a webhook follower lagged");
                            continue;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                    _ = alive.tick() => Frame::Alive,
                };
                if wire::write_frame(w, &frame).await.is_err() {
                    break;
                }
            }
            value(serde_json::json!({}))
        }
        Request::Attach => {
            // Nothing to answer until the client goes; a frame now and then
            // is how its going is noticed (the write fails).
            let mut alive = tokio::time::interval(Duration::from_secs(1));
            loop {
                alive.tick().await;
                if wire::write_frame(w, &Frame::Alive).await.is_err() {
                    break;
                }
            }
            value(serde_json::json!({}))
        }
        Request::Campaigns => blocking(engine, move |e| e.campaign_list(&c)).await,
        Request::Status { id } => blocking(engine, move |e| e.status(&c, id)).await,
        Request::Report { id } => blocking(engine, move |e| e.report(&c, id)).await,
        Request::Export { id, format, mask } => {
            blocking(engine, move |e| {
                let (rows, text) = e.export(&c, id, format, mask)?;
                Ok(serde_json::json!({ "rows": rows, "text": text }))
            })
            .await
        }
        Request::Consents { topic, status } => {
            blocking(engine, move |e| {
                e.consents(&c, topic.as_deref(), status.as_deref())
            })
            .await
        }
        Request::ConsentPage { filter, from, len } => {
            blocking(engine, move |e| e.consent_page(&c, &filter, from, len)).await
        }
        Request::AuditVerify => blocking(engine, move |e| e.audit_verify(&c)).await,
        Request::AuditShow { filter } => blocking(engine, move |e| e.audit_show(&c, &filter)).await,
        Request::AuditProof { id, format } => {
            blocking(engine, move |e| e.audit_proof(&c, id, format)).await
        }
        Request::AccessExport { phone } => {
            blocking(engine, move |e| e.access_export(&c, &phone)).await
        }
        Request::Erase { phone } => blocking(engine, move |e| e.erase(&c, &phone)).await,
        Request::Purge { dry_run } => blocking(engine, move |e| e.purge(&c, dry_run)).await,
        Request::Doctor => blocking(engine, move |e| e.doctor(&c)).await,
        Request::BackupCreate { key, out } => backup(state, caller, key, out, w).await,
        Request::Consent { phone } => blocking(engine, move |e| e.consent(&c, &phone)).await,
        Request::Revoke { phone, topic } => {
            blocking(engine, move |e| e.revoke(&c, &phone, topic.as_deref())).await
        }
        Request::Import {
            file,
            source,
            dry_run,
            rejects,
        } => {
            let Some(path) = upload else {
                return Err(Failure::Error("the import carried no file".into()));
            };
            let rejects = match rejects {
                true => Some(Spooled(spool_path(&state.spool, "rejects", "rejects.csv")?)),
                false => None,
            };
            blocking(engine, move |e| {
                let r = e.import(
                    &c,
                    &path,
                    &file.name,
                    source,
                    dry_run,
                    rejects.as_ref().map(|s| s.0.as_path()),
                );
                drop(rejects);
                r
            })
            .await
        }
        Request::Invite {
            phone,
            topic,
            template,
            language,
        } => value(
            engine
                .invite(caller, &phone, &topic, &template, language.as_deref())
                .await?,
        ),
        Request::Shutdown => {
            if caller.uid != state.own_uid && caller.uid != 0 {
                engine.authorize(caller, Role::Admin, "stopping the daemon")?;
            }
            tracing::info!(user = %caller.user, "asked to stop");
            state.stop.notify_one();
            value(serde_json::json!({ "stopping": std::process::id() }))
        }
    }
}

/// How much of the archive one `bytes` frame carries.
const BACKUP_FRAME: usize = 256 * 1024;

/// A backup: the engine writes the encrypted archive into a private spool
/// file (so the snapshot's locks are held for as long as the disk takes,
/// never as long as a slow client), then it is streamed to the client as
/// `bytes` frames and the spool file removed. Only ciphertext is written.
async fn backup(
    state: &Arc<State>,
    caller: &Caller,
    key: crate::backup::BackupKey,
    out: String,
    w: &mut tokio::net::unix::OwnedWriteHalf,
) -> Result<serde_json::Value, Failure> {
    use tokio::io::AsyncWriteExt;
    let spooled = Spooled(spool_path(&state.spool, "backup", "archive.age")?);
    let path = spooled.0.clone();
    let engine = Arc::clone(&state.engine);
    let c = caller.clone();
    let created = tokio::task::spawn_blocking(move || {
        let spool_error = |e: std::io::Error| Failure::Error(format!("spooling the backup: {e}"));
        let file =
            crate::consent::store::open_private(&path, crate::consent::store::PrivateFile::New)
                .map_err(spool_error)?;
        let mut file = std::io::BufWriter::new(file);
        let created = engine.backup_create(&c, &key, &mut file, &out)?;
        file.into_inner()
            .map_err(|e| spool_error(e.into_error()))?
            .sync_all()
            .map_err(spool_error)?;
        Ok::<_, Failure>(created)
    })
    .await
    .map_err(|e| Failure::Error(format!("internal: the backup failed: {e}")))??;
    let sent = |e: std::io::Error| Failure::Error(format!("sending the backup: {e}"));
    let mut file = tokio::fs::File::open(&spooled.0).await.map_err(sent)?;
    let mut buf = vec![0u8; BACKUP_FRAME];
    loop {
        let n = file.read(&mut buf).await.map_err(sent)?;
        if n == 0 {
            break;
        }
        wire::write_frame(w, &Frame::Bytes { len: n as u64 })
            .await
            .map_err(sent)?;
        w.write_all(&buf[..n]).await.map_err(sent)?;
    }
    drop(spooled);
    value(created)
}

/// Streams a running campaign's events and, every 250 ms, its numbers,
/// until it stops running here or the client goes away.
async fn watch(
    engine: &Arc<Engine>,
    id: crate::campaign::CampaignId,
    w: &mut tokio::net::unix::OwnedWriteHalf,
) {
    let Some((mut events, snapshot)) = engine.runs().subscribe(id) else {
        // Not running (any more): a late watcher still gets the final numbers.
        let e = Arc::clone(engine);
        let last = tokio::task::spawn_blocking(move || {
            let meta = e.campaigns.require(id).ok()?;
            let counts = e.campaigns.journal(id).and_then(|j| j.counts()).ok()?;
            Some(crate::dispatch::progress::SnapshotData {
                counts,
                state: Some(meta.state),
                reason: meta.state_reason,
                ..Default::default()
            })
        })
        .await;
        if let Ok(Some(snapshot)) = last {
            let _ = wire::write_frame(w, &Frame::Snapshot { snapshot }).await;
        }
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    if wire::write_frame(
        w,
        &Frame::Snapshot {
            snapshot: snapshot.get(),
        },
    )
    .await
    .is_err()
    {
        return;
    }
    loop {
        let frame = tokio::select! {
            ev = events.recv() => match ev {
                Ok(event) => {
                    let last = match &event {
                        crate::dispatch::progress::Progress::Finished { state, counts } => {
                            let mut s = snapshot.get();
                            s.state = Some(*state);
                            s.counts = *counts;
                            Some(s)
                        }
                        _ => None,
                    };
                    if wire::write_frame(w, &Frame::Event { event }).await.is_err() {
                        return;
                    }
                    // The numbers a watcher ends with are the final ones.
                    if let Some(snapshot) = last {
                        let _ = wire::write_frame(w, &Frame::Snapshot { snapshot }).await;
                        return;
                    }
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Frame::Snapshot { snapshot: snapshot.get() },
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => Frame::Snapshot { snapshot: snapshot.get() },
        };
        if wire::write_frame(w, &frame).await.is_err() {
            return;
        }
    }
}
