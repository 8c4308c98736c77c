//! The feeder: reads pending recipients, claims them and feeds them to the workers' queue, holding for quiet hours and the tier.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::progress::Progress;
use super::{hold, DispatchError, Job, RunState, Shared};
use crate::audience::{capacity, TIER_WINDOW};
use crate::consent::StoreError;

/// How soon the feeder looks at the tier again while this run's own sends
/// are still on their way into the send index.
const TIER_RECHECK: Duration = Duration::from_millis(100);
/// How soon the feeder looks again while the last recipients are out, if
/// no settlement wakes it first.
const SETTLE_RECHECK: Duration = Duration::from_millis(50);

/// Feeds pending recipients to the workers until none are left, the
/// campaign is cancelled or detached. Holds for quiet hours and the tier.
pub(super) async fn feed(shared: &Shared, tx: &mpsc::Sender<Job>) -> Result<(), DispatchError> {
    let mut control = shared.control.subscribe();
    let mut cursor = 0u32;
    // Recipients this run fed to the workers; those the send index does
    // not account for yet count against the tier as if sent.
    let mut marked = 0u64;
    let mut tier_left = tier_window(shared, shared.config.clock.now(), 0)?.left;
    let mut held_until: Option<(DateTime<Utc>, String)> = None;
    let mut was_paused = false;
    loop {
        let state = *control.borrow_and_update();
        match state {
            RunState::Running => {
                if was_paused {
                    was_paused = false;
                    // Workers put the recipients they held back to pending.
                    cursor = 0;
                    shared.snapshot.update(|s| {
                        s.reason = None;
                        s.state = Some(crate::campaign::CampaignState::Sending);
                    });
                    let _ = shared.events.send(Progress::Resumed);
                }
            }
            RunState::Paused => {
                if !was_paused {
                    was_paused = true;
                    let reason = shared
                        .snapshot
                        .get()
                        .reason
                        .unwrap_or_else(|| super::OPERATOR_PAUSE.into());
                    shared.snapshot.update(|s| {
                        s.reason = Some(reason.clone());
                        s.state = Some(crate::campaign::CampaignState::Paused);
                    });
                    let _ = shared.events.send(Progress::Paused { reason });
                }
                if control.changed().await.is_err() {
                    return Ok(());
                }
                continue;
            }
            RunState::Detached | RunState::Cancelled => return Ok(()),
        }
        if tier_left == 0 {
            let now = shared.config.clock.now();
            // Read before the index: the writer adds to the index first and
            // to `indexed` second, so a send is counted at least once.
            let unindexed = marked.saturating_sub(shared.indexed.load(Ordering::Acquire));
            let tier = tier_window(shared, now, unindexed)?;
            tier_left = tier.left;
            if tier_left == 0 && unindexed > 0 {
                // Some of this run's sends are still on their way into the
                // index, or may yet fail: look again shortly rather than
                // hold for hours on a count that is about to change.
                tokio::select! {
                    _ = tokio::time::sleep(TIER_RECHECK) => {}
                    r = control.changed() => if r.is_err() { return Ok(()) },
                }
                continue;
            }
            if tier_left == 0 {
                if !wait_held(
                    shared,
                    &mut control,
                    tier.frees_at,
                    "messaging tier reached",
                )
                .await
                {
                    return Ok(());
                }
                continue;
            }
        }
        let want = refill_chunk(shared.config.batch_size)
            .min(usize::try_from(tier_left).unwrap_or(usize::MAX))
            .max(1);
        let batch = shared.journal.pending_from(cursor, want)?;
        if batch.is_empty() && held_until.is_none() {
            // Recipients put back behind the cursor (a stop-class answer, a
            // pause racing a resume) must not be forgotten; the writer says
            // where the first of them is.
            // Recipients still in workers' hands may yet come back pending
            // (a pause, a stop): the feeding is over only once none is out.
            // Looked at before `requeued`: the writer announces where they
            // are before it releases them.
            if shared.outstanding() > 0 {
                tokio::select! {
                    _ = shared.settled.notified() => {}
                    _ = tokio::time::sleep(SETTLE_RECHECK) => {}
                    r = control.changed() => if r.is_err() { return Ok(()) },
                }
                continue;
            }
            let back = shared.requeued.swap(u32::MAX, Ordering::AcqRel);
            if back != u32::MAX {
                cursor = cursor.min(back);
                continue;
            }
        }
        if batch.is_empty() {
            match held_until.take() {
                Some((until, reason)) => {
                    cursor = 0;
                    if !wait_held(shared, &mut control, until, &reason).await {
                        return Ok(());
                    }
                    continue;
                }
                None => return Ok(()),
            }
        }
        let now = shared.config.clock.now();
        let mut jobs = Vec::with_capacity(batch.len());
        {
            let mut claimed = shared.claimed.lock().unwrap_or_else(|p| p.into_inner());
            for (index, rec) in batch {
                cursor = index + 1;
                // Fed before and not settled yet (queued, in a worker's hands,
                // waiting to retry): pending in the journal, but not to feed.
                if claimed.contains(&index) {
                    continue;
                }
                if let (Some(q), Some(phone)) = (&shared.config.quiet_hours, rec.phone) {
                    if let Some(until) = hold::quiet_until(q, phone, now) {
                        let earliest = held_until.as_ref().map_or(until, |(u, _)| (*u).min(until));
                        held_until = Some((
                            earliest,
                            format!("quiet hours {q} (recipients' local time)"),
                        ));
                        continue;
                    }
                }
                claimed.insert(index);
                jobs.push(Job { index, record: rec });
            }
            // The claims' lock is let go before any await.
        }
        if jobs.is_empty() {
            continue;
        }
        tier_left = tier_left.saturating_sub(jobs.len() as u64);
        marked += jobs.len() as u64;
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            // A slot first, the job second: a send cancelled by the
            // select would drop the job, and with it the claim's release.
            let sent = tokio::select! {
                r = tx.reserve() => match r {
                    Ok(slot) => {
                        if let Some(job) = jobs.next() {
                            slot.send(job);
                        }
                        true
                    }
                    Err(_) => false,
                },
                // Paused, detached, cancelled or halted while the queue is
                // full: never wait on workers that may be gone.
                r = control.changed() => {
                    if r.is_err() {
                        return Ok(());
                    }
                    false
                }
            };
            if !sent {
                break;
            }
        }
        // Not handed out: still pending, no longer claimed, and not sent
        // (so not counted against the tier).
        let left: Vec<u32> = jobs.map(|j| j.index).collect();
        if !left.is_empty() {
            marked = marked.saturating_sub(left.len() as u64);
            tier_left = tier_left.saturating_add(left.len() as u64);
            cursor = cursor.min(left[0]);
            shared.release(left);
        }
    }
}

/// Recipients read per journal scan: half the read-ahead, so that the queue
/// is topped up while the workers still have work.
pub(super) fn refill_chunk(batch: usize) -> usize {
    batch.max(1).div_ceil(2)
}

/// Waits until `until` (or a control change); false when the run should end.
async fn wait_held(
    shared: &Shared,
    control: &mut tokio::sync::watch::Receiver<RunState>,
    until: DateTime<Utc>,
    reason: &str,
) -> bool {
    shared.snapshot.update(|s| {
        s.state = Some(crate::campaign::CampaignState::Held);
        s.reason = Some(reason.to_string());
    });
    let _ = shared.events.send(Progress::Held {
        reason: reason.into(),
        until,
    });
    // Look at the clock again at least every quarter second: the engine's
    // clock may be moved by hand (tests) or jump (a suspended machine),
    // and the hold ends by it, not by how long this task slept.
    while let Ok(left) = (until - shared.config.clock.now()).to_std() {
        if left.is_zero() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(left.min(std::time::Duration::from_millis(250))) => {}
            r = control.changed() => {
                if r.is_err() {
                    return false;
                }
                break;
            }
        }
    }
    shared.snapshot.update(|s| {
        s.state = Some(crate::campaign::CampaignState::Sending);
        s.reason = None;
    });
    !matches!(*control.borrow(), RunState::Detached | RunState::Cancelled)
}

/// The messaging tier as the feeder sees it.
struct TierWindow {
    /// Recipients that may still be reached.
    left: u64,
    /// When the next recipient leaves the 24-hour window.
    frees_at: DateTime<Utc>,
}

/// The tier less the unique recipients of the last 24 h in the send index
/// and `unindexed` sends of this run not in it yet: one scan of the window.
fn tier_window(
    shared: &Shared,
    now: DateTime<Utc>,
    unindexed: u64,
) -> Result<TierWindow, StoreError> {
    let (left, recent) = capacity(&shared.store, shared.config.tier, unindexed, now)?;
    Ok(TierWindow {
        left,
        frees_at: recent
            .first()
            .map_or(now + chrono::Duration::minutes(1), |t| *t + TIER_WINDOW),
    })
}
