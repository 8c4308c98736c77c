//! Import and dry-run throughput on a generated consent list.
//!
//! ```text
//! cargo bench --bench import_plan                        # 1M rows, 3 runs
//! BOTE_BENCH_ROWS=100000 BOTE_BENCH_RUNS=1 cargo bench --bench import_plan
//! ```
//!
//! The parent process writes a valid consent CSV (`;`, CRLF, UTF-8, mixed
//! phone and date formats, unique German mobile numbers, ~70 % confirmed with
//! a first name) into a temp dir, then runs every measured phase in a child
//! process of this same binary, so that each peak RSS (`VmHWM`) belongs to
//! that phase alone and each import starts from a fresh store. Everything is
//! deleted on exit. For profiling, run one phase by hand:
//! `BOTE_BENCH_PHASE=generate|import|plan` with `BOTE_BENCH_CSV=FILE` and
//! `BOTE_BENCH_STORE=DIR` (e.g. under `perf record`); `reimport` imports
//! the same file into the store an `import` left (every row unchanged).
//! Targets (see BENCHMARKS.md): import ≥ 100k rows/s, re-import ≥ 200k
//! rows/s, plan ≤ 1 s, peak RSS ≤ 300 MB.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bote::audience::{self, PlanRequest};
use bote::config::Config;
use bote::consent::import::{self, ImportOptions};
use bote::consent::Store;
use bote::template::Catalog;

// What `bote daemon` runs with (src/main.rs): the import's writer
// allocates per row and sled per node, and glibc's free lists cost a
// quarter of the import's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PHASE: &str = "BOTE_BENCH_PHASE";
const TARGET_ROWS_PER_SEC: f64 = 100_000.0;
const TARGET_REIMPORT_ROWS_PER_SEC: f64 = 200_000.0;
const TARGET_PLAN_SECS: f64 = 1.0;
const TARGET_RSS_MB: f64 = 300.0;

fn main() {
    let result = match std::env::var(PHASE).as_deref() {
        Ok("import") => child_import(),
        Ok("reimport") => child_import(),
        Ok("plan") => child_plan(),
        Ok("generate") => std::env::var("BOTE_BENCH_CSV")
            .map_err(Into::into)
            .and_then(|p| generate(Path::new(&p), env_num("BOTE_BENCH_ROWS", 1_000_000)))
            .map(|_| ()),
        _ => parent(),
    };
    if let Err(e) = result {
        eprintln!("import_plan bench failed: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process, in KiB (Linux only).
fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// CPU time (user + system, all threads) of this process so far, in
/// seconds; on a shared machine a steadier figure than wall time.
fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

/// A child's `RESULT key=value …` line as pairs.
fn run_child(phase: &str, envs: &[(&str, &Path)]) -> Res<Vec<(String, String)>> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.env(PHASE, phase);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(format!(
            "{phase} child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8(out.stdout)?;
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("{phase} child printed no RESULT: {stdout}"))?;
    Ok(line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn field(kv: &[(String, String)], key: &str) -> Res<f64> {
    kv.iter()
        .find(|(k, _)| k == key)
        .ok_or_else(|| format!("missing {key}"))?
        .1
        .parse::<f64>()
        .map_err(|e| format!("{key}: {e}").into())
}

fn parent() -> Res<()> {
    let rows = env_num("BOTE_BENCH_ROWS", 1_000_000);
    let runs = env_num("BOTE_BENCH_RUNS", 3).max(1);
    let tmp = tempfile::tempdir()?;
    let csv = tmp.path().join("consents.csv");
    let t = Instant::now();
    let bytes = generate(&csv, rows)?;
    println!(
        "generated {rows} rows ({:.1} MB) in {:.1} s: {}",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        csv.display()
    );

    let mut import_rates = Vec::new();
    let mut import_secs = Vec::new();
    let mut import_rss = Vec::new();
    let mut last_store = PathBuf::new();
    for run in 0..runs {
        let store = tmp.path().join(format!("store-{run}"));
        let kv = run_child(
            "import",
            &[("BOTE_BENCH_CSV", &csv), ("BOTE_BENCH_STORE", &store)],
        )?;
        let secs = field(&kv, "secs")?;
        let rss = field(&kv, "hwm_kb")? / 1024.0;
        println!(
            "import run {}: {:.2} s ({:.2} s import + {:.2} s flush; {:.2} s CPU), {:.0} rows/s, accepted {}, rejected {}, peak RSS {:.0} MB",
            run + 1,
            secs,
            field(&kv, "import_secs")?,
            field(&kv, "flush_secs")?,
            field(&kv, "cpu_secs")?,
            rows as f64 / secs,
            field(&kv, "accepted")?,
            field(&kv, "rejected")?,
            rss
        );
        if field(&kv, "rejected")? > 0.0 {
            println!("  warning: the generated file should have no rejects");
        }
        import_rates.push(rows as f64 / secs);
        import_secs.push(secs);
        import_rss.push(rss);
        if run + 1 < runs {
            std::fs::remove_dir_all(&store)?;
        }
        last_store = store;
    }

    let mut reimport_rates = Vec::new();
    let mut reimport_rss = Vec::new();
    for run in 0..runs {
        let kv = run_child(
            "reimport",
            &[("BOTE_BENCH_CSV", &csv), ("BOTE_BENCH_STORE", &last_store)],
        )?;
        let secs = field(&kv, "secs")?;
        let rss = field(&kv, "hwm_kb")? / 1024.0;
        println!(
            "re-import run {}: {:.2} s ({:.2} s CPU), {:.0} rows/s, unchanged {}, changed {}, peak RSS {:.0} MB",
            run + 1,
            secs,
            field(&kv, "cpu_secs")?,
            rows as f64 / secs,
            field(&kv, "unchanged")?,
            field(&kv, "changed")?,
            rss
        );
        if field(&kv, "changed")? > 0.0 {
            println!("  warning: a re-import of the same file should change nothing");
        }
        reimport_rates.push(rows as f64 / secs);
        reimport_rss.push(rss);
    }

    let mut plan_secs = Vec::new();
    let mut plan_rss = Vec::new();
    for run in 0..runs {
        let kv = run_child("plan", &[("BOTE_BENCH_STORE", &last_store)])?;
        let secs = field(&kv, "secs")?;
        let rss = field(&kv, "hwm_kb")? / 1024.0;
        println!(
            "plan run {}: {:.2} s ({:.2} s CPU; + {:.3} s summary/JSON), audience {}, eligible {}, peak RSS {:.0} MB",
            run + 1,
            secs,
            field(&kv, "cpu_secs")?,
            field(&kv, "summary_secs")?,
            field(&kv, "audience")?,
            field(&kv, "eligible")?,
            rss
        );
        plan_secs.push(secs);
        plan_rss.push(rss);
    }

    let rate = median(&mut import_rates);
    let isecs = median(&mut import_secs);
    let irss = median(&mut import_rss);
    let rrate = median(&mut reimport_rates);
    let rrss = median(&mut reimport_rss);
    let psecs = median(&mut plan_secs);
    let prss = median(&mut plan_rss);
    println!();
    println!("summary ({rows} rows, median of {runs} run(s)):");
    println!(
        "  import  {rate:>10.0} rows/s ({isecs:.2} s)   target ≥ {TARGET_ROWS_PER_SEC:.0} rows/s  ratio {:.2}",
        rate / TARGET_ROWS_PER_SEC
    );
    println!(
        "  import  {irss:>10.0} MB peak RSS     target ≤ {TARGET_RSS_MB:.0} MB  ratio {:.2}",
        irss / TARGET_RSS_MB
    );
    println!(
        "  reimport{rrate:>10.0} rows/s            target ≥ {TARGET_REIMPORT_ROWS_PER_SEC:.0} rows/s  ratio {:.2}",
        rrate / TARGET_REIMPORT_ROWS_PER_SEC
    );
    println!(
        "  reimport{rrss:>10.0} MB peak RSS     target ≤ {TARGET_RSS_MB:.0} MB  ratio {:.2}",
        rrss / TARGET_RSS_MB
    );
    println!(
        "  plan    {psecs:>10.2} s              target ≤ {TARGET_PLAN_SECS:.1} s  ratio {:.2}",
        psecs / TARGET_PLAN_SECS
    );
    println!(
        "  plan    {prss:>10.0} MB peak RSS     target ≤ {TARGET_RSS_MB:.0} MB  ratio {:.2}",
        prss / TARGET_RSS_MB
    );
    Ok(())
}

fn child_import() -> Res<()> {
    let csv = PathBuf::from(std::env::var("BOTE_BENCH_CSV")?);
    let dir = PathBuf::from(std::env::var("BOTE_BENCH_STORE")?);
    let config = Config::default();
    let store = Store::open_for_import(&dir)?;
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: "bench".into(),
        now: chrono::Utc::now(),
    };
    let cpu0 = cpu_secs().unwrap_or(0.0);
    let t = Instant::now();
    let report = import::import(&store, &config, &csv, &opts, None, &|_, _| {})?;
    let import_secs = t.elapsed().as_secs_f64();
    store.flush()?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs().unwrap_or(0.0) - cpu0;
    drop(store);
    println!(
        "RESULT secs={secs} cpu_secs={cpu} import_secs={import_secs} flush_secs={} accepted={} rejected={} unchanged={} changed={} hwm_kb={}",
        secs - import_secs,
        report.accepted(),
        report.rejected,
        report.unchanged,
        report.imported + report.updated,
        vm_hwm_kb().unwrap_or(0)
    );
    Ok(())
}

fn child_plan() -> Res<()> {
    let dir = PathBuf::from(std::env::var("BOTE_BENCH_STORE")?);
    let config = Config::default();
    let catalog =
        Catalog::load_or_embedded(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"))?;
    let store = Store::open(&dir)?;
    let request = PlanRequest {
        template: "herbst_sale".into(),
        topic: "sale".into(),
        ..PlanRequest::default()
    };
    let cpu0 = cpu_secs().unwrap_or(0.0);
    let t = Instant::now();
    let plan = audience::plan(&store, &config, &catalog, &request, chrono::Utc::now())?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs().unwrap_or(0.0) - cpu0;
    let t = Instant::now();
    let json = serde_json::to_vec(&plan.summary(5, 10, 4))?;
    let summary_secs = t.elapsed().as_secs_f64();
    println!(
        "RESULT secs={secs} cpu_secs={cpu} summary_secs={summary_secs} audience={} eligible={} json_bytes={} hwm_kb={}",
        plan.audience(),
        plan.eligible.len(),
        json.len(),
        vm_hwm_kb().unwrap_or(0)
    );
    Ok(())
}

/// A small deterministic generator (SplitMix64): no dependency, same file every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

/// German mobile prefixes and their subscriber-number lengths that
/// libphonenumber accepts (015x: 8 digits; 016x/017x: 7).
const PREFIXES: &[(&str, u32)] = &[
    ("151", 8),
    ("152", 8),
    ("157", 8),
    ("160", 7),
    ("162", 7),
    ("170", 7),
    ("171", 7),
    ("172", 7),
    ("173", 7),
    ("174", 7),
    ("175", 7),
    ("176", 7),
    ("177", 7),
    ("178", 7),
    ("179", 7),
];

/// The `i`-th unique number in one of the formats operators have.
fn phone(i: usize, style: u64) -> String {
    let (prefix, len) = PREFIXES[i % PREFIXES.len()];
    let k = (i / PREFIXES.len()) as u64;
    let modulus = 10u64.pow(len);
    // A bijection on 0..10^len, so numbers stay unique but look random.
    let sub = (k * 7_919 + 1_234_567) % modulus;
    let sub = format!("{sub:0width$}", width = len as usize);
    match style {
        0 => format!("0{prefix} {sub}"),
        1 => format!("+49 {prefix} {sub}"),
        2 => format!("0049 {prefix} {sub}"),
        3 => format!("+49 (0) {prefix} {sub}"),
        4 => format!("0{prefix}{sub}"),
        5 => format!("0{prefix}/{sub}"),
        _ => format!("+49-{prefix}-{sub}"),
    }
}

/// A date in one of the formats of a row (all in the past, no DST gaps).
fn date(t: chrono::DateTime<chrono::Utc>, style: u64) -> String {
    use chrono::TimeZone;
    let local = chrono_tz::Europe::Berlin.from_utc_datetime(&t.naive_utc());
    match style {
        0 => local.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        1 => local.format("%d.%m.%Y %H:%M").to_string(),
        2 => local.format("%Y-%m-%d %H:%M").to_string(),
        _ => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

/// Writes `rows` valid consent rows; returns the file size.
fn generate(path: &Path, rows: usize) -> Res<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(
        "Telefon;Vorname;Einwilligung am;Quelle;Bestätigt am;Bestätigungsart;Themen;Sprache;Einwilligungstext;Widerruf am;Kundennummer;Notiz\r\n"
            .as_bytes(),
    )?;
    let names = [
        "Anna",
        "Jürgen",
        "Zoë",
        "Emil",
        "Agnieszka",
        "Max",
        "Sophie",
        "Sören",
        "Lea",
        "Günther",
        "Jana",
        "Fynn",
        "Clara",
        "Paul",
        "Ole",
        "Lukas",
        "Moritz",
        "Ömer",
        "Élodie",
        "Mia",
    ];
    let sources = [
        "web-form:shop.example/newsletter",
        "web-form:shop.example/checkout",
        "kasse:filiale-leipzig",
        "whatsapp:inbound-optin",
        "gewinnspiel:herbst-2026",
    ];
    let methods = ["link", "Link", "reply", "button", "code"];
    let topics = [
        "sale",
        "sale|events",
        "sale|new-collection",
        "sale|new-collection|events",
        "events",
        "new-collection",
    ];
    let locales = ["de", "de", "de", "de", "de", "de_AT", "en", "", ""];
    let texts = ["v2-2025-11", "v3-2026-04"];
    // Sign-ups between 2024-01-01 and ~2025-09, daytime in Berlin.
    let base = chrono::DateTime::from_timestamp(1_704_096_000, 0).ok_or("base date")?;
    let mut rng = Rng(0x0b07e);
    for i in 0..rows {
        let style = rng.below(4);
        let day = rng.below(600) as i64;
        let minute = 6 * 60 + rng.below(12 * 60) as i64;
        let opted = base + chrono::Duration::minutes(day * 1_440 + minute);
        let kind = rng.below(100);
        let (name, confirmed, method, revoked) = if kind < 70 {
            let confirmed = opted + chrono::Duration::minutes(60 + rng.below(3 * 1_440) as i64);
            (
                rng.pick(&names),
                date(confirmed, style),
                rng.pick(&methods),
                String::new(),
            )
        } else if kind < 97 {
            ("", String::new(), "", String::new())
        } else {
            let confirmed = opted + chrono::Duration::minutes(60 + rng.below(1_440) as i64);
            let revoked = confirmed + chrono::Duration::days(1 + rng.below(60) as i64);
            (
                rng.pick(&names),
                date(confirmed, style),
                rng.pick(&methods),
                date(revoked, style),
            )
        };
        let note = match rng.below(100) {
            0 => "\"Rückruf erwünscht; nur abends\"",
            1 => "\"Kundin seit 2019\r\nStammkundin\"",
            _ => "",
        };
        write!(
            out,
            "{};{name};{};{};{confirmed};{method};{};{};{};{revoked};K-{:07};{note}\r\n",
            phone(i, rng.below(7)),
            date(opted, style),
            rng.pick(&sources),
            rng.pick(&topics),
            rng.pick(&locales),
            rng.pick(&texts),
            i
        )?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}
