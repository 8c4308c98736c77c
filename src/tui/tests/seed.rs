//! Campaigns for the tests, written straight into the journal with fixed
//! times and outcomes (a real run's latencies and timestamps would make
//! the snapshots flaky; the dashboard's real-run path has its own test).

use chrono::Duration;

use super::harness::{now, Fixture};
use crate::audience::PlanRequest;
use crate::campaign::journal::RecipientState;
use crate::campaign::{CampaignId, CampaignState};
use crate::tui::requests;

/// A request for the fixture's audience.
pub fn request(template: &str, topic: &str) -> PlanRequest {
    PlanRequest {
        template: template.into(),
        topic: topic.into(),
        ..Default::default()
    }
}

/// Campaign 1: herbst_sale to `sale`, finished two hours ago with one of
/// each outcome (delivered, read, accepted, sent, unknown, failed 131026)
/// and four skipped by the plan. Campaign 2: neue_kollektion to `events`,
/// paused by the operator with everyone still pending.
pub fn campaigns(fx: &Fixture) -> (CampaignId, CampaignId) {
    let e = &fx.engine;
    let at = now() - Duration::hours(2);
    let plan = requests::view(e.plan(&request("herbst_sale", "sale")).expect("plan"));
    let mut meta = e
        .campaigns
        .create(&plan.plan, "sandbox", "tester", at)
        .expect("create");
    let journal = e.campaigns.journal(meta.id).expect("journal");
    let outcomes = [
        (RecipientState::Delivered, None, None),
        (RecipientState::Read, None, None),
        (RecipientState::Accepted, None, None),
        (RecipientState::Sent, None, None),
        (
            RecipientState::Unknown,
            None,
            Some("timeout after 10 s; the send may have happened"),
        ),
        (
            RecipientState::Failed,
            Some(131026),
            Some("message undeliverable"),
        ),
    ];
    let mut records = Vec::new();
    for (i, r) in journal.iter().enumerate() {
        let (idx, mut rec) = r.expect("record");
        let Some((state, code, reason)) = outcomes.get(i).copied() else {
            break;
        };
        rec.state = state;
        rec.code = code;
        rec.reason = reason.map(str::to_string);
        rec.attempts = 1;
        rec.latency_ms = Some(80 + 7 * i as u32);
        rec.updated_at = at + Duration::minutes(1);
        rec.actor = "dispatcher".into();
        if state.is_delivered_path() {
            rec.wamid = Some(format!("wamid.{idx}"));
            if let Some(p) = rec.phone {
                e.store.record_send(p, at, "1").expect("send record");
            }
        }
        records.push((idx, rec));
    }
    journal.write(&records).expect("write");
    meta.state = CampaignState::Finished;
    meta.started_at = Some(at);
    meta.finished_at = Some(at + Duration::minutes(1));
    e.campaigns.save(&meta).expect("save");

    let plan = requests::view(e.plan(&request("neue_kollektion", "events")).expect("plan"));
    let mut paused = e
        .campaigns
        .create(&plan.plan, "sandbox", "tester", at + Duration::minutes(30))
        .expect("create");
    paused.state = CampaignState::Paused;
    paused.state_reason = Some("stopped by the operator".into());
    paused.started_at = Some(at + Duration::minutes(30));
    e.campaigns.save(&paused).expect("save");
    (meta.id, paused.id)
}
