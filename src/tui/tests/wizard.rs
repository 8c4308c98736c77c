//! The new-campaign wizard: template, audience with live counts, the dry
//! run with its drill-down and previews, the confirmation.

use crossterm::event::KeyCode;

use super::harness::{Fixture, Harness};
use crate::tui::app::ScreenId;

async fn at_plan(fx: &Fixture, sandbox: bool) -> Harness {
    let mut h = Harness::new(fx, sandbox, 100, 30).await;
    h.press(&[KeyCode::Char('n'), KeyCode::Enter]).await;
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(h.app.screen(), ScreenId::Plan);
    h
}

#[tokio::test]
async fn template_step() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.key(KeyCode::Char('n'));
    snap!("wizard_template", h);
}

#[tokio::test]
async fn non_approved_template_is_shown_but_not_selectable() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.key(KeyCode::Char('n'));
    h.key(KeyCode::End);
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(
        h.app.screen(),
        ScreenId::Template,
        "a PAUSED template cannot be chosen"
    );
    snap!("wizard_template_paused", h);
}

#[tokio::test]
async fn audience_counts_are_live() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.press(&[KeyCode::Char('n'), KeyCode::Enter]).await;
    snap!("wizard_audience", h);
    // Locale: typed, debounced, then planned in the background.
    h.key(KeyCode::Tab);
    h.keys("en");
    assert!(!h.app.wizard.planning, "no plan per keystroke");
    h.tick(500);
    h.settle().await;
    let plan = h.app.wizard.plan.clone().expect("plan");
    assert_eq!(plan.plan.eligible.len(), 1, "only Dario reads English");
    // A list that does not exist is an error on screen, not a crash.
    h.key(KeyCode::Tab);
    h.keys("/nonexistent/list.csv");
    h.tick(500);
    h.settle().await;
    assert!(h.app.wizard.plan_error.is_some());
    assert!(h.render().contains("list.csv"));
}

#[tokio::test]
async fn topic_change_replans() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 80, 24).await;
    h.press(&[KeyCode::Char('n'), KeyCode::Enter]).await;
    h.press(&[KeyCode::Right, KeyCode::Right]).await;
    let plan = h.app.wizard.plan.clone().expect("plan");
    assert_eq!(plan.plan.request.topic, "events");
    assert_eq!(plan.plan.eligible.len(), 2, "Anna and Greta chose events");
}

#[tokio::test]
async fn dry_run_with_exclusions() {
    let fx = Fixture::new(true);
    let mut h = at_plan(&fx, true).await;
    snap!("wizard_plan", h);
    h.resize(80, 24);
    snap!("wizard_plan_80x24", h);
}

#[tokio::test]
async fn drill_down_and_previews() {
    let fx = Fixture::new(true);
    let mut h = at_plan(&fx, true).await;
    h.key(KeyCode::Down);
    h.key(KeyCode::Enter);
    snap!("wizard_plan_drill_pending", h);
    h.key(KeyCode::Esc);
    assert_eq!(
        h.app.screen(),
        ScreenId::Plan,
        "Esc closes the drill-down first"
    );
    h.key(KeyCode::Right);
    h.key(KeyCode::Right);
    let screen = h.render();
    assert!(screen.contains("Preview 3 of 6"), "{screen}");
    assert!(screen.contains("Hallo Clara"), "{screen}");
    for _ in 0..10 {
        h.key(KeyCode::Right);
    }
    assert!(h.render().contains("Preview 6 of 6"));
}

#[tokio::test]
async fn sandbox_confirmation_is_a_yes() {
    let fx = Fixture::new(true);
    let mut h = at_plan(&fx, true).await;
    h.key(KeyCode::Char('s'));
    snap!("wizard_confirm_sandbox", h);
    h.key(KeyCode::Char('n'));
    assert_eq!(h.app.screen(), ScreenId::Plan);
}

#[tokio::test]
async fn live_confirmation_needs_the_count_typed() {
    let fx = Fixture::live(true);
    let mut h = at_plan(&fx, false).await;
    h.key(KeyCode::Char('s'));
    h.keys("5");
    h.press(&[KeyCode::Enter]).await;
    // The daemon decides: a wrong count is refused and nothing is created.
    assert!(h.app.running.is_none());
    snap!("wizard_confirm_live_wrong_count", h);
    assert!(
        fx.engine.campaigns.list().expect("list").is_empty(),
        "nothing created"
    );
    h.key(KeyCode::Backspace);
    h.keys("6");
    h.press(&[KeyCode::Enter]).await;
    let list = fx.engine.campaigns.list().expect("list");
    assert_eq!(list.len(), 1, "the right count sends");
    assert_eq!(list[0].mode, "live");
    assert_eq!(h.app.screen(), ScreenId::Dashboard);
}

#[tokio::test]
async fn live_sending_without_a_processing_agreement_is_refused() {
    let fx = Fixture::live_without_agreement(true);
    let mut h = at_plan(&fx, false).await;
    h.key(KeyCode::Char('s'));
    h.keys("6");
    h.press(&[KeyCode::Enter]).await;
    // The default config records no processing agreement: live refuses (G16).
    let status = h.app.status.clone().expect("status");
    assert!(status.error && status.text.contains("G16"), "{status:?}");
    assert!(h.app.running.is_none());
    assert!(
        fx.engine.campaigns.list().expect("list").is_empty(),
        "nothing created"
    );
}

#[tokio::test]
async fn send_follows_the_real_run_to_the_end() {
    let fx = Fixture::new(true);
    let mut h = at_plan(&fx, true).await;
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Char('y'));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenId::Dashboard);
    assert!(
        h.app.running.is_none(),
        "the run ended and its handle is gone"
    );
    let screen = h.render();
    assert!(screen.contains("FINISHED"), "{screen}");
    assert!(screen.contains("accepted 4"), "{screen}");
    assert!(screen.contains("failed 1"), "{screen}");
    assert!(screen.contains("unknown 1"), "{screen}");
    let counts = fx
        .engine
        .campaigns
        .journal(crate::campaign::CampaignId(1))
        .and_then(|j| j.counts())
        .expect("counts");
    assert_eq!(
        (
            counts.accepted,
            counts.failed,
            counts.unknown,
            counts.skipped
        ),
        (4, 1, 1, 4)
    );
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(
        h.app.screen(),
        ScreenId::Detail,
        "Enter on a finished dashboard opens the detail"
    );
}

#[tokio::test]
async fn a_repeat_send_is_left_out_until_the_operator_includes_it() {
    let fx = Fixture::new(true);
    let mut h = at_plan(&fx, true).await;
    let first = h
        .app
        .wizard
        .plan
        .as_ref()
        .expect("plan")
        .plan
        .eligible
        .len();
    h.key(KeyCode::Char('i'));
    assert!(
        !h.app.wizard.include_recent,
        "nothing to include before anything was sent"
    );
    h.key(KeyCode::Char('s'));
    h.key(KeyCode::Char('y'));
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenId::Dashboard);
    while h.app.screen() != ScreenId::Home {
        h.key(KeyCode::Esc);
    }
    h.press(&[KeyCode::Char('n'), KeyCode::Enter]).await;
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(h.app.screen(), ScreenId::Plan);
    let again = h.app.wizard.plan.clone().expect("plan");
    let recent = again
        .reasons
        .iter()
        .find(|r| r.code == "recently_sent")
        .expect("the first campaign's recipients are left out");
    assert!(!recent.members.is_empty());
    assert!(
        recent.description.starts_with("got herbst_sale"),
        "{}",
        recent.description
    );
    let screen = h.render();
    assert!(screen.contains("recently_sent"), "{screen}");
    assert!(
        screen.contains("i include"),
        "the footer offers it: {screen}"
    );
    h.press(&[KeyCode::Char('i')]).await;
    assert!(h.app.wizard.include_recent);
    let included = h.app.wizard.plan.clone().expect("plan");
    assert!(included.reasons.iter().all(|r| r.code != "recently_sent"));
    assert_eq!(included.plan.eligible.len(), first);
}

/// The wizard in German: steps, the dry run's summary and the
/// confirmation come from the German catalog, money in its format.
#[tokio::test]
async fn the_wizard_in_german() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.app.ui.lang = crate::i18n::Language::De;
    h.press(&[KeyCode::Char('n')]).await;
    snap!("wizard_template_de", h);
    h.press(&[KeyCode::Enter]).await;
    snap!("wizard_audience_de", h);
    h.press(&[KeyCode::Enter]).await;
    assert_eq!(h.app.screen(), ScreenId::Plan);
    snap!("wizard_plan_de", h);
    let screen = h.render();
    assert!(
        screen.contains("Probelauf") && screen.contains("Berechtigt"),
        "{screen}"
    );
    assert!(
        screen.contains("0,68\u{a0}€") && screen.contains("0,1131"),
        "money the German way: {screen}"
    );
    h.key(KeyCode::Char('s'));
    snap!("wizard_confirm_sandbox_de", h);
}

/// A template written for another topic: the dry run says so, s refuses
/// until a acknowledges it.
#[tokio::test]
async fn another_topic_is_acknowledged_before_the_send() {
    let fx = Fixture::new(true);
    let mut h = Harness::new(&fx, true, 100, 30).await;
    h.press(&[KeyCode::Char('n'), KeyCode::Enter]).await;
    // The first topic other than sale.
    while h.app.ui.topics.get(h.app.wizard.topic).map(String::as_str) == Some("sale") {
        h.press(&[KeyCode::Right]).await;
    }
    h.press(&[KeyCode::Enter]).await;
    h.settle().await;
    assert_eq!(h.app.screen(), ScreenId::Plan);
    let screen = h.render();
    assert!(screen.contains("written for topic sale"), "{screen}");
    h.key(KeyCode::Char('s'));
    assert_eq!(
        h.app.screen(),
        ScreenId::Plan,
        "not before the acknowledgement"
    );
    assert!(h.app.status.as_ref().is_some_and(|s| s.error));
    h.press(&[KeyCode::Char('a')]).await;
    assert!(h
        .app
        .wizard
        .plan
        .as_ref()
        .is_some_and(|p| p.plan.request.ack_topic));
    h.key(KeyCode::Char('s'));
    assert_eq!(h.app.screen(), ScreenId::Confirm);
}
