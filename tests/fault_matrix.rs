//! The engine under every fault at once, and the stop-class path repeated:
//! the real dispatcher and Cloud API client against the in-process
//! simulator on 127.0.0.1 with jittered latency (10–30 ms), whose status
//! webhooks reach the real receiver. Everything is asserted from the
//! simulator's own record: nobody twice, nobody missing, every unknown that
//! reached the simulator reconciled by its webhooks, the sums = audience.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bote::audience::PlanRequest;
use bote::campaign::journal::{Counts, RecipientState};
use bote::campaign::{CampaignId, CampaignState};
use bote::cloud::{ApiToken, Client};
use bote::config::{Concurrency, Config};
use bote::consent::import::{self, ImportOptions};
use bote::consent::Store;
use bote::engine::{Backend, Engine};
use bote::sim::{Sim, SimConfig, SimHandle, WebhookTarget};
use bote::template::{Catalog, Status};
use bote::webhook::{Keywords, Receiver, WebhookSecrets};

const SECRET: &str = "fault-matrix-app-secret";

struct Rig {
    engine: Engine,
    sim: SimHandle,
    token_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn write_consents(path: &Path, n: usize) {
    let mut f = std::fs::File::create(path).expect("csv");
    writeln!(
        f,
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics"
    )
    .expect("w");
    for i in 0..n {
        writeln!(
            f,
            "0171 6{i:06};Kunde{i};01.03.2026 10:00;test;02.03.2026 10:00;link;sale"
        )
        .expect("w");
    }
}

/// A store with `n` confirmed consents, the receiver, a simulator posting
/// its statuses there, and an engine whose token comes from a file.
async fn rig(n: usize, rate: u32, tune: impl FnOnce(&mut SimConfig, &mut Config)) -> Rig {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let mut config = Config::default();
    config.send.rate = rate;
    config.send.concurrency = Concurrency::Auto;
    config.send.timeout_ms = 1_000;
    config.send.max_retries = 8;
    config.api.messaging_tier = 1_000_000;
    config.consent.frequency_cap = None;
    let csv = dir.path().join("consents.csv");
    write_consents(&csv, n);
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: "test".into(),
        now: chrono::Utc::now(),
    };
    let report = import::import(&store, &config, &csv, &opts, None, &|_, _| {}).expect("import");
    assert_eq!(report.imported, n as u64);

    let campaigns = bote::campaign::Campaigns::open(&store).expect("campaigns");
    let receiver = Receiver::new(
        Arc::clone(&store),
        campaigns,
        WebhookSecrets::new("verify", SECRET),
    )
    .keywords(Keywords::from_config(&config.consent))
    .start("127.0.0.1:0")
    .await
    .expect("receiver");

    let catalog = Catalog::embedded().expect("templates");
    let first = ApiToken::new("first-token").expect("token");
    let mut sim = SimConfig::new(catalog.clone());
    sim.token = Some(first);
    sim.mps = rate;
    sim.faults.latency = Duration::from_millis(10);
    sim.faults.jitter = Duration::from_millis(20);
    sim.webhook = Some(WebhookTarget::new(receiver.url(), SECRET));
    tune(&mut sim, &mut config);
    let sim = Sim::start(sim).await.expect("sim");

    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "first-token").expect("token file");
    let mut api = sim.api_config();
    api.token_file = Some(token_file.clone());
    api.messaging_tier = config.api.messaging_tier;
    let client = Client::from_config(&api, &config.send).expect("client");
    let engine = Engine::shared(
        store,
        config,
        catalog,
        Arc::new(client),
        Backend::Sandbox(None),
        "test".into(),
    )
    .expect("engine")
    .with_receiver(receiver);
    Rig {
        engine,
        sim,
        token_file,
        _dir: dir,
    }
}

fn request() -> PlanRequest {
    PlanRequest {
        template: "herbst_sale".into(),
        topic: "sale".into(),
        ..PlanRequest::default()
    }
}

fn counts(rig: &Rig, id: CampaignId) -> Counts {
    rig.engine
        .campaigns
        .journal(id)
        .expect("journal")
        .counts()
        .expect("counts")
}

/// Waits (bounded) until the simulator has accepted `n` messages.
async fn accepted_at_least(sim: &SimHandle, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while sim.stats().accepted < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the simulator accepted only {} of {n}",
            sim.stats().accepted
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The run ends (bounded: a hang fails the test) and says how.
async fn ends(handle: bote::dispatch::CampaignHandle) -> Result<CampaignState, String> {
    tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("the run hung: no end within 60 s")
        .map_err(|e| e.to_string())
}

fn paused_reason(rig: &Rig, id: CampaignId) -> String {
    let meta = rig.engine.campaigns.require(id).expect("meta");
    assert_eq!(meta.state, CampaignState::Paused, "{meta:?}");
    meta.state_reason.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_at_once_nobody_twice_nobody_missing_unknowns_reconciled() {
    const N: usize = 2_000;
    let rig = rig(N, 400, |sim, _| {
        sim.faults.fail_rate = 0.05;
        sim.faults.drop_rate = 0.02;
        sim.faults.gateway_rate = 0.01;
    })
    .await;
    let plan = rig.engine.plan(&request()).expect("plan");
    let meta = rig.engine.create(&plan).expect("create");
    let id = meta.id;
    assert_eq!(meta.audience, N as u64);

    // A throughput storm: Meta's ceiling drops under the rate for a while.
    let run = rig.engine.start(id).expect("start");
    accepted_at_least(&rig.sim, 200).await;
    rig.sim.set_mps(40);
    tokio::time::sleep(Duration::from_millis(800)).await;
    rig.sim.set_mps(400);

    // The token expires mid-run: 190 pauses, a new token file resumes.
    accepted_at_least(&rig.sim, 600).await;
    let renewed = ApiToken::new("renewed-token").expect("token");
    rig.sim.set_token(&renewed);
    assert_eq!(ends(run).await, Ok(CampaignState::Paused));
    let reason = paused_reason(&rig, id);
    assert!(
        reason.contains("190") && reason.contains("renew"),
        "{reason}"
    );
    let refused = rig.engine.start(id).expect("resume").wait().await;
    assert_eq!(
        refused.ok(),
        Some(CampaignState::Paused),
        "the old token still fails"
    );
    std::fs::write(&rig.token_file, "renewed-token").expect("renew token file");
    let run = rig.engine.start(id).expect("resume with the new token");

    // The template is paused at Meta mid-run: paused, resumed after the fix.
    accepted_at_least(&rig.sim, 1_000).await;
    assert!(rig
        .sim
        .set_template_status("herbst_sale", "de", Status::Paused));
    assert_eq!(ends(run).await, Ok(CampaignState::Paused));
    assert!(paused_reason(&rig, id).contains("132015"));
    assert!(rig
        .sim
        .set_template_status("herbst_sale", "de", Status::Approved));
    let run = rig.engine.start(id).expect("resume after the template fix");

    // The disk fills: the run halts paused with the reason, and goes on
    // once after space is freed.
    accepted_at_least(&rig.sim, 1_400).await;
    let durability = rig.engine.store.durability();
    durability.drill_failure(Some(&std::io::Error::from_raw_os_error(28)));
    let halted = ends(run).await;
    durability.drill_failure(None);
    let halted = halted.expect_err("a write error ends the run with an error");
    assert!(halted.contains("disk is full"), "{halted}");
    assert!(paused_reason(&rig, id).contains("disk is full"));
    let run = rig.engine.start(id).expect("resume after space is freed");
    assert_eq!(ends(run).await, Ok(CampaignState::Finished));

    // Statuses for everything the simulator took, unknowns included.
    let receiver = rig.engine.receiver().expect("receiver");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let stats = rig.sim.stats();
        let posted = stats.webhooks_delivered + stats.webhooks_failed;
        // sent, delivered, read per accepted message.
        if posted >= 3 * stats.accepted && receiver.drained(Duration::from_secs(5)).await {
            break stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "webhooks still pending: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(stats.webhooks_failed, 0, "{stats:?}");

    let by_sim: HashMap<String, u32> = rig.sim.records().iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(r.to.clone()).or_default() += 1;
        m
    });
    let twice: Vec<_> = by_sim.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    assert_eq!(stats.duplicates, 0);

    let journal = rig.engine.campaigns.journal(id).expect("journal");
    let mut unknown_never_sent = 0;
    for entry in journal.iter() {
        let (index, record) = entry.expect("record");
        let phone = record.phone.expect("phone").digits().to_string();
        let reached = by_sim.contains_key(&phone);
        match record.state {
            RecipientState::Accepted
            | RecipientState::Sent
            | RecipientState::Delivered
            | RecipientState::Read => {
                assert!(reached, "record {index} counted sent, the sim never saw it")
            }
            RecipientState::Unknown => {
                assert!(
                    !reached,
                    "record {index} reached the simulator but its webhooks did not reconcile it"
                );
                unknown_never_sent += 1;
            }
            RecipientState::Failed | RecipientState::Skipped | RecipientState::Deferred => {
                assert!(
                    !reached,
                    "record {index} is {:?} but the sim took it",
                    record.state
                )
            }
            RecipientState::Pending | RecipientState::InFlight => {
                panic!("record {index} left open: {:?}", record.state)
            }
        }
    }
    let c = counts(&rig, id);
    assert_eq!(c.total(), N as u64, "{c:?}");
    assert_eq!(c.open(), 0, "{c:?}");
    assert_eq!(
        c.read + c.delivered + c.sent + c.accepted,
        by_sim.len() as u64,
        "{c:?}"
    );
    assert!(stats.rejected(131000) > 0, "the 5xx fault fired: {stats:?}");
    assert!(stats.rejected(130429) > 0, "the storm fired: {stats:?}");
    assert!(stats.rejected(190) > 0, "the token expired: {stats:?}");
    assert!(
        stats.responses_dropped > 0,
        "responses were lost: {stats:?}"
    );
    eprintln!(
        "fault matrix: {c:?}; {unknown_never_sent} unknown never reached the simulator; {stats:?}"
    );
}

/// A stop-class answer at 1,000 mps, many times over: every run ends,
/// paused, with its "finished" event; none hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_class_answer_never_hangs_the_run() {
    const ROUNDS: usize = 12;
    let rig = rig(300, 1_000, |sim, _| {
        sim.faults.latency = Duration::from_millis(5);
        sim.faults.jitter = Duration::from_millis(10);
    })
    .await;
    for round in 0..ROUNDS {
        assert!(rig
            .sim
            .set_template_status("herbst_sale", "de", Status::Approved));
        // The same people again each round, on purpose.
        let again = PlanRequest {
            include_recent: true,
            ..request()
        };
        let plan = rig.engine.plan(&again).expect("plan");
        let meta = rig.engine.create(&plan).expect("create");
        let before = rig.sim.stats().accepted;
        let run = rig.engine.start(meta.id).expect("start");
        let mut events = run.subscribe();
        accepted_at_least(&rig.sim, before + 20 + round as u64 * 10).await;
        assert!(rig
            .sim
            .set_template_status("herbst_sale", "de", Status::Paused));
        assert_eq!(ends(run).await, Ok(CampaignState::Paused), "round {round}");
        // The run said it finished: a client waiting on events stops too.
        let finished = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match events.recv().await {
                    Ok(bote::dispatch::progress::Progress::Finished { .. }) => return true,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                }
            }
        })
        .await;
        assert_eq!(finished, Ok(true), "round {round}: no finished event");
        let c = counts(&rig, meta.id);
        assert_eq!(c.in_flight, 0, "round {round}: {c:?}");
        assert_eq!(c.total(), 300, "round {round}: {c:?}");
    }
}
