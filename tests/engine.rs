//! The engine's invariants (docs/ARCHITECTURE.md), each pinned against the
//! real Cloud API client and the in-process simulator on 127.0.0.1.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bote::audience::PlanRequest;
use bote::campaign::journal::{Counts, RecipientState};
use bote::campaign::{CampaignId, CampaignMeta, CampaignState};
use bote::cloud::{ApiToken, Client};
use bote::config::{Concurrency, Config};
use bote::consent::import::{self, ImportOptions};
use bote::consent::{Revocation, Store};
use bote::dispatch::progress::Progress;
use bote::dispatch::CampaignHandle;
use bote::engine::{Backend, Engine};
use bote::phone::Phone;
use bote::sim::{Sim, SimConfig, SimHandle};
use bote::template::{Catalog, Status};

struct Setup {
    engine: Engine,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn sim(&self) -> &SimHandle {
        self.engine.sim().expect("sandbox")
    }
}

fn phone(i: usize) -> Phone {
    Phone::parse(&format!("0171 5{i:06}"), "DE").expect("valid")
}

/// A store with `n` confirmed consents for `sale`, a simulator, an engine.
async fn setup(n: usize, rate: u32, sim_mps: u32, tune: impl FnOnce(&mut SimConfig)) -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let csv = dir.path().join("consents.csv");
    let mut f = std::fs::File::create(&csv).expect("csv");
    writeln!(
        f,
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics"
    )
    .expect("w");
    for i in 0..n {
        writeln!(
            f,
            "0171 5{i:06};Kunde{i};01.03.2026 10:00;test;02.03.2026 10:00;link;sale"
        )
        .expect("w");
    }
    drop(f);
    let mut config = Config::default();
    config.send.rate = rate;
    config.send.concurrency = Concurrency::Fixed(16);
    config.send.batch_size = Some(16);
    config.send.timeout_ms = 1_000;
    config.send.max_retries = 8;
    config.api.messaging_tier = 1_000_000;
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: "test".into(),
        now: chrono::Utc::now(),
    };
    let report = import::import(&store, &config, &csv, &opts, None, &|_, _| {}).expect("import");
    assert_eq!(report.imported, n as u64);
    let catalog = Catalog::embedded().expect("templates");
    let token = ApiToken::new("engine-test-token").expect("token");
    let mut sim = SimConfig::new(catalog.clone());
    sim.token = Some(token.clone());
    sim.mps = sim_mps;
    sim.faults.latency = Duration::from_millis(5);
    tune(&mut sim);
    let sim = Sim::start(sim).await.expect("sim");
    let client = Client::new(&sim.api_config(), &config.send, token).expect("client");
    let engine = Engine::new(
        store,
        config,
        catalog,
        Arc::new(client),
        Backend::Sandbox(Some(Box::new(sim))),
        "test".into(),
    )
    .expect("engine");
    Setup { engine, _dir: dir }
}

/// Plans the sample request, freezes it into a campaign and starts sending.
fn launch(s: &Setup) -> (CampaignMeta, CampaignHandle) {
    let plan = s.engine.plan(&request()).expect("plan");
    let meta = s.engine.create(&plan).expect("create");
    let handle = s.engine.start(meta.id).expect("start");
    (meta, handle)
}

/// The journal's counts of a campaign.
fn counts(s: &Setup, id: CampaignId) -> Counts {
    s.engine
        .campaigns
        .journal(id)
        .expect("journal")
        .counts()
        .expect("counts")
}

fn request() -> PlanRequest {
    PlanRequest {
        template: "herbst_sale".into(),
        topic: "sale".into(),
        ..PlanRequest::default()
    }
}

/// Per (recipient, callback data) send counts at the simulator.
fn sends_per_recipient(sim: &SimHandle) -> HashMap<(String, Option<String>), u32> {
    let mut m = HashMap::new();
    for r in sim.records() {
        *m.entry((r.to.clone(), r.callback_data.clone()))
            .or_default() += 1;
    }
    m
}

/// Resumes a paused campaign until it finishes; then the sim has taken
/// `accepted` messages, none twice.
async fn resume_to_the_end(s: &Setup, id: CampaignId, accepted: u64) {
    let again = s.engine.start(id).expect("resume");
    assert_eq!(again.wait().await.expect("run"), CampaignState::Finished);
    assert_eq!(s.sim().stats().accepted, accepted);
    assert_at_most_once(s.sim());
}

fn assert_at_most_once(sim: &SimHandle) {
    let dups: Vec<_> = sends_per_recipient(sim)
        .into_iter()
        .filter(|(_, c)| *c > 1)
        .collect();
    assert!(dups.is_empty(), "sent twice: {dups:?}");
    assert_eq!(sim.stats().duplicates, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_lost_and_at_most_once_under_5xx_and_lost_responses() {
    let s = setup(400, 400, 1000, |c| {
        c.faults.fail_rate = 0.05;
        c.faults.drop_rate = 0.02;
    })
    .await;
    let plan = s.engine.plan(&request()).expect("plan");
    let meta = s.engine.create(&plan).expect("create");
    let state = s
        .engine
        .start(meta.id)
        .expect("start")
        .wait()
        .await
        .expect("run");
    assert_eq!(state, CampaignState::Finished);
    let counts = counts(&s, meta.id);
    assert_eq!(
        counts.total(),
        meta.audience,
        "every recipient in exactly one state"
    );
    assert_eq!(counts.open(), 0);
    let stats = s.sim().stats();
    assert!(stats.rejected(131000) > 0, "the 5xx fault fired: {stats:?}");
    assert!(
        stats.responses_dropped > 0,
        "the lost-response fault fired: {stats:?}"
    );
    // Lost responses are unknown — not failed, not re-sent.
    assert_eq!(
        counts.unknown, stats.responses_dropped,
        "{counts:?} vs {stats:?}"
    );
    assert_eq!(counts.accepted + counts.unknown, stats.accepted);
    assert_eq!(counts.accepted + counts.unknown + counts.failed, 400);
    assert_at_most_once(s.sim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_revoked_mid_campaign_stops_sends() {
    let s = setup(60, 20, 1000, |_| {}).await;
    let (meta, handle) = launch(&s);
    let mut events = handle.subscribe();
    // Wait for the first accepted send, then revoke the last recipient.
    loop {
        if let Ok(Progress::Recipient(ev)) = events.recv().await {
            if ev.state == RecipientState::Accepted {
                break;
            }
        }
    }
    let victim = phone(59);
    let revocation = Revocation {
        at: chrono::Utc::now(),
        actor: "test".into(),
        origin: "webhook:wamid.TEST".into(),
        reason: "STOP".into(),
    };
    assert_eq!(
        s.engine
            .store
            .revoke(victim, None, &revocation)
            .expect("revoke"),
        1
    );
    handle.wait().await.expect("run");
    assert!(
        !s.sim().records().iter().any(|r| r.to == victim.digits()),
        "a revoked number was sent to"
    );
    let journal = s.engine.campaigns.journal(meta.id).expect("journal");
    let last = journal
        .iter()
        .map(|r| r.expect("record"))
        .find(|(_, r)| r.phone == Some(victim))
        .expect("in journal");
    assert_eq!(last.1.state, RecipientState::Skipped);
    assert!(
        last.1.reason.as_deref().unwrap_or("").contains("revoked"),
        "{:?}",
        last.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_never_throttles_when_rate_is_within_its_ceiling() {
    // 5 % below the ceiling: parallel tests on two cores delay requests by
    // more than the limiter's 2 ms margin; the exact-ceiling case is
    // measured by `benches/dispatch.rs` on a quiet run.
    let s = setup(500, 190, 200, |_| {}).await;
    let plan = s.engine.plan(&request()).expect("plan");
    let meta = s.engine.create(&plan).expect("create");
    s.engine
        .start(meta.id)
        .expect("start")
        .wait()
        .await
        .expect("run");
    let stats = s.sim().stats();
    assert_eq!(stats.rejected(130429), 0, "{stats:?}");
    assert!(stats.max_admitted_per_window <= 200, "{stats:?}");
    assert_eq!(stats.accepted, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_slows_down_and_still_delivers_everyone_once() {
    let s = setup(300, 400, 100, |_| {}).await;
    let (meta, handle) = launch(&s);
    let mut events = handle.subscribe();
    let watcher = tokio::spawn(async move {
        let mut slowed = false;
        while let Ok(ev) = events.recv().await {
            match ev {
                Progress::Rate { current, .. } if current < 400 => slowed = true,
                Progress::Finished { .. } => break,
                _ => {}
            }
        }
        slowed
    });
    handle.wait().await.expect("run");
    assert!(
        watcher.await.expect("watcher"),
        "the dispatcher lowered its rate"
    );
    let counts = counts(&s, meta.id);
    assert_eq!(counts.accepted, 300, "{counts:?}");
    assert!(s.sim().stats().rejected(130429) > 0);
    assert_at_most_once(s.sim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_send_nobody_twice() {
    let s = setup(200, 100, 1000, |_| {}).await;
    let (_, handle) = launch(&s);
    let mut events = handle.subscribe();
    let mut accepted = 0;
    while accepted < 40 {
        if let Ok(Progress::Recipient(ev)) = events.recv().await {
            accepted += u32::from(ev.state == RecipientState::Accepted);
        }
    }
    handle.pause();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during_pause = s.sim().stats().accepted;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        s.sim().stats().accepted,
        during_pause,
        "nothing is sent while paused"
    );
    assert!(during_pause < 200);
    handle.resume();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Finished);
    assert_eq!(s.sim().stats().accepted, 200);
    assert_at_most_once(s.sim());

    // A detached run (Ctrl-C) followed by a resume in a new run: the same.
    let s = setup(120, 100, 1000, |_| {}).await;
    let (meta, handle) = launch(&s);
    tokio::time::sleep(Duration::from_millis(400)).await;
    handle.detach();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Paused);
    resume_to_the_end(&s, meta.id, 120).await;
}

/// Workers that held recipients when a pause came put them back to pending,
/// possibly after the resume and behind the feeder's cursor: none of them may
/// be left behind when the campaign finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_pause_resume_leaves_nobody_behind() {
    let s = setup(300, 400, 1000, |_| {}).await;
    let (_, handle) = launch(&s);
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        handle.pause();
        tokio::task::yield_now().await;
        handle.resume();
    }
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Finished);
    assert_eq!(s.sim().stats().accepted, 300);
    assert_at_most_once(s.sim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_class_error_pauses_and_the_campaign_resumes_after_the_fix() {
    let s = setup(150, 50, 1000, |_| {}).await;
    let (meta, handle) = launch(&s);
    let mut events = handle.subscribe();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(s
        .sim()
        .set_template_status("herbst_sale", "de", Status::Paused));
    let reason = loop {
        match events.recv().await {
            Ok(Progress::Paused { reason }) => break reason,
            Ok(_) => {}
            Err(e) => panic!("no pause event: {e}"),
        }
    };
    assert!(reason.contains("132015"), "{reason}");
    handle.detach();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Paused);
    let counts = counts(&s, meta.id);
    assert!(counts.pending > 0 && counts.failed == 0, "{counts:?}");
    assert!(s
        .sim()
        .set_template_status("herbst_sale", "de", Status::Approved));
    resume_to_the_end(&s, meta.id, 150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_skips_everyone_not_yet_sent() {
    let s = setup(200, 40, 1000, |_| {}).await;
    let (meta, handle) = launch(&s);
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.cancel();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Cancelled);
    let counts = counts(&s, meta.id);
    assert_eq!(counts.open(), 0);
    assert_eq!(counts.accepted, s.sim().stats().accepted);
    assert_eq!(counts.accepted + counts.skipped, 200, "{counts:?}");
    assert!(counts.skipped > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_flight_at_a_crash_become_unknown_and_are_not_sent() {
    let s = setup(30, 100, 1000, |_| {}).await;
    let plan = s.engine.plan(&request()).expect("plan");
    let meta = s.engine.create(&plan).expect("create");
    let journal = s.engine.campaigns.journal(meta.id).expect("journal");
    // What a SIGKILL right after the feeder's durable mark leaves behind.
    let marked: Vec<_> = journal
        .pending_from(0, 5)
        .expect("pending")
        .into_iter()
        .map(|(i, mut r)| {
            r.state = RecipientState::InFlight;
            (i, r)
        })
        .collect();
    journal.write(&marked).expect("mark");
    s.engine
        .start(meta.id)
        .expect("start")
        .wait()
        .await
        .expect("run");
    let counts = journal.counts().expect("counts");
    assert_eq!((counts.unknown, counts.accepted), (5, 25), "{counts:?}");
    for (_, r) in &marked {
        let to = r.phone.expect("phone").digits();
        assert!(
            !s.sim().records().iter().any(|m| m.to == to),
            "unknown was re-sent"
        );
    }
    // Only the operator's explicit wish sends them again.
    assert_eq!(
        journal
            .requeue_unknown(chrono::Utc::now(), "test")
            .expect("requeue"),
        5
    );
    s.engine
        .start(meta.id)
        .expect("start")
        .wait()
        .await
        .expect("run");
    assert_eq!(journal.counts().expect("counts").accepted, 30);
    assert_at_most_once(s.sim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_out_at_meta_revokes_the_consent() {
    let s = setup(20, 100, 1000, |_| {}).await;
    s.sim().faults().mark(phone(3), bote::sim::Mark::OptedOut);
    s.sim()
        .faults()
        .mark(phone(4), bote::sim::Mark::Undeliverable);
    let plan = s.engine.plan(&request()).expect("plan");
    let meta = s.engine.create(&plan).expect("create");
    s.engine
        .start(meta.id)
        .expect("start")
        .wait()
        .await
        .expect("run");
    let counts = counts(&s, meta.id);
    assert_eq!((counts.accepted, counts.failed), (18, 2), "{counts:?}");
    let c = s
        .engine
        .store
        .contact(phone(3))
        .expect("read")
        .expect("contact");
    assert!(!c.may_receive("sale"), "131050 revoked the consent (G5)");
    let c = s
        .engine
        .store
        .contact(phone(4))
        .expect("read")
        .expect("contact");
    assert!(c.may_receive("sale"), "131026 does not touch consent");
}

/// Waits (at most 10 s) for the campaign to be held for `why`; returns
/// until when.
async fn held_until(
    events: &mut tokio::sync::broadcast::Receiver<Progress>,
    why: &str,
) -> chrono::DateTime<chrono::Utc> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Ok(Progress::Held { until, reason })) => {
                assert!(reason.contains(why), "{reason}");
                return until;
            }
            Ok(Ok(_)) => {}
            other => panic!("no Held event: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_sends_until_they_end() {
    use chrono::Timelike;
    let mut s = setup(10, 100, 1000, |_| {}).await;
    // A quiet window around the recipients' (Berlin) local time right now.
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin);
    let (h, m) = (now.hour(), now.minute());
    let start = format!("{:02}:{:02}", (h + 23) % 24, m);
    let end = format!("{:02}:{:02}", (h + 1) % 24, m);
    s.engine.config.send.quiet_hours = Some(format!("{start}-{end}").parse().expect("window"));
    let (meta, handle) = launch(&s);
    let mut events = handle.subscribe();
    let until = held_until(&mut events, "quiet hours").await;
    assert!(until > chrono::Utc::now(), "held until the window ends");
    assert_eq!(
        s.sim().stats().accepted,
        0,
        "nothing sent during quiet hours"
    );
    handle.detach();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Paused);
    let counts = counts(&s, meta.id);
    assert_eq!(
        counts.pending, 10,
        "held recipients stay pending: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messaging_tier_holds_the_rest_until_capacity_frees() {
    let mut s = setup(10, 100, 1000, |_| {}).await;
    // Two other recipients were reached 23 h ago; a tier of 6 leaves 4 now.
    let earlier = chrono::Utc::now() - chrono::Duration::hours(23);
    for i in [100, 101] {
        s.engine
            .store
            .record_send(phone(i), earlier, "earlier")
            .expect("send");
    }
    s.engine.config.api.messaging_tier = 6;
    let (meta, handle) = launch(&s);
    let mut events = handle.subscribe();
    let until = held_until(&mut events, "messaging tier").await;
    // Capacity frees when the earlier recipients leave the 24-h window.
    let frees = earlier + chrono::Duration::hours(24);
    assert!(
        (until - frees).num_seconds().abs() <= 1,
        "held until {until}, capacity frees at {frees}"
    );
    assert_eq!(
        s.sim().stats().accepted,
        4,
        "only the free capacity is used"
    );
    handle.detach();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Paused);
    let counts = counts(&s, meta.id);
    assert_eq!(
        (counts.accepted, counts.pending),
        (4, 6),
        "the rest wait as pending: {counts:?}"
    );
}

/// The dry run and the send share one tier computation: the run sends
/// what the plan said could go now and holds the rest until the time the
/// plan named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_holds_what_the_plan_said_it_would() {
    let mut s = setup(5, 100, 1000, |_| {}).await;
    let earlier = chrono::Utc::now() - chrono::Duration::hours(23);
    for i in [100, 101] {
        s.engine
            .store
            .record_send(phone(i), earlier, "earlier")
            .expect("send");
    }
    s.engine.config.api.messaging_tier = 6;
    let plan = s.engine.plan(&request()).expect("plan");
    assert_eq!((plan.tier.now, plan.tier.later), (4, 1), "{:?}", plan.tier);
    let later_at = plan
        .tier
        .later_at
        .expect("the plan names when the rest goes");
    let meta = s.engine.create(&plan).expect("create");
    let handle = s.engine.start(meta.id).expect("start");
    let mut events = handle.subscribe();
    let until = held_until(&mut events, "messaging tier").await;
    assert!(
        (until - later_at).num_milliseconds().abs() <= 1,
        "held until {until}, the plan said {later_at}"
    );
    assert_eq!(s.sim().stats().accepted, plan.tier.now);
    handle.detach();
    assert_eq!(handle.wait().await.expect("run"), CampaignState::Paused);
    let counts = counts(&s, meta.id);
    assert_eq!(
        (counts.accepted, counts.pending),
        (plan.tier.now, plan.tier.later)
    );
}
