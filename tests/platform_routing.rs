//! Routing by the template's latest category, against the simulator's
//! record of the endpoint each send arrived at: MARKETING on
//! `/marketing_messages`, the rest on `/messages`, the map kept by the
//! template list and the completed `template_category_update`, and a
//! campaign re-categorised UTILITY → MARKETING paused before its next send.

#[path = "platform/rig.rs"]
mod rig;

use bote::campaign::CampaignState;
use bote::cloud::{
    ApiToken, Client, Endpoint, RetryScope, SendOutcome, TemplateCategories, TEMPLATE_NOT_SYNCED,
};
use bote::config::MarketingEndpoint;
use bote::template::{Category, Params};
use rig::{ends, phone, rig, Setup};

const UTILITY: &str = "oeffnungszeiten_update";

fn endpoints(r: &rig::Rig, template: &str) -> Vec<String> {
    r.sim()
        .records()
        .into_iter()
        .filter(|m| m.template == template)
        .map(|m| m.endpoint)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_goes_to_marketing_messages_and_utility_to_messages() {
    let r = rig(Setup::default(), |_| {}).await;
    let (_, h) = r.launch("herbst_sale");
    assert_eq!(ends(h).await, CampaignState::Finished);
    let (_, h) = r.launch(UTILITY);
    assert_eq!(ends(h).await, CampaignState::Finished);
    assert_eq!(endpoints(&r, "herbst_sale"), vec!["marketing_messages"; 10]);
    assert_eq!(endpoints(&r, UTILITY), vec!["messages"; 10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_endpoint_messages_keeps_marketing_on_the_plain_endpoint() {
    let r = rig(Setup::default(), |c| {
        c.api.marketing_endpoint = MarketingEndpoint::Messages;
    })
    .await;
    let (_, h) = r.launch("herbst_sale");
    assert_eq!(ends(h).await, CampaignState::Finished);
    assert_eq!(endpoints(&r, "herbst_sale"), vec!["messages"; 10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_list_fills_the_map_and_sends_follow_it() {
    let r = rig(Setup::default(), |_| {}).await;
    let categories = TemplateCategories::open(r.store.db()).expect("map");
    let sync = Client::new(
        &r.sim().api_config(),
        &r.engine.config.send,
        ApiToken::new("platform-test-token").expect("token"),
    )
    .expect("client")
    .with_categories(categories.clone());
    let t = r
        .engine
        .catalog
        .get(UTILITY, None)
        .expect("template")
        .clone();
    assert_eq!(sync.endpoint_for(&t), Endpoint::Messages);
    let listed = sync.list_templates().await.expect("list");
    assert!(listed.iter().any(|l| l.name == UTILITY));
    let l = categories
        .latest(UTILITY, "de")
        .expect("read")
        .expect("synced");
    assert_eq!(
        (l.category, l.source.as_str()),
        (Some(Category::Utility), "sync")
    );
    // Meta re-categorised it without a webhook bote hears: the next list
    // shows the new category, and the route follows it.
    assert!(r
        .sim()
        .set_template_category(UTILITY, "de", Category::Marketing));
    assert_eq!(
        sync.endpoint_for(&t),
        Endpoint::Messages,
        "not before the list says so"
    );
    sync.list_templates().await.expect("list");
    assert_eq!(categories.route_category(&t), Category::Marketing);
    assert_eq!(sync.endpoint_for(&t), Endpoint::MarketingMessages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_recategorised_utility_to_marketing_mid_way_is_paused_to_plan_again() {
    let r = rig(
        Setup {
            contacts: 40,
            rate: 20,
            ..Setup::default()
        },
        |c| c.send.concurrency = bote::config::Concurrency::Fixed(1),
    )
    .await;
    let (meta, handle) = r.launch(UTILITY);
    for _ in 0..1_000 {
        if r.sim().records().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(r.sim().records().len() >= 3, "the campaign started sending");
    let status = r
        .sim()
        .recategorise(UTILITY, "de", Category::Marketing)
        .await
        .expect("recategorise");
    assert_eq!(status, Some(200));
    r.settle().await;
    let sent_when_switched = r.sim().records().len();
    assert_eq!(ends(handle).await, CampaignState::Paused);
    let m = r.engine.campaigns.require(meta.id).expect("meta");
    let reason = m.state_reason.unwrap_or_default();
    assert!(
        reason.contains("re-categorised UTILITY → MARKETING")
            && reason.contains("plan the campaign again"),
        "{reason}"
    );
    // At most the one send already past its check when the switch landed.
    let after = r.sim().records().len();
    assert!(
        after <= sent_when_switched + 1,
        "{sent_when_switched} → {after}"
    );
    assert!(after < 40, "the campaign did not run on");
    assert!(
        endpoints(&r, UTILITY).iter().all(|e| e == "messages"),
        "nothing went out as marketing without marketing consent"
    );
    assert!(r.counts(meta.id).pending > 0);

    // Planned again, the campaign is what the template is now: MARKETING,
    // judged and sent as marketing, on the Marketing Messages API — to
    // everyone but those the paused run already reached (recently_sent).
    let sent_before = r.sim().records().len();
    let (again, handle) = r.launch(UTILITY);
    assert_eq!(again.template.category, Category::Marketing);
    assert_eq!(ends(handle).await, CampaignState::Finished);
    let records = r.sim().records();
    assert!(records[sent_before..]
        .iter()
        .all(|m| m.endpoint == "marketing_messages"));
    let first: std::collections::HashSet<&str> = records[..sent_before]
        .iter()
        .map(|m| m.to.as_str())
        .collect();
    let second: std::collections::HashSet<&str> = records[sent_before..]
        .iter()
        .map(|m| m.to.as_str())
        .collect();
    assert!(first.is_disjoint(&second), "nobody got it twice");
    assert_eq!(first.len() + second.len(), 40, "everyone got it once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_impending_notice_is_kept_for_the_operator_and_not_routed_on() {
    let r = rig(Setup::default(), |_| {}).await;
    let at = chrono::Utc::now().timestamp() + 86_400;
    assert_eq!(
        r.sim()
            .announce_recategorisation(UTILITY, "de", Category::Marketing, at)
            .await
            .expect("announce"),
        200
    );
    r.settle().await;
    let categories = TemplateCategories::open(r.store.db()).expect("map");
    let l = categories
        .latest(UTILITY, "de")
        .expect("read")
        .expect("kept");
    let notice = l.impending.expect("shown");
    assert_eq!(notice.correct_category, Category::Marketing);
    assert_eq!(notice.effective_at.map(|t| t.timestamp()), Some(at));
    assert_eq!(
        l.category, None,
        "not routed on: the template's own category routes"
    );
    let (_, h) = r.launch(UTILITY);
    assert_eq!(ends(h).await, CampaignState::Finished);
    assert_eq!(endpoints(&r, UTILITY), vec!["messages"; 10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_not_yet_synced_for_the_marketing_api_is_retried_later_not_final() {
    let r = rig(Setup::default(), |_| {}).await;
    assert!(r.sim().set_template_unsynced("herbst_sale", "de", 1));
    let client = Client::new(
        &r.sim().api_config(),
        &r.engine.config.send,
        ApiToken::new("platform-test-token").expect("token"),
    )
    .expect("client");
    let t = r.engine.catalog.get("herbst_sale", None).expect("template");
    let params = Params(vec!["Anna".into(), "HERBST20".into()]);
    let first = client.send_template(phone(0), t, &params, "c=9;r=0").await;
    assert!(
        matches!(
            first,
            SendOutcome::Retry {
                code: Some(TEMPLATE_NOT_SYNCED),
                scope: RetryScope::App,
                ..
            }
        ),
        "{first:?}"
    );
    let second = client.send_template(phone(0), t, &params, "c=9;r=0").await;
    assert!(matches!(second, SendOutcome::Accepted { .. }), "{second:?}");
    assert_eq!(endpoints(&r, "herbst_sale"), vec!["marketing_messages"]);
}
