//! How many signed webhook events per second the receiver takes on
//! loopback. Plain `fn main` (harness = false): N concurrent reqwest
//! clients POST pre-signed status bodies (sent / delivered / read for real
//! journal records, a few STOP messages from unknown numbers); each run
//! stops after an event budget or a time budget, whichever comes first.
//! Two figures per run: *ingest* (200s per second: verified, parsed,
//! durably appended and flushed) and *end to end* (until the processor has
//! applied every event to the journal), and the store's flush rounds (each
//! request waits for one; concurrent requests share them). The median of
//! three runs is printed; every run uses a fresh temporary store.
//!
//! `cargo bench --bench webhook_throughput` (env `WEBHOOK_BENCH_EVENTS`,
//! `WEBHOOK_BENCH_CLIENTS` — one count or several, `16,64` —,
//! `WEBHOOK_BENCH_SECS` override the defaults: 30,000 events, 16 and 64
//! clients, 60 s per run at most).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bote::campaign::journal::{RecipientRecord, RecipientState};
use bote::campaign::{callback_data, CampaignId, CampaignMeta, CampaignState, Campaigns};
use bote::consent::Store;
use bote::phone::Phone;
use bote::sim::webhooks::{
    inbound_text_payload, status_payload, Metadata, StatusEvent, StatusKind,
};
use bote::template::{Catalog, Params};
use bote::webhook::{sign, Receiver, WebhookSecrets, SIGNATURE_HEADER};
use chrono::Utc;

const SECRET: &str = "bench-app-secret";
const RUNS: usize = 3;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn meta() -> Metadata {
    Metadata {
        waba_id: "WABA".into(),
        display_phone_number: "15550000000".into(),
        phone_number_id: "100000000000001".into(),
    }
}

fn phone(i: u64) -> Phone {
    Phone::from_e164(&format!("+49176{:08}", 10_000_000 + i)).unwrap_or_else(|| unreachable!())
}

/// A campaign of `n` accepted records with wamids `wamid.B<i>`.
fn seed(campaigns: &Campaigns, n: u64) -> CampaignId {
    let id = CampaignId(1);
    let template = Catalog::embedded()
        .and_then(|c| c.get("herbst_sale", None).cloned())
        .unwrap_or_else(|e| panic!("catalog: {e}"));
    let now = Utc::now();
    campaigns
        .save(&CampaignMeta {
            id,
            template,
            topic: "sale".into(),
            locale: None,
            list: None,
            mode: "sandbox".into(),
            created_at: now,
            created_by: "bench".into(),
            state: CampaignState::Sending,
            state_reason: None,
            audience: n,
            eligible: n,
            started_at: Some(now),
            finished_at: None,
            consent_epoch: None,
            settings: None,
            schedule: None,
            estimate: None,
        })
        .unwrap_or_else(|e| panic!("meta: {e}"));
    let journal = campaigns
        .journal(id)
        .unwrap_or_else(|e| panic!("journal: {e}"));
    let records: Vec<(u32, RecipientRecord)> = (0..n as u32)
        .map(|i| {
            (
                i,
                RecipientRecord {
                    phone: Some(phone(u64::from(i))),
                    params: Params::default(),
                    state: RecipientState::Accepted,
                    code: None,
                    reason: None,
                    wamid: Some(format!("wamid.B{i}")),
                    attempts: 1,
                    latency_ms: None,
                    updated_at: now,
                    actor: "bench".into(),
                    checked_at: None,
                    pricing: None,
                },
            )
        })
        .collect();
    for chunk in records.chunks(10_000) {
        journal
            .write(chunk)
            .unwrap_or_else(|e| panic!("records: {e}"));
    }
    id
}

/// `events` signed bodies: each record goes sent → delivered → read; every
/// 50th event is a STOP from a number not in the store.
fn bodies(events: u64, records: u64, c: CampaignId) -> Vec<(Vec<u8>, String)> {
    let t = Utc::now().timestamp();
    let kinds = [StatusKind::Sent, StatusKind::Delivered, StatusKind::Read];
    (0..events)
        .map(|e| {
            let v = if e % 50 == 49 {
                inbound_text_payload(
                    &meta(),
                    &phone(records + e).digits(),
                    &format!("wamid.IN{e}"),
                    "STOP",
                    t,
                )
            } else {
                let i = e % records;
                status_payload(
                    &meta(),
                    &StatusEvent {
                        wamid: format!("wamid.B{i}"),
                        status: kinds[((e / records) % 3) as usize],
                        recipient_id: phone(i).digits(),
                        timestamp: t + (e / records) as i64,
                        callback_data: Some(callback_data(c, i as u32)),
                        error_code: None,
                    },
                )
            };
            let body = serde_json::to_vec(&v).unwrap_or_default();
            let sig = sign(SECRET.as_bytes(), &body);
            (body, sig)
        })
        .collect()
}

struct Run {
    events: u64,
    errors: u64,
    ingest: Duration,
    end_to_end: Duration,
    rounds: u64,
}

async fn run_once(events: u64, clients: usize, budget: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tmp: {e}"));
    let store =
        Arc::new(Store::open(&dir.path().join("store")).unwrap_or_else(|e| panic!("store: {e}")));
    let campaigns = Campaigns::open(&store).unwrap_or_else(|e| panic!("campaigns: {e}"));
    let records = (events / 3).clamp(1, 20_000);
    let c = seed(&campaigns, records);
    let bodies = Arc::new(bodies(events, records, c));
    let rounds_before = store.durability().rounds();
    let handle = Receiver::new(
        Arc::clone(&store),
        campaigns,
        WebhookSecrets::new("verify", SECRET),
    )
    .start("127.0.0.1:0")
    .await
    .unwrap_or_else(|e| panic!("receiver: {e}"));
    let url = Arc::new(handle.url());
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (bodies, url, next, ok, errors) = (
                Arc::clone(&bodies),
                Arc::clone(&url),
                Arc::clone(&next),
                Arc::clone(&ok),
                Arc::clone(&errors),
            );
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                loop {
                    let i = next.fetch_add(1, Relaxed);
                    if i >= bodies.len() || started.elapsed() > budget {
                        break;
                    }
                    let (body, sig) = &bodies[i];
                    let r = http
                        .post(url.as_str())
                        .header("content-type", "application/json")
                        .header(SIGNATURE_HEADER, sig.as_str())
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => ok.fetch_add(1, Relaxed),
                        _ => errors.fetch_add(1, Relaxed),
                    };
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let ingest = started.elapsed();
    let drained = handle.drained(budget).await;
    let end_to_end = started.elapsed();
    if !drained {
        eprintln!("warning: the inbox did not drain within the time budget");
    }
    let processed = handle.stats().processed;
    let rounds = store.durability().rounds() - rounds_before;
    handle
        .shutdown()
        .await
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    Run {
        events: processed.min(ok.load(Relaxed)),
        errors: errors.load(Relaxed),
        ingest,
        end_to_end,
        rounds,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let events = env_or("WEBHOOK_BENCH_EVENTS", 30_000);
    let clients: Vec<usize> = std::env::var("WEBHOOK_BENCH_CLIENTS")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![16, 64]);
    let budget = Duration::from_secs(env_or("WEBHOOK_BENCH_SECS", 60));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    for clients in clients {
        let mut ingest = Vec::new();
        let mut e2e = Vec::new();
        for run in 1..=RUNS {
            let r = rt.block_on(run_once(events, clients, budget));
            let i = r.events as f64 / r.ingest.as_secs_f64();
            let e = r.events as f64 / r.end_to_end.as_secs_f64();
            println!(
                "{clients} clients, run {run}: {} events, {} errors, ingest {:.0}/s ({:.2} s), end to end {:.0}/s ({:.2} s), {} flush rounds ({:.1} events each)",
                r.events,
                r.errors,
                i,
                r.ingest.as_secs_f64(),
                e,
                r.end_to_end.as_secs_f64(),
                r.rounds,
                r.events as f64 / r.rounds.max(1) as f64
            );
            ingest.push(i);
            e2e.push(e);
        }
        println!(
            "webhook receiver, {clients} clients, {events} events: median ingest {:.0} events/s, median end to end {:.0} events/s",
            median(ingest),
            median(e2e)
        );
    }
}
