//! The engine both views drive: store, campaigns, the messenger (the Cloud
//! API client — against Meta when live, against the in-process simulator
//! in the sandbox) and the dispatcher. The TUI and the headless CLI call the
//! same methods and watch the same [`Progress`](crate::dispatch::progress::Progress) events.

pub mod access;
pub mod backup;
pub mod browse;
pub mod categories;
mod consents;
pub mod deferred;
pub mod doctor;
pub mod gdpr;
pub mod media;
pub mod ops;
pub mod platform;
pub mod reads;
pub mod retention;
pub mod runs;
pub mod schedule;
pub mod sync;
pub mod trail;

use std::sync::Arc;

use chrono::Utc;

use crate::audience::{self, Plan, PlanError, PlanRequest};
use crate::campaign::{CampaignError, CampaignId, CampaignMeta, Campaigns, SendSettings};
use crate::config::Config;
use crate::consent::{Store, StoreError};
use crate::dispatch::{self, CampaignHandle, DispatchError, EngineConfig, Messenger};
use crate::service::wire::Failure;
use crate::template::Catalog;
use runs::Runs;

/// Sandbox or live, with what each needs.
pub enum Backend {
    /// Nothing leaves the machine: the in-process simulator (or, in tests
    /// of the views, whatever messenger the engine was given).
    Sandbox(Option<Box<crate::sim::SimHandle>>),
    /// The configured Cloud API endpoint.
    Live,
}

/// Store, catalog and the way out, opened once per process.
pub struct Engine {
    /// The consent store (owned by this process while it runs).
    pub store: Arc<Store>,
    /// The campaigns in it.
    pub campaigns: Campaigns,
    /// Configuration.
    pub config: Config,
    /// Templates.
    pub catalog: Catalog,
    messenger: Arc<dyn Messenger>,
    backend: Backend,
    actor: String,
    /// The webhook receiver this process hosts (it owns the store).
    receiver: Option<crate::webhook::ReceiverHandle>,
    /// The campaigns running in this process.
    runs: Runs,
    /// Where "now" comes from.
    clock: crate::clock::Clock,
    /// The Cloud API client (or the simulator's) for what is not a send:
    /// media uploads, the template list.
    cloud: Option<crate::cloud::Client>,
}

impl Engine {
    /// Assembles an engine from its parts.
    pub fn new(
        store: Store,
        config: Config,
        catalog: Catalog,
        messenger: Arc<dyn Messenger>,
        backend: Backend,
        actor: String,
    ) -> Result<Self, StoreError> {
        Self::shared(Arc::new(store), config, catalog, messenger, backend, actor)
    }

    /// As [`Engine::new`], for a store other parts (a webhook receiver)
    /// already share.
    pub fn shared(
        store: Arc<Store>,
        config: Config,
        catalog: Catalog,
        messenger: Arc<dyn Messenger>,
        backend: Backend,
        actor: String,
    ) -> Result<Self, StoreError> {
        let campaigns = Campaigns::open(&store)?;
        media::restore_sandbox_uploads(&store, &backend)?;
        Ok(Self {
            store,
            campaigns,
            config,
            catalog,
            messenger,
            backend,
            actor,
            receiver: None,
            runs: Runs::default(),
            clock: crate::clock::Clock::System,
            cloud: None,
        })
    }

    /// Keeps the webhook receiver this process hosts alive with the engine.
    pub fn with_receiver(mut self, receiver: crate::webhook::ReceiverHandle) -> Self {
        self.receiver = Some(receiver);
        self
    }

    /// Uploads media and lists templates through `client` (the one sends
    /// go through, so the simulator that takes them knows the uploads).
    pub fn with_cloud(mut self, client: crate::cloud::Client) -> Self {
        self.cloud = Some(client);
        self
    }

    /// The Cloud API client, when the engine has one.
    pub fn cloud(&self) -> Option<&crate::cloud::Client> {
        self.cloud.as_ref()
    }

    /// Reads "now" from `clock` (tests fix it).
    pub fn with_clock(mut self, clock: crate::clock::Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    /// The webhook receiver, when this process hosts one.
    pub fn receiver(&self) -> Option<&crate::webhook::ReceiverHandle> {
        self.receiver.as_ref()
    }

    /// Whether sends go to the simulator.
    pub fn is_sandbox(&self) -> bool {
        matches!(self.backend, Backend::Sandbox(_))
    }

    /// The simulator, in sandbox mode.
    pub fn sim(&self) -> Option<&crate::sim::SimHandle> {
        match &self.backend {
            Backend::Sandbox(s) => s.as_deref(),
            Backend::Live => None,
        }
    }

    /// Who acts (G13).
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The dry run, with the tier Meta reported (if it did) and the
    /// platform's warnings.
    pub fn plan(&self, request: &PlanRequest) -> Result<Plan, PlanError> {
        let (tier, source) = self.messaging_tier();
        let config = if tier == self.config.api.messaging_tier {
            std::borrow::Cow::Borrowed(&self.config)
        } else {
            let mut c = self.config.clone();
            c.api.messaging_tier = tier;
            std::borrow::Cow::Owned(c)
        };
        let now = self.now();
        let recent = self.recent_sends(&request.template, now)?;
        let mut plan = audience::plan_with(
            &self.store,
            &config,
            &self.routed_catalog(),
            request,
            &recent,
            now,
        )?;
        plan.tier.source = source;
        self.platform_lints(&mut plan);
        let (_, notes) = self.effective_catalog();
        if let Some(n) = notes.get(&(plan.template.name.clone(), plan.template.language.clone())) {
            plan.lints.extend(n.iter().cloned());
        }
        Ok(plan)
    }

    /// Who got `template` within the frequency cap's window (or
    /// [`audience::RECENT_WINDOW`]): one pass over the campaigns
    /// and one over the send index's window.
    fn recent_sends(
        &self,
        template: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<audience::RecentSends, StoreError> {
        let window = self
            .config
            .consent
            .frequency_cap
            .and_then(|cap| chrono::Duration::from_std(cap.window).ok())
            .unwrap_or(audience::RECENT_WINDOW);
        let since = now.checked_sub_signed(window).unwrap_or(now);
        let campaigns: std::collections::HashSet<String> = self
            .campaigns
            .list()?
            .into_iter()
            .filter(|m| m.template.name == template && m.started_at.is_some())
            .map(|m| m.id.to_string())
            .collect();
        Ok(audience::RecentSends {
            template: template.to_string(),
            by_phone: self.store.latest_sends_from(since, &campaigns)?,
        })
    }

    /// Freezes a plan into a campaign, by this process's actor.
    pub fn create(&self, plan: &Plan) -> Result<CampaignMeta, StoreError> {
        self.create_by(plan, &self.actor)
    }

    /// Freezes a plan into a campaign created by `actor`, with the sending
    /// settings of the config in force now.
    pub fn create_by(&self, plan: &Plan, actor: &str) -> Result<CampaignMeta, StoreError> {
        self.campaigns.create_with(
            plan,
            self.mode(),
            actor,
            self.now(),
            Some(SendSettings::from_config(&self.config)),
        )
    }

    /// Starts or resumes sending a campaign, by this process's actor.
    pub fn start(&self, id: CampaignId) -> Result<CampaignHandle, DispatchError> {
        self.start_by(id, &self.actor)
    }

    /// Starts or resumes sending a campaign with its frozen settings.
    fn start_by(&self, id: CampaignId, actor: &str) -> Result<CampaignHandle, DispatchError> {
        let meta = self.campaigns.require(id)?;
        let config = self.engine_config(&meta, actor);
        if let Some(problem) = unsendable(&config) {
            return Err(DispatchError::Unsendable { id, problem });
        }
        if self.messenger.renew_credentials()? {
            tracing::info!(campaign = %id, "the access token was renewed from the token file");
        }
        dispatch::start(
            Arc::clone(&self.store),
            &self.campaigns,
            id,
            Arc::clone(&self.messenger),
            config,
        )
    }

    /// What a run of `meta` sends with: its frozen settings over the
    /// config (rate, quiet hours, tier), the config alone for a campaign
    /// of an older bote.
    pub fn engine_config(&self, meta: &CampaignMeta, actor: &str) -> EngineConfig {
        let mut config = match &meta.settings {
            Some(s) => EngineConfig::from_config(&s.apply(&self.config), actor),
            None => EngineConfig::from_config(&self.config, actor),
        };
        config.clock = self.clock.clone();
        // Meta's messaging limit is what its API enforces: a run obeys the
        // limit Meta last reported over the one frozen from the config.
        if let (tier, Some(_)) = self.messaging_tier() {
            config.tier = tier;
        }
        config
    }

    /// How the config differs from what `meta` froze, one line each.
    pub fn settings_changes(&self, meta: &CampaignMeta) -> Vec<String> {
        meta.settings
            .map(|s| s.changes(&SendSettings::from_config(&self.config)))
            .unwrap_or_default()
    }

    /// The campaigns running in this process.
    pub fn runs(&self) -> &Runs {
        &self.runs
    }

    /// Starts campaign `id` in this process, at most one run at a time;
    /// the run goes on whoever watches it.
    pub fn run(&self, id: CampaignId, actor: &str) -> Result<(), Failure> {
        if self.runs.is_running(id) {
            return Err(Failure::Refused(format!(
                "campaign {id} is already running"
            )));
        }
        let handle = self
            .start_by(id, actor)
            .map_err(|e| Failure::Error(e.to_string()))?;
        let audit = self.store.audit().clone();
        self.runs
            .adopt(handle, audit, actor.to_string())
            .map_err(|h| {
                h.detach();
                Failure::Refused(format!("campaign {id} is already running"))
            })
    }

    /// Continues every campaign a shutdown or a crash left `sending` or
    /// `held` (a crash's in-flight records become unknown first); returns their ids.
    pub fn continue_interrupted(&self) -> Vec<CampaignId> {
        let mut ids = Vec::new();
        let list = match self.campaigns.list() {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("listing campaigns to continue: {e}");
                return ids;
            }
        };
        for meta in list {
            if !matches!(
                meta.state,
                crate::campaign::CampaignState::Sending | crate::campaign::CampaignState::Held
            ) {
                continue;
            }
            match self.run(meta.id, &meta.created_by) {
                Ok(()) => ids.push(meta.id),
                Err(e) => tracing::error!(campaign = %meta.id, "continuing the campaign: {e}"),
            }
        }
        ids
    }

    /// Cancels a campaign that is not running: everyone pending is skipped.
    pub fn cancel(&self, id: CampaignId) -> Result<CampaignMeta, CampaignError> {
        Ok(self.campaigns.cancel(id, &self.actor, self.now())?.0)
    }
}

/// Why settings frozen by an older bote can never send, if they cannot:
/// the run would wait forever without a word (the config refuses both now).
fn unsendable(config: &EngineConfig) -> Option<String> {
    use crate::config::MIN_SENDING_MINUTES;
    if config.tier == 0 {
        return Some("its messaging tier is 0".into());
    }
    config
        .quiet_hours
        .filter(|q| q.sending_minutes() < MIN_SENDING_MINUTES)
        .map(|q| format!("its quiet hours {q} leave less than {MIN_SENDING_MINUTES} minutes a day"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_settings_that_can_never_send_are_named() {
        let mut c = EngineConfig::from_config(&Config::default(), "tester");
        assert_eq!(unsendable(&c), None);
        c.tier = 0;
        assert!(unsendable(&c).is_some_and(|p| p.contains("tier is 0")));
        c.tier = 1000;
        c.quiet_hours = Some(crate::config::QuietHours {
            start: chrono::NaiveTime::from_hms_opt(0, 0, 0).expect("time"),
            end: chrono::NaiveTime::from_hms_opt(23, 59, 0).expect("time"),
        });
        let p = unsendable(&c).expect("all-day quiet hours");
        assert!(p.contains("less than 60 minutes"), "{p}");
    }
}
