//! Template and account state from Meta's webhooks (issue #15, item 3),
//! against the simulator: a template PAUSED mid-campaign stops it before
//! its next send (asserted from the simulator's record), quality RED is a
//! plan warning, and a messaging-limit change is the tier the plan uses.

#[path = "platform/rig.rs"]
mod rig;

use std::time::Duration;

use bote::audit::Action;
use bote::campaign::CampaignState;
use bote::template::Status;
use rig::{ends, rig, Setup};

const MARKETING: &str = "herbst_sale";

fn sends_of(r: &rig::Rig, template: &str) -> usize {
    r.sim()
        .records()
        .iter()
        .filter(|m| m.template == template)
        .count()
}

fn trail(r: &rig::Rig, action: Action) -> Vec<bote::audit::Entry> {
    let mut out = Vec::new();
    r.store
        .audit()
        .for_each(|e| {
            if e.action == action {
                out.push(e);
            }
        })
        .expect("trail");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_paused_mid_campaign_stops_it_before_the_next_send() {
    let r = rig(
        Setup {
            contacts: 300,
            rate: 100,
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    let (meta, handle) = r.launch(MARKETING);
    for _ in 0..1_000 {
        if sends_of(&r, MARKETING) >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        sends_of(&r, MARKETING) >= 20,
        "the campaign started sending"
    );
    // The webhook alone: the simulator still accepts the template, so any
    // send bote let through after processing it would be in the record.
    let status = r
        .sim()
        .post_template_status(MARKETING, "de", Status::Paused, Some("LOW_QUALITY"))
        .await
        .expect("webhook");
    assert_eq!(status, 200);
    r.settle().await;
    let sent_when_processed = sends_of(&r, MARKETING);
    assert_eq!(ends(handle).await, CampaignState::Paused);
    assert_eq!(
        sends_of(&r, MARKETING),
        sent_when_processed,
        "no send of the template arrived after the webhook was processed"
    );
    assert!(sent_when_processed < 300, "the campaign did not run on");
    assert_eq!(r.sim().stats().rejected(132_015), 0, "bote stopped first");
    let m = r.engine.campaigns.require(meta.id).expect("meta");
    let reason = m.state_reason.unwrap_or_default();
    assert!(
        reason.contains("PAUSED by Meta") && reason.contains("LOW_QUALITY"),
        "{reason}"
    );
    assert!(r.counts(meta.id).pending > 0);
    let entries = trail(&r, Action::TemplateStatusChanged);
    let e = entries.last().expect("audited");
    assert_eq!(e.subject.as_deref(), Some("template:herbst_sale:de"));
    assert_eq!(e.details["status"], "PAUSED");
    assert_eq!(e.details["campaigns"][0], serde_json::json!(meta.id));

    // The catalog knows the status: a plan now sends to nobody, and says why.
    let paused_plan = plan(&r, MARKETING);
    assert!(paused_plan.eligible.is_empty());
    assert!(paused_plan
        .lints
        .iter()
        .any(|l| l.message.contains("PAUSED by Meta")));
    // A resume while it is still paused stops again at once, sending nothing.
    let h = r.engine.start(meta.id).expect("resume");
    assert_eq!(ends(h).await, CampaignState::Paused);
    assert_eq!(sends_of(&r, MARKETING), sent_when_processed);
    // Meta approves it again: the campaign sends the rest, once each.
    r.sim()
        .post_template_status(MARKETING, "de", Status::Approved, None)
        .await
        .expect("webhook");
    r.settle().await;
    let h = r.engine.start(meta.id).expect("resume");
    assert_eq!(ends(h).await, CampaignState::Finished);
    assert_eq!(sends_of(&r, MARKETING), 300);
    assert_eq!(r.sim().stats().duplicates, 0);
}

/// Waits until the simulator has posted (and the receiver taken) `n`
/// deliveries and every webhook is processed.
async fn deliveries(r: &rig::Rig, n: usize) {
    for _ in 0..1_500 {
        if r.sim().priced_deliveries().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.sim().priced_deliveries().len(), n, "deliveries posted");
    r.settle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actual_cost_is_the_sum_of_the_simulators_priced_deliveries() {
    use bote::campaign::journal::PricingCategory;
    let r = rig(
        Setup {
            contacts: 20,
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    // Two recipients came from an ad: Meta delivers to them for free.
    r.sim().price_free(rig::phone(3));
    r.sim().price_free(rig::phone(7));
    let (marketing, h) = r.launch(MARKETING);
    assert_eq!(ends(h).await, CampaignState::Finished);
    let (utility, h) = r.launch("oeffnungszeiten_update");
    assert_eq!(ends(h).await, CampaignState::Finished);
    deliveries(&r, 40).await;

    let prices = &r.engine.config.pricing;
    let priced = r.sim().priced_deliveries();
    for (meta, category) in [(&marketing, "marketing"), (&utility, "utility")] {
        let expected: f64 = priced
            .iter()
            .filter(|d| d.category == category && d.kind == "regular")
            .map(|d| {
                let c: PricingCategory =
                    serde_json::from_value(serde_json::json!(d.category)).expect("category");
                let p = bote::phone::Phone::from_e164(&format!("+{}", d.to)).expect("number");
                prices.price_of(c, p.region_code().expect("region"))
            })
            .sum();
        let s = r.engine.status(&r.caller(), meta.id).expect("status");
        let cost = s.cost.expect("actual cost");
        assert_eq!(
            (cost.delivered, cost.charged, cost.unpriced),
            (20, 18, 0),
            "{category}"
        );
        assert!(
            (cost.total - expected).abs() < 1e-9,
            "{category}: {} vs {expected}",
            cost.total
        );
        assert_eq!(cost.by_category.get(category), Some(&18));
        let estimate = s.campaign.estimate.expect("frozen with the plan");
        assert!(estimate.total > cost.total, "the estimate prices all 20");
        let line = bote::campaign::cost::line(Some((estimate.total, &estimate.currency)), &cost);
        assert!(line.contains("18 charged of 20 delivered"), "{line}");
    }
    // The export names each recipient's pricing and cost.
    let (_, csv) = r
        .engine
        .export(
            &r.caller(),
            marketing.id,
            bote::campaign::export::Format::Csv,
            false,
        )
        .expect("export");
    assert!(
        csv.lines().next().expect("header").contains("cost"),
        "{csv}"
    );
    assert_eq!(csv.matches("free_entry_point").count(), 2, "{csv}");
}

fn plan(r: &rig::Rig, template: &str) -> bote::audience::Plan {
    r.engine
        .plan(&bote::audience::PlanRequest {
            template: template.into(),
            topic: "sale".into(),
            ..bote::audience::PlanRequest::default()
        })
        .expect("plan")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_red_is_a_plan_warning_and_kept_per_template() {
    let r = rig(Setup::default(), |_| {}).await;
    assert!(
        !plan(&r, MARKETING)
            .lints
            .iter()
            .any(|l| l.message.contains("RED")),
        "no warning before Meta says so"
    );
    let status = r
        .sim()
        .post_template_quality(MARKETING, "de", "YELLOW", "RED")
        .await
        .expect("webhook");
    assert_eq!(status, 200);
    r.settle().await;
    let st = r.store.templates().get(MARKETING, "de").expect("kept");
    assert_eq!(st.quality, Some(bote::platform::Quality::Red));
    assert_eq!(st.previous_quality, Some(bote::platform::Quality::Yellow));
    let lints = plan(&r, MARKETING).lints;
    let red = lints
        .iter()
        .find(|l| l.message.contains("quality RED"))
        .expect("warned");
    assert_eq!(red.level, "warning");
    assert!(
        !plan(&r, "oeffnungszeiten_update")
            .lints
            .iter()
            .any(|l| l.message.contains("quality RED")),
        "only that template"
    );
    assert_eq!(trail(&r, Action::TemplateQualityChanged).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messaging_limit_change_is_the_tier_the_plan_uses_and_says_so() {
    let r = rig(
        Setup {
            contacts: 10,
            ..Setup::default()
        },
        |c| c.api.messaging_tier = 1_000,
    )
    .await;
    let before = plan(&r, MARKETING);
    assert_eq!(
        (before.tier.tier, before.tier.source.as_deref()),
        (1_000, None)
    );
    // Meta lowers the portfolio's limit (in the test, below the audience).
    let status = r
        .sim()
        .post_messaging_limit(serde_json::json!("TIER_250"))
        .await
        .expect("webhook");
    assert_eq!(status, 200);
    r.settle().await;
    let after = plan(&r, MARKETING);
    assert_eq!(after.tier.tier, 250);
    let source = after.tier.source.expect("says where from");
    assert!(
        source.contains("TIER_250") && source.contains("business_capability_update"),
        "{source}"
    );
    let (_, limit_source) = r.engine.messaging_tier();
    assert!(limit_source.is_some());
    // The other account notices are kept and audited too.
    r.sim()
        .post_phone_quality("FLAGGED", "TIER_2K")
        .await
        .expect("webhook");
    r.sim()
        .post_account_alert(
            "INCREASED_CAPABILITIES_ELIGIBILITY",
            "INFORMATIONAL",
            "eligible",
        )
        .await
        .expect("webhook");
    r.sim()
        .post_account_update(
            "ACCOUNT_RESTRICTION",
            serde_json::json!([{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING"}]),
        )
        .await
        .expect("webhook");
    r.settle().await;
    let account = r.engine.account_state();
    assert_eq!(
        account.phone_quality.as_ref().map(|n| n.event.as_str()),
        Some("FLAGGED")
    );
    assert_eq!(account.alerts.len(), 1);
    assert_eq!(
        account.account.as_ref().map(|n| n.event.as_str()),
        Some("ACCOUNT_RESTRICTION")
    );
    assert!(account
        .lines()
        .iter()
        .any(|l| l.contains("messaging limit 250")));
    let lints = plan(&r, MARKETING).lints;
    assert!(
        lints.iter().any(|l| l.message.contains("FLAGGED")),
        "{lints:?}"
    );
    assert!(
        lints
            .iter()
            .any(|l| l.message.contains("ACCOUNT_RESTRICTION")),
        "{lints:?}"
    );
    assert_eq!(trail(&r, Action::AccountStateChanged).len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_reads_the_number_s_limits_and_the_plan_says_they_came_from_the_api() {
    let r = rig(Setup::default(), |c| c.api.messaging_tier = 1_000).await;
    r.sim().set_messaging_limit("TIER_10K");
    let client = bote::cloud::Client::new(
        &r.sim().api_config(),
        &r.engine.config.send,
        bote::cloud::ApiToken::new("platform-test-token").expect("token"),
    )
    .expect("client");
    let limits = client.number_limits().await.expect("limits");
    assert_eq!(limits.messaging_limit.as_deref(), Some("TIER_10K"));
    assert_eq!(
        limits.throughput.as_deref(),
        Some("HIGH"),
        "the rig's sim runs 1,000 mps"
    );
    let said = r
        .engine
        .record_number_limits(&r.caller(), &limits)
        .expect("recorded");
    assert!(said.contains("10000"), "{said}");
    let p = plan(&r, MARKETING);
    assert_eq!(p.tier.tier, 10_000);
    let source = p.tier.source.expect("from the API");
    assert!(source.contains("template list --sync"), "{source}");
    let account = r.engine.account_state();
    assert!(account
        .lines()
        .iter()
        .any(|l| l.contains("throughput HIGH")));
}
