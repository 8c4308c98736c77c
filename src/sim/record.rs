//! What the simulator saw: every accepted message and a few counters.
//!
//! Tests assert invariants against this record (at most once per recipient
//! and callback data, the rate ceiling), so it must be exact, yet cheap at
//! tens of thousands of requests per second: counters are atomics and the
//! message list and duplicate index are sharded mutexes held for a push.
//! The optional JSONL file is written by a background task fed by a channel.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SHARDS: usize = 16;
const CHUNK: usize = 4096;

/// Codes the simulator answers with; counted without a lock.
const CODES: [i64; 20] = [
    100, 190, 130429, 131000, 131009, 131026, 131042, 131047, 131049, 131050, 131051, 131055,
    131056, 131057, 132000, 132001, 132012, 132015, 132016, 132018,
];

/// One message the simulator accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedMessage {
    /// Order of acceptance, from 0.
    pub seq: u64,
    /// The id returned (or that would have been, if the response was lost).
    pub wamid: String,
    /// Recipient digits.
    pub to: String,
    /// Template name.
    pub template: String,
    /// Template language.
    pub language: String,
    /// The text parameters, in request order.
    pub params: Vec<String>,
    /// `biz_opaque_callback_data`, if any.
    pub callback_data: Option<String>,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    /// Whether the response was deliberately lost.
    pub response_dropped: bool,
    /// The endpoint the send arrived at: `messages` or `marketing_messages`.
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
}

fn default_endpoint() -> String {
    "messages".into()
}

/// Counters of a running simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SimStats {
    /// Send requests received (valid or not).
    pub requests: u64,
    /// Sends accepted and recorded (including those whose response was lost).
    pub accepted: u64,
    /// Accepted sends whose response was deliberately lost.
    pub responses_dropped: u64,
    /// Rejections by Graph error code.
    pub rejected: BTreeMap<i64, u64>,
    /// Accepted sends repeating an earlier (recipient, callback data).
    pub duplicates: u64,
    /// Most sends accepted within any sliding one-second window.
    pub max_accepted_per_second: u64,
    /// Most sends admitted for one number in one fixed one-second window.
    pub max_admitted_per_window: u64,
    /// Webhook POSTs answered 2xx.
    pub webhooks_delivered: u64,
    /// Webhook POSTs that failed after retries.
    pub webhooks_failed: u64,
}

impl SimStats {
    /// How often `code` was answered.
    pub fn rejected(&self, code: i64) -> u64 {
        self.rejected.get(&code).copied().unwrap_or(0)
    }
}

/// (recipient, callback data): what "the same message" means.
type SendKey = (String, Option<String>);

/// The record: accepted messages, duplicates, counters, optional JSONL.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) requests: AtomicU64,
    seq: AtomicU64,
    dropped: AtomicU64,
    duplicates: AtomicU64,
    known_codes: [AtomicU64; CODES.len()],
    other_codes: Mutex<BTreeMap<i64, u64>>,
    /// Per shard, chunks of at most `CHUNK` (no large reallocations).
    messages: Vec<Mutex<Vec<Vec<AcceptedMessage>>>>,
    seen: Vec<Mutex<HashSet<SendKey>>>,
    jsonl: Option<mpsc::UnboundedSender<String>>,
}

impl Recorder {
    pub(crate) fn new(jsonl: Option<mpsc::UnboundedSender<String>>) -> Self {
        Self {
            requests: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            known_codes: Default::default(),
            other_codes: Mutex::new(BTreeMap::new()),
            messages: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
            seen: (0..SHARDS).map(|_| Mutex::new(HashSet::new())).collect(),
            jsonl,
        }
    }

    /// The next acceptance number (also feeds the wamid).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Relaxed)
    }

    pub(crate) fn reject(&self, code: i64) {
        match CODES.iter().position(|c| *c == code) {
            Some(i) => {
                self.known_codes[i].fetch_add(1, Relaxed);
            }
            None => {
                if let Ok(mut m) = self.other_codes.lock() {
                    *m.entry(code).or_default() += 1;
                }
            }
        }
    }

    pub(crate) fn accept(&self, message: AcceptedMessage) {
        if message.response_dropped {
            self.dropped.fetch_add(1, Relaxed);
        }
        let key = (message.to.clone(), message.callback_data.clone());
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        if let Some(Ok(mut seen)) = self
            .seen
            .get(h.finish() as usize % SHARDS)
            .map(|s| s.lock())
        {
            if !seen.insert(key) {
                self.duplicates.fetch_add(1, Relaxed);
            }
        }
        if let Some(tx) = &self.jsonl {
            if let Ok(line) = serde_json::to_string(&message) {
                let _ = tx.send(line);
            }
        }
        let shard = message.seq as usize % SHARDS;
        if let Some(Ok(mut chunks)) = self.messages.get(shard).map(|s| s.lock()) {
            match chunks.last_mut() {
                Some(chunk) if chunk.len() < CHUNK => chunk.push(message),
                _ => {
                    let mut chunk = Vec::with_capacity(CHUNK);
                    chunk.push(message);
                    chunks.push(chunk);
                }
            }
        }
    }

    /// Every accepted message, in acceptance order.
    pub(crate) fn messages(&self) -> Vec<AcceptedMessage> {
        let mut all: Vec<AcceptedMessage> = self
            .messages
            .iter()
            .filter_map(|s| s.lock().ok().map(|c| c.concat()))
            .flatten()
            .collect();
        all.sort_by_key(|m| m.seq);
        all
    }

    pub(crate) fn stats(&self) -> SimStats {
        let mut rejected: BTreeMap<i64, u64> = self
            .other_codes
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        for (code, n) in CODES.iter().zip(&self.known_codes) {
            let n = n.load(Relaxed);
            if n > 0 {
                rejected.insert(*code, n);
            }
        }
        let mut times: Vec<u64> = self
            .messages
            .iter()
            .filter_map(|s| {
                let chunks = s.lock().ok()?;
                Some(chunks.iter().flatten().map(|m| m.at_ms).collect::<Vec<_>>())
            })
            .flatten()
            .collect();
        times.sort_unstable();
        SimStats {
            requests: self.requests.load(Relaxed),
            accepted: times.len() as u64,
            responses_dropped: self.dropped.load(Relaxed),
            rejected,
            duplicates: self.duplicates.load(Relaxed),
            max_accepted_per_second: max_in_sliding_second(&times),
            ..SimStats::default()
        }
    }
}

/// The most timestamps (ms, sorted) within any window of 1000 ms.
fn max_in_sliding_second(sorted_ms: &[u64]) -> u64 {
    let mut best = 0;
    let mut start = 0;
    for (end, t) in sorted_ms.iter().enumerate() {
        while sorted_ms.get(start).is_some_and(|s| *t - *s >= 1000) {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best as u64
}

/// Opens the JSONL record for appending.
pub(crate) async fn open_jsonl(path: &Path) -> std::io::Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
}

/// Appends lines from `rx` to `file` until `stop`, then drains and flushes.
pub(crate) async fn write_jsonl(
    file: tokio::fs::File,
    mut rx: mpsc::UnboundedReceiver<String>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let mut out = tokio::io::BufWriter::new(file);
    loop {
        let line = tokio::select! {
            line = rx.recv() => line,
            _ = stop.cancelled() => None,
        };
        let Some(line) = line else { break };
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        if rx.is_empty() {
            out.flush().await?;
        }
    }
    while let Ok(line) = rx.try_recv() {
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
    }
    out.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64, to: &str, cb: Option<&str>, at_ms: u64) -> AcceptedMessage {
        AcceptedMessage {
            seq,
            wamid: format!("wamid.{seq}"),
            to: to.into(),
            template: "t".into(),
            language: "de".into(),
            params: vec![],
            endpoint: "messages".into(),
            callback_data: cb.map(str::to_string),
            at_ms,
            response_dropped: false,
        }
    }

    #[test]
    fn duplicates_rejections_and_order() {
        let r = Recorder::new(None);
        r.accept(msg(1, "49", Some("c=1;r=1"), 10));
        r.accept(msg(0, "49", Some("c=1;r=2"), 5));
        r.accept(msg(2, "49", Some("c=1;r=1"), 20));
        r.reject(130429);
        r.reject(130429);
        r.reject(424242);
        let s = r.stats();
        assert_eq!((s.accepted, s.duplicates), (3, 1));
        assert_eq!((s.rejected(130429), s.rejected(424242)), (2, 1));
        let seqs: Vec<u64> = r.messages().iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
    }

    #[test]
    fn sliding_window_maximum() {
        assert_eq!(max_in_sliding_second(&[]), 0);
        assert_eq!(max_in_sliding_second(&[0, 500, 999, 1000, 1999]), 3);
        assert_eq!(max_in_sliding_second(&[900, 1100, 1200, 2500]), 3);
    }
}
