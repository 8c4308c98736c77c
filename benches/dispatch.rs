//! Dispatcher benchmarks (issue #5), against `bote sim` in a separate
//! process on 127.0.0.1 so that bote's CPU time is bote's alone.
//!
//! (a) rate accuracy at 80 and 1000 mps with 20 ms API latency;
//! (b) unthrottled throughput and CPU time per 1,000 sends, against a
//!     minimal raw reqwest loop measured in the same run;
//! (c) RSS while sending many recipients (1M by default);
//! (d) journal write amplification (bytes written per send).
//!
//! `cargo bench --bench dispatch` (release). `BOTE_BENCH_BIG` sets the
//! recipient count of (c)/(d) (default 1,000,000), `BOTE_BENCH_ONLY` picks
//! one part (`rate`, `cpu`, `big`), `BOTE_BENCH_ROUNDS` the rounds of (b)
//! (default 5), `BOTE_BENCH_BATCH` overrides the
//! in-flight budget (default: bote's, from the rate). Every loop is bounded by count; the
//! simulator process is killed at the end.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bote::audience::PlanRequest;
use bote::campaign::Campaigns;
use bote::cloud::{ApiToken, Client};
use bote::config::{ApiConfig, Config, SendConfig};
use bote::consent::{ConsentStatus, Contact, Store, TopicConsent};
use bote::dispatch::{self, EngineConfig};
use bote::phone::Phone;
use bote::template::Catalog;

// The allocator of the `bote` binary, so the engine is measured as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOKEN: &str = "bench-token";

struct SimProcess {
    child: Child,
    base_url: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(mps: u32, latency_ms: u64, record: Option<&std::path::Path>) -> SimProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bote"));
    cmd.args(["sim", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .args([
            "--mps",
            &mps.to_string(),
            "--latency-ms",
            &latency_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(r) = record {
        cmd.arg("--record").arg(r);
    }
    let mut child = cmd.spawn().expect("start bote sim");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let base_url = loop {
        let line = lines.next().expect("sim exited").expect("sim output");
        if let Some(i) = line.find("http://127.0.0.1:") {
            break line[i..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    SimProcess { child, base_url }
}

/// utime + stime of this process, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn proc_field(file: &str, key: &str) -> u64 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rss_mb() -> f64 {
    proc_field("/proc/self/status", "VmRSS:") as f64 / 1024.0
}

fn phone(i: usize) -> Phone {
    Phone::from_e164(&format!("+49151{:08}", 10_000_000 + i)).expect("valid")
}

/// A store with `n` confirmed `sale` consents, written directly.
fn store_with(dir: &std::path::Path, n: usize) -> Store {
    let store = Store::open(&dir.join("store")).expect("store");
    let t0 = chrono::DateTime::from_timestamp(1_772_000_000, 0).expect("time");
    let mut batch = bote::consent::store::Batch::default();
    for i in 0..n {
        let c = Contact {
            phone: phone(i),
            locale: Some("de".into()),
            attributes: BTreeMap::from([("first_name".to_string(), format!("Kunde{i}"))]),
            profile_at: t0,
            topics: BTreeMap::from([(
                "sale".to_string(),
                TopicConsent {
                    status: ConsentStatus::Confirmed,
                    opted_in_at: t0,
                    source: "bench".into(),
                    confirmed_at: Some(t0),
                    method: Some(bote::consent::ConfirmationMethod::Link),
                    text_version: None,
                    revoked_at: None,
                    revoked_by: None,
                },
            )]),
        };
        store.stage_contact(&mut batch, &c).expect("stage");
        if batch.len() == 10_000 {
            store.commit(std::mem::take(&mut batch)).expect("commit");
        }
    }
    store.commit(batch).expect("commit");
    store
}

fn engine_config(rate: u32, workers: usize) -> EngineConfig {
    EngineConfig {
        rate,
        workers,
        auto_workers: false,
        max_retries: 5,
        // What an operator gets by default (`send.batch_size` unset), unless
        // BOTE_BENCH_BATCH says otherwise.
        batch_size: std::env::var("BOTE_BENCH_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                SendConfig {
                    rate,
                    ..SendConfig::default()
                }
                .batch()
            }),
        quiet_hours: None,
        tier: u64::MAX,
        actor: "bench".into(),
        clock: bote::clock::Clock::System,
    }
}

fn client(base_url: &str) -> Client {
    let api = ApiConfig {
        base_url: base_url.into(),
        phone_number_id: "1234567890".into(),
        waba_id: "9876543210".into(),
        ..ApiConfig::default()
    };
    let send = SendConfig {
        timeout_ms: 10_000,
        ..SendConfig::default()
    };
    Client::new(&api, &send, ApiToken::new(TOKEN).expect("token")).expect("client")
}

/// Plans and sends `n` recipients; returns (wall seconds, cpu seconds, accepted).
fn send_campaign(
    rt: &tokio::runtime::Runtime,
    store: Arc<Store>,
    base_url: &str,
    cfg: EngineConfig,
    on_tick: &mut dyn FnMut(),
    report_rss: bool,
) -> (f64, f64, u64) {
    let catalog = Catalog::embedded().expect("catalog");
    let mut config = Config::default();
    config.api.messaging_tier = u64::MAX;
    let req = PlanRequest {
        template: "herbst_sale".into(),
        topic: "sale".into(),
        ..PlanRequest::default()
    };
    let plan =
        bote::audience::plan(&store, &config, &catalog, &req, chrono::Utc::now()).expect("plan");
    let rss_planned = rss_mb();
    let campaigns = Campaigns::open(&store).expect("campaigns");
    let meta = campaigns
        .create(&plan, "bench", "bench", chrono::Utc::now())
        .expect("create");
    drop(plan);
    if report_rss {
        println!(
            "big: RSS after the plan {rss_planned:.0} MB, after the journal is written and the plan dropped {:.0} MB",
            rss_mb()
        );
    }
    let messenger = Arc::new(client(base_url));
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let accepted = rt.block_on(async {
        let handle =
            dispatch::start(store.clone(), &campaigns, meta.id, messenger, cfg).expect("start");
        let snapshot = handle.snapshot();
        let mut done = Box::pin(handle.wait());
        loop {
            tokio::select! {
                r = &mut done => { r.expect("run"); break; }
                _ = tokio::time::sleep(Duration::from_millis(250)) => on_tick(),
            }
        }
        snapshot.get().counts.accepted
    });
    (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0, accepted)
}

fn sim_stats(rt: &tokio::runtime::Runtime, base_url: &str) -> serde_json::Value {
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{base_url}/_sim/stats"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    })
}

fn rate_accuracy(rt: &tokio::runtime::Runtime, rate: u32) {
    let dir = tempfile::tempdir().expect("tmp");
    let n = rate as usize * 10;
    let store = Arc::new(store_with(dir.path(), n));
    let record = dir.path().join("sim.jsonl");
    let sim = start_sim(rate, 20, Some(&record));
    // `concurrency = "auto"`, as an operator gets it by default.
    let mut config = Config::default();
    config.send.rate = rate;
    let workers = EngineConfig::from_config(&config, "bench").workers;
    let (wall, _, accepted) = send_campaign(
        rt,
        store,
        &sim.base_url,
        engine_config(rate, workers),
        &mut || {},
        false,
    );
    let stats = sim_stats(rt, &sim.base_url);
    drop(sim);
    // Achieved rate from the sim's own acceptance times (first to last).
    let times: Vec<u64> = std::fs::read_to_string(&record)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["at_ms"].as_u64())
        .collect();
    let mut times = times;
    times.sort_unstable();
    let span = times
        .last()
        .zip(times.first())
        .map_or(1, |(a, b)| (a - b).max(1));
    let achieved = (times.len().saturating_sub(1)) as f64 / (span as f64 / 1000.0);
    // Most acceptances within any window [t, t + 1000 ms) at the simulator.
    let mut max_window = 0;
    let mut max_at = 0;
    let mut j = 0;
    for i in 0..times.len() {
        while times[i] - times[j] >= 1000 {
            j += 1;
        }
        if i - j + 1 > max_window {
            (max_window, max_at) = (i - j + 1, times[j] - times[0]);
        }
    }
    println!("rate {rate:>4} mps: the fullest 1-s window starts {max_at} ms in");
    // Where time went missing: the longest pauses between acceptances.
    let mut gaps: Vec<(u64, u64)> = times
        .windows(2)
        .map(|w| (w[1] - w[0], w[0] - times[0]))
        .collect();
    gaps.sort_unstable_by(|a, b| b.cmp(a));
    gaps.truncate(5);
    println!("rate {rate:>4} mps: longest gaps (ms, at ms): {gaps:?}");
    println!(
        "rate {rate:>4} mps, {workers} workers: {accepted} sent in {wall:.2} s; achieved {achieved:.1}/s = {:.2} % \
         of configured; max in any 1-s window at the sim {max_window}; 130429 answers {}",
        achieved / f64::from(rate) * 100.0,
        stats["rejected"]["130429"].as_u64().unwrap_or(0),
    );
}

fn raw_loop(rt: &tokio::runtime::Runtime, base_url: &str, n: usize, workers: usize) -> (f64, f64) {
    // The same request bote sends, built once: the baseline does only HTTP.
    let catalog = Catalog::embedded().expect("catalog");
    let template = catalog.get("herbst_sale", None).expect("template");
    let params = bote::template::Params(vec!["Kunde".into(), "HERBST20".into()]);
    let body = serde_json::to_value(
        bote::cloud::types::SendRequest::template_message(
            String::new(),
            template,
            &params,
            "c=0;r=0",
        )
        .expect("components"),
    )
    .expect("body");
    let url = format!("{base_url}/v25.0/1234567890/messages");
    let client = reqwest::Client::new();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (client, url, body, next) =
                (client.clone(), url.clone(), body.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let mut b = body.clone();
                    b["to"] = serde_json::Value::String(format!("49151{:08}", 20_000_000 + i));
                    let r = client.post(&url).bearer_auth(TOKEN).json(&b).send().await;
                    if let Ok(r) = r {
                        let _ = r.bytes().await;
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    (t0.elapsed().as_secs_f64(), cpu_seconds() - cpu0)
}

fn cpu_per_send(rt: &tokio::runtime::Runtime) {
    let n = 20_000;
    let workers = 64;
    // Rounds alternate raw loop and bote so that both see the same machine;
    // the raw loop alone varies by half on this shared 2-core box, so the
    // ratio is taken per round and its median reported.
    let rounds: usize = std::env::var("BOTE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let sim = start_sim(1_000_000, 0, None);
    let mut raw = Vec::new();
    let mut bote = Vec::new();
    for round in 0..rounds {
        let (w, c) = raw_loop(rt, &sim.base_url, n, workers);
        raw.push((w, c));
        let dir = tempfile::tempdir().expect("tmp");
        let store = Arc::new(store_with(dir.path(), n));
        let (w2, c2, accepted) = send_campaign(
            rt,
            store,
            &sim.base_url,
            engine_config(1_000_000, workers),
            &mut || {},
            false,
        );
        assert_eq!(accepted, n as u64, "round {round}: every send accepted");
        bote.push((w2, c2));
        println!(
            "  round {round}: raw {:.1} ms, bote {:.1} ms CPU per 1,000 sends, ratio {:.2}×",
            c / n as f64 * 1e6,
            c2 / n as f64 * 1e6,
            c2 / c
        );
    }
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let raw_tp = med(raw.iter().map(|(w, _)| n as f64 / w).collect());
    let raw_cpu = med(raw.iter().map(|(_, c)| c / n as f64 * 1000.0).collect());
    let bote_tp = med(bote.iter().map(|(w, _)| n as f64 / w).collect());
    let bote_cpu = med(bote.iter().map(|(_, c)| c / n as f64 * 1000.0).collect());
    let ratio = med(raw
        .iter()
        .zip(&bote)
        .map(|((_, r), (_, b))| b / r)
        .collect());
    println!(
        "unthrottled, {n} sends, {workers} in flight, sim in another process (medians of {rounds}):"
    );
    println!(
        "  raw reqwest loop: {raw_tp:>8.0} sends/s, {:.1} ms CPU per 1,000 sends",
        raw_cpu * 1000.0
    );
    println!(
        "  bote dispatcher:  {bote_tp:>8.0} sends/s, {:.1} ms CPU per 1,000 sends",
        bote_cpu * 1000.0
    );
    println!(
        "  CPU ratio bote / raw: median of the rounds' ratios {ratio:.2}×, ratio of the medians {:.2}× (target ≤ 1.5×)",
        bote_cpu / raw_cpu
    );
}

fn big_campaign(rt: &tokio::runtime::Runtime) {
    let n: usize = std::env::var("BOTE_BENCH_BIG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tmp");
    // The consents are written by a child process, as `bote consent import`
    // is a command of its own: the sending process starts from a store on
    // disk, not from the writer's caches.
    let t = Instant::now();
    let status = Command::new(std::env::current_exe().expect("exe"))
        .env("BOTE_BENCH_WRITE_STORE", dir.path())
        .env("BOTE_BENCH_BIG", n.to_string())
        .status()
        .expect("store writer");
    assert!(status.success(), "store writer failed");
    println!(
        "big: {n} consents written in {:.1} s (child process)",
        t.elapsed().as_secs_f64()
    );
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    println!("big: RSS after opening the store: {:.0} MB", rss_mb());
    let sim = start_sim(1_000_000, 0, None);
    let written0 = proc_field("/proc/self/io", "write_bytes:");
    let mut samples = Vec::new();
    let (wall, cpu, accepted) = send_campaign(
        rt,
        store.clone(),
        &sim.base_url,
        engine_config(1_000_000, 64),
        &mut || samples.push(rss_mb()),
        true,
    );
    let written = proc_field("/proc/self/io", "write_bytes:").saturating_sub(written0);
    let max = samples.iter().copied().fold(0.0, f64::max);
    // Samples in time order: RSS at 10 %, 50 % and 90 % of the send shows
    // whether it grows with progress.
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let deciles: Vec<String> = (0..=10)
        .map(|d| format!("{:.0}", at(f64::from(d) / 10.0)))
        .collect();
    println!(
        "big: {accepted} sends in {wall:.1} s ({:.0}/s, {:.2} ms CPU per 1,000); RSS during the send \
         at 10 % {:.0} MB, 50 % {:.0} MB, 90 % {:.0} MB of its time, max {max:.0} MB",
        accepted as f64 / wall,
        cpu / accepted.max(1) as f64 * 1e6,
        at(0.1),
        at(0.5),
        at(0.9),
    );
    println!(
        "big: RSS at 0 %, 10 %, … 100 % of the send: {} MB",
        deciles.join(" ")
    );
    println!(
        "big: bytes written to disk during the send: {:.1} MB = {:.0} B per send (write_bytes, includes sled's log and compaction)",
        written as f64 / 1e6,
        written as f64 / accepted.max(1) as f64
    );
}

fn main() {
    // As the `bote` binary does.
    bote::disable_transparent_huge_pages();
    if let Some(dir) = std::env::var_os("BOTE_BENCH_WRITE_STORE") {
        let n = std::env::var("BOTE_BENCH_BIG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        store_with(std::path::Path::new(&dir), n)
            .flush()
            .expect("flush");
        return;
    }
    let only = std::env::var("BOTE_BENCH_ONLY").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if only.is_empty() || only == "rate" {
        rate_accuracy(&rt, 80);
        rate_accuracy(&rt, 1000);
    }
    if only.is_empty() || only == "cpu" {
        cpu_per_send(&rt);
    }
    if only.is_empty() || only == "big" {
        big_campaign(&rt);
    }
}
