//! `bote webhook serve` and `bote consent invite`.
//!
//! The store's daemon hosts the webhook receiver (`[webhook] listen`);
//! `serve` follows it until Ctrl-C, printing one line per processed event
//! (masked numbers) on stderr, or JSON lines on stdout with `--json`. In
//! the sandbox it starts the daemon, which then stays while it is followed.

use std::io::Write;

use anyhow::{Context as _, Result};
use clap::Subcommand;

use super::{Context, Exit};
use crate::phone::Phone;
use crate::service::wire::{Frame, Request};
use crate::webhook::invite::{InviteRecord, InviteState, DEFAULT_TEMPLATE};
use crate::webhook::Outcome;

/// `bote webhook` subcommands.
#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// Receive Meta's webhooks (statuses, STOP, confirmations) until Ctrl-C.
    Serve(ServeArgs),
}

/// `bote webhook serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Processed events as JSON lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `bote consent invite`.
#[derive(Debug, Clone, clap::Args)]
pub struct InviteArgs {
    /// The number, any format.
    pub phone: String,
    /// The topic whose pending consent the person is asked to confirm.
    #[arg(long)]
    pub topic: String,
    /// The confirmation template (must carry the privacy link, G7).
    #[arg(long, default_value = DEFAULT_TEMPLATE)]
    pub template: String,
    /// The template's language, if it has several.
    #[arg(long)]
    pub language: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `bote webhook` subcommand.
pub fn run(ctx: &Context, cmd: WebhookCmd) -> Result<Exit> {
    match cmd {
        WebhookCmd::Serve(args) => serve(ctx, &args),
    }
}

/// `bote webhook serve`: follows the daemon's receiver until Ctrl-C.
pub fn serve(ctx: &Context, args: &ServeArgs) -> Result<Exit> {
    super::block_on(async {
        let client = ctx.client().await?;
        let url = client.hello.webhook.clone().unwrap_or_default();
        errln!("{}", client.hello.banner);
        errln!(
            "The daemon (pid {}) receives webhooks at {url}; set the address with [webhook] listen. \
             Ctrl-C stops following; the daemon goes on receiving.",
            client.hello.pid
        );
        let mut failed = None;
        // Following ends when output cannot be written (`| head` has
        // what it wanted, or the disk is full), not at the next outcome.
        let stuck = tokio::sync::Notify::new();
        let stream = client.stream::<serde_json::Value>(&Request::Webhooks, None, |frame| {
            if let Frame::Webhook { outcome } = frame {
                if let Err(e) = print_outcome(&outcome, args.json) {
                    failed.get_or_insert(e);
                    stuck.notify_one();
                }
            }
        });
        tokio::select! {
            r = stream => { r?; }
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            () = stuck.notified() => {}
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(Exit::Ok)
    })
}

fn print_outcome(o: &Outcome, json: bool) -> Result<()> {
    if json {
        let mut out = super::output::stdout();
        serde_json::to_writer(&mut out, o)?;
        writeln!(out)?;
        return Ok(());
    }
    let line = match o {
        Outcome::Status {
            wamid,
            status,
            campaign,
            index,
            result,
            reconciled,
            ..
        } => {
            format!(
                "status {status} {wamid} → {}{}: {result:?}",
                campaign.map_or("-".into(), |c| format!("campaign {c}")),
                index.map_or(String::new(), |i| format!(" #{i}")),
            ) + if *reconciled { " (reconciled)" } else { "" }
        }
        Outcome::Revoked {
            phone,
            signal,
            suppressed: true,
            ..
        } => format!("suppressed {phone}: {signal} from a number not in the store"),
        Outcome::Revoked {
            phone,
            signal,
            topics,
            ..
        } => format!("revoked {phone}: {signal}, {topics} topic(s) changed"),
        Outcome::Confirmed {
            phone,
            topics,
            method,
            ..
        } if topics.is_empty() => {
            format!("{phone} sent a confirmation ({method}) but has nothing pending")
        }
        Outcome::Confirmed {
            phone,
            topics,
            method,
            ..
        } => format!("confirmed {phone} by {method}: {}", topics.join(", ")),
        Outcome::Resumed { phone, .. } => {
            format!("{phone} allowed marketing again in WhatsApp; consent unchanged")
        }
        Outcome::UserSuppressed {
            user_id, signal, ..
        } => format!("suppressed user id {user_id}: {signal} naming only a user id no contact has"),
        Outcome::IdentityChanged {
            phone,
            what,
            topics_revoked,
        } => format!("{phone}: {what} recorded, {topics_revoked} topic(s) revoked"),
        Outcome::TemplateCategory {
            template,
            language,
            category,
            previous,
            impending,
        } => {
            let was = previous.map(|p| format!("{p} → ")).unwrap_or_default();
            if *impending {
                format!("template {template} ({language}) will be re-categorised {was}{category} (announced; not routed on yet)")
            } else {
                format!("template {template} ({language}) re-categorised {was}{category}")
            }
        }
        Outcome::TemplateStatus {
            template,
            language,
            status,
            campaigns,
            ..
        } => {
            let stops = if crate::platform::templates::blocks_sending(*status) {
                format!(
                    "; {} campaign(s) using it pause before their next send",
                    campaigns.len()
                )
            } else {
                String::new()
            };
            format!("template {template} ({language}) is {status} by Meta{stops}")
        }
        Outcome::TemplateQuality {
            template,
            language,
            quality,
            ..
        } => format!("template {template} ({language}) quality {quality}"),
        Outcome::Account {
            field,
            event,
            detail,
        } => {
            let d = detail
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default();
            format!("{field}: {event}{d}")
        }
        Outcome::Ignored { what } => format!("ignored: {what}"),
    };
    errln!("{line}");
    Ok(())
}

/// `bote consent invite PHONE --topic T`: the double opt-in confirmation
/// request, only to a pending consent, only once (the daemon decides).
pub fn invite(ctx: &Context, args: &InviteArgs) -> Result<Exit> {
    let (client, record) = super::block_on(async {
        let c = ctx.client().await?;
        let r: InviteRecord = c
            .call(
                &Request::Invite {
                    phone: args.phone.clone(),
                    topic: args.topic.clone(),
                    template: args.template.clone(),
                    language: args.language.clone(),
                },
                None,
            )
            .await?;
        anyhow::Ok((c, r))
    })?;
    if args.json {
        outln!("{}", serde_json::to_string(&record)?)?;
    } else {
        errln!("{}", client.hello.banner);
        let masked = Phone::parse(&args.phone, &ctx.config.consent.default_region)
            .map(|p| p.masked(4))
            .unwrap_or_else(|_| "the number".into());
        match record.state {
            InviteState::Unknown => errln!(
                "The invitation to {masked} for {:?} may or may not have been sent ({}); it will not be sent again.",
                args.topic,
                record.detail.as_deref().unwrap_or("no answer")
            ),
            _ => errln!(
                "Invited {masked} to confirm {:?} ({}). A reply such as {} confirms it.",
                args.topic,
                args.template,
                ctx.config.consent.confirm_keywords.join(" / ")
            ),
        }
    }
    Ok(match record.state {
        InviteState::Unknown => Exit::Partial,
        _ => Exit::Ok,
    })
}
