//! The workers: each takes a marked recipient from the queue, re-checks consent, sends and retries.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::feeder::refill_chunk;
use super::progress::{Progress, RecipientEvent};
use super::{Job, Outcome, Reply, RunState, Shared};
use crate::campaign::callback_data;
use crate::campaign::journal::{RecipientRecord, RecipientState};
use crate::consent::{ConsentStatus, StoreError};
use crate::phone::Phone;

/// Longest single back-off between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// One worker: takes jobs until the queue closes.
pub(super) async fn run(shared: std::sync::Arc<Shared>, out: mpsc::Sender<Outcome>) {
    loop {
        let job = {
            let mut queue = shared.queue.lock().await;
            let job = queue.recv().await;
            let batch = shared.config.batch_size.max(1);
            if queue.len() <= batch - refill_chunk(batch) {
                shared.drained.notify_one();
            }
            job
        };
        let Some(job) = job else { break };
        let (ack_tx, ack_rx) = oneshot::channel();
        let marked = job.record.clone();
        let mut outcome = process(&shared, job).await;
        outcome.marked = Some(marked);
        outcome.durable = Some(ack_tx);
        if out.send(outcome).await.is_err() {
            break;
        }
        // The next job only once this outcome is written: the feeder's flush
        // before its next batch then makes it durable (the unknown bound).
        let _ = ack_rx.await;
    }
}

fn outcome(index: u32, record: RecipientRecord) -> Outcome {
    Outcome {
        index,
        record,
        marked: None,
        revoke: false,
        stop: None,
        durable: None,
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
        return Ok(Some("erased since planning (suppressed)".into()));
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
    let Job { index, mut record } = job;
    let Some(phone) = record.phone else {
        return outcome(
            index,
            with_state(
                record,
                RecipientState::Skipped,
                Some("no valid number".into()),
            ),
        );
    };
    let callback = callback_data(shared.meta.id, index);
    let mut control = shared.control.subscribe();
    loop {
        if *control.borrow_and_update() != RunState::Running {
            return outcome(index, with_state(record, RecipientState::Pending, None));
        }
        shared.limiter.acquire().await;
        if *control.borrow_and_update() != RunState::Running {
            return outcome(index, with_state(record, RecipientState::Pending, None));
        }
        match consent_block(shared, phone) {
            Ok(None) => {}
            Ok(Some(reason)) => {
                return outcome(
                    index,
                    with_state(record, RecipientState::Skipped, Some(reason)),
                )
            }
            Err(e) => {
                return stop(
                    shared,
                    index,
                    record,
                    format!("store error before sending: {e}"),
                )
            }
        }
        record.attempts += 1;
        let t0 = Instant::now();
        let reply = shared
            .messenger
            .send(phone, &shared.meta.template, &record.params, &callback)
            .await;
        record.latency_ms = Some(u32::try_from(t0.elapsed().as_millis()).unwrap_or(u32::MAX));
        match reply {
            Reply::Accepted { wamid } => {
                record.wamid = Some(wamid);
                record.code = None;
                return outcome(index, with_state(record, RecipientState::Accepted, None));
            }
            Reply::Failed { code, revoke } => {
                record.code = Some(code);
                let reason =
                    revoke.then(|| "recipient stopped marketing messages (131050)".to_string());
                let mut o = outcome(index, with_state(record, RecipientState::Failed, reason));
                o.revoke = revoke;
                return o;
            }
            Reply::Unknown { reason } => {
                return outcome(
                    index,
                    with_state(record, RecipientState::Unknown, Some(reason)),
                );
            }
            Reply::Stop { code, message } => {
                record.code = Some(code);
                return stop(
                    shared,
                    index,
                    record,
                    format!("API error {code}: {message}"),
                );
            }
            Reply::Retry {
                code,
                after,
                throttle,
                pause_all,
            } => {
                record.code = Some(code);
                if record.attempts > shared.config.max_retries {
                    let reason = format!(
                        "gave up after {} attempts (last code {code})",
                        record.attempts
                    );
                    return outcome(
                        index,
                        with_state(record, RecipientState::Failed, Some(reason)),
                    );
                }
                let wait = backoff(after, record.attempts);
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
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = control.changed() => {}
                }
            }
        }
    }
}

/// A stop-class answer: the campaign pauses with the reason; this recipient
/// was not taken by the API, so it goes back to pending for the resume.
fn stop(shared: &Shared, index: u32, record: RecipientRecord, reason: String) -> Outcome {
    tracing::warn!(campaign = %shared.meta.id, %reason, "pausing campaign");
    shared.snapshot.update(|s| s.reason = Some(reason.clone()));
    shared.control.send_replace(RunState::Paused);
    let mut o = outcome(index, with_state(record, RecipientState::Pending, None));
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
