//! `bote campaign send`, `resume` and `watch`: the daemon plans, checks
//! the confirmation and sends; this view shows an indicatif bar on stderr
//! (or JSON lines on stdout) fed by the daemon's progress stream. Ctrl-C
//! detaches the view; the campaign goes on in the daemon.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{bail, Result};

use super::campaign::{plan_request, PlanArgs};
use super::dry_run::print_plan;
use super::{block_on, Context, Exit, Refused};
use crate::audience::PlanSummary;
use crate::campaign::journal::RecipientState;
use crate::campaign::progress::{eta_rate, SendProgress};
use crate::campaign::{CampaignId, CampaignMeta, CampaignState};
use crate::dispatch::progress::{Progress, SnapshotData};
use crate::engine::ops::CampaignStatus;
use crate::service::client::Client;
use crate::service::wire::{Confirmation, Frame, Request};

/// `campaign send` options beyond the plan.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The audience and template.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Return once the campaign is created; it sends in the daemon.
    #[arg(long)]
    pub detach: bool,
    /// Start at this time in the operator's zone ([ui] timezone, default
    /// Europe/Berlin), e.g. "2026-12-03 09:00"; the daemon starts it.
    #[arg(long, value_name = "YYYY-MM-DD HH:MM", value_parser = local_time)]
    pub at: Option<WallTime>,
    /// Send nothing after this time (the operator's zone); a campaign that
    /// cannot start or finish by then is cancelled, saying why.
    #[arg(long, value_name = "YYYY-MM-DD HH:MM", value_parser = local_time)]
    pub not_after: Option<WallTime>,
}

/// A time as typed: RFC 3339 (absolute), or a wall-clock time read in the
/// operator's zone (`[ui] timezone`) once the config is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallTime {
    /// With its offset.
    Absolute(chrono::DateTime<chrono::Utc>),
    /// "YYYY-MM-DD HH:MM", in the operator's zone.
    Local(chrono::NaiveDateTime),
}

impl WallTime {
    /// The instant, reading a wall-clock time in `ui`'s zone.
    pub fn resolve(
        self,
        ui: &crate::config::UiConfig,
    ) -> Result<chrono::DateTime<chrono::Utc>, String> {
        match self {
            Self::Absolute(t) => Ok(t),
            Self::Local(n) => ui.read_local(n),
        }
    }
}

fn local_time(s: &str) -> Result<WallTime, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(WallTime::Absolute(t.with_timezone(&chrono::Utc)));
    }
    ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s.trim(), f).ok())
        .map(WallTime::Local)
        .ok_or_else(|| format!("{s:?} is not a time: use \"YYYY-MM-DD HH:MM\" (in [ui] timezone)"))
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
    /// Return at once; the campaign sends in the daemon.
    #[arg(long)]
    pub detach: bool,
}

#[derive(serde::Deserialize)]
struct Sent {
    plan: PlanSummary,
    campaign: CampaignMeta,
}

pub(super) fn send(ctx: &Context, args: &SendArgs) -> Result<Exit> {
    block_on(async {
        let client = ctx.client().await?;
        let (request, list) = plan_request(&args.plan)?;
        let dry: PlanSummary = client
            .call(
                &Request::Plan {
                    request: request.clone(),
                    list: list.as_ref().map(|l| l.1.clone()),
                },
                list.as_ref().map(|l| &l.0),
            )
            .await?;
        if args.plan.json {
            outln!("{}", serde_json::json!({ "event": "plan", "plan": dry }))?;
        } else {
            print_plan(
                &mut std::io::stderr().lock(),
                &client.hello.banner,
                &dry,
                &ctx.config.ui,
            )?;
        }
        if dry.eligible == 0 {
            return Err(Refused("nobody in this audience may receive the message".into()).into());
        }
        let confirm = confirmation(&client, dry.eligible, args.yes)?;
        let sent: Sent = client
            .call(
                &Request::Send {
                    request,
                    list: list.as_ref().map(|l| l.1.clone()),
                    confirm,
                    schedule: schedule(args, &ctx.config.ui)?,
                },
                list.as_ref().map(|l| &l.0),
            )
            .await?;
        let id = sent.campaign.id;
        if !args.plan.json {
            errln!(
                "campaign {id} created: {} recipients (planned again at send: {} eligible)",
                sent.campaign.eligible,
                sent.plan.eligible
            );
        }
        if let (CampaignState::Scheduled, Some(s)) = (sent.campaign.state, sent.campaign.schedule) {
            let local = |t: chrono::DateTime<chrono::Utc>| ctx.config.ui.minute(t);
            outln!(
                "campaign {id} is scheduled for {} (local time){}; the daemon starts it then — \
                 `bote campaign status {id}` shows it, `bote campaign cancel {id}` drops it",
                local(s.at),
                s.not_after
                    .map(|e| format!(", not after {}", local(e)))
                    .unwrap_or_default()
            )?;
            return Ok(Exit::Ok);
        }
        if args.detach {
            outln!(
                "campaign {id} is sending in the daemon; follow it with `bote campaign watch {id}`"
            )?;
            return Ok(Exit::Ok);
        }
        watch(&client, id, args.plan.json, &ctx.config.ui).await
    })
}

fn schedule(
    args: &SendArgs,
    ui: &crate::config::UiConfig,
) -> Result<Option<crate::campaign::Schedule>> {
    let read = |w: Option<WallTime>| {
        w.map(|w| w.resolve(ui))
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    Ok(match (read(args.at)?, read(args.not_after)?) {
        (None, None) => None,
        (at, not_after) => Some(crate::campaign::Schedule {
            at: at.unwrap_or_else(chrono::Utc::now),
            not_after,
        }),
    })
}

pub(super) fn resume(ctx: &Context, args: &ResumeArgs) -> Result<Exit> {
    block_on(async {
        let client = ctx.client().await?;
        let status: CampaignStatus = client
            .call(
                &Request::Resume {
                    id: args.id,
                    resend_unknown: args.resend_unknown,
                },
                None,
            )
            .await?;
        if !args.json {
            for change in &status.config_changes {
                errln!(
                    "config changed since campaign {} was created — {change}",
                    args.id
                );
            }
        }
        if args.resend_unknown && !args.json {
            errln!(
                "unknown outcomes of campaign {} are sent again, as asked",
                args.id
            );
        }
        if args.detach {
            outln!(
                "campaign {} is {} in the daemon; follow it with `bote campaign watch {}`",
                args.id,
                status.campaign.state,
                args.id
            )?;
            return Ok(Exit::Ok);
        }
        watch(&client, args.id, args.json, &ctx.config.ui).await
    })
}

pub(super) fn watch_cmd(ctx: &Context, id: CampaignId, json: bool) -> Result<Exit> {
    block_on(async {
        let client = ctx.client().await?;
        watch(&client, id, json, &ctx.config.ui).await
    })
}

/// Asks as the daemon's rule wants it: live, the number of recipients
/// typed back; the sandbox, a yes. Without a terminal only `--yes` works.
fn confirmation(client: &Client, recipients: usize, yes: bool) -> Result<Confirmation> {
    if yes {
        return Ok(Confirmation {
            yes: true,
            typed: None,
        });
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            Refused("confirmation needed: pass --yes to send without a terminal".into()).into(),
        );
    }
    let mut err = std::io::stderr().lock();
    if client.is_sandbox() {
        write!(
            err,
            "Send to {recipients} recipients in the sandbox? [y/N] "
        )?;
    } else {
        write!(
            err,
            "LIVE: type the number of recipients ({recipients}) to send: "
        )?;
    }
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(Confirmation {
        yes: false,
        typed: Some(answer.trim().to_string()),
    })
}

enum End {
    Stopped(Box<CampaignStatus>),
    Paused(String),
    /// The view stopped following; the campaign goes on in the daemon.
    /// Quietly when standard output's reader went away.
    Detached {
        quietly: bool,
    },
}

/// Follows a campaign in the daemon until it stops running there; Ctrl-C
/// only detaches this view.
pub(super) async fn watch(
    client: &Client,
    id: CampaignId,
    json: bool,
    ui: &crate::config::UiConfig,
) -> Result<Exit> {
    // The bar counts the send's own recipients, as the TUI does: the
    // campaign's audience and eligible tell them from the plan's exclusions.
    let first: CampaignStatus = client.call(&Request::Status { id }, None).await?;
    let (audience, eligible) = (first.campaign.audience, first.campaign.eligible);
    let bar = (!json).then(|| progress_bar(client));
    let paused: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
    let paused_now = tokio::sync::Notify::new();
    let stdout_gone = tokio::sync::Notify::new();
    let request = Request::Watch { id };
    let stream = client.stream::<CampaignStatus>(&request, None, |frame| match frame {
        Frame::Event { event } => {
            if json {
                if let Ok(line) = serde_json::to_string(&event) {
                    // A reader that went away (`| head`) ends this view, not the send.
                    if outln!("{line}").is_err() {
                        stdout_gone.notify_one();
                    }
                }
            }
            match &event {
                Progress::Paused { reason } => {
                    *paused.borrow_mut() = Some(reason.clone());
                    paused_now.notify_one();
                }
                Progress::Held { reason, until } => {
                    if let Some(b) = &bar {
                        b.println(format!(
                            "held: {reason} until {}; it resumes by itself",
                            ui.minute(*until)
                        ));
                    }
                }
                Progress::Rate {
                    current, reason, ..
                } => {
                    if let Some(b) = &bar {
                        b.println(format!("{reason}: now {current}/s"));
                    }
                }
                _ => {}
            }
        }
        Frame::Snapshot { snapshot } => {
            if let Some(b) = &bar {
                let p = SendProgress::of(&snapshot.counts, audience, eligible);
                b.set_length(p.eligible);
                b.set_position(p.done);
                b.set_message(counts_line(&p, &snapshot));
            }
        }
        _ => {}
    });
    let end = tokio::select! {
        r = stream => End::Stopped(Box::new(r?)),
        _ = tokio::signal::ctrl_c() => End::Detached { quietly: false },
        // A paused campaign stays in the daemon; a headless view ends there.
        () = paused_now.notified() => End::Paused(paused.borrow().clone().unwrap_or_default()),
        () = stdout_gone.notified() => End::Detached { quietly: true },
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let status = match end {
        End::Detached { quietly: true } => return Ok(Exit::Ok),
        End::Detached { quietly: false } => {
            errln!(
                "detached: campaign {id} goes on in the daemon; `bote campaign watch {id}` follows it, \
                 `bote campaign pause {id}` pauses it"
            );
            return Ok(Exit::Ok);
        }
        End::Paused(reason) => {
            let status: CampaignStatus = client.call(&Request::Status { id }, None).await?;
            print_end(&status, json, Some(&reason))?;
            bail!("campaign {id} paused: {reason}; continue with `bote campaign resume {id}`");
        }
        End::Stopped(s) => *s,
    };
    print_end(&status, json, status.campaign.state_reason.as_deref())?;
    let c = &status.counts;
    Ok(match status.campaign.state {
        _ if c.failed + c.unknown > 0 => Exit::Partial,
        CampaignState::Finished | CampaignState::Cancelled => Exit::Ok,
        _ => Exit::Partial,
    })
}

fn print_end(status: &CampaignStatus, json: bool, reason: Option<&str>) -> Result<()> {
    if json {
        return Ok(());
    }
    let id = status.campaign.id;
    let m = &status.campaign;
    let standing = SendProgress::of(&status.counts, m.audience, m.eligible).standing(m.state);
    let mut out = super::output::stdout();
    writeln!(out, "campaign {id}: {} — {standing}", m.state)?;
    for s in RecipientState::ALL {
        let n = status.counts.get(s);
        if n > 0 {
            writeln!(out, "  {:<10}{n:>8}", s.as_str())?;
        }
    }
    if let Some(r) = reason {
        writeln!(out, "  reason: {r}")?;
    }
    if status.counts.unknown > 0 {
        writeln!(
            out,
            "{} unknown: status webhooks may still reconcile them; `bote campaign resume {id} --resend-unknown` sends them again",
            status.counts.unknown
        )?;
    }
    if status.counts.deferred > 0 {
        writeln!(
            out,
            "{} deferred by Meta's per-user marketing cap (131049): `bote campaign resend {id} --deferred` sends them again, 24 h after their deferral at the earliest",
            status.counts.deferred
        )?;
    }
    Ok(())
}

/// Beside the bar: the outcomes so far, what is in flight (not done yet)
/// and the ETA by the same rule as the TUI's.
fn counts_line(p: &SendProgress, s: &SnapshotData) -> String {
    let eta = p
        .eta_secs(eta_rate(&s.per_second, s.rate, s.rate))
        .map_or_else(
            || "—".to_string(),
            |secs| indicatif::HumanDuration(Duration::from_secs(secs)).to_string(),
        );
    format!(
        "accepted {} · failed {} · unknown {} · in flight {} · ETA {eta} · ≤{}/s",
        p.taken, p.failed, p.unknown, p.in_flight, s.rate
    )
}

fn progress_bar(client: &Client) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    let style =
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} done · {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(if client.is_sandbox() {
        "SANDBOX"
    } else {
        "LIVE"
    });
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::journal::Counts;

    /// Issue 17: the CLI bar read done as "not open" of everyone but the
    /// skipped, and showed indicatif's own ETA; now it reads the one
    /// definition the TUI reads, and names what is in flight.
    #[test]
    fn the_progress_line_counts_in_flight_apart_and_uses_the_shared_eta() {
        let counts = Counts {
            accepted: 8,
            in_flight: 56,
            pending: 41,
            skipped: 11,
            ..Counts::default()
        };
        let p = SendProgress::of(&counts, 116, 105);
        assert_eq!((p.eligible, p.done), (105, 8));
        let snapshot = SnapshotData {
            counts,
            rate: 40,
            per_second: vec![40; 5],
            ..SnapshotData::default()
        };
        let line = counts_line(&p, &snapshot);
        assert!(
            line.contains("accepted 8 · failed 0 · unknown 0 · in flight 56"),
            "{line}"
        );
        assert!(line.contains("ETA 3 seconds"), "97 open at 40/s: {line}");
    }
}
