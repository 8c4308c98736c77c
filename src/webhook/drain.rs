//! The processor task: drains the inbox in order, on start (what a crash
//! left) and whenever the receiver stored something or a deferred entry is
//! due; each entry's items go through the [`Processor`], and the entry
//! moves to the processed log with what they came to.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::inbox::{Inbox, InboxEntry, Processed};
use super::payload::Notification;
use super::process::{self, Item, Outcome, Processor, Step, ACTOR, DEFER_INTERVAL, MAX_DEFERRALS};
use super::server::{shape_error, Counters};
use crate::consent::StoreError;

/// Wait after a store error before an entry is tried again.
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// Processed entries moved to the processed log in one transaction.
const COMPLETE_GROUP: usize = 64;

/// Moves `finished` to the processed log and tells the views; whether it
/// could. On a store error they are processed again on the next pass
/// (processing is idempotent).
fn complete(
    inbox: &Inbox,
    finished: &mut Vec<(u64, Processed)>,
    notices: &broadcast::Sender<Outcome>,
    counters: &Counters,
) -> bool {
    let done: Vec<(u64, &Processed)> = finished.iter().map(|(id, p)| (*id, p)).collect();
    // Counted before the entries leave the inbox: whoever sees the inbox
    // idle (`drained`) then also sees them counted; taken back on failure.
    let n = done.len() as u64;
    counters.processed.fetch_add(n, Ordering::AcqRel);
    if let Err(e) = inbox.complete_all(&done) {
        counters.processed.fetch_sub(n, Ordering::AcqRel);
        tracing::error!(
            "{} webhook entries could not be marked processed: {e}",
            done.len()
        );
        finished.clear();
        return false;
    }
    for (_, record) in finished.drain(..) {
        for o in record.outcomes {
            let _ = notices.send(o);
        }
    }
    true
}

/// An entry being processed: its items and what each came to so far.
struct Work {
    received_at: chrono::DateTime<Utc>,
    items: Vec<Item>,
    results: Vec<Option<Outcome>>,
    attempts: u32,
    due: Instant,
}

impl Work {
    fn new(entry: Result<InboxEntry, String>) -> Self {
        let (received_at, parsed) = match entry {
            Ok(e) => (
                e.received_at,
                serde_json::from_str::<Notification>(&e.body).map_err(|err| shape_error(&err)),
            ),
            Err(err) => (Utc::now(), Err(err)),
        };
        let (items, results) = match parsed {
            Ok(n) => {
                let items = process::items(&n);
                let results = vec![None; items.len()];
                (items, results)
            }
            // Only a damaged store or a format change gets here: record it
            // rather than block the inbox forever.
            Err(err) => {
                tracing::error!("unreadable webhook inbox entry: {err}");
                (
                    Vec::new(),
                    vec![Some(Outcome::Ignored {
                        what: format!("unreadable inbox entry: {err}"),
                    })],
                )
            }
        };
        Self {
            received_at,
            items,
            results,
            attempts: 0,
            due: Instant::now(),
        }
    }

    /// One pass over the items not yet done; whether all are done now.
    fn run(&mut self, processor: &Processor, id: u64) -> Result<bool, StoreError> {
        self.attempts += 1;
        let force = self.attempts > MAX_DEFERRALS;
        let mut complete = true;
        for (item, result) in self.items.iter().zip(self.results.iter_mut()) {
            if result.is_some() {
                continue;
            }
            match processor.item(item, force, self.received_at, id)? {
                Step::Done(o) => *result = Some(o),
                Step::Defer => complete = false,
            }
        }
        Ok(complete)
    }
}

/// Drains the inbox in order, forever: on start (what a crash left) and
/// whenever the appender stored something or a deferred entry is due.
pub(super) async fn process_loop(
    processor: Processor,
    inbox: Inbox,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    notices: broadcast::Sender<Outcome>,
    counters: Arc<Counters>,
) {
    let mut work: HashMap<u64, Work> = HashMap::new();
    loop {
        let mut next_due: Option<Instant> = None;
        let mut completed = 0usize;
        let mut finished: Vec<(u64, Processed)> = Vec::with_capacity(COMPLETE_GROUP);
        for r in inbox.iter_pending() {
            // What is processed so far is still moved below.
            if cancel.is_cancelled() {
                break;
            }
            let (id, entry) = match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::error!("webhook inbox read failed: {e}");
                    next_due = Some(Instant::now() + ERROR_BACKOFF);
                    break;
                }
            };
            let now = Instant::now();
            let w = work.entry(id).or_insert_with(|| Work::new(entry));
            if w.due > now {
                next_due = Some(next_due.map_or(w.due, |d| d.min(w.due)));
                continue;
            }
            let done = match w.run(&processor, id) {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!("webhook entry {id} failed, will retry: {e}");
                    w.due = now + ERROR_BACKOFF;
                    false
                }
            };
            if !done {
                if w.due <= now {
                    w.due = now + DEFER_INTERVAL;
                }
                next_due = Some(next_due.map_or(w.due, |d| d.min(w.due)));
                continue;
            }
            let Some(w) = work.remove(&id) else { continue };
            finished.push((
                id,
                Processed {
                    received_at: w.received_at,
                    processed_at: Utc::now(),
                    actor: ACTOR.into(),
                    attempts: w.attempts,
                    outcomes: w.results.into_iter().flatten().collect(),
                },
            ));
            if finished.len() == COMPLETE_GROUP {
                if !complete(&inbox, &mut finished, &notices, &counters) {
                    next_due = Some(Instant::now() + ERROR_BACKOFF);
                    break;
                }
                completed += COMPLETE_GROUP;
                tokio::task::yield_now().await;
            }
        }
        let rest = finished.len();
        if rest > 0 {
            if complete(&inbox, &mut finished, &notices, &counters) {
                completed += rest;
            } else {
                next_due = Some(Instant::now() + ERROR_BACKOFF);
            }
        }
        if completed > 0 {
            if let Err(e) = inbox.flush().await {
                tracing::error!("webhook results flush failed: {e}");
            }
        }
        let sleep = next_due.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep_until(sleep) => {}
        }
    }
}
