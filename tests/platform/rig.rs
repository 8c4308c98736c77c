//! The rig the platform tests share: a store with confirmed consents, the
//! in-process simulator on 127.0.0.1 posting signed webhooks to the
//! engine's own receiver, the real Cloud API client routing by the
//! store's latest categories, and a hand-moved clock.

#![allow(dead_code)]

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bote::audience::PlanRequest;
use bote::campaign::journal::Counts;
use bote::campaign::{CampaignId, CampaignMeta, CampaignState};
use bote::clock::{Clock, ClockHand};
use bote::cloud::{ApiToken, Client, TemplateCategories};
use bote::config::{Concurrency, Config};
use bote::consent::import::{self, ImportOptions};
use bote::consent::Store;
use bote::dispatch::CampaignHandle;
use bote::engine::{Backend, Engine};
use bote::phone::Phone;
use bote::service::peer::Caller;
use bote::sim::{SimConfig, SimHandle, WebhookTarget};
use bote::template::Catalog;

const SECRET: &str = "platform-test-app-secret";

/// Engine, store, simulator and the clock's hand.
pub struct Rig {
    pub engine: Engine,
    pub store: Arc<Store>,
    pub hand: ClockHand,
    _dir: tempfile::TempDir,
}

/// The `i`-th contact's number.
pub fn phone(i: usize) -> Phone {
    Phone::parse(&format!("0171 6{i:06}"), "DE").expect("valid")
}

/// What a rig is built with.
pub struct Setup {
    /// Contacts with a confirmed `sale` consent.
    pub contacts: usize,
    /// Send rate (messages per second).
    pub rate: u32,
    /// The first name of contact `i` (the templates' parameter).
    pub first_name: fn(usize) -> String,
    /// Templates the WABA has beyond the shipped ones (only the
    /// simulator, Meta's side, knows them).
    pub meta_templates: Vec<bote::template::Template>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            contacts: 10,
            rate: 200,
            first_name: |i| format!("Kunde{i}"),
            meta_templates: Vec::new(),
        }
    }
}

/// Builds a rig; `tune` changes the config before anything uses it.
pub async fn rig(setup: Setup, tune: impl FnOnce(&mut Config)) -> Rig {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let csv = dir.path().join("consents.csv");
    let mut f = std::fs::File::create(&csv).expect("csv");
    writeln!(
        f,
        "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics"
    )
    .expect("w");
    for i in 0..setup.contacts {
        writeln!(
            f,
            "0171 6{i:06};{};01.03.2026 10:00;test;02.03.2026 10:00;link;sale",
            (setup.first_name)(i)
        )
        .expect("w");
    }
    drop(f);
    let mut config = Config::default();
    config.send.rate = setup.rate;
    config.send.concurrency = Concurrency::Fixed(4);
    config.send.batch_size = Some(16);
    config.send.timeout_ms = 2_000;
    config.send.max_retries = 3;
    config.api.messaging_tier = 1_000_000;
    tune(&mut config);
    let opts = ImportOptions {
        source: None,
        dry_run: false,
        actor: "test".into(),
        now: chrono::Utc::now(),
    };
    let report = import::import(&store, &config, &csv, &opts, None, &|_, _| {}).expect("import");
    assert_eq!(report.imported, setup.contacts as u64);

    let receiver = bote::webhook::Receiver::new(
        Arc::clone(&store),
        bote::campaign::Campaigns::open(&store).expect("campaigns"),
        bote::webhook::WebhookSecrets::new("verify", SECRET),
    )
    .keywords(bote::webhook::Keywords::from_config(&config.consent))
    .start("127.0.0.1:0")
    .await
    .expect("receiver");
    let catalog = Catalog::embedded().expect("templates");
    let token = ApiToken::new("platform-test-token").expect("token");
    // Meta's definition of a shipped template may differ from the file's.
    let mut meta: Vec<_> = catalog
        .list()
        .into_iter()
        .filter(|t| {
            !setup
                .meta_templates
                .iter()
                .any(|m| m.name == t.name && m.language == t.language)
        })
        .cloned()
        .collect();
    meta.extend(setup.meta_templates.iter().cloned());
    let mut sim = SimConfig::new(Catalog::new(meta).expect("the WABA's templates"));
    sim.token = Some(token.clone());
    sim.mps = 1_000;
    let mut target = WebhookTarget::new(receiver.url(), SECRET);
    target.step = Duration::from_millis(5);
    sim.webhook = Some(target);
    let sim = bote::sim::Sim::start(sim).await.expect("sim");
    let api = bote::config::ApiConfig {
        marketing_endpoint: config.api.marketing_endpoint,
        ..sim.api_config()
    };
    let client = Client::new(&api, &config.send, token)
        .expect("client")
        .with_categories(TemplateCategories::open(store.db()).expect("categories"));
    let (clock, hand) = Clock::manual(chrono::Utc::now());
    let engine = Engine::shared(
        Arc::clone(&store),
        config,
        catalog,
        Arc::new(client.clone()),
        Backend::Sandbox(Some(Box::new(sim))),
        "test".into(),
    )
    .expect("engine")
    .with_cloud(client)
    .with_receiver(receiver)
    .with_clock(clock);
    Rig {
        engine,
        store,
        hand,
        _dir: dir,
    }
}

impl Rig {
    pub fn sim(&self) -> &SimHandle {
        self.engine.sim().expect("sandbox")
    }

    /// An operator at the socket.
    pub fn caller(&self) -> Caller {
        // No [roles]: the store's owner (uid 1000 here) acts, as admin.
        Caller::resolve(1000, "tester".into(), None, 1000)
    }

    /// Plans `template` for topic `sale`, freezes it and starts sending.
    pub fn launch(&self, template: &str) -> (CampaignMeta, CampaignHandle) {
        let plan = self
            .engine
            .plan(&PlanRequest {
                template: template.into(),
                topic: "sale".into(),
                ..PlanRequest::default()
            })
            .expect("plan");
        let meta = self.engine.create(&plan).expect("create");
        let handle = self.engine.start(meta.id).expect("start");
        (meta, handle)
    }

    pub fn counts(&self, id: CampaignId) -> Counts {
        self.engine
            .campaigns
            .journal(id)
            .expect("journal")
            .counts()
            .expect("counts")
    }

    /// Waits until every webhook the receiver took is processed.
    pub async fn settle(&self) {
        let r = self.engine.receiver().expect("receiver");
        assert!(
            r.drained(Duration::from_secs(10)).await,
            "inbox did not drain"
        );
    }

    /// Waits until the run the engine holds for `id` has ended; its state.
    pub async fn run_ends(&self, id: CampaignId) -> CampaignState {
        for _ in 0..1_500 {
            if !self.engine.runs().is_running(id) {
                return self.engine.campaigns.require(id).expect("campaign").state;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("campaign {id} still running after 30 s");
    }

    /// Sends to `p` the simulator recorded, in order.
    pub fn sends_to(&self, p: Phone) -> Vec<bote::sim::AcceptedMessage> {
        self.sim()
            .records()
            .into_iter()
            .filter(|m| m.to == p.digits())
            .collect()
    }
}

/// Waits for a handle's run to end, bounded.
pub async fn ends(handle: CampaignHandle) -> CampaignState {
    tokio::time::timeout(Duration::from_secs(30), handle.wait())
        .await
        .expect("campaign ends within 30 s")
        .expect("campaign ran")
}
