//! `bote campaign send` and `resume`: plan, confirm, send, watch.
//!
//! The headless view of the engine: an indicatif bar on stderr (rate, ETA,
//! counts per state) or JSON lines on stdout, fed by the same
//! [`Progress`] events the TUI draws.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Result};

use super::campaign::{print_plan, PlanArgs};
use super::{Context, Exit, Mode, Refused};
use crate::campaign::journal::{Counts, RecipientState};
use crate::campaign::{CampaignId, CampaignState};
use crate::dispatch::progress::Progress;
use crate::dispatch::CampaignHandle;
use crate::engine::Engine;

/// `campaign send` options beyond the plan.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The audience and template.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// `campaign resume` options.
#[derive(Debug, Clone, clap::Args)]
pub struct ResumeArgs {
    /// Campaign id.
    pub id: CampaignId,
    /// Also send again to recipients whose outcome is unknown (they may get
    /// the message twice; bote never does this without being asked).
    #[arg(long)]
    pub resend_unknown: bool,
    /// JSON lines instead of a progress bar.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn send(ctx: &Context, args: &SendArgs) -> Result<Exit> {
    ctx.check_may_send()?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let engine = ctx.engine().await?;
        let plan = engine.plan(&args.plan.request())?;
        let summary = plan.summary(3, 5, 4);
        if args.plan.json {
            let line = serde_json::json!({ "event": "plan", "plan": summary });
            println!("{line}");
        } else {
            print_plan(&mut std::io::stderr().lock(), ctx, &summary)?;
        }
        if plan.eligible.is_empty() {
            return Err(Refused("nobody in this audience may receive the message".into()).into());
        }
        confirm(ctx, plan.eligible.len(), args.yes)?;
        let meta = engine.create(&plan)?;
        if !args.plan.json {
            eprintln!("campaign {} created: {} recipients", meta.id, meta.eligible);
        }
        let handle = engine.start(meta.id)?;
        watch(&engine, handle, args.plan.json).await
    })
}

pub(super) fn resume(ctx: &Context, args: &ResumeArgs) -> Result<Exit> {
    ctx.check_may_send()?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let engine = ctx.engine().await?;
        if args.resend_unknown {
            let journal = engine.campaigns.journal(args.id)?;
            journal.repair(chrono::Utc::now())?;
            let n = journal.requeue_unknown(chrono::Utc::now(), engine.actor())?;
            eprintln!("{n} recipient(s) with an unknown outcome will be sent again, as asked");
        }
        let handle = engine.start(args.id)?;
        watch(&engine, handle, args.json).await
    })
}

/// Live sends need the number of recipients typed back; the sandbox a yes.
fn confirm(ctx: &Context, recipients: usize, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            Refused("confirmation needed: pass --yes to send without a terminal".into()).into(),
        );
    }
    let mut err = std::io::stderr().lock();
    match ctx.mode {
        Mode::Live => write!(
            err,
            "LIVE: type the number of recipients ({recipients}) to send: "
        )?,
        Mode::Sandbox => write!(
            err,
            "Send to {recipients} recipients in the sandbox? [y/N] "
        )?,
    }
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let ok = match ctx.mode {
        Mode::Live => answer.trim() == recipients.to_string(),
        Mode::Sandbox => matches!(answer.trim(), "y" | "Y" | "yes" | "j" | "ja"),
    };
    if !ok {
        return Err(Refused("not confirmed; nothing was sent".into()).into());
    }
    Ok(())
}

/// Follows a running campaign until it ends; Ctrl-C pauses it (resumable).
async fn watch(engine: &Engine, handle: CampaignHandle, json: bool) -> Result<Exit> {
    let id = handle.id();
    let mut events = handle.subscribe();
    let snapshot = handle.snapshot();
    let bar = (!json).then(|| progress_bar(engine));
    let mut stop_reason = None;
    let mut interrupted = false;
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => {
                    if json {
                        println!("{}", serde_json::to_string(&ev)?);
                    }
                    match &ev {
                        Progress::Started { counts, .. } => {
                            if let Some(b) = &bar {
                                b.set_length(counts.open());
                            }
                        }
                        Progress::Paused { reason } => {
                            // Headless: nobody can press resume; end the run, keep it resumable.
                            stop_reason = Some(reason.clone());
                            handle.detach();
                        }
                        Progress::Held { reason, until } => {
                            if let Some(b) = &bar {
                                b.println(format!("held: {reason} until {}", until.format("%H:%M")));
                            }
                        }
                        Progress::Rate { current, reason, .. } => {
                            if let Some(b) = &bar {
                                b.println(format!("{reason}: now {current}/s"));
                            }
                        }
                        Progress::Finished { .. } => break,
                        Progress::Recipient(_) | Progress::Resumed => {}
                    }
                    if let Some(b) = &bar {
                        let s = snapshot.get();
                        b.set_position(b.length().unwrap_or(0).saturating_sub(s.counts.open()));
                        b.set_message(counts_line(&s.counts, s.rate));
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                stop_reason = Some("interrupted (Ctrl-C)".into());
                handle.detach();
            }
        }
    }
    let state = handle.wait().await?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let counts = engine.campaigns.journal(id)?.counts()?;
    if !json {
        let mut out = std::io::stdout().lock();
        writeln!(out, "campaign {id}: {state}")?;
        for s in RecipientState::ALL {
            let n = counts.get(s);
            if n > 0 {
                writeln!(out, "  {:<10}{n:>8}", s.as_str())?;
            }
        }
        if let Some(r) = &stop_reason {
            writeln!(
                out,
                "stopped: {r}; continue with `bote campaign resume {id}`"
            )?;
        }
        if counts.unknown > 0 {
            writeln!(
                out,
                "{} unknown: status webhooks may still reconcile them; `bote campaign resume {id} --resend-unknown` sends them again",
                counts.unknown
            )?;
        }
    }
    Ok(match state {
        CampaignState::Paused if stop_reason.as_deref() != Some("interrupted (Ctrl-C)") => {
            bail!(
                "campaign {id} paused: {}",
                stop_reason.unwrap_or_else(|| "stopped".into())
            )
        }
        _ if counts.failed + counts.unknown > 0 => Exit::Partial,
        CampaignState::Finished => Exit::Ok,
        _ => Exit::Partial,
    })
}

fn counts_line(c: &Counts, rate: u32) -> String {
    format!(
        "accepted {} · failed {} · unknown {} · ≤{rate}/s",
        c.taken(),
        c.failed,
        c.unknown
    )
}

fn progress_bar(engine: &Engine) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} · {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(if engine.is_sandbox() {
        "SANDBOX"
    } else {
        "LIVE"
    });
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
