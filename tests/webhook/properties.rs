//! Property tests of the payload parser and the processor: hostile JSON,
//! hostile signatures and hostile values never panic, and a body the
//! receiver refuses changes nothing in the store.
//!
//! A small seeded generator (no proptest dependency): the default seed is
//! fixed, `BOTE_PROP_SEED` picks another and `BOTE_PROP_CASES` scales the
//! case counts; a failure prints the seed to reproduce it.

use bote::webhook::payload::Notification;
use bote::webhook::process::{items, Processor, Step};
use rand::rngs::StdRng;

use super::*;

const DEFAULT_SEED: u64 = 0xB07E_0013;

fn prop_seed() -> u64 {
    std::env::var("BOTE_PROP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// `default` cases, scaled by `BOTE_PROP_CASES` (a count for the largest).
fn cases(default: usize) -> usize {
    std::env::var("BOTE_PROP_CASES")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .map_or(default, |n| n.max(1) * default / 4_000)
        .max(1)
}

/// Values at the edges of what the parser accepts and the processor meets.
fn hostile_scalar(rng: &mut impl Rng) -> Value {
    let max_ts = DateTime::<Utc>::MAX_UTC.timestamp();
    let min_ts = DateTime::<Utc>::MIN_UTC.timestamp();
    match rng.gen_range(0..14) {
        0 => json!(max_ts.to_string()),
        1 => json!(min_ts.to_string()),
        2 => json!(max_ts),
        3 => json!(i64::MAX.to_string()),
        4 => json!(i64::MIN),
        5 => json!(u64::MAX),
        6 => json!("9".repeat(40)),
        7 => json!(1e308),
        8 => json!(" 1760000000 "),
        9 => json!("\u{feff}STOP"),
        10 => json!("S\u{0}TOP"),
        11 => json!("c=4294967295;r=4294967295"),
        12 => json!("+".repeat(20) + &"9".repeat(16)),
        _ => json!("🍂".repeat(rng.gen_range(0..200))),
    }
}

/// A valid body, then hostile values put into some of its leaves, or
/// every timestamp at an edge of time (the processor adds to them).
fn hostile_body(rng: &mut StdRng, phones: &[Phone], c: CampaignId) -> Value {
    let mut v = valid_body(rng, phones, c);
    if rng.gen_bool(0.3) {
        let edge = [
            DateTime::<Utc>::MAX_UTC.timestamp(),
            DateTime::<Utc>::MIN_UTC.timestamp(),
            0,
            -1,
        ][rng.gen_range(0..4)];
        retime(&mut v, edge);
        return v;
    }
    for _ in 0..rng.gen_range(1..4) {
        poke(rng, &mut v);
    }
    v
}

fn retime(v: &mut Value, secs: i64) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if k == "timestamp" {
                    *child = json!(secs.to_string());
                } else {
                    retime(child, secs);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| retime(x, secs)),
        _ => {}
    }
}

fn poke(rng: &mut StdRng, v: &mut Value) {
    match v {
        Value::Object(m) if !m.is_empty() && rng.gen_bool(0.8) => {
            let i = rng.gen_range(0..m.len());
            if let Some(child) = m.values_mut().nth(i) {
                poke(rng, child);
            }
        }
        Value::Array(a) if !a.is_empty() && rng.gen_bool(0.8) => {
            let i = rng.gen_range(0..a.len());
            poke(rng, &mut a[i]);
        }
        _ => *v = hostile_scalar(rng),
    }
}

/// Raw bytes no JSON generator makes: deep nesting, duplicate keys,
/// trailing garbage, a byte-order mark, invalid UTF-8, nothing at all.
fn hostile_bytes(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    match rng.gen_range(0..8) {
        0 => {
            let depth = rng.gen_range(100..20_000);
            let mut b = "[".repeat(depth).into_bytes();
            b.extend("]".repeat(depth).bytes());
            b
        }
        1 => {
            let depth = rng.gen_range(100..5_000);
            let mut b = r#"{"object":"x","entry":[{"changes":[{"field":"messages","value":"#
                .as_bytes()
                .to_vec();
            b.extend(r#"{"a":"#.repeat(depth).bytes());
            b.extend(b"1");
            b.extend("}".repeat(depth).bytes());
            b.extend(b"}]}]}");
            b
        }
        2 => br#"{"object":"x","object":"y","entry":[]}"#.to_vec(),
        3 => [valid, b" garbage"].concat(),
        4 => [&b"\xef\xbb\xbf"[..], valid].concat(),
        5 => {
            let mut b = valid.to_vec();
            if !b.is_empty() {
                let i = rng.gen_range(0..b.len());
                b[i] = 0xff;
            }
            b
        }
        6 => Vec::new(),
        _ => {
            let mut b = valid.to_vec();
            mutate_bytes(rng, &mut b);
            b
        }
    }
}

/// A signature header: right, wrong, malformed or absent.
fn hostile_signature(rng: &mut StdRng, body: &[u8]) -> Option<String> {
    let right = sign(SECRET.as_bytes(), body);
    match rng.gen_range(0..12) {
        0 => None,
        1 => Some(sign(b"wrong secret", body)),
        2 => Some(right.to_uppercase()),
        3 => Some(right.replacen("sha256=", "sha1=", 1)),
        4 => Some(format!("{right}00")),
        5 => Some(right[..right.len() - 2].to_string()),
        6 => Some(format!(
            "sha256={}",
            (0..64)
                .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
                .collect::<String>()
        )),
        7 => Some(format!("  {right}  ")),
        8 => Some("sha256=".into()),
        9 => Some(sign(SECRET.as_bytes(), &[body, b" "].concat())),
        _ => Some(right),
    }
}

/// A tree's name and its keys and values, in order.
type TreeDump = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// Every key and value of every tree.
fn dump(store: &Store) -> Vec<TreeDump> {
    let db = store.db();
    let mut trees: Vec<_> = db
        .tree_names()
        .into_iter()
        .map(|name| {
            let tree = db.open_tree(&name).expect("tree");
            let kvs = tree
                .iter()
                .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("entry"))
                .collect();
            (String::from_utf8_lossy(&name).into_owned(), kvs)
        })
        .collect();
    trees.sort();
    trees
}

fn fixture_campaign(store: &Store, campaigns: &Campaigns) -> (Vec<Phone>, CampaignId) {
    let phones: Vec<Phone> = (0..6).map(|i| phone(5000 + i)).collect();
    let mut records = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        let status = [ConsentStatus::Confirmed, ConsentStatus::Pending][i % 2];
        seed(
            store,
            *p,
            &[("sale", status), ("events", ConsentStatus::Pending)],
        );
        let state = [RecipientState::Accepted, RecipientState::Unknown][i % 2];
        let wamid = (state != RecipientState::Unknown).then(|| format!("wamid.P{i}"));
        records.push(record(*p, state, wamid.as_deref(), Params::default()));
    }
    (phones, campaign(campaigns, 13, records))
}

/// Parsing any bytes returns a value or an error: never a panic or a stack
/// overflow; what parses flattens into items and serialises back to the same.
#[test]
fn the_parser_takes_any_bytes_without_panicking() {
    let seed = prop_seed();
    let n = cases(4_000);
    let mut rng = StdRng::seed_from_u64(seed);
    let phones: Vec<Phone> = (0..4).map(|i| phone(5100 + i)).collect();
    let started = std::time::Instant::now();
    let (mut parsed, mut refused) = (0u32, 0u32);
    for case in 0..n {
        let valid =
            serde_json::to_vec(&valid_body(&mut rng, &phones, CampaignId(1))).expect("json");
        let bytes = match rng.gen_range(0..4) {
            0 => serde_json::to_vec(&hostile_body(&mut rng, &phones, CampaignId(1))).expect("json"),
            1 => serde_json::to_vec(&random_json(&mut rng, 5)).expect("json"),
            _ => hostile_bytes(&mut rng, &valid),
        };
        match serde_json::from_slice::<Notification>(&bytes) {
            Ok(note) => {
                parsed += 1;
                let flat = items(&note);
                assert!(
                    !flat.is_empty() || note.entry.iter().all(|e| e.changes.is_empty()),
                    "seed {seed} case {case}: a change without items"
                );
                let again: Notification =
                    serde_json::from_slice(&serde_json::to_vec(&note).expect("ser"))
                        .unwrap_or_else(|e| panic!("seed {seed} case {case}: round trip: {e}"));
                assert_eq!(again, note, "seed {seed} case {case}");
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!(
        "parser: seed {seed}, {n} cases ({parsed} parsed, {refused} refused) in {:.2?}",
        started.elapsed()
    );
    assert!(
        parsed > 0 && refused > 0,
        "seed {seed}: both paths must be reached"
    );
}

/// Every item of every body that parses, hostile values included, is
/// processed without a panic or an error, and consent state stays
/// explained by its history.
#[test]
fn the_processor_takes_any_parsed_body_without_panicking() {
    let seed = prop_seed();
    let n = cases(3_000);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EED);
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let campaigns = Campaigns::open(&store).expect("campaigns");
    let (phones, c) = fixture_campaign(&store, &campaigns);
    let processor = Processor::new(
        Arc::clone(&store),
        campaigns.clone(),
        Keywords::from_config(&ConsentConfig::default()),
    )
    .expect("processor");
    let started = std::time::Instant::now();
    let (mut bodies, mut steps) = (0u32, 0u32);
    for case in 0..n {
        let v = match rng.gen_range(0..3) {
            0 => valid_body(&mut rng, &phones, c),
            _ => hostile_body(&mut rng, &phones, c),
        };
        let Ok(note) = serde_json::from_value::<Notification>(v) else {
            continue;
        };
        bodies += 1;
        for item in items(&note) {
            let force = rng.gen_bool(0.5);
            let received = at(T + rng.gen_range(-10..10));
            match processor.item(&item, force, received, case as u64) {
                Ok(Step::Done(_) | Step::Defer) => steps += 1,
                Err(e) => panic!("seed {seed} case {case}: {item:?}: {e}"),
            }
        }
    }
    for p in &phones {
        assert_history_explains(&store, *p);
    }
    eprintln!(
        "processor: seed {seed}, {n} cases ({bodies} bodies, {steps} items) in {:.2?}",
        started.elapsed()
    );
    assert!(
        bodies > 0 && steps > 0,
        "seed {seed}: nothing was processed"
    );
}

/// A body the receiver refuses (bad signature, bad shape, too large)
/// leaves every tree of the store exactly as it was; one it takes is
/// processed and the receiver keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_body_changes_nothing_in_the_store() {
    let seed = prop_seed();
    let n = cases(300);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0401);
    let f = fixture().await;
    let (phones, c) = fixture_campaign(&f.store, &f.campaigns);
    let started = std::time::Instant::now();
    let mut codes: BTreeMap<u16, u32> = BTreeMap::new();
    for case in 0..n {
        let valid = serde_json::to_vec(&valid_body(&mut rng, &phones, c)).expect("json");
        let body = match rng.gen_range(0..4) {
            0 => valid,
            1 => serde_json::to_vec(&hostile_body(&mut rng, &phones, c)).expect("json"),
            _ => hostile_bytes(&mut rng, &valid),
        };
        let sig = hostile_signature(&mut rng, &body);
        f.settle().await;
        let before = dump(&f.store);
        let code = f.post_with(body, sig).await;
        *codes.entry(code).or_default() += 1;
        assert!(
            matches!(code, 200 | 400 | 401 | 413),
            "seed {seed} case {case}: answered {code}"
        );
        if code != 200 {
            assert!(
                dump(&f.store) == before,
                "seed {seed} case {case}: a refused body ({code}) changed the store"
            );
        }
    }
    f.settle().await;
    for p in &phones {
        assert_history_explains(&f.store, *p);
    }
    eprintln!(
        "refusals: seed {seed}, {n} cases, answers {codes:?} in {:.2?}",
        started.elapsed()
    );
    assert!(
        codes.contains_key(&200) && codes.contains_key(&401) && codes.contains_key(&400),
        "seed {seed}: the generator must reach every path: {codes:?}"
    );
    let stats = f.handle().stats();
    assert_eq!(stats.received, stats.processed);
}

/// Found by the processor property: a signed JA dated at the end of time
/// overflowed the confirmation's skew arithmetic and panicked the processor
/// task, so that entry (and every one after it) was never processed, on
/// every start. And a STOP from the future would outrank every consent to
/// come: it is dated when it arrived instead.
#[tokio::test]
async fn a_signal_from_the_end_of_time_neither_panics_nor_outranks_later_consents() {
    let f = fixture().await;
    let (pending, stranger) = (phone(5200), phone(5201));
    seed(&f.store, pending, &[("sale", ConsentStatus::Pending)]);
    // Dated at its arrival (below), the JA answers an invitation of now.
    invited(
        &f.store,
        pending,
        "sale",
        Utc::now() - chrono::Duration::minutes(1),
    );
    let end = DateTime::<Utc>::MAX_UTC.timestamp();
    let ja = inbound_text_payload(&meta(), &pending.digits(), "wamid.END1", "JA", end);
    assert_eq!(f.post_json(&ja).await, 200);
    assert_eq!(
        statuses(&f.contact(pending)),
        vec![ConsentStatus::Confirmed]
    );
    let before = Utc::now();
    let stop = inbound_text_payload(&meta(), &stranger.digits(), "wamid.END2", "STOP", end);
    assert_eq!(f.post_json(&stop).await, 200);
    let since = f
        .store
        .suppression(stranger)
        .expect("read")
        .expect("suppressed")
        .since;
    assert!(
        since >= before && since <= Utc::now() + chrono::Duration::minutes(10),
        "dated {since}"
    );
    // The receiver goes on.
    assert_eq!(f.post_json(&text(pending, "wamid.END3", "STOP")).await, 200);
    assert_eq!(statuses(&f.contact(pending)), vec![ConsentStatus::Revoked]);
}
