//! Campaigns that wait for their time: `campaign send --at … --not-after …`.
//! The daemon asks once a second ([`Engine::start_due`]); the engine's
//! clock decides, so tests move time by hand instead of waiting for it.

use chrono::{DateTime, Utc};

use super::Engine;
use crate::campaign::{CampaignId, CampaignMeta, CampaignState, Schedule};
use crate::service::wire::Failure;

/// What one look at the schedule did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    /// Started now.
    pub started: Vec<CampaignId>,
    /// Past their `not_after`: cancelled, nothing (more) sent.
    pub expired: Vec<CampaignId>,
    /// Whether campaigns still wait for their start (the daemon stays for them).
    pub waiting: bool,
}

impl Engine {
    /// Checks a requested window against now: the start may not lie in the
    /// past (a minute's grace), the end must come after the start.
    pub fn check_schedule(&self, s: &Schedule) -> Result<(), Failure> {
        let now = self.now();
        if s.at < now - chrono::Duration::minutes(1) {
            return Err(Failure::Error(format!(
                "--at {} lies in the past (now {})",
                self.config.ui.minute(s.at),
                self.config.ui.minute(now)
            )));
        }
        if let Some(end) = s.not_after {
            if end <= s.at || end <= now {
                return Err(Failure::Error(format!(
                    "--not-after {} must lie after the start {} and after now",
                    self.config.ui.minute(end),
                    self.config.ui.minute(s.at.max(now))
                )));
            }
        }
        Ok(())
    }

    /// Starts every scheduled campaign whose time has come, cancels every
    /// campaign whose `not_after` has passed (scheduled or running), saying
    /// why, and tells whether any still waits — one pass over the campaigns.
    pub fn start_due(&self) -> Due {
        let mut due = Due::default();
        let now = self.now();
        let list = match self.campaigns.scheduled() {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("reading the schedule: {e}");
                // Unreadable now: keep the daemon, look again next time.
                due.waiting = true;
                return due;
            }
        };
        for meta in list {
            let Some(schedule) = meta.schedule else {
                continue;
            };
            let open = !matches!(
                meta.state,
                CampaignState::Finished | CampaignState::Cancelled
            );
            if open && schedule.not_after.is_some_and(|end| end <= now) {
                if let Err(e) = self.expire(&meta, now) {
                    tracing::error!(campaign = %meta.id, "cancelling at not-after: {e}");
                } else {
                    due.expired.push(meta.id);
                }
                continue;
            }
            if meta.state != CampaignState::Scheduled {
                continue;
            }
            if schedule.at > now {
                due.waiting = true;
                continue;
            }
            match self.run(meta.id, &meta.created_by) {
                Ok(()) => {
                    tracing::info!(campaign = %meta.id, at = %schedule.at, "scheduled campaign started");
                    due.started.push(meta.id);
                }
                Err(e) => {
                    tracing::error!(campaign = %meta.id, "starting the scheduled campaign: {e}");
                    due.waiting = true;
                }
            }
        }
        due
    }

    fn expire(&self, meta: &CampaignMeta, now: DateTime<Utc>) -> Result<(), Failure> {
        let end = meta.schedule.and_then(|s| s.not_after).unwrap_or(now);
        let reason = format!(
            "not sent after its window closed at {} (--not-after)",
            self.config.ui.minute(end)
        );
        if self.runs.cancel(meta.id) {
            tracing::warn!(campaign = %meta.id, %reason, "campaign stopped");
            return Ok(());
        }
        let (mut after, skipped) = self
            .campaigns
            .cancel(meta.id, "bote", now)
            .map_err(|e| Failure::Error(e.to_string()))?;
        after.state_reason = Some(reason.clone());
        self.campaigns
            .save(&after)
            .map_err(|e| Failure::Error(e.to_string()))?;
        tracing::warn!(campaign = %meta.id, skipped, %reason, "campaign not sent");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use chrono::{Duration, TimeZone};
    use futures::future::BoxFuture;
    use futures::FutureExt;

    use super::*;
    use crate::audience::PlanRequest;
    use crate::clock::Clock;
    use crate::config::Config;
    use crate::consent::import::{self, ImportOptions};
    use crate::consent::Store;
    use crate::dispatch::{Messenger, Reply};
    use crate::engine::Backend;
    use crate::phone::Phone;
    use crate::service::peer::Caller;
    use crate::service::wire::Confirmation;
    use crate::template::{Catalog, Params, Template};

    /// Accepts everything and counts.
    struct Counting(AtomicUsize);

    impl Messenger for Counting {
        fn send<'a>(
            &'a self,
            to: Phone,
            _: &'a Template,
            _: &'a Params,
            _: &'a str,
        ) -> BoxFuture<'a, Reply> {
            self.0.fetch_add(1, Ordering::SeqCst);
            async move {
                Reply::Accepted {
                    wamid: format!("wamid.{}", to.as_u64()),
                }
            }
            .boxed()
        }
    }

    fn engine(dir: &std::path::Path, clock: Clock) -> (Engine, Arc<Counting>) {
        engine_with(dir, clock, Config::default())
    }

    fn engine_with(dir: &std::path::Path, clock: Clock, config: Config) -> (Engine, Arc<Counting>) {
        let store = Store::open(&dir.join("store")).expect("store");
        let csv = dir.join("c.csv");
        std::fs::write(
            &csv,
            "phone;first_name;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics\n\
             0171 2000001;Anna;2026-09-01T10:00:00Z;web;2026-09-01T10:05:00Z;link;sale\n\
             0171 2000002;Ben;2026-09-01T10:00:00Z;web;2026-09-01T10:05:00Z;link;sale\n\
             0171 2000003;Clara;2026-09-01T10:00:00Z;web;2026-09-01T10:05:00Z;link;sale\n",
        )
        .expect("csv");
        let opts = ImportOptions {
            source: None,
            dry_run: false,
            actor: "tester".into(),
            now: clock.now(),
        };
        import::import(&store, &config, &csv, &opts, None, &|_, _| {}).expect("import");
        let messenger = Arc::new(Counting(AtomicUsize::new(0)));
        let m: Arc<dyn Messenger> = Arc::clone(&messenger) as Arc<dyn Messenger>;
        let engine = Engine::new(
            store,
            config,
            Catalog::embedded().expect("catalog"),
            m,
            Backend::Sandbox(None),
            "tester".into(),
        )
        .expect("engine")
        .with_clock(clock);
        (engine, messenger)
    }

    /// Sends herbst_sale to `sale`, confirmed, in `schedule` (None: now).
    fn send(e: &Engine, schedule: Option<Schedule>) -> CampaignMeta {
        let caller = Caller::resolve(1000, "tester".into(), e.config.roles.as_ref(), 1000);
        let request = PlanRequest {
            template: "herbst_sale".into(),
            topic: "sale".into(),
            ..Default::default()
        };
        let confirm = Confirmation {
            yes: true,
            typed: None,
        };
        e.send(&caller, &request, None, &confirm, schedule)
            .expect("send")
            .1
    }

    fn send_at(e: &Engine, at: DateTime<Utc>, not_after: Option<DateTime<Utc>>) -> CampaignMeta {
        send(e, Some(Schedule { at, not_after }))
    }

    async fn finished(e: &Engine, id: CampaignId) -> CampaignMeta {
        for _ in 0..500 {
            if !e.runs().is_running(id) {
                return e.campaigns.require(id).expect("meta");
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("campaign {id} did not finish");
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0)
            .single()
            .expect("time")
    }

    #[tokio::test]
    async fn a_scheduled_campaign_waits_for_its_time_on_the_engines_clock() {
        let dir = tempfile::tempdir().expect("tmp");
        let (clock, hand) = Clock::manual(t0());
        let (e, sent) = engine(dir.path(), clock);
        // An unscheduled campaign is not in the schedule index the daemon reads.
        let request = PlanRequest {
            template: "herbst_sale".into(),
            topic: "sale".into(),
            ..Default::default()
        };
        let plain = e.create(&e.plan(&request).expect("plan")).expect("create");
        let meta = send_at(&e, t0() + Duration::hours(2), None);
        assert_eq!(meta.state, CampaignState::Scheduled);
        let indexed = |e: &Engine| -> Vec<CampaignId> {
            let s = e.campaigns.scheduled().expect("schedule index");
            s.iter().map(|m| m.id).collect()
        };
        assert_eq!(indexed(&e), vec![meta.id], "not {}", plain.id);
        let waiting = Due {
            waiting: true,
            ..Due::default()
        };
        assert_eq!(
            e.start_due(),
            waiting,
            "not yet, and the daemon stays for it"
        );
        hand.advance(Duration::minutes(119));
        assert_eq!(e.start_due(), waiting, "one minute early");
        assert_eq!(sent.0.load(Ordering::SeqCst), 0);
        hand.advance(Duration::minutes(1));
        assert_eq!(e.start_due().started, vec![meta.id]);
        let done = finished(&e, meta.id).await;
        assert_eq!(done.state, CampaignState::Finished);
        assert_eq!(
            sent.0.load(Ordering::SeqCst),
            3,
            "sent once each, at its time"
        );
        assert_eq!(
            e.start_due(),
            Due::default(),
            "started once; nothing waits any more"
        );
        assert!(
            indexed(&e).is_empty(),
            "a finished campaign leaves the index"
        );
    }

    #[tokio::test]
    async fn a_campaign_past_its_not_after_is_not_sent_and_says_why() {
        let dir = tempfile::tempdir().expect("tmp");
        let (clock, hand) = Clock::manual(t0());
        let (e, sent) = engine(dir.path(), clock);
        let meta = send_at(
            &e,
            t0() + Duration::hours(1),
            Some(t0() + Duration::hours(3)),
        );
        // The daemon was down through the whole window.
        hand.advance(Duration::hours(4));
        assert_eq!(e.start_due().expired, vec![meta.id]);
        let after = e.campaigns.require(meta.id).expect("meta");
        assert_eq!(after.state, CampaignState::Cancelled);
        let reason = after.state_reason.unwrap_or_default();
        assert!(reason.contains("--not-after"), "{reason}");
        assert_eq!(sent.0.load(Ordering::SeqCst), 0);
        let counts = e
            .campaigns
            .journal(meta.id)
            .and_then(|j| j.counts())
            .expect("counts");
        assert_eq!((counts.pending, counts.skipped), (0, 3));
    }

    /// Quiet hours hold the send inside the daemon and end by the engine's
    /// clock: moving the clock past them is all it takes, no waiting.
    #[tokio::test]
    async fn a_held_campaign_resumes_by_itself_when_its_quiet_hours_end() {
        let dir = tempfile::tempdir().expect("tmp");
        // 22:30 in Berlin: inside 21:00–08:00.
        let night = Utc
            .with_ymd_and_hms(2026, 12, 3, 21, 30, 0)
            .single()
            .expect("time");
        let (clock, hand) = Clock::manual(night);
        let mut config = Config::default();
        config.send.quiet_hours = "21:00-08:00".parse().ok();
        let (e, sent) = engine_with(dir.path(), clock, config);
        let meta = send(&e, None);
        let mut held = false;
        for _ in 0..500 {
            if e.runs().live_state(meta.id).map(|(s, _)| s) == Some(CampaignState::Held) {
                held = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(held, "the campaign is held for quiet hours");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(sent.0.load(Ordering::SeqCst), 0, "nothing at night");
        // 08:01 in Berlin.
        hand.advance(Duration::hours(9) + Duration::minutes(31));
        let done = finished(&e, meta.id).await;
        assert_eq!(done.state, CampaignState::Finished);
        assert_eq!(
            sent.0.load(Ordering::SeqCst),
            3,
            "everyone, once, after the hold"
        );
    }

    #[test]
    fn a_window_in_the_past_or_inside_out_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let (e, _) = engine(dir.path(), Clock::Fixed(t0()));
        let past = Schedule {
            at: t0() - Duration::hours(1),
            not_after: None,
        };
        assert!(
            matches!(e.check_schedule(&past), Err(Failure::Error(m)) if m.contains("lies in the past"))
        );
        let inside_out = Schedule {
            at: t0() + Duration::hours(2),
            not_after: Some(t0() + Duration::hours(1)),
        };
        assert!(
            matches!(e.check_schedule(&inside_out), Err(Failure::Error(m)) if m.contains("--not-after"))
        );
        let ok = Schedule {
            at: t0() + Duration::hours(1),
            not_after: Some(t0() + Duration::hours(2)),
        };
        assert!(e.check_schedule(&ok).is_ok());
    }
}
