//! `bote media …`: files for templates with an IMAGE, VIDEO or DOCUMENT
//! header, uploaded through the daemon (it uploads to the Cloud API, or to
//! its simulator, and records the id's age for the plan).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Subcommand;

use super::{block_on, Context, Exit};
use crate::engine::media::MediaUploaded;
use crate::platform::MediaRecord;
use crate::service::client::Attachment;
use crate::service::wire::Request;

/// `bote media` subcommands.
#[derive(Debug, Subcommand)]
pub enum MediaCmd {
    /// Upload a .jpg/.png, .mp4/.3gp or .pdf; prints the media id to put in
    /// a template's `[media] id` (Meta keeps it 30 days).
    Upload {
        /// The file.
        file: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The files bote uploaded, newest first, with their expiry.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(ctx: &Context, cmd: MediaCmd) -> Result<Exit> {
    let mut out = super::output::stdout();
    match cmd {
        MediaCmd::Upload { file, json } => {
            let (attachment, mut upload) =
                Attachment::open(&file).with_context(|| format!("{}", file.display()))?;
            upload.name = file.display().to_string();
            let done: MediaUploaded = block_on(async {
                let c = ctx.client().await?;
                c.call(&Request::MediaUpload { file: upload }, Some(&attachment))
                    .await
            })?;
            if json {
                serde_json::to_writer_pretty(&mut out, &done)?;
                writeln!(out)?;
            } else {
                let r = &done.record;
                writeln!(out, "{}", r.id)?;
                errln!(
                    "uploaded {} ({}, {} bytes) as media id {}; valid until {} — put `id = \"{}\"` in the template's [media] table",
                    r.file_name,
                    r.mime,
                    r.bytes,
                    r.id,
                    ctx.config.ui.minute(done.expires_at),
                    r.id
                );
            }
        }
        MediaCmd::List { json } => {
            let list: Vec<MediaRecord> = block_on(async {
                let c = ctx.client().await?;
                c.call(&Request::MediaList, None).await
            })?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{:<20} {:<9} {:<24} {:<22} FILE",
                    "ID", "KIND", "UPLOADED", "EXPIRES"
                )?;
                for r in &list {
                    writeln!(
                        out,
                        "{:<20} {:<9} {:<24} {:<22} {}",
                        r.id,
                        r.kind.to_string(),
                        ctx.config.ui.minute(r.uploaded_at),
                        ctx.config.ui.minute(r.expires_at()),
                        r.file_name
                    )?;
                }
            }
        }
    }
    Ok(Exit::Ok)
}
