//! Media headers (issue #15, item 6), against the simulator on 127.0.0.1:
//! a file uploaded through the engine is sent as the header of
//! `winter_gutschein` and the simulator takes it; another kind of file, a
//! missing header and an expired or unknown id get Meta's codes and the
//! recipients the outcome those codes mean; the plan checks the id's age
//! by the engine's (hand-moved) clock.

#[path = "platform/rig.rs"]
mod rig;

use bote::audience::{PlanError, PlanRequest};
use bote::campaign::journal::RecipientState;
use bote::campaign::{CampaignId, CampaignState};
use bote::template::{Catalog, HeaderMedia, TemplateError};
use chrono::Duration;
use rig::{ends, rig, Rig, Setup};

const IMAGE: &str = "winter_gutschein";

/// The start of a JPEG, then filler: what the upload checks look at.
fn jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.resize(2_048, 0x42);
    b
}

fn mp4() -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypmp42".to_vec();
    b.resize(4_096, 0);
    b
}

/// Uploads `bytes` as `name` through the engine; the media id.
async fn upload(r: &Rig, name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let done = r
        .engine
        .upload_media(&r.caller(), &path, name)
        .await
        .expect("uploaded");
    assert_eq!(
        done.expires_at - done.record.uploaded_at,
        Duration::days(30)
    );
    done.record.id
}

/// The engine's catalog with the image template's header naming `media`.
fn with_media(r: &mut Rig, media: Option<HeaderMedia>) {
    let templates = r
        .engine
        .catalog
        .list()
        .into_iter()
        .map(|t| {
            let mut t = t.clone();
            if t.name == IMAGE {
                t.media = media.clone();
            }
            t
        })
        .collect();
    r.engine.catalog = Catalog::new(templates).expect("catalog");
}

fn by_id(id: &str) -> Option<HeaderMedia> {
    Some(HeaderMedia {
        id: Some(id.into()),
        ..HeaderMedia::default()
    })
}

fn request() -> PlanRequest {
    PlanRequest {
        template: IMAGE.into(),
        topic: "sale".into(),
        ..PlanRequest::default()
    }
}

fn records(r: &Rig, id: CampaignId) -> Vec<bote::campaign::journal::RecipientRecord> {
    r.engine
        .campaigns
        .journal(id)
        .expect("journal")
        .iter()
        .map(|e| e.expect("record").1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_image_is_sent_as_the_header_and_the_simulator_takes_it() {
    let mut r = rig(Setup::default(), |_| {}).await;
    let id = upload(&r, "winter.jpg", &jpeg()).await;
    let listed = r.engine.media_list(&r.caller()).expect("list");
    assert_eq!((listed.len(), listed[0].id.as_str()), (1, id.as_str()));
    assert_eq!(listed[0].mime, "image/jpeg");
    with_media(&mut r, by_id(&id));
    let plan = r.engine.plan(&request()).expect("plan");
    assert_eq!(plan.eligible.len(), 10);
    assert!(plan.lints.is_empty(), "{:?}", plan.lints);
    assert!(plan
        .preview(0)
        .is_some_and(|p| p.starts_with(&format!("[image: media id {id}]"))));
    let (meta, handle) = r.launch(IMAGE);
    assert_eq!(ends(handle).await, CampaignState::Finished);
    let c = r.counts(meta.id);
    assert_eq!(c.failed + c.pending, 0, "{c:?}");
    let sent: Vec<_> = r
        .sim()
        .records()
        .into_iter()
        .filter(|m| m.template == IMAGE)
        .collect();
    assert_eq!(sent.len(), 10);
    assert_eq!(r.sim().stats().rejected(131053), 0);
    assert_eq!(r.sim().stats().rejected(132012), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_for_an_image_header_stops_the_campaign_with_132012() {
    let mut r = rig(Setup::default(), |_| {}).await;
    let video = upload(&r, "spot.mp4", &mp4()).await;
    with_media(&mut r, by_id(&video));
    let (meta, handle) = r.launch(IMAGE);
    assert_eq!(ends(handle).await, CampaignState::Paused);
    assert!(r.sim().stats().rejected(132012) >= 1);
    let m = r.engine.campaigns.require(meta.id).expect("meta");
    assert!(
        m.state_reason.as_deref().unwrap_or("").contains("132012"),
        "{:?}",
        m.state_reason
    );
    // Nobody got a message, nobody is lost: they wait for a fixed template.
    let c = r.counts(meta.id);
    assert_eq!((c.pending, c.failed), (10, 0), "{c:?}");
    assert!(r.sim().records().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_without_the_header_meta_expects_stops_with_132000() {
    let mut r = rig(Setup::default(), |_| {}).await;
    // The local file lost its header; Meta's definition (the simulator's) has it.
    let templates = r
        .engine
        .catalog
        .list()
        .into_iter()
        .map(|t| {
            let mut t = t.clone();
            if t.name == IMAGE {
                t.media = None;
                t.components
                    .retain(|c| !matches!(c, bote::template::Component::Header { .. }));
            }
            t
        })
        .collect();
    r.engine.catalog = Catalog::new(templates).expect("catalog");
    let (meta, handle) = r.launch(IMAGE);
    assert_eq!(ends(handle).await, CampaignState::Paused);
    assert!(r.sim().stats().rejected(132000) >= 1);
    assert_eq!(r.counts(meta.id).pending, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_that_expired_before_the_send_fails_each_recipient_with_131053() {
    let mut r = rig(Setup::default(), |_| {}).await;
    let id = upload(&r, "winter.jpg", &jpeg()).await;
    with_media(&mut r, by_id(&id));
    let plan = r.engine.plan(&request()).expect("fresh: plans");
    let meta = r.engine.create(&plan).expect("create");
    // Frozen while fresh, sent a month later (a long hold, a late resume).
    assert!(r.sim().age_media(&id, Duration::days(31)));
    let handle = r.engine.start(meta.id).expect("start");
    assert_eq!(ends(handle).await, CampaignState::Finished);
    let recs = records(&r, meta.id);
    assert_eq!(recs.len(), 10);
    assert!(
        recs.iter()
            .all(|x| x.state == RecipientState::Failed && x.code == Some(131053)),
        "{recs:?}"
    );
    assert_eq!(r.sim().stats().rejected(131053), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_bote_never_uploaded_is_a_warning_and_meta_refuses_it() {
    let mut r = rig(Setup::default(), |_| {}).await;
    with_media(&mut r, by_id("123456789"));
    let plan = r.engine.plan(&request()).expect("plans");
    assert!(
        plan.lints
            .iter()
            .any(|l| l.level == "warning" && l.message.contains("age is unknown")),
        "{:?}",
        plan.lints
    );
    let (meta, handle) = r.launch(IMAGE);
    assert_eq!(ends(handle).await, CampaignState::Finished);
    assert!(records(&r, meta.id).iter().all(|x| x.code == Some(131053)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_warns_in_the_last_week_and_refuses_an_id_expiring_or_expired() {
    let mut r = rig(Setup::default(), |_| {}).await;
    let id = upload(&r, "winter.jpg", &jpeg()).await;
    with_media(&mut r, by_id(&id));
    r.hand.advance(Duration::days(20));
    assert!(r.engine.plan(&request()).expect("plans").lints.is_empty());
    r.hand.advance(Duration::days(4));
    let plan = r.engine.plan(&request()).expect("still plans");
    assert!(
        plan.lints
            .iter()
            .any(|l| l.level == "warning" && l.message.contains("expires at")),
        "{:?}",
        plan.lints
    );
    assert_eq!(plan.eligible.len(), 10);
    r.hand.advance(Duration::days(5) + Duration::hours(12));
    let soon = r.engine.plan(&request()).expect_err("within a day");
    assert!(
        matches!(
            soon,
            PlanError::Template(TemplateError::MediaExpired { .. })
        ),
        "{soon}"
    );
    assert!(soon.to_string().contains("within a day"), "{soon}");
    r.hand.advance(Duration::days(2));
    let gone = r.engine.plan(&request()).expect_err("expired");
    assert!(gone.to_string().contains("expired at"), "{gone}");
    assert!(gone.to_string().contains("bote media upload"), "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_header_without_media_is_refused_by_the_plan_naming_it() {
    let mut r = rig(Setup::default(), |_| {}).await;
    with_media(&mut r, None);
    let e = r.engine.plan(&request()).expect_err("unbound");
    assert!(
        matches!(e, PlanError::Template(TemplateError::Unbound { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("image of the header"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_meta_would_refuse_are_refused_before_they_leave() {
    let r = rig(Setup::default(), |_| {}).await;
    let dir = tempfile::tempdir().expect("tmp");
    for (name, bytes, says) in [
        ("notes.txt", b"hello".to_vec(), ".jpg/.jpeg"),
        (
            "fake.jpg",
            b"%PDF-1.7 not a picture".to_vec(),
            "not image/jpeg",
        ),
        ("empty.png", Vec::new(), "0 bytes"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let e = r
            .engine
            .upload_media(&r.caller(), &path, name)
            .await
            .expect_err("refused");
        let text = e.to_string();
        assert!(text.contains(name) && text.contains(says), "{text}");
    }
    assert!(r.engine.media_list(&r.caller()).expect("list").is_empty());
}
