//! `bote campaign resend ID --deferred`: send again, in a new run, the
//! recipients Meta's per-user marketing cap (131049) deferred at least 24 h ago.

use anyhow::{bail, Result};
use clap::Args;

use super::{block_on, Context, Exit};
use crate::campaign::CampaignId;
use crate::engine::deferred::DeferredResend;
use crate::service::wire::Request;

/// `campaign resend` arguments.
#[derive(Debug, Clone, Args)]
pub struct ResendArgs {
    /// Campaign id.
    pub id: CampaignId,
    /// The recipients deferred by Meta's marketing cap (131049), once 24 h
    /// have passed since their deferral (required: the only kind so far).
    #[arg(long)]
    pub deferred: bool,
    /// JSON lines instead of a progress bar.
    #[arg(long)]
    pub json: bool,
    /// Return at once; the campaign sends in the daemon.
    #[arg(long)]
    pub detach: bool,
}

pub(super) fn resend(ctx: &Context, args: &ResendArgs) -> Result<Exit> {
    if !args.deferred {
        bail!("say what to send again: `--deferred` (recipients deferred by Meta's marketing cap, 131049)");
    }
    block_on(async {
        let client = ctx.client().await?;
        let done: DeferredResend = client
            .call(&Request::ResendDeferred { id: args.id }, None)
            .await?;
        if !args.json {
            let later = match done.next_due {
                Some(at) if done.waiting > 0 => format!(
                    "; {} more deferred less than 24 h ago, the first may go at {}",
                    done.waiting,
                    ctx.config.ui.minute(at)
                ),
                _ => String::new(),
            };
            errln!(
                "campaign {}: {} deferred recipient(s) sent again{later}",
                args.id,
                done.requeued
            );
        }
        if args.detach {
            outln!(
                "campaign {} sends in the daemon; follow it with `bote campaign watch {}`",
                args.id,
                args.id
            )?;
            return Ok(Exit::Ok);
        }
        super::send::watch(&client, args.id, args.json, &ctx.config.ui).await
    })
}
