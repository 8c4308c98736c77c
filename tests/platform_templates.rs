//! Templates from the API (issue #15, item 7), against the simulator on
//! 127.0.0.1: a sync brings every template of the WABA into the daemon's
//! store with its definition; one without bindings is reported and refused
//! by the plan, sends once a bindings file binds it, and follows Meta's
//! status webhooks; Meta's definition wins over a local file of the same
//! name, with a warning when the bodies differ.

#[path = "platform/rig.rs"]
mod rig;

use bote::audience::{PlanError, PlanRequest};
use bote::campaign::CampaignState;
use bote::platform::{Quality, SyncedTemplates};
use bote::template::{Catalog, Category, Component, Status, Template, TemplateError};
use rig::{ends, rig, Rig, Setup};

const SYNCED: &str = "fruehjahr_aktion";

/// A template only the WABA has: no file for it in `templates/`.
fn fruehjahr() -> Template {
    serde_json::from_value(serde_json::json!({
        "name": SYNCED, "language": "de", "status": "APPROVED", "category": "MARKETING",
        "components": [
            { "type": "HEADER", "format": "TEXT", "text": "Frühjahrsputz" },
            { "type": "BODY", "text": "Hallo {{1}}, nur diese Woche: {{2}} auf Gartenmöbel.",
              "example": { "body_text": [["Anna", "25 %"]] } },
            { "type": "FOOTER", "text": "Keine Werbung mehr? Antworte STOP." }
        ]
    }))
    .expect("template")
}

fn setup() -> Setup {
    Setup {
        meta_templates: vec![fruehjahr()],
        ..Setup::default()
    }
}

fn request(template: &str) -> PlanRequest {
    PlanRequest {
        template: template.into(),
        topic: "sale".into(),
        ..PlanRequest::default()
    }
}

/// The shipped templates plus `bindings/NAME.LANG.toml` files, as the
/// daemon loads its `--templates` dir.
fn with_bindings(r: &mut Rig, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&shipped).expect("templates") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::create_dir(dir.path().join("bindings")).expect("bindings dir");
    for (name, text) in files {
        std::fs::write(dir.path().join("bindings").join(name), text).expect("write");
    }
    r.engine.catalog = Catalog::load_dir(dir.path()).expect("loads");
    dir
}

const BINDINGS: &str =
    "[bindings]\n\"1\" = { attribute = \"first_name\" }\n\"2\" = { value = \"25 %\" }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_brings_every_template_of_the_waba_with_its_definition() {
    let r = rig(setup(), |_| {}).await;
    let shipped = r.engine.catalog.len();
    let report = r.engine.sync_templates(&r.caller()).await.expect("sync");
    assert_eq!(report.changes.listed, shipped + 1);
    assert_eq!(
        report.changes.added.len(),
        shipped + 1,
        "all new to the store"
    );
    let stored = SyncedTemplates::open(r.store.db())
        .expect("open")
        .all()
        .expect("all");
    let t = stored
        .iter()
        .find(|t| t.name == SYNCED)
        .expect("the WABA-only template is in the store");
    assert_eq!(t.category, Category::Marketing);
    assert_eq!(t.status, Status::Approved);
    assert_eq!(t.header_text(), Some("Frühjahrsputz"));
    assert_eq!(t.body(), fruehjahr().body());
    assert_eq!(t.footer(), fruehjahr().footer());
    assert!(t.id.is_some(), "Meta's id");
    assert_eq!(
        r.store
            .templates()
            .get(SYNCED, "de")
            .and_then(|s| s.quality),
        Some(Quality::Unknown)
    );
    // The sync names what still lacks bindings; the catalog views show it.
    let unbound: Vec<_> = report.unbound.iter().filter(|u| u.name == SYNCED).collect();
    assert_eq!(unbound.len(), 1, "{:?}", report.unbound);
    assert_eq!(unbound[0].missing, vec!["{{1}}", "{{2}}"]);
    assert_eq!(
        unbound[0].bindings_file,
        "templates/bindings/fruehjahr_aktion.de.toml"
    );
    assert_eq!(
        report.unbound.len(),
        1,
        "the shipped ones are bound by their files"
    );
    let setup = r.engine.setup(&r.caller()).expect("setup");
    let (_, lints) = setup
        .templates
        .iter()
        .find(|(t, _)| t.name == SYNCED)
        .expect("listed");
    assert!(
        lints
            .iter()
            .any(|l| l.level == "error" && l.message.contains("not sendable yet")),
        "{lints:?}"
    );
    // A second sync with nothing new changes nothing.
    let again = r.engine.sync_templates(&r.caller()).await.expect("sync");
    assert!(again.changes.added.is_empty() && again.changes.changed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_template_without_bindings_is_refused_and_sends_once_bound() {
    let mut r = rig(setup(), |_| {}).await;
    let unknown = r.engine.plan(&request(SYNCED)).expect_err("not synced yet");
    assert!(
        matches!(unknown, PlanError::Template(TemplateError::NotFound(_))),
        "{unknown}"
    );
    r.engine.sync_templates(&r.caller()).await.expect("sync");
    let e = r.engine.plan(&request(SYNCED)).expect_err("unbound");
    assert!(
        matches!(e, PlanError::Template(TemplateError::Unbound { .. })),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("{{1}}") && text.contains("templates/bindings/fruehjahr_aktion.de.toml"),
        "{text}"
    );
    assert!(r.sim().records().is_empty(), "nothing was sent");

    let _dir = with_bindings(&mut r, &[("fruehjahr_aktion.de.toml", BINDINGS)]);
    let plan = r.engine.plan(&request(SYNCED)).expect("bound");
    assert_eq!(plan.eligible.len(), 10);
    assert!(plan
        .preview(0)
        .is_some_and(|p| p.contains("Hallo Kunde") && p.contains("25 % auf")));
    let (meta, handle) = r.launch(SYNCED);
    assert_eq!(ends(handle).await, CampaignState::Finished);
    let sent: Vec<_> = r
        .sim()
        .records()
        .into_iter()
        .filter(|m| m.template == SYNCED)
        .collect();
    assert_eq!(sent.len(), 10);
    assert!(sent
        .iter()
        .all(|m| m.params.len() == 2 && m.params[1] == "25 %"));
    assert_eq!(r.counts(meta.id).failed, 0);
    assert!(r.engine.unbound_templates().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_webhook_updates_a_synced_template() {
    let mut r = rig(setup(), |_| {}).await;
    r.engine.sync_templates(&r.caller()).await.expect("sync");
    let _dir = with_bindings(&mut r, &[("fruehjahr_aktion.de.toml", BINDINGS)]);
    assert_eq!(
        r.engine
            .plan(&request(SYNCED))
            .expect("plan")
            .eligible
            .len(),
        10
    );
    r.sim()
        .post_template_status(SYNCED, "de", Status::Paused, Some("LOW_QUALITY"))
        .await
        .expect("webhook");
    r.settle().await;
    let paused = r.engine.plan(&request(SYNCED)).expect("plan");
    assert!(paused.eligible.is_empty());
    assert_eq!(paused.template.status, Status::Paused);
    assert!(
        paused
            .lints
            .iter()
            .any(|l| l.message.contains("PAUSED by Meta")),
        "{:?}",
        paused.lints
    );
    r.sim()
        .post_template_status(SYNCED, "de", Status::Approved, None)
        .await
        .expect("webhook");
    r.settle().await;
    assert_eq!(
        r.engine
            .plan(&request(SYNCED))
            .expect("plan")
            .eligible
            .len(),
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_wins_over_a_local_file_of_the_same_name_and_a_different_body_is_a_warning() {
    let local = Catalog::embedded().expect("catalog");
    let mut meta = local
        .get("herbst_sale", Some("de"))
        .expect("shipped")
        .clone();
    meta.bindings.clear();
    for c in &mut meta.components {
        if let Component::Body { text, .. } = c {
            *text =
                "Hallo {{1}}, der Herbst-Sale geht weiter: Code {{2}}, 20 % bis Sonntag.".into();
        }
    }
    let r = rig(
        Setup {
            meta_templates: vec![meta.clone()],
            ..Setup::default()
        },
        |_| {},
    )
    .await;
    r.engine.sync_templates(&r.caller()).await.expect("sync");
    let plan = r
        .engine
        .plan(&request("herbst_sale"))
        .expect("bound by the local file");
    assert_eq!(
        plan.template.body(),
        meta.body(),
        "Meta's definition is planned"
    );
    assert!(
        plan.lints
            .iter()
            .any(|l| l.level == "warning" && l.message.contains("another body")),
        "{:?}",
        plan.lints
    );
    assert!(plan.preview(0).is_some_and(|p| p.contains("geht weiter")));
    let (_, handle) = r.launch("herbst_sale");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    assert_eq!(r.sim().stats().rejected(132000), 0);
}
