//! bote as a service (issue #12): what going through the daemon costs.
//!
//! ```text
//! cargo bench --bench service                       # every part
//! BOTE_BENCH_ONLY=roundtrip|paced|cpu cargo bench --bench service
//! ```
//!
//! (a) `roundtrip`: a real `bote daemon` (sandbox store, one finished
//!     campaign); `campaign status` as one request over the socket from
//!     this process, 2,000 times, and as the whole CLI command (process
//!     start, connect, answer, print), 40 times; medians and p99.
//! (b) `paced`: the send goes through a live daemon (`bote daemon`, its own
//!     process) to `bote sim` with latency 10–30 ms (20 ± 10, uniform) and
//!     a ceiling of exactly the rate (130429 above it), at 80 and 1,000 mps,
//!     10 s of sends each, `BOTE_BENCH_ROUNDS` (3) rounds; achieved rate,
//!     the most arrivals in any 1-s window and the 130429s, all at the
//!     simulator, and the daemon's CPU per 1,000 sends, against a raw
//!     reqwest loop paced the same way to the same kind of simulator.
//! (c) `cpu`: at bote's ceiling (1,000 mps: the config refuses more),
//!     10,000 sends, 64 in flight, no latency: the daemon's CPU per 1,000
//!     sends against the raw loop's paced the same, 3 paired rounds.
//!
//! The daemon's CPU is read from `/proc/PID/stat` from the moment the send
//! was accepted (plan and journal written) to the campaign's end. Every
//! loop is bounded by count and time; every process is killed at the end.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bote::audience::PlanRequest;
use bote::campaign::CampaignId;
use bote::engine::ops::CampaignStatus;
use bote::service::client::{Attachment, Client};
use bote::service::wire::{Confirmation, Request};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: &str = env!("CARGO_BIN_EXE_bote");
const TOKEN: &str = "bench-token";

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_cmd() -> Command {
    let mut c = Command::new(BIN);
    c.env("BOTE_TOKEN", TOKEN)
        .env("BOTE_VERIFY_TOKEN", "bench-verify")
        .env("BOTE_APP_SECRET", "bench-secret")
        .env_remove("BOTE_STORE")
        .env_remove("BOTE_CONFIG")
        .stdin(Stdio::null());
    c
}

/// `bote sim` on an ephemeral port; returns it and its base URL.
fn start_sim(mps: u32, latency: u64, jitter: u64, record: &Path) -> Res<(Proc, String)> {
    let mut child = Command::new(BIN)
        .args(["sim", "--listen", "127.0.0.1:0", "--token", TOKEN])
        .args(["--mps", &mps.to_string()])
        .args(["--latency-ms", &latency.to_string()])
        .args(["--jitter-ms", &jitter.to_string()])
        .arg("--record")
        .arg(record)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("sim stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let port: u16 = loop {
        if Instant::now() > deadline {
            return Err("the sim did not print its address".into());
        }
        let line = lines.next().ok_or("sim exited")??;
        if let Some(rest) = line.split("127.0.0.1:").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(p) = digits.parse() {
                break p;
            }
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((Proc(child), format!("http://127.0.0.1:{port}")))
}

fn write_config(dir: &Path, base_url: Option<&str>, send: &str) -> Res<PathBuf> {
    let api = match base_url {
        Some(u) => format!(
            "[api]\nbase_url = \"{u}\"\nphone_number_id = \"1234567890\"\nwaba_id = \"9876543210\"\nmessaging_tier = 1000000\n"
        ),
        None => "[api]\nmessaging_tier = 1000000\n".to_string(),
    };
    let text = format!(
        "{api}\n[send]\n{send}\n\n[webhook]\nlisten = \"127.0.0.1:0\"\n\n[consent]\ntopics = [\"sale\"]\nattributes = [\"first_name\"]\nfrequency_cap = \"100/7d\"\n\n[compliance]\nprocessor = \"Meta Platforms Ireland\"\ndpa_signed_at = \"2026-09-01\"\n\n[roles]\nadmin = [\"*\"]\n"
    );
    let path = dir.join("bote.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// `bote daemon` in the foreground for `store`; returns it once it answers.
async fn start_daemon(store: &Path, config: &Path, sandbox: bool) -> Res<(Proc, Client)> {
    let mut cmd = env_cmd();
    cmd.arg("--store").arg(store).arg("--config").arg(config);
    if sandbox {
        cmd.arg("--sandbox").env_remove("BOTE_TOKEN");
    }
    let child = cmd
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proc = Proc(child);
    let socket = bote::service::daemon::socket_path(store);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(c) = Client::at(&socket).await {
            return Ok((proc, c));
        }
        if Instant::now() > deadline {
            return Err("the daemon did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn consents(dir: &Path, n: usize) -> Res<PathBuf> {
    let path = dir.join("consents.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(
        f,
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics"
    )?;
    for i in 0..n {
        writeln!(
            f,
            "+49151{:08};Kunde;01.03.2026 10:00;bench;02.03.2026 10:00;link;sale",
            10_000_000 + i
        )?;
    }
    f.flush()?;
    Ok(path)
}

async fn import(client: &Client, path: &Path) -> Res<()> {
    let (a, file) = Attachment::open(path)?;
    let _: serde_json::Value = client
        .call(
            &Request::Import {
                file,
                source: None,
                dry_run: false,
                rejects: false,
            },
            Some(&a),
        )
        .await?;
    Ok(())
}

/// Sends `herbst_sale` to `sale` (confirmed with --yes), returns its id.
async fn send(client: &Client) -> Res<CampaignId> {
    #[derive(serde::Deserialize)]
    struct Sent {
        campaign: bote::campaign::CampaignMeta,
    }
    let sent: Sent = client
        .call(
            &Request::Send {
                request: PlanRequest {
                    template: "herbst_sale".into(),
                    topic: "sale".into(),
                    ..Default::default()
                },
                list: None,
                confirm: Confirmation {
                    yes: true,
                    typed: None,
                },
                schedule: None,
            },
            None,
        )
        .await?;
    Ok(sent.campaign.id)
}

async fn wait_finished(client: &Client, id: CampaignId, limit: Duration) -> Res<CampaignStatus> {
    let deadline = Instant::now() + limit;
    loop {
        let st: CampaignStatus = client.call(&Request::Status { id }, None).await?;
        if !st.running && st.campaign.state != bote::campaign::CampaignState::Sending {
            return Ok(st);
        }
        if Instant::now() > deadline {
            return Err(format!("campaign {id} did not finish in {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// utime + stime of `pid`, seconds.
fn cpu_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Arrival times at the sim (ms since it started), sorted.
fn arrivals(record: &Path) -> Vec<u64> {
    let mut t: Vec<u64> = std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["at_ms"].as_u64())
        .collect();
    t.sort_unstable();
    t
}

/// (achieved per second first to last, most in any window [t, t + 1 s)).
fn rate_and_window(times: &[u64]) -> (f64, usize) {
    let span = match (times.first(), times.last()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => return (0.0, times.len()),
    };
    let achieved = (times.len() - 1) as f64 / (span as f64 / 1000.0);
    let (mut best, mut j) = (0, 0);
    for i in 0..times.len() {
        while times[i] - times[j] >= 1000 {
            j += 1;
        }
        best = best.max(i - j + 1);
    }
    (achieved, best)
}

/// The raw baseline: `n` sends of the request bote sends, `workers` in
/// flight, started at most `rate` per second (None: unpaced); returns CPU
/// seconds of this process.
async fn raw_loop(base_url: &str, n: usize, workers: usize, rate: Option<u32>) -> Res<f64> {
    let catalog = bote::template::Catalog::embedded()?;
    let template = catalog.get("herbst_sale", None)?;
    let params = bote::template::Params(vec!["Kunde".into(), "HERBST20".into()]);
    let body = serde_json::to_value(bote::cloud::types::SendRequest::template_message(
        String::new(),
        template,
        &params,
        "c=0;r=0",
    )?)?;
    let url = format!("{base_url}/v25.0/1234567890/messages");
    let client = reqwest::Client::new();
    let pacer = rate.map(|r| {
        let q = governor::Quota::per_second(
            std::num::NonZeroU32::new(r.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
        )
        .allow_burst(std::num::NonZeroU32::MIN);
        Arc::new(governor::RateLimiter::direct(q))
    });
    let next = Arc::new(AtomicUsize::new(0));
    let cpu0 = cpu_of(std::process::id());
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (client, url, body, next, pacer) = (
            client.clone(),
            url.clone(),
            body.clone(),
            Arc::clone(&next),
            pacer.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if let Some(p) = &pacer {
                    p.until_ready().await;
                }
                let mut b = body.clone();
                b["to"] = serde_json::Value::String(format!("49152{:08}", 20_000_000 + i));
                if let Ok(r) = client.post(&url).bearer_auth(TOKEN).json(&b).send().await {
                    let _ = r.bytes().await;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(cpu_of(std::process::id()) - cpu0)
}

async fn roundtrip() -> Res<()> {
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("store");
    let config = write_config(dir.path(), None, "rate = 1000")?;
    let (daemon, client) = start_daemon(&store, &config, true).await?;
    import(&client, &consents(dir.path(), 200)?).await?;
    let id = send(&client).await?;
    wait_finished(&client, id, Duration::from_secs(60)).await?;
    // Warm up, then time single requests.
    for _ in 0..50 {
        let _: CampaignStatus = client.call(&Request::Status { id }, None).await?;
    }
    let mut one = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t = Instant::now();
        let _: CampaignStatus = client.call(&Request::Status { id }, None).await?;
        one.push(t.elapsed());
    }
    one.sort();
    let mut cli = Vec::with_capacity(40);
    for _ in 0..40 {
        let t = Instant::now();
        let out = env_cmd()
            .env_remove("BOTE_TOKEN")
            .arg("--store")
            .arg(&store)
            .arg("--config")
            .arg(&config)
            .args(["campaign", "status", &id.to_string(), "--json"])
            .output()?;
        cli.push(t.elapsed());
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
    }
    cli.sort();
    println!(
        "roundtrip: `campaign status` over the socket (200 recipients): median {:.0} µs, p99 {:.0} µs (2,000 requests)",
        percentile(&one, 0.5).as_secs_f64() * 1e6,
        percentile(&one, 0.99).as_secs_f64() * 1e6
    );
    println!(
        "roundtrip: `bote campaign status {id} --json`, the whole command: median {:.1} ms, p99 {:.1} ms (40 runs)",
        percentile(&cli, 0.5).as_secs_f64() * 1e3,
        percentile(&cli, 0.99).as_secs_f64() * 1e3
    );
    drop(daemon);
    Ok(())
}

/// How many sends the simulator at `base` refused with 130429 (over its ceiling).
async fn throttled(base: &str) -> Res<u64> {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/_sim/stats"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    Ok(v["rejected"]["130429"].as_u64().unwrap_or(0))
}

/// What one campaign through the daemon did.
struct Through {
    cpu: f64,
    arrivals: Vec<u64>,
    wall: f64,
    throttled: u64,
}

/// One campaign of `n` through a live daemon against a sim.
async fn through_daemon(
    mps_sim: u32,
    latency: u64,
    jitter: u64,
    send_cfg: &str,
    n: usize,
) -> Res<Through> {
    let dir = tempfile::tempdir()?;
    let record = dir.path().join("sim.jsonl");
    let (sim, base) = start_sim(mps_sim, latency, jitter, &record)?;
    let config = write_config(dir.path(), Some(&base), send_cfg)?;
    let store = dir.path().join("store");
    let (daemon, client) = start_daemon(&store, &config, false).await?;
    import(&client, &consents(dir.path(), n)?).await?;
    let t0 = Instant::now();
    let id = send(&client).await?;
    let cpu0 = cpu_of(daemon.0.id());
    let st = wait_finished(&client, id, Duration::from_secs(600)).await?;
    let cpu = cpu_of(daemon.0.id()) - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    let taken = st.counts.taken();
    if taken != n as u64 {
        eprintln!("warning: {taken} of {n} accepted: {:?}", st.counts);
    }
    let throttled = throttled(&base).await?;
    drop(daemon);
    drop(sim);
    Ok(Through {
        cpu,
        arrivals: arrivals(&record),
        wall,
        throttled,
    })
}

/// Paced at the operating point, counted where Meta counts: the
/// simulator's ceiling is the rate itself, so every send the jitter pushes
/// into a crowded second comes back as 130429.
async fn paced() -> Res<()> {
    let rounds: usize = std::env::var("BOTE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for rate in [80u32, 1000] {
        let n = rate as usize * 10;
        let (mut pct, mut ratios, mut bote_ms, mut raw_ms) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let t = through_daemon(rate, 10, 20, &format!("rate = {rate}"), n).await?;
            let (achieved, window) = rate_and_window(&t.arrivals);
            // The raw loop, paced the same way, to the same kind of sim.
            let dir = tempfile::tempdir()?;
            let record = dir.path().join("raw.jsonl");
            let (sim, base) = start_sim(rate, 10, 20, &record)?;
            let workers = (f64::from(rate) * 0.030 * 1.2).ceil() as usize + 2;
            let raw_cpu = raw_loop(&base, n, workers, Some(rate)).await?;
            let raw_throttled = throttled(&base).await?;
            drop(sim);
            let (raw_achieved, raw_window) = rate_and_window(&arrivals(&record));
            let (b, r) = (t.cpu / n as f64 * 1e6, raw_cpu / n as f64 * 1e6);
            println!(
                "paced {rate:>4} mps round {round}, latency 10–30 ms, sim ceiling {rate}: daemon {achieved:.1}/s = {:.2} % of {rate}, \
                 max {window} in any 1-s window at the sim, {} × 130429; raw loop {raw_achieved:.1}/s, max {raw_window}, {raw_throttled} × 130429; \
                 {} sent in {:.1} s; CPU per 1,000 sends: daemon {b:.1} ms, raw loop {r:.1} ms, ratio {:.2}×",
                achieved / f64::from(rate) * 100.0,
                t.throttled,
                t.arrivals.len(),
                t.wall,
                b / r.max(1e-9)
            );
            pct.push(achieved / f64::from(rate) * 100.0);
            ratios.push(b / r.max(1e-9));
            bote_ms.push(b);
            raw_ms.push(r);
        }
        println!(
            "paced {rate:>4} mps: median achieved {:.2} %; CPU per 1,000 sends median daemon {:.1} ms, raw {:.1} ms, ratio {:.2}×",
            median(&mut pct),
            median(&mut bote_ms),
            median(&mut raw_ms),
            median(&mut ratios)
        );
    }
    Ok(())
}

async fn cpu() -> Res<()> {
    let n = 10_000;
    let mut ratios = Vec::new();
    let (mut bote_ms, mut raw_ms) = (Vec::new(), Vec::new());
    for round in 0..3 {
        let Through {
            cpu,
            arrivals: times,
            wall,
            ..
        } = through_daemon(100_000, 0, 0, "rate = 1000\nconcurrency = 64", n).await?;
        let dir = tempfile::tempdir()?;
        let record = dir.path().join("raw.jsonl");
        let (sim, base) = start_sim(100_000, 0, 0, &record)?;
        let raw = raw_loop(&base, n, 64, Some(1000)).await?;
        drop(sim);
        let (b, r) = (cpu / n as f64 * 1e6, raw / n as f64 * 1e6);
        println!(
            "cpu round {round}: daemon {b:.1} ms per 1,000 ({} sent in {wall:.1} s), raw loop {r:.1} ms, ratio {:.2}×",
            times.len(),
            b / r
        );
        bote_ms.push(b);
        raw_ms.push(r);
        ratios.push(b / r);
    }
    println!(
        "cpu: median daemon {:.1} ms, raw {:.1} ms per 1,000 sends; median ratio {:.2}×",
        median(&mut bote_ms),
        median(&mut raw_ms),
        median(&mut ratios)
    );
    Ok(())
}

fn main() {
    let only = std::env::var("BOTE_BENCH_ONLY").unwrap_or_default();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async {
        if only.is_empty() || only == "roundtrip" {
            roundtrip().await?;
        }
        if only.is_empty() || only == "paced" {
            paced().await?;
        }
        if only.is_empty() || only == "cpu" {
            cpu().await?;
        }
        Res::Ok(())
    });
    if let Err(e) = result {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}
