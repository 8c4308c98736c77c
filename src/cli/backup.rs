//! `bote backup create | verify | restore` (G11). `create` is a daemon
//! client: the daemon takes the snapshot and encrypts it, this side writes
//! the ciphertext where the operator chose. `verify` and `restore` read the
//! archive here and need no daemon (the store restored into is new).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Subcommand;
use sha2::{Digest, Sha256};

use super::{block_on, Context, Exit, Refused};
use crate::backup::{restore::Restored, BackupKey, Created, Opener, Secret, Verified};
use crate::config::Role;
use crate::consent::table::NewFile;
use crate::service::wire::Request;

/// The environment variable a passphrase is read from (cron, systemd).
pub const PASSPHRASE_ENV: &str = "BOTE_BACKUP_PASSPHRASE";

/// `bote backup …`
#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Write an age-encrypted archive of the store (admin; the daemon takes the snapshot).
    Create {
        /// The archive to write (0600; never over an existing file without --force).
        out: PathBuf,
        /// Encrypt to this age public key (age1…) instead of a passphrase; repeatable.
        #[arg(long, value_name = "AGE1…")]
        recipient: Vec<String>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decrypt an archive and check every part, the counts and the audit chain (no daemon).
    Verify {
        /// The archive.
        input: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…) for archives made with --recipient.
        #[arg(long, value_name = "FILE")]
        identity: Vec<PathBuf>,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore an archive into a new or empty --store DIR, after verifying it (no daemon).
    Restore {
        /// The archive.
        input: PathBuf,
        /// An age identity file (AGE-SECRET-KEY-1…) for archives made with --recipient.
        #[arg(long, value_name = "FILE")]
        identity: Vec<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `backup` command.
pub(super) fn run(ctx: &Context, cmd: BackupCmd) -> Result<Exit> {
    match cmd {
        BackupCmd::Create {
            out,
            recipient,
            force,
            json,
        } => create(ctx, &out, recipient, force, json),
        BackupCmd::Verify {
            input,
            identity,
            json,
        } => verify(&input, &identity, json),
        BackupCmd::Restore {
            input,
            identity,
            json,
        } => restore(ctx, &input, &identity, json),
    }
}

/// The passphrase: `$BOTE_BACKUP_PASSPHRASE`, else asked on the terminal
/// (twice when it encrypts), never echoed.
fn passphrase(confirm: bool) -> Result<Secret> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if p.is_empty() {
            bail!("${PASSPHRASE_ENV} is set but empty");
        }
        return Ok(Secret::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no passphrase: set ${PASSPHRASE_ENV}, or run on a terminal to be asked{}",
            if confirm {
                ", or pass --recipient age1… to encrypt to a public key"
            } else {
                ", or pass --identity FILE for an archive made with --recipient"
            }
        );
    }
    let p = rpassword::prompt_password("Backup passphrase: ").context("reading the passphrase")?;
    if p.is_empty() {
        bail!("the passphrase is empty");
    }
    if confirm {
        let again =
            rpassword::prompt_password("Passphrase again: ").context("reading the passphrase")?;
        if again != p {
            bail!("the passphrases differ; nothing was written");
        }
    }
    Ok(Secret::new(p))
}

fn opener(identity: &[PathBuf]) -> Result<Opener> {
    if identity.is_empty() {
        return Ok(Opener::Passphrase(passphrase(false)?));
    }
    let mut all = Vec::new();
    for path in identity {
        all.extend(Opener::identity_file(path)?);
    }
    Ok(Opener::Identities(all))
}

fn create(
    ctx: &Context,
    out: &Path,
    recipients: Vec<String>,
    force: bool,
    json: bool,
) -> Result<Exit> {
    // Refused before the daemon does any work; NewFile refuses again at
    // the rename if the file appeared meanwhile.
    let mut file = NewFile::create(out, force).map_err(|e| anyhow!("{e}"))?;
    let key = if recipients.is_empty() {
        BackupKey::Passphrase(passphrase(true)?)
    } else {
        BackupKey::Recipients(recipients)
    };
    let mut hash = Sha256::new();
    let mut received = 0u64;
    let created: Created = block_on(async {
        ctx.client()
            .await?
            .download(
                &Request::BackupCreate {
                    key,
                    out: out.display().to_string(),
                },
                |chunk: &[u8]| {
                    file.write_all(chunk)
                        .with_context(|| format!("writing {}", out.display()))?;
                    hash.update(chunk);
                    received += chunk.len() as u64;
                    Ok(())
                },
            )
            .await
    })?;
    if hex::encode(hash.finalize()) != created.sha256 || received != created.bytes {
        bail!(
            "the archive received ({received} bytes) is not the one the daemon wrote ({} bytes, \
             SHA-256 {}); nothing was written",
            created.bytes,
            created.sha256
        );
    }
    file.commit()
        .with_context(|| format!("putting {} in place", out.display()))?;
    let m = &created.manifest;
    let mut o = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut o, &created)?;
        writeln!(o)?;
        return Ok(Exit::Ok);
    }
    writeln!(o, "{}", ctx.banner())?;
    writeln!(
        o,
        "Backup written to {} ({} bytes, age-encrypted, 0600)",
        out.display(),
        created.bytes
    )?;
    writeln!(
        o,
        "  {} contact(s), {} campaign(s), {} tree(s) with {} record(s), audit trail to entry {}",
        m.contacts,
        m.campaigns,
        m.trees.len(),
        m.records(),
        m.audit.entries
    )?;
    writeln!(o, "  archive SHA-256 {}", created.sha256)?;
    writeln!(
        o,
        "  audit head      {} (keep it elsewhere to compare)",
        m.audit.head
    )?;
    Ok(Exit::Ok)
}

fn open_archive(input: &Path) -> Result<std::fs::File> {
    std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))
}

fn verify(input: &Path, identity: &[PathBuf], json: bool) -> Result<Exit> {
    let opener = opener(identity)?;
    let v: Verified = crate::backup::verify(open_archive(input)?, &opener)
        .with_context(|| format!("{} does not verify", input.display()))?;
    let mut o = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut o, &v)?;
        writeln!(o)?;
        return Ok(Exit::Ok);
    }
    let m = &v.manifest;
    writeln!(o, "{} is sound", input.display())?;
    writeln!(
        o,
        "  made {} by bote {}{}",
        m.created_at.to_rfc3339(),
        m.bote_version,
        m.mode
            .as_deref()
            .map(|m| format!(" from a {m} store"))
            .unwrap_or_default()
    )?;
    writeln!(
        o,
        "  {} contact(s), {} campaign(s), {} tree(s) with {} record(s), every SHA-256 matches",
        m.contacts,
        m.campaigns,
        m.trees.len(),
        m.records()
    )?;
    writeln!(
        o,
        "  audit trail: {} entries, chain sound, head {}",
        m.audit.entries, m.audit.head
    )?;
    writeln!(o, "  archive SHA-256 {}", v.sha256)?;
    Ok(Exit::Ok)
}

fn restore(ctx: &Context, input: &Path, identity: &[PathBuf], json: bool) -> Result<Exit> {
    // No daemon checks the role here: the same rule as the daemon's, for
    // this process's user and a store it is about to own.
    let uid = crate::service::peer::own_uid();
    let caller = crate::service::peer::Caller::from_uid(uid, ctx.config.roles.as_ref(), uid);
    caller
        .require(Role::Admin, "restoring a backup")
        .map_err(Refused)?;
    let opener = opener(identity)?;
    let r: Restored = crate::backup::restore::restore(
        input,
        &opener,
        &ctx.store_dir,
        &caller.user,
        chrono::Utc::now(),
    )
    .with_context(|| format!("restoring {}", input.display()))?;
    let mut o = super::output::stdout();
    if json {
        serde_json::to_writer_pretty(&mut o, &r)?;
        writeln!(o)?;
        return Ok(Exit::Ok);
    }
    let m = &r.manifest;
    writeln!(
        o,
        "Restored {} into {} (made {} by bote {})",
        input.display(),
        r.store.display(),
        m.created_at.to_rfc3339(),
        m.bote_version
    )?;
    writeln!(
        o,
        "  {} contact(s), {} campaign(s), {} tree(s) with {} record(s)",
        m.contacts,
        m.campaigns,
        m.trees.len(),
        m.records()
    )?;
    writeln!(
        o,
        "  audit trail sound: {} entries (the restore is entry {}), head {}",
        r.audit_entries, r.audit_entries, r.audit_head
    )?;
    Ok(Exit::Ok)
}
