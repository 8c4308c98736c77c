//! The single writer: group commits of outcomes, the consent side effects
//! of sends, and the events the views see.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc;

use super::progress::Progress;
use super::{worker, DispatchError, Outcome, Shared};
use crate::campaign::journal::RecipientState;
use crate::campaign::Settlement;
use crate::consent::{Revocation, StoreError};
use crate::phone::Phone;

/// Outcomes per group commit, at most.
const GROUP: usize = 512;
/// How often the writer flushes on its own.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// Accepted sends per send-index entry, at most.
const SEND_INDEX_ENTRY: usize = 1024;
/// Seconds of per-second history kept for the sparkline.
const HISTORY: usize = 120;

pub(super) async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::Receiver<Outcome>,
) -> Result<(), DispatchError> {
    let mut buf: Vec<Outcome> = Vec::with_capacity(GROUP);
    let mut sent = Vec::with_capacity(GROUP);
    let campaign = shared.meta.id.to_string();
    let mut second = Utc::now().timestamp();
    let mut this_second = 0u64;
    let mut last_flush = std::time::Instant::now();
    let mut unflushed = false;
    loop {
        match tokio::time::timeout(FLUSH_EVERY, rx.recv_many(&mut buf, GROUP)).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => {
                // Idle: sends held back for the next index entry must not
                // wait for outcomes that may not come (a feeder held at the
                // messaging tier waits for exactly these), and the last
                // outcomes of a quiet campaign become durable now.
                if !sent.is_empty() || unflushed {
                    index_sends(&shared, &mut sent, &campaign)?;
                    shared.journal.flush().await?;
                    last_flush = std::time::Instant::now();
                    unflushed = false;
                }
                continue;
            }
        }
        let mut settlements: Vec<Settlement<'_>> = buf
            .iter_mut()
            // Handed back untouched (a pause): the journal already holds it.
            .filter(|o| o.marked.is_some() || o.record.state != RecipientState::Pending)
            .map(|o| Settlement {
                index: o.index,
                marked: o.marked.as_ref(),
                outcome: &mut o.record,
            })
            .collect();
        shared.journal.settle(&mut settlements)?;
        drop(settlements);
        // Written back to pending first, announced second, released third:
        // a feeder that sees nothing outstanding sees where to look again.
        if let Some(back) = buf
            .iter()
            .filter(|o| o.record.state == RecipientState::Pending)
            .map(|o| o.index)
            .min()
        {
            shared.requeued.fetch_min(back, Ordering::AcqRel);
        }
        shared.release(buf.iter().map(|o| o.index));
        shared.settled.notify_one();
        let now = Utc::now();
        // Feeds the frequency cap (G15) and the tier count. One index entry
        // per flush interval rather than per group: each sled write costs
        // more than the phones it carries, and entries become durable with
        // the journal records they summarise.
        let before = sent.len();
        sent.extend(
            buf.iter()
                .filter(|o| o.record.state.is_delivered_path())
                .filter_map(|o| o.record.phone),
        );
        let without_send = (buf.len() - (sent.len() - before)) as u64;
        shared.indexed.fetch_add(without_send, Ordering::AcqRel);
        let flush_due = last_flush.elapsed() >= FLUSH_EVERY;
        if sent.len() >= SEND_INDEX_ENTRY || flush_due {
            index_sends(&shared, &mut sent, &campaign)?;
        }
        for o in &buf {
            let Some(phone) = o.record.phone else {
                continue;
            };
            if o.revoke {
                shared.store.revoke(
                    phone,
                    None,
                    &Revocation {
                        at: now,
                        actor: "dispatcher".into(),
                        origin: format!("send:131050:campaign {campaign}"),
                        reason: "the recipient stopped marketing messages (API error 131050)"
                            .into(),
                    },
                )?;
            }
        }
        // Durability comes from the workers' next marks (sled flushes are
        // global, and a worker marks its next recipient only after this
        // wrote its outcome): the in-flight bound holds without an fsync
        // per group.
        // A periodic flush, and one when idle, keep the tail of a quiet
        // campaign durable too.
        if flush_due {
            shared.journal.flush().await?;
            last_flush = std::time::Instant::now();
            unflushed = false;
        } else {
            unflushed = true;
        }
        let accepted = buf
            .iter()
            .filter(|o| o.record.state.is_delivered_path())
            .count() as u64;
        let now_s = now.timestamp();
        shared.snapshot.update(|s| {
            for o in &buf {
                // The worker counted its own marks; what it never wrote
                // was pending.
                let from = o
                    .marked
                    .as_ref()
                    .map_or(RecipientState::Pending, |m| m.state);
                s.counts.shift(Some(from), o.record.state);
            }
            if now_s != second {
                s.per_second.push(this_second);
                for _ in 1..(now_s - second).clamp(1, HISTORY as i64) {
                    s.per_second.push(0);
                }
                let excess = s.per_second.len().saturating_sub(HISTORY);
                s.per_second.drain(..excess);
                second = now_s;
                this_second = 0;
            }
            this_second += accepted;
        });
        for o in buf.iter_mut() {
            if let Some(ack) = o.durable.take() {
                let _ = ack.send(());
            }
            // Requeued recipients (pause, stop) are not news for the views.
            if o.record.state != RecipientState::Pending {
                let _ = shared
                    .events
                    .send(Progress::Recipient(worker::event(o.index, &o.record)));
            }
        }
        buf.clear();
    }
    index_sends(&shared, &mut sent, &campaign)?;
    shared.journal.flush().await?;
    Ok(())
}

/// Writes one send-index entry for `sent` and only then counts them as
/// indexed, so that the feeder never misses a send in both places.
fn index_sends(shared: &Shared, sent: &mut Vec<Phone>, campaign: &str) -> Result<(), StoreError> {
    if sent.is_empty() {
        return Ok(());
    }
    shared
        .store
        .record_sends(sent, Utc::now(), campaign, shared.meta.template.category)?;
    shared
        .indexed
        .fetch_add(sent.len() as u64, Ordering::AcqRel);
    sent.clear();
    Ok(())
}
