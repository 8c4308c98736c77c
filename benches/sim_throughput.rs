//! How many valid sends per second the in-process simulator answers on
//! loopback. Plain `fn main` (harness = false): N concurrent reqwest clients
//! send valid template messages; each run stops after a request budget or a
//! time budget, whichever comes first; the median of three runs is printed.
//!
//! The load generator shares the cores with the simulator, so the end-to-end
//! rate is bounded by both. The simulator runs on its own runtime (threads
//! named `sim-server`), and its CPU time per request is measured from
//! `/proc/self/task`, which gives its capacity when it has the cores alone.
//!
//! `cargo bench --bench sim_throughput` (env `SIM_BENCH_SECS`, `SIM_BENCH_TASKS`
//! override the defaults).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bote::cloud::{ApiToken, Client, SendOutcome};
use bote::config::SendConfig;
use bote::phone::Phone;
use bote::sim::{Sim, SimConfig, SimHandle};
use bote::template::{Catalog, Params};

const TOKEN: &str = "bench-token";
const CLIENTS: usize = 8;
const MAX_REQUESTS: u64 = 2_000_000;
const RUNS: usize = 3;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Valid request bodies for 1000 different recipients.
fn bodies() -> Vec<String> {
    (0..1000u64)
        .map(|i| {
            let json = serde_json::json!({
                "messaging_product": "whatsapp", "recipient_type": "individual",
                "to": format!("49176{:08}", 10_000_000 + i), "type": "template",
                "template": { "name": "herbst_sale", "language": { "code": "de" },
                  "components": [ { "type": "body", "parameters": [
                    { "type": "text", "text": "Anna" }, { "type": "text", "text": "HERBST20" } ] } ] },
                "biz_opaque_callback_data": format!("c=1;r={i}"),
            });
            json.to_string()
        })
        .collect()
}

struct Run {
    requests: u64,
    errors: u64,
    elapsed: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Raw reqwest clients posting pre-encoded bodies: measures the simulator.
async fn run_raw(sim: &SimHandle, tasks: usize, budget: Duration) -> Run {
    let url = format!(
        "{}/v25.0/{}/messages",
        sim.base_url(),
        sim.api_config().phone_number_id
    );
    let url = reqwest::Url::parse(&url).expect("url");
    let auth = reqwest::header::HeaderValue::from_static("Bearer bench-token");
    let bodies = Arc::new(bodies());
    let clients: Vec<reqwest::Client> = (0..CLIENTS)
        .map(|_| {
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client")
        })
        .collect();
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + budget;
    let workers: Vec<_> = (0..tasks)
        .map(|t| {
            let (http, url, bodies) = (clients[t % CLIENTS].clone(), url.clone(), bodies.clone());
            let auth = auth.clone();
            let (sent, errors) = (sent.clone(), errors.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = sent.fetch_add(1, Relaxed);
                    if n >= MAX_REQUESTS {
                        break;
                    }
                    let body = bodies[(n % bodies.len() as u64) as usize].clone();
                    let ok = match http
                        .post(url.clone())
                        .header(reqwest::header::AUTHORIZATION, auth.clone())
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if !ok {
                        errors.fetch_add(1, Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    Run {
        requests: sent.load(Relaxed).min(MAX_REQUESTS),
        errors: errors.load(Relaxed),
        elapsed,
    }
}

/// bote's own client (typed request, classification) for comparison.
async fn run_client(sim: &SimHandle, tasks: usize, budget: Duration) -> Run {
    let send = SendConfig::default();
    let token = ApiToken::new(TOKEN).expect("token");
    let client = Arc::new(Client::new(&sim.api_config(), &send, token).expect("client"));
    let catalog = Catalog::embedded().expect("catalog");
    let template = Arc::new(
        catalog
            .get("herbst_sale", Some("de"))
            .expect("exists")
            .clone(),
    );
    let params = Arc::new(Params(vec!["Anna".into(), "HERBST20".into()]));
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + budget;
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, template, params) = (client.clone(), template.clone(), params.clone());
            let (sent, errors) = (sent.clone(), errors.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = sent.fetch_add(1, Relaxed);
                    if n >= MAX_REQUESTS {
                        break;
                    }
                    let Some(to) = Phone::from_e164(&format!("+49176{:08}", 20_000_000 + n % 1000))
                    else {
                        break;
                    };
                    let out = client.send_template(to, &template, &params, "c=2").await;
                    if !matches!(out, SendOutcome::Accepted { .. }) {
                        errors.fetch_add(1, Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    Run {
        requests: sent.load(Relaxed).min(MAX_REQUESTS),
        errors: errors.load(Relaxed),
        elapsed: started.elapsed(),
    }
}

/// CPU seconds used so far by this process's threads whose name starts with `prefix`.
fn thread_cpu(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ticks: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("stat")).ok())
        .filter_map(|stat| {
            let (head, tail) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1;
            let fields: Vec<&str> = tail.split_whitespace().collect();
            let cpu = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            name.starts_with(prefix).then_some(cpu)
        })
        .sum();
    ticks as f64 / 100.0
}

fn runtime(name: &str, threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

fn main() {
    let secs = env_or("SIM_BENCH_SECS", 3);
    let tasks = env_or("SIM_BENCH_TASKS", 64) as usize;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The simulator and the load run on separate runtimes (same cores), so
    // the simulator's own CPU cost per request can be measured apart.
    let sim_rt = runtime("sim-server", cores);
    let client_rt = runtime("bench-client", cores);
    let sim = sim_rt.block_on(async {
        let mut config = SimConfig::new(Catalog::embedded().expect("catalog"));
        config.token = Some(ApiToken::new(TOKEN).expect("token"));
        config.mps = u32::MAX;
        config.pair_burst = u32::MAX;
        Sim::start(config).await.expect("sim starts on loopback")
    });
    client_rt.block_on(async {
        let budget = Duration::from_secs(secs);
        run_raw(&sim, tasks, Duration::from_millis(500)).await; // warm-up
        let mut rates = Vec::new();
        let mut server_us = Vec::new();
        for i in 1..=RUNS {
            let (sim_cpu, load_cpu) = (thread_cpu("sim-server"), thread_cpu("bench-client"));
            let r = run_raw(&sim, tasks, budget).await;
            let n = r.requests.max(1) as f64;
            let per_request = (thread_cpu("sim-server") - sim_cpu) * 1e6 / n;
            let load_us = (thread_cpu("bench-client") - load_cpu) * 1e6 / n;
            println!(
                "run {i}: {} requests in {:.2} s = {:.0} req/s ({} errors); CPU per request: simulator {per_request:.1} us, load generator {load_us:.1} us",
                r.requests,
                r.elapsed.as_secs_f64(),
                r.rate(),
                r.errors
            );
            rates.push(r.rate());
            server_us.push(per_request);
        }
        rates.sort_by(f64::total_cmp);
        server_us.sort_by(f64::total_cmp);
        let us = server_us[RUNS / 2];
        println!(
            "sim_throughput: median {:.0} req/s end to end ({tasks} concurrent requests, {CLIENTS} reqwest clients, {cores} cores shared by simulator and clients)",
            rates[RUNS / 2]
        );
        println!(
            "simulator alone: median {us:.1} us CPU per request = {:.0} req/s per core, {:.0} req/s on {cores} cores",
            1e6 / us.max(0.001),
            cores as f64 * 1e6 / us.max(0.001)
        );
        let r = run_client(&sim, tasks, budget).await;
        println!("through bote::cloud::Client: {:.0} req/s ({} errors)", r.rate(), r.errors);
        let stats = sim.stats();
        println!("sim accepted {} messages, rejected {:?}", stats.accepted, stats.rejected);
    });
    sim_rt.block_on(async { sim.shutdown().await.expect("shutdown") });
}
