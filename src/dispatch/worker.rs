//! The workers: each takes a pending recipient from the queue, re-checks consent, marks it in flight right before the request, sends and retries.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::progress::{Progress, RecipientEvent};
use super::{Job, Outcome, Reply, RunState, Shared};
use crate::campaign::callback_data;
use crate::campaign::journal::{RecipientRecord, RecipientState};
use crate::consent::{ConsentStatus, StoreError};
use crate::phone::Phone;

/// Why a recipient is deferred (131049): what `campaign status` shows.
pub const DEFERRED_REASON: &str =
    "Meta's per-user marketing cap (131049): deferred, `campaign resend ID --deferred` after 24 h";

/// Longest single back-off between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// One worker: takes jobs until the queue closes or the pool shrinks.
pub(super) async fn run(shared: std::sync::Arc<Shared>, out: mpsc::Sender<Outcome>) {
    loop {
        if shared.pool.retire() {
            break;
        }
        let job = shared.queue.lock().await.recv().await;
        let Some(job) = job else { break };
        let (ack_tx, ack_rx) = oneshot::channel();
        let mut outcome = process(&shared, job).await;
        outcome.durable = Some(ack_tx);
        if out.send(outcome).await.is_err() {
            break;
        }
        // The next job only once this outcome is written: the flush of the
        // next mark then makes it durable too (one in flight per worker).
        let _ = ack_rx.await;
    }
}

/// A recipient on its way through a worker: the record and what the
/// journal holds for it (what the writer settles the outcome over).
struct Attempt {
    index: u32,
    record: RecipientRecord,
    /// The record as this worker last wrote it (`None`: untouched, still
    /// the pending record the feeder read).
    written: Option<RecipientRecord>,
}

impl Attempt {
    fn outcome(self, state: RecipientState, reason: Option<String>) -> Outcome {
        Outcome {
            index: self.index,
            record: with_state(self.record, state, reason),
            marked: self.written,
            revoke: false,
            stop: None,
            durable: None,
        }
    }

    /// Writes the record in `state`; with `durable`, waits for the flush.
    async fn write(
        &mut self,
        shared: &Shared,
        state: RecipientState,
        durable: bool,
    ) -> Result<(), StoreError> {
        let rec = RecipientRecord {
            state,
            updated_at: Utc::now(),
            actor: "dispatcher".into(),
            ..self.record.clone()
        };
        shared.journal.write(&[(self.index, rec.clone())])?;
        let before = self
            .written
            .as_ref()
            .map_or(RecipientState::Pending, |w| w.state);
        self.written = Some(rec);
        shared
            .snapshot
            .update(|s| s.counts.shift(Some(before), state));
        if durable {
            shared.journal.flush().await?;
        }
        Ok(())
    }
}

/// Why the consent no longer allows this send, if it does not (G2).
fn consent_block(shared: &Shared, phone: Phone) -> Result<Option<String>, StoreError> {
    // Nothing in the consent tree changed since the plan checked this very
    // consent: the re-check would read what the plan read.
    if shared.meta.consent_epoch == Some(shared.store.consent_epoch()) {
        return Ok(None);
    }
    if shared.store.suppressed_since(phone)?.is_some() {
        return Ok(Some(
            "suppressed since planning (erased or opted out)".into(),
        ));
    }
    let reason = match shared.store.contact(phone)? {
        None => Some("no consent in the store any more".into()),
        Some(c) => match c.topic(&shared.meta.topic).map(|t| t.status) {
            Some(ConsentStatus::Confirmed) => None,
            Some(ConsentStatus::Revoked) => Some("consent revoked since planning (G5)".into()),
            Some(ConsentStatus::Pending) => Some("consent no longer confirmed".into()),
            None => Some("consent no longer covers the topic".into()),
        },
    };
    Ok(reason)
}

/// Why the campaign may not go on, if Meta re-categorised its template as
/// MARKETING since it was planned: its audience was judged for another
/// category, and now needs marketing consent (a new plan).
fn recategorised(shared: &Shared) -> Option<String> {
    use crate::template::Category;
    let t = &shared.meta.template;
    let latest = shared.messenger.latest_category(t)?;
    (t.category != Category::Marketing && latest == Category::Marketing).then(|| {
        format!(
            "template {} ({}) was re-categorised {} → MARKETING by Meta: its audience now needs marketing consent; plan the campaign again",
            t.name, t.language, t.category
        )
    })
}

fn with_state(
    mut rec: RecipientRecord,
    state: RecipientState,
    reason: Option<String>,
) -> RecipientRecord {
    rec.state = state;
    rec.reason = reason;
    rec.updated_at = Utc::now();
    rec.actor = "dispatcher".into();
    rec
}

/// Exponential back-off with ±50 % jitter, at least what the API suggested.
fn backoff(suggested: Duration, attempt: u32) -> Duration {
    let exp = Duration::from_millis(250u64.saturating_mul(1 << attempt.min(12)));
    let base = suggested.max(exp).min(MAX_BACKOFF);
    base.mul_f64(rand::thread_rng().gen_range(0.5..1.5))
}

/// Sends one recipient, retrying what the API clearly did not take.
async fn process(shared: &Shared, job: Job) -> Outcome {
    let Job { index, record } = job;
    let mut attempt = Attempt {
        index,
        record,
        written: None,
    };
    let Some(phone) = attempt.record.phone else {
        return attempt.outcome(RecipientState::Skipped, Some("no valid number".into()));
    };
    let callback = callback_data(shared.meta.id, index);
    let mut control = shared.control.subscribe();
    loop {
        if *control.borrow_and_update() != RunState::Running {
            return attempt.outcome(RecipientState::Pending, None);
        }
        shared.limiter.pace().await;
        if *control.borrow_and_update() != RunState::Running {
            return attempt.outcome(RecipientState::Pending, None);
        }
        if let Some(reason) = recategorised(shared) {
            return stop(shared, attempt, reason);
        }
        // Meta paused or disabled the template (a webhook): stop before a
        // mark and a send that would only come back as 132015 / 132016.
        let t = &shared.meta.template;
        if let Some(reason) = shared.store.templates().blocked(&t.name, &t.language) {
            return stop(shared, attempt, reason);
        }
        match consent_block(shared, phone) {
            Ok(None) => {}
            Ok(Some(reason)) => return attempt.outcome(RecipientState::Skipped, Some(reason)),
            Err(e) => return halt(shared, attempt, format!("store error before sending: {e}")),
        }
        let t0 = Instant::now();
        // The durable mark that makes at-most-once possible, taken as late
        // as it can be: a crash from here on leaves this one unknown, and
        // everything not yet this far pending.
        attempt.record.code = None;
        attempt.record.reason = None;
        // The consent check just passed: the proof of this send names its time.
        attempt.record.checked_at = Some(Utc::now());
        if let Err(e) = attempt.write(shared, RecipientState::InFlight, true).await {
            return halt(
                shared,
                attempt,
                format!("cannot mark the recipient in flight: {e}"),
            );
        }
        shared.limiter.admit().await;
        // The gate, held until the answer: a PAUSED webhook processed
        // meanwhile waits for this send, and no send passes after it
        // (`platform::templates`).
        let pass = match shared.store.templates().pass(&t.name, &t.language) {
            Ok(p) => p,
            Err(reason) => return stop(shared, attempt, reason),
        };
        attempt.record.attempts += 1;
        let sent_at = Instant::now();
        let reply = shared
            .messenger
            .send(
                phone,
                &shared.meta.template,
                &attempt.record.params,
                &callback,
            )
            .await;
        drop(pass);
        attempt.record.latency_ms =
            Some(u32::try_from(sent_at.elapsed().as_millis()).unwrap_or(u32::MAX));
        shared.pool.observe(t0.elapsed());
        match reply {
            Reply::Accepted { wamid } => {
                attempt.record.wamid = Some(wamid);
                return attempt.outcome(RecipientState::Accepted, None);
            }
            Reply::Failed { code, revoke } => {
                attempt.record.code = Some(code);
                let reason =
                    revoke.then(|| "recipient stopped marketing messages (131050)".to_string());
                let mut o = attempt.outcome(RecipientState::Failed, reason);
                o.revoke = revoke;
                return o;
            }
            Reply::Unknown { reason } => {
                return attempt.outcome(RecipientState::Unknown, Some(reason));
            }
            Reply::Deferred { code } => {
                attempt.record.code = Some(code);
                let mut o = attempt.outcome(RecipientState::Deferred, Some(DEFERRED_REASON.into()));
                // The 24 h before a resend count from here, by the engine's clock.
                o.record.updated_at = shared.config.clock.now();
                return o;
            }
            Reply::Stop { code, message } => {
                attempt.record.code = Some(code);
                return stop(shared, attempt, format!("API error {code}: {message}"));
            }
            Reply::Retry {
                code,
                after,
                throttle,
                pause_all,
            } => {
                attempt.record.code = Some(code);
                if attempt.record.attempts > shared.config.max_retries {
                    let reason = format!(
                        "gave up after {} attempts (last code {code})",
                        attempt.record.attempts
                    );
                    return attempt.outcome(RecipientState::Failed, Some(reason));
                }
                let wait = backoff(after, attempt.record.attempts);
                // The API clearly did not take it: pending for the wait, so
                // that a crash meanwhile leaves it to be sent, not unknown.
                // Not flushed: lost, it is still in flight — the safe side.
                if let Err(e) = attempt.write(shared, RecipientState::Pending, false).await {
                    return halt(shared, attempt, format!("cannot write the journal: {e}"));
                }
                if throttle {
                    let current = shared.limiter.throttled(wait);
                    shared.snapshot.update(|s| s.rate = current);
                    let _ = shared.events.send(Progress::Rate {
                        current,
                        ceiling: shared.limiter.ceiling(),
                        reason: format!("throughput limit hit ({code}): slowing down"),
                    });
                } else if pause_all {
                    shared.limiter.pause_for(wait);
                }
                shared.pool.retrying(true);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = control.changed() => {}
                }
                shared.pool.retrying(false);
            }
        }
    }
}

/// A stop-class answer: the run ends, paused with the reason (a cancel
/// stays a cancel); this recipient was not taken by the API, so it goes
/// back to pending for the resume.
fn stop(shared: &Shared, attempt: Attempt, reason: String) -> Outcome {
    tracing::warn!(campaign = %shared.meta.id, %reason, "stopping the run, paused");
    shared.stop_with(&reason);
    let mut o = attempt.outcome(RecipientState::Pending, None);
    o.stop = Some(reason);
    o
}

/// The store failed under a worker: the run ends, paused with the reason.
fn halt(shared: &Shared, attempt: Attempt, reason: String) -> Outcome {
    shared.halt(&reason);
    let mut o = attempt.outcome(RecipientState::Pending, None);
    o.stop = Some(reason);
    o
}

/// The event for a recipient's new state.
pub(super) fn event(index: u32, rec: &RecipientRecord) -> RecipientEvent {
    RecipientEvent {
        index,
        phone: rec.phone.map(|p| p.masked(4)).unwrap_or_default(),
        state: rec.state,
        code: rec.code,
        reason: rec.reason.clone(),
        latency_ms: rec.latency_ms,
        attempts: rec.attempts,
        at: rec.updated_at,
    }
}
