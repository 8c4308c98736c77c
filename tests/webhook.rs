//! The webhook receiver end to end: an in-process server on 127.0.0.1:0
//! with a temporary store, fed signed bodies built like Meta's (the
//! simulator's payload builders), plus one run of the real dispatcher and
//! Cloud API client against the in-process simulator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bote::campaign::journal::{RecipientRecord, RecipientState};
use bote::campaign::{callback_data, CampaignId, CampaignMeta, CampaignState, Campaigns};
use bote::config::ConsentConfig;
use bote::consent::{
    Change, ConfirmationMethod, ConsentEvent, ConsentStatus, Contact, Store, TopicConsent,
};
use bote::phone::Phone;
use bote::sim::webhooks::{
    button_payload, inbound_text_payload, status_payload, user_preferences_payload, Metadata,
    StatusEvent, StatusKind,
};
use bote::template::{Catalog, Params, Template};
use bote::webhook::{
    sign, Inbox, InboxEntry, Keywords, Outcome, Receiver, ReceiverHandle, WebhookSecrets,
    SIGNATURE_HEADER,
};
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const SECRET: &str = "test-app-secret";
const VERIFY: &str = "test-verify-token";
/// Message time used by the bodies (2025-10-09).
const T: i64 = 1_760_000_000;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).expect("time")
}

fn phone(n: u32) -> Phone {
    Phone::from_e164(&format!("+49171{n:07}")).expect("phone")
}

fn meta() -> Metadata {
    Metadata {
        waba_id: "WABA1".into(),
        display_phone_number: "15550000000".into(),
        phone_number_id: "100000000000001".into(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    campaigns: Campaigns,
    handle: Option<ReceiverHandle>,
    http: reqwest::Client,
    url: String,
}

async fn start(store: Arc<Store>, campaigns: Campaigns) -> ReceiverHandle {
    Receiver::new(store, campaigns, WebhookSecrets::new(VERIFY, SECRET))
        .keywords(Keywords::from_config(&ConsentConfig::default()))
        .start("127.0.0.1:0")
        .await
        .expect("receiver starts")
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let campaigns = Campaigns::open(&store).expect("campaigns");
    let handle = start(Arc::clone(&store), campaigns.clone()).await;
    let url = handle.url();
    Fixture {
        _dir: dir,
        store,
        campaigns,
        handle: Some(handle),
        http: reqwest::Client::new(),
        url,
    }
}

/// POSTs `body` to `url` signed over its exact bytes; the HTTP status.
async fn post_signed(url: String, body: Vec<u8>) -> u16 {
    let sig = sign(SECRET.as_bytes(), &body);
    reqwest::Client::new()
        .post(url)
        .header(SIGNATURE_HEADER, sig)
        .body(body)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

impl Fixture {
    fn handle(&self) -> &ReceiverHandle {
        self.handle.as_ref().expect("running")
    }

    async fn post_with(&self, body: Vec<u8>, signature: Option<String>) -> u16 {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json");
        if let Some(s) = signature {
            req = req.header(SIGNATURE_HEADER, s);
        }
        req.body(body)
            .send()
            .await
            .expect("request")
            .status()
            .as_u16()
    }

    /// Posts a body signed over its exact bytes; waits until it is processed.
    async fn post(&self, body: Vec<u8>) -> u16 {
        let sig = sign(SECRET.as_bytes(), &body);
        let status = self.post_with(body, Some(sig)).await;
        self.settle().await;
        status
    }

    async fn post_json(&self, v: &Value) -> u16 {
        self.post(serde_json::to_vec(v).expect("json")).await
    }

    async fn settle(&self) {
        assert!(
            self.handle().drained(Duration::from_secs(10)).await,
            "inbox did not drain"
        );
    }

    async fn get(&self, query: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}?{query}", self.url))
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    fn contact(&self, p: Phone) -> Contact {
        self.store.contact(p).expect("read").expect("contact")
    }

    fn inbox(&self) -> &Inbox {
        self.handle().inbox()
    }
}

fn topic(status: ConsentStatus, opted_in: DateTime<Utc>) -> TopicConsent {
    let confirmed = status != ConsentStatus::Pending;
    TopicConsent {
        status,
        opted_in_at: opted_in,
        source: "web-form:test".into(),
        confirmed_at: confirmed.then_some(opted_in),
        method: confirmed.then_some(ConfirmationMethod::Link),
        text_version: Some("v1".into()),
        revoked_at: (status == ConsentStatus::Revoked).then_some(opted_in),
        revoked_by: (status == ConsentStatus::Revoked).then(|| "operator".into()),
    }
}

/// A contact whose history explains its state (opted in, confirmed, revoked).
/// Records that `p` was invited at `sent` to confirm `topic` (a JA confirms
/// only an open invitation).
fn invited(store: &Store, p: Phone, topic: &str, sent: DateTime<Utc>) {
    bote::webhook::invite::Invites::open(store)
        .expect("invites")
        .put(
            p,
            &bote::webhook::invite::InviteRecord {
                topic: topic.into(),
                state: bote::webhook::invite::InviteState::Sent,
                template: "optin_bestaetigung".into(),
                at: sent,
                actor: "tester".into(),
                wamid: Some("wamid.invite".into()),
                detail: None,
            },
        )
        .expect("invite");
}

fn seed(store: &Store, p: Phone, topics: &[(&str, ConsentStatus)]) {
    let t0 = at(T - 86_400);
    let mut events = Vec::new();
    let event = |change| ConsentEvent {
        recorded_at: t0,
        actor: "tester".into(),
        origin: "test".into(),
        change,
    };
    let mut map = BTreeMap::new();
    for (name, status) in topics {
        map.insert(name.to_string(), topic(*status, t0));
        events.push(event(Change::OptedIn {
            topic: name.to_string(),
            opted_in_at: t0,
            source: "web-form:test".into(),
            text_version: Some("v1".into()),
        }));
        if *status != ConsentStatus::Pending {
            events.push(event(Change::Confirmed {
                topic: name.to_string(),
                confirmed_at: t0,
                method: ConfirmationMethod::Link,
            }));
        }
        if *status == ConsentStatus::Revoked {
            events.push(event(Change::Revoked {
                topic: name.to_string(),
                revoked_at: t0,
                reason: "test".into(),
            }));
        }
    }
    let contact = Contact {
        phone: p,
        locale: Some("de".into()),
        attributes: BTreeMap::from([("first_name".to_string(), "Anna".to_string())]),
        profile_at: t0,
        topics: map,
    };
    store.write(&contact, &events).expect("seed");
}

fn template(name: &str) -> Template {
    Catalog::embedded()
        .expect("catalog")
        .get(name, None)
        .expect("template")
        .clone()
}

fn record(p: Phone, state: RecipientState, wamid: Option<&str>, params: Params) -> RecipientRecord {
    RecipientRecord {
        phone: Some(p),
        params,
        state,
        code: None,
        reason: None,
        wamid: wamid.map(String::from),
        attempts: u32::from(state != RecipientState::Pending),
        latency_ms: None,
        updated_at: at(T - 60),
        actor: "dispatcher".into(),
        checked_at: None,
        pricing: None,
    }
}

/// A planned campaign on topic `sale` whose journal holds `records`.
fn campaign(campaigns: &Campaigns, id: u32, records: Vec<RecipientRecord>) -> CampaignId {
    let id = CampaignId(id);
    let meta = CampaignMeta {
        id,
        template: template("herbst_sale"),
        topic: "sale".into(),
        locale: None,
        list: None,
        mode: "sandbox".into(),
        created_at: at(T - 120),
        created_by: "tester".into(),
        state: CampaignState::Planned,
        state_reason: None,
        audience: records.len() as u64,
        eligible: records.len() as u64,
        started_at: None,
        finished_at: None,
        consent_epoch: None,
        settings: None,
        schedule: None,
        estimate: None,
    };
    campaigns.save(&meta).expect("meta");
    let journal = campaigns.journal(id).expect("journal");
    let indexed: Vec<(u32, RecipientRecord)> = (0u32..).zip(records).collect();
    journal.write(&indexed).expect("records");
    id
}

fn status(
    wamid: &str,
    kind: StatusKind,
    p: Phone,
    ts: i64,
    cb: Option<String>,
    code: Option<i64>,
) -> Value {
    status_payload(
        &meta(),
        &StatusEvent {
            wamid: wamid.into(),
            status: kind,
            recipient_id: p.digits(),
            timestamp: ts,
            callback_data: cb,
            error_code: code,
        },
    )
}

fn text(p: Phone, wamid: &str, body: &str) -> Value {
    inbound_text_payload(&meta(), &p.digits(), wamid, body, T)
}

fn state_of(f: &Fixture, c: CampaignId, i: u32) -> RecipientRecord {
    f.campaigns
        .journal(c)
        .expect("journal")
        .get(i)
        .expect("read")
        .expect("record")
}

fn statuses(c: &Contact) -> Vec<ConsentStatus> {
    c.topics.values().map(|t| t.status).collect()
}

// ---------------------------------------------------------------- handshake

#[tokio::test]
async fn handshake_answers_the_challenge_only_with_the_token() {
    let f = fixture().await;
    let ok = f
        .get(&format!(
            "hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444"
        ))
        .await;
    assert_eq!(ok, (200, "1158201444".to_string()));
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_string(),
        format!("hub.mode=unsubscribe&hub.verify_token={VERIFY}&hub.challenge=1"),
        format!("hub.verify_token={VERIFY}&hub.challenge=1"),
        format!("hub.mode=subscribe&hub.verify_token={VERIFY}"),
        "hub.mode=subscribe&hub.challenge=1".to_string(),
        String::new(),
        format!("hub.mode=subscribe&hub.verify_token={VERIFY}x&hub.challenge=1"),
    ] {
        assert_eq!(f.get(&q).await.0, 403, "{q}");
    }
}

// ---------------------------------------------------------------- signature

#[tokio::test]
async fn signature_is_checked_over_the_raw_bytes() {
    let f = fixture().await;
    let p = phone(1);
    seed(&f.store, p, &[("sale", ConsentStatus::Confirmed)]);
    let v = text(p, "wamid.sig", "hallo");
    let compact = serde_json::to_vec(&v).expect("json");
    let pretty = serde_json::to_vec_pretty(&v).expect("json");
    assert_ne!(compact, pretty);
    // Each signed over its own bytes: both pass.
    assert_eq!(f.post(compact.clone()).await, 200);
    assert_eq!(f.post(pretty.clone()).await, 200);
    // Signed, then re-serialised (same JSON, other bytes): refused.
    let sig_pretty = sign(SECRET.as_bytes(), &pretty);
    assert_eq!(f.post_with(compact.clone(), Some(sig_pretty)).await, 401);
    // Wrong secret, missing, malformed.
    let wrong = sign(b"another secret", &compact);
    assert_eq!(f.post_with(compact.clone(), Some(wrong)).await, 401);
    assert_eq!(f.post_with(compact.clone(), None).await, 401);
    let hexsig = sign(SECRET.as_bytes(), &compact);
    for bad in [
        hexsig.replacen("sha256=", "sha1=", 1),
        hexsig.replacen("sha256=", "", 1),
        "sha256=".to_string(),
        "sha256=zz".to_string(),
        format!("{}00", hexsig),
    ] {
        assert_eq!(
            f.post_with(compact.clone(), Some(bad.clone())).await,
            401,
            "{bad}"
        );
    }
    f.settle().await;
    let stats = f.handle().stats();
    assert_eq!((stats.received, stats.processed, stats.rejected), (2, 2, 8));
    assert_eq!(
        f.inbox().processed_len(),
        2,
        "refused bodies are never stored"
    );
}

#[tokio::test]
async fn malformed_and_huge_bodies_are_refused_and_nothing_is_stored() {
    let f = fixture().await;
    let bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"".to_vec(),
        b"null".to_vec(),
        br#"{"object":"whatsapp_business_account"}"#.to_vec(),
        br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":"read","timestamp":"later"}]}}]}]}"#.to_vec(),
        // No message id (a sender without `from` is valid since BSUIDs: a
        // username user's number may be withheld).
        br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"491711","timestamp":"1","type":"text"}]}}]}]}"#.to_vec(),
        vec![0xff, 0xfe, b'{', b'}'],
    ];
    for b in bodies {
        assert_eq!(
            f.post(b.clone()).await,
            400,
            "{}",
            String::from_utf8_lossy(&b)
        );
    }
    // 2 MiB of valid, signed JSON: over the 1 MiB limit.
    let mut huge = text(phone(2), "wamid.huge", "STOP");
    huge["padding"] = json!("x".repeat(2 * 1024 * 1024));
    let huge = serde_json::to_vec(&huge).expect("json");
    assert_eq!(f.post(huge).await, 413);
    assert_eq!(f.inbox().processed_len() + f.inbox().pending_len(), 0);
    assert_eq!(f.handle().stats().received, 0);
}

// ---------------------------------------------------------------- statuses

#[tokio::test]
async fn statuses_are_idempotent_never_go_back_and_failed_is_final() {
    let f = fixture().await;
    let (a, b) = (phone(10), phone(11));
    let c = campaign(
        &f.campaigns,
        1,
        vec![
            record(
                a,
                RecipientState::Accepted,
                Some("wamid.A"),
                Params::default(),
            ),
            record(
                b,
                RecipientState::Accepted,
                Some("wamid.B"),
                Params::default(),
            ),
        ],
    );
    // Reordered: read arrives before delivered and sent.
    assert_eq!(
        f.post_json(&status(
            "wamid.A",
            StatusKind::Read,
            a,
            T + 3,
            Some(callback_data(c, 0)),
            None
        ))
        .await,
        200
    );
    assert_eq!(state_of(&f, c, 0).state, RecipientState::Read);
    for (kind, ts) in [
        (StatusKind::Delivered, T + 2),
        (StatusKind::Sent, T + 1),
        (StatusKind::Read, T + 3),
    ] {
        assert_eq!(
            f.post_json(&status(
                "wamid.A",
                kind,
                a,
                ts,
                Some(callback_data(c, 0)),
                None
            ))
            .await,
            200
        );
        let r = state_of(&f, c, 0);
        assert_eq!(
            (r.state, r.updated_at),
            (RecipientState::Read, at(T + 3)),
            "{kind:?}"
        );
        assert_eq!(r.actor, "webhook");
    }
    // Failed after delivered; nothing moves it afterwards.
    f.post_json(&status(
        "wamid.B",
        StatusKind::Delivered,
        b,
        T + 1,
        Some(callback_data(c, 1)),
        None,
    ))
    .await;
    f.post_json(&status(
        "wamid.B",
        StatusKind::Failed,
        b,
        T + 2,
        Some(callback_data(c, 1)),
        Some(131_026),
    ))
    .await;
    let r = state_of(&f, c, 1);
    assert_eq!((r.state, r.code), (RecipientState::Failed, Some(131_026)));
    assert!(
        r.reason.as_deref().is_some_and(|s| s.contains("131026")),
        "{:?}",
        r.reason
    );
    for kind in [StatusKind::Read, StatusKind::Delivered, StatusKind::Failed] {
        f.post_json(&status(
            "wamid.B",
            kind,
            b,
            T + 5,
            Some(callback_data(c, 1)),
            Some(131_049),
        ))
        .await;
        let r = state_of(&f, c, 1);
        assert_eq!(
            (r.state, r.code),
            (RecipientState::Failed, Some(131_026)),
            "{kind:?}"
        );
    }
    // The processed log says what happened to each, attributable to `webhook`.
    let outcomes: Vec<Outcome> = f
        .inbox()
        .processed_all()
        .map(|r| r.expect("processed"))
        .flat_map(|(_, p)| {
            assert_eq!(p.actor, "webhook");
            p.outcomes
        })
        .collect();
    assert_eq!(outcomes.len(), 9);
}

#[tokio::test]
async fn unknown_sends_are_reconciled_by_callback_data() {
    let f = fixture().await;
    let (a, b) = (phone(20), phone(21));
    let c = campaign(
        &f.campaigns,
        7,
        vec![
            record(a, RecipientState::Unknown, None, Params::default()),
            record(b, RecipientState::Unknown, None, Params::default()),
        ],
    );
    let cb = |i| Some(callback_data(c, i));
    f.post_json(&status(
        "wamid.NEW",
        StatusKind::Delivered,
        a,
        T,
        cb(0),
        None,
    ))
    .await;
    let r = state_of(&f, c, 0);
    assert_eq!(
        (r.state, r.wamid.as_deref()),
        (RecipientState::Delivered, Some("wamid.NEW"))
    );
    // Later statuses of the message carry the same callback data.
    f.post_json(&status(
        "wamid.NEW",
        StatusKind::Read,
        a,
        T + 1,
        cb(0),
        None,
    ))
    .await;
    assert_eq!(state_of(&f, c, 0).state, RecipientState::Read);
    // Callback data naming a record of another number, another message id,
    // or a campaign that does not exist: nothing moves, no tree is created.
    f.post_json(&status("wamid.X", StatusKind::Delivered, a, T, cb(1), None))
        .await;
    assert_eq!(state_of(&f, c, 1).state, RecipientState::Unknown);
    f.post_json(&status("wamid.Y", StatusKind::Delivered, a, T, cb(0), None))
        .await;
    assert_eq!(state_of(&f, c, 0).wamid.as_deref(), Some("wamid.NEW"));
    let trees = f.store.db().tree_names().len();
    f.post_json(&status(
        "wamid.Z",
        StatusKind::Delivered,
        a,
        T,
        Some("c=999;r=0".into()),
        None,
    ))
    .await;
    assert_eq!(f.store.db().tree_names().len(), trees);
    // A failed status reconciles an unknown send as failed.
    f.post_json(&status(
        "wamid.B",
        StatusKind::Failed,
        b,
        T,
        cb(1),
        Some(131_026),
    ))
    .await;
    let r = state_of(&f, c, 1);
    assert_eq!((r.state, r.code), (RecipientState::Failed, Some(131_026)));
}

#[tokio::test]
async fn a_status_for_an_in_flight_record_waits_for_the_dispatchers_outcome() {
    let f = fixture().await;
    let a = phone(30);
    let c = campaign(
        &f.campaigns,
        3,
        vec![record(a, RecipientState::InFlight, None, Params::default())],
    );
    let body = serde_json::to_vec(&status(
        "wamid.F",
        StatusKind::Delivered,
        a,
        T,
        Some(callback_data(c, 0)),
        None,
    ))
    .expect("json");
    let sig = sign(SECRET.as_bytes(), &body);
    assert_eq!(f.post_with(body, Some(sig)).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Still in flight: the status waits in the inbox rather than racing the writer.
    assert_eq!(state_of(&f, c, 0).state, RecipientState::InFlight);
    assert_eq!(f.inbox().pending_len(), 1);
    // The dispatcher's writer records the send's outcome…
    let journal = f.campaigns.journal(c).expect("journal");
    journal
        .write(&[(
            0,
            record(
                a,
                RecipientState::Accepted,
                Some("wamid.F"),
                Params::default(),
            ),
        )])
        .expect("writer");
    // …and the status applies on top of it.
    f.settle().await;
    assert_eq!(state_of(&f, c, 0).state, RecipientState::Delivered);
}

// ---------------------------------------------------------------- opt-outs

fn assert_revoked_by(f: &Fixture, p: Phone, origin: &str, when: DateTime<Utc>) {
    let c = f.contact(p);
    for (name, t) in &c.topics {
        assert_eq!(t.status, ConsentStatus::Revoked, "{name}");
        assert_eq!(t.revoked_by.as_deref(), Some(origin), "{name}");
        assert_eq!(t.revoked_at, Some(when), "{name}");
    }
    let revoked: Vec<_> = f
        .store
        .history(p)
        .expect("history")
        .into_iter()
        .filter(|e| matches!(e.change, Change::Revoked { .. }))
        .collect();
    assert_eq!(revoked.len(), c.topics.len());
    assert!(revoked
        .iter()
        .all(|e| e.actor == "webhook" && e.origin == origin));
}

#[tokio::test]
async fn every_stop_keyword_revokes_all_topics_even_with_noise() {
    let f = fixture().await;
    let mut words: Vec<String> = ConsentConfig::default().stop_keywords;
    words.extend(["Stop.", " stopp ", "STOP!", "abmelden!!", "  Unsubscribe\n"].map(String::from));
    for (i, word) in words.iter().enumerate() {
        let p = phone(100 + i as u32);
        seed(
            &f.store,
            p,
            &[
                ("sale", ConsentStatus::Confirmed),
                ("events", ConsentStatus::Confirmed),
            ],
        );
        let wamid = format!("wamid.IN{i}");
        assert_eq!(f.post_json(&text(p, &wamid, word)).await, 200);
        assert_revoked_by(&f, p, &format!("webhook:{wamid}"), at(T));
    }
    // A second STOP changes nothing more.
    let p = phone(100);
    let before = f.store.history(p).expect("history").len();
    f.post_json(&text(p, "wamid.again", "STOP")).await;
    assert_eq!(f.store.history(p).expect("history").len(), before);
}

#[tokio::test]
async fn other_messages_do_not_revoke() {
    let f = fixture().await;
    for (i, word) in [
        "stop the music",
        "Hallo!",
        "stoppen",
        "nicht abmelden",
        "JA",
        "🙂",
    ]
    .iter()
    .enumerate()
    {
        let p = phone(200 + i as u32);
        seed(&f.store, p, &[("sale", ConsentStatus::Confirmed)]);
        f.post_json(&text(p, &format!("wamid.O{i}"), word)).await;
        assert_eq!(
            statuses(&f.contact(p)),
            vec![ConsentStatus::Confirmed],
            "{word:?}"
        );
        assert_eq!(f.store.history(p).expect("history").len(), 2, "{word:?}");
    }
}

#[tokio::test]
async fn the_stop_promotions_button_revokes() {
    let f = fixture().await;
    let p = phone(300);
    seed(
        &f.store,
        p,
        &[
            ("sale", ConsentStatus::Confirmed),
            ("events", ConsentStatus::Pending),
        ],
    );
    let body = button_payload(
        &meta(),
        &p.digits(),
        "wamid.BTN",
        "Stop promotions",
        "Stop promotions",
        Some("wamid.T"),
        T,
    );
    assert_eq!(f.post_json(&body).await, 200);
    assert_revoked_by(&f, p, "webhook:wamid.BTN", at(T));
}

#[tokio::test]
async fn user_preferences_stop_revokes_and_resume_restores_nothing() {
    let f = fixture().await;
    let p = phone(400);
    seed(&f.store, p, &[("sale", ConsentStatus::Confirmed)]);
    f.post_json(&user_preferences_payload(&meta(), &p.digits(), "stop", T))
        .await;
    let c = f.contact(p);
    assert_eq!(statuses(&c), vec![ConsentStatus::Revoked]);
    assert_eq!(c.topics["sale"].revoked_at, Some(at(T)));
    assert!(c.topics["sale"]
        .revoked_by
        .as_deref()
        .is_some_and(|o| o.starts_with("webhook:user_preferences:")));
    let history = f.store.history(p).expect("history").len();
    f.post_json(&user_preferences_payload(
        &meta(),
        &p.digits(),
        "resume",
        T + 10,
    ))
    .await;
    assert_eq!(statuses(&f.contact(p)), vec![ConsentStatus::Revoked]);
    assert_eq!(f.store.history(p).expect("history").len(), history);
    let resumed = f
        .inbox()
        .processed_all()
        .map(|r| r.expect("processed").1)
        .flat_map(|p| p.outcomes)
        .any(|o| matches!(o, Outcome::Resumed { .. }));
    assert!(resumed, "the resume is recorded");
}

#[tokio::test]
async fn a_failed_131050_status_revokes_and_fails_the_record() {
    let f = fixture().await;
    let p = phone(500);
    seed(
        &f.store,
        p,
        &[
            ("sale", ConsentStatus::Confirmed),
            ("events", ConsentStatus::Confirmed),
        ],
    );
    let c = campaign(
        &f.campaigns,
        5,
        vec![record(
            p,
            RecipientState::Accepted,
            Some("wamid.S"),
            Params::default(),
        )],
    );
    f.post_json(&status(
        "wamid.S",
        StatusKind::Failed,
        p,
        T + 7,
        Some(callback_data(c, 0)),
        Some(131_050),
    ))
    .await;
    let r = state_of(&f, c, 0);
    assert_eq!((r.state, r.code), (RecipientState::Failed, Some(131_050)));
    assert_revoked_by(&f, p, "webhook:wamid.S", at(T + 7));
    // Even when the message is not bote's: the number is known by recipient_id.
    let q = phone(501);
    seed(&f.store, q, &[("sale", ConsentStatus::Confirmed)]);
    f.post_json(&status(
        "wamid.other",
        StatusKind::Failed,
        q,
        T,
        None,
        Some(131_050),
    ))
    .await;
    assert_revoked_by(&f, q, "webhook:wamid.other", at(T));
}

// ---------------------------------------------------------------- double opt-in

#[tokio::test]
async fn a_confirm_keyword_confirms_pending_consents_only() {
    let f = fixture().await;
    let (pending, tapped, confirmed, revoked, stranger) =
        (phone(600), phone(601), phone(602), phone(603), phone(604));
    seed(
        &f.store,
        pending,
        &[
            ("sale", ConsentStatus::Pending),
            ("events", ConsentStatus::Confirmed),
        ],
    );
    seed(&f.store, tapped, &[("sale", ConsentStatus::Pending)]);
    seed(&f.store, confirmed, &[("sale", ConsentStatus::Confirmed)]);
    seed(&f.store, revoked, &[("sale", ConsentStatus::Revoked)]);
    for p in [pending, tapped, confirmed, revoked] {
        invited(&f.store, p, "sale", at(T - 3600));
    }

    f.post_json(&text(pending, "wamid.JA", " Ja! ")).await;
    let c = f.contact(pending);
    let t = &c.topics["sale"];
    assert_eq!(
        (t.status, t.confirmed_at, t.method),
        (
            ConsentStatus::Confirmed,
            Some(at(T)),
            Some(ConfirmationMethod::Reply)
        )
    );
    // The already-confirmed topic keeps its original evidence.
    assert_eq!(c.topics["events"].method, Some(ConfirmationMethod::Link));
    let last = f
        .store
        .history(pending)
        .expect("history")
        .pop()
        .expect("event");
    assert_eq!(
        (last.actor.as_str(), last.origin.as_str()),
        ("webhook", "webhook:wamid.JA")
    );
    assert_eq!(
        last.change,
        Change::Confirmed {
            topic: "sale".into(),
            confirmed_at: at(T),
            method: ConfirmationMethod::Reply
        }
    );

    let tap = button_payload(
        &meta(),
        &tapped.digits(),
        "wamid.TAP",
        "JA",
        "JA",
        Some("wamid.invite"),
        T,
    );
    f.post_json(&tap).await;
    let t = f.contact(tapped).topics["sale"].clone();
    assert_eq!(
        (t.status, t.method),
        (ConsentStatus::Confirmed, Some(ConfirmationMethod::Button))
    );

    for p in [confirmed, revoked] {
        let before = (f.contact(p), f.store.history(p).expect("history"));
        f.post_json(&text(p, "wamid.J2", "YES")).await;
        assert_eq!((f.contact(p), f.store.history(p).expect("history")), before);
    }
    f.post_json(&text(stranger, "wamid.J3", "JA")).await;
    assert_eq!(
        f.store.contact(stranger).expect("read"),
        None,
        "no contact is created"
    );
}

/// Double opt-in is an answer to a question (G3): a "JA" confirms exactly
/// the topics bote invited the number to confirm, only while the
/// invitation is valid (7 days); otherwise it confirms nothing.
#[tokio::test]
async fn a_confirmation_counts_only_as_the_answer_to_an_open_invitation() {
    let f = fixture().await;
    let (never_asked, asked_one, asked_long_ago) = (phone(650), phone(651), phone(652));
    let three = [
        ("sale", ConsentStatus::Pending),
        ("events", ConsentStatus::Pending),
        ("new-collection", ConsentStatus::Pending),
    ];
    for p in [never_asked, asked_one, asked_long_ago] {
        seed(&f.store, p, &three);
    }
    invited(&f.store, asked_one, "new-collection", at(T - 3600));
    invited(&f.store, asked_long_ago, "sale", at(T - 8 * 86_400));

    let before = f.store.history(never_asked).expect("history");
    f.post_json(&text(never_asked, "wamid.JA1", "Ja")).await;
    assert_eq!(
        statuses(&f.contact(never_asked)),
        vec![ConsentStatus::Pending; 3],
        "an unsolicited yes confirms nothing"
    );
    assert_eq!(f.store.history(never_asked).expect("history"), before);

    f.post_json(&text(asked_one, "wamid.JA2", "Ja")).await;
    let c = f.contact(asked_one);
    assert_eq!(c.topics["new-collection"].status, ConsentStatus::Confirmed);
    assert_eq!(
        c.topics["events"].status,
        ConsentStatus::Pending,
        "not invited"
    );
    assert_eq!(
        c.topics["sale"].status,
        ConsentStatus::Pending,
        "not invited"
    );

    f.post_json(&text(asked_long_ago, "wamid.JA3", "Ja")).await;
    assert_eq!(
        f.contact(asked_long_ago).topics["sale"].status,
        ConsentStatus::Pending,
        "an invitation older than 7 days is no longer open"
    );
}

// ---------------------------------------------------------------- durability

#[tokio::test]
async fn entries_left_in_the_inbox_are_processed_on_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let campaigns = Campaigns::open(&store).expect("campaigns");
    let p = phone(700);
    seed(&store, p, &[("sale", ConsentStatus::Confirmed)]);
    // As if a receiver answered 200 and died before processing.
    let inbox = Inbox::open(&store).expect("inbox");
    let body = serde_json::to_string(&text(p, "wamid.CRASH", "STOPP")).expect("json");
    inbox
        .append(&[InboxEntry {
            received_at: Utc::now(),
            body,
        }])
        .expect("append");
    let handle = start(Arc::clone(&store), campaigns).await;
    assert!(handle.drained(Duration::from_secs(10)).await);
    assert_eq!(
        statuses(&store.contact(p).expect("read").expect("contact")),
        vec![ConsentStatus::Revoked]
    );
    assert_eq!(handle.inbox().processed_len(), 1);
    handle.shutdown().await.expect("shutdown");
}

// ---------------------------------------------------------------- mid-campaign

/// STOP arrives while the real dispatcher sends through the real Cloud API
/// client to the simulator, whose status webhooks also land here: the
/// number gets nothing after the STOP, everybody else is sent and tracked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_mid_campaign_stops_sends_to_that_number() {
    use bote::cloud::{ApiToken, Client};
    use bote::config::SendConfig;
    use bote::dispatch::{self, EngineConfig};
    use bote::sim::{Sim, SimConfig, WebhookTarget};

    let f = fixture().await;
    let n = 20u32;
    let herbst = template("herbst_sale");
    let mut records = Vec::new();
    for i in 0..n {
        let p = phone(800 + i);
        seed(&f.store, p, &[("sale", ConsentStatus::Confirmed)]);
        let attrs = f.contact(p).attributes;
        let params = herbst.resolve(&attrs, &BTreeMap::new()).expect("params");
        records.push(record(p, RecipientState::Pending, None, params));
    }
    let target = phone(800 + n - 1);
    let id = campaign(&f.campaigns, 11, records);

    let mut sim_config = SimConfig::new(Catalog::embedded().expect("catalog"));
    sim_config.webhook = Some(WebhookTarget::new(f.url.clone(), SECRET));
    let sim = Sim::start(sim_config).await.expect("sim");
    let client = Client::new(
        &sim.api_config(),
        &SendConfig::default(),
        ApiToken::new("sandbox-token").expect("token"),
    )
    .expect("client");
    let config = EngineConfig {
        rate: 5,
        workers: 2,
        auto_workers: false,
        max_retries: 1,
        batch_size: 64,
        quiet_hours: None,
        tier: 10_000,
        actor: "tester".into(),
        clock: bote::clock::Clock::System,
    };
    let run = dispatch::start(
        Arc::clone(&f.store),
        &f.campaigns,
        id,
        Arc::new(client),
        config,
    )
    .expect("dispatch");
    // Let a few go out, then the last recipient writes STOP.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim.records().len() < 3 {
        assert!(tokio::time::Instant::now() < deadline, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.inject_text(target, "Stop.").await.expect("inject"), 200);
    f.settle().await;
    let sent_before_stop = sim
        .records()
        .iter()
        .filter(|m| m.to == target.digits())
        .count();
    assert_eq!(
        sent_before_stop, 0,
        "the test needs the STOP to come before the target's turn"
    );
    assert_eq!(statuses(&f.contact(target)), vec![ConsentStatus::Revoked]);

    let end = tokio::time::timeout(Duration::from_secs(30), run.wait())
        .await
        .expect("campaign ends")
        .expect("campaign ok");
    assert_eq!(end, CampaignState::Finished);
    let sent = sim.records();
    assert_eq!(
        sent.iter().filter(|m| m.to == target.digits()).count(),
        0,
        "no send after STOP"
    );
    assert_eq!(sent.len() as u32, n - 1);
    let rec = state_of(&f, id, n - 1);
    assert_eq!(rec.state, RecipientState::Skipped, "{:?}", rec.reason);

    // The simulator's status webhooks moved everyone else along the path.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        f.settle().await;
        let counts = f
            .campaigns
            .journal(id)
            .expect("journal")
            .counts()
            .expect("counts");
        if counts.read == u64::from(n - 1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "statuses not applied: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim.shutdown().await.expect("sim stops");
}

// ---------------------------------------------------------------- property

/// A valid body of some kind about one of `phones` / the campaign records.
fn valid_body(rng: &mut impl Rng, phones: &[Phone], c: CampaignId) -> Value {
    let p = phones[rng.gen_range(0..phones.len())];
    let i = rng.gen_range(0..phones.len() as u32);
    let ts = T + rng.gen_range(-100..100);
    let kinds = [
        StatusKind::Sent,
        StatusKind::Delivered,
        StatusKind::Read,
        StatusKind::Failed,
    ];
    let words = [
        "STOP",
        "Stop.",
        "JA",
        "yes!",
        "hallo",
        "stop the music",
        "Stop promotions",
        "ABMELDEN",
    ];
    match rng.gen_range(0..5) {
        0 => status(
            &format!("wamid.P{i}"),
            kinds[rng.gen_range(0..4)],
            p,
            ts,
            rng.gen_bool(0.5).then(|| callback_data(c, i)),
            rng.gen_bool(0.5)
                .then(|| [131_050, 131_026, 131_049][rng.gen_range(0..3)]),
        ),
        1 => inbound_text_payload(
            &meta(),
            &p.digits(),
            &format!("wamid.M{}", rng.gen::<u32>()),
            words[rng.gen_range(0..words.len())],
            ts,
        ),
        2 => {
            let w = words[rng.gen_range(0..words.len())];
            button_payload(
                &meta(),
                &p.digits(),
                &format!("wamid.B{}", rng.gen::<u32>()),
                w,
                w,
                None,
                ts,
            )
        }
        3 => user_preferences_payload(
            &meta(),
            &p.digits(),
            ["stop", "resume", "later"][rng.gen_range(0..3)],
            ts,
        ),
        _ => {
            // Several changes in one body.
            let mut a = status(
                &format!("wamid.P{i}"),
                kinds[rng.gen_range(0..4)],
                p,
                ts,
                Some(callback_data(c, i)),
                None,
            );
            let b = inbound_text_payload(&meta(), &p.digits(), "wamid.multi", "JA", ts);
            let extra = b["entry"][0]["changes"][0].clone();
            if let Some(changes) = a["entry"][0]["changes"].as_array_mut() {
                changes.push(extra);
            }
            a
        }
    }
}

fn random_json(rng: &mut impl Rng, depth: u32) -> Value {
    match rng.gen_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>() * 1e20),
        4 => {
            let pool = [
                "",
                "STOP",
                "1732017600",
                "-1",
                "99999999999999999999",
                "wamid.X",
                "c=1;r=0",
                "c=1;r=99999",
                "\u{0}",
                "ü🍂",
            ];
            json!(pool[rng.gen_range(0..pool.len())])
        }
        5 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_json(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let keys = [
                "object",
                "entry",
                "changes",
                "field",
                "value",
                "statuses",
                "messages",
                "id",
                "status",
                "timestamp",
                "from",
                "type",
                "text",
                "body",
                "errors",
                "code",
            ];
            Value::Object(
                (0..rng.gen_range(0..4))
                    .map(|_| {
                        (
                            keys[rng.gen_range(0..keys.len())].to_string(),
                            random_json(rng, depth - 1),
                        )
                    })
                    .collect(),
            )
        }
    }
}

/// Replaces or removes one random node of `v`.
fn mutate_value(rng: &mut impl Rng, v: &mut Value) {
    let deeper = rng.gen_bool(0.75);
    match v {
        Value::Object(m) if !m.is_empty() && deeper => {
            let i = rng.gen_range(0..m.len());
            if let Some(k) = m.keys().nth(i).cloned() {
                if rng.gen_bool(0.15) {
                    m.remove(&k);
                } else if let Some(n) = m.get_mut(&k) {
                    mutate_value(rng, n);
                }
            }
        }
        Value::Array(a) if !a.is_empty() && deeper => {
            let i = rng.gen_range(0..a.len());
            mutate_value(rng, &mut a[i]);
        }
        _ => *v = random_json(rng, 2),
    }
}

fn mutate_bytes(rng: &mut impl Rng, b: &mut Vec<u8>) {
    if b.is_empty() {
        b.push(b'{');
        return;
    }
    match rng.gen_range(0..4) {
        0 => {
            let i = rng.gen_range(0..b.len());
            b[i] = rng.gen();
        }
        1 => b.truncate(rng.gen_range(0..b.len())),
        2 => {
            let i = rng.gen_range(0..=b.len());
            let junk: Vec<u8> = (0..rng.gen_range(1..8)).map(|_| rng.gen()).collect();
            b.splice(i..i, junk);
        }
        _ => {
            let i = rng.gen_range(0..b.len());
            b.remove(i);
        }
    }
}

/// A topic's status, confirmation time and revocation time.
type TopicState = (ConsentStatus, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Each topic's state must follow from the number's history: no contact
/// change without its event, no event without its change.
fn assert_history_explains(store: &Store, p: Phone) {
    let c = store.contact(p).expect("read").expect("contact");
    let mut derived: BTreeMap<String, TopicState> = BTreeMap::new();
    for e in store.history(p).expect("history") {
        match e.change {
            Change::OptedIn { topic, .. } => {
                derived.insert(topic, (ConsentStatus::Pending, None, None));
            }
            Change::Confirmed {
                topic,
                confirmed_at,
                ..
            } => {
                let d = derived
                    .entry(topic)
                    .or_insert((ConsentStatus::Pending, None, None));
                if d.0 == ConsentStatus::Pending {
                    *d = (ConsentStatus::Confirmed, Some(confirmed_at), None);
                }
            }
            Change::Revoked {
                topic, revoked_at, ..
            } => {
                let d = derived
                    .entry(topic)
                    .or_insert((ConsentStatus::Pending, None, None));
                if d.0 != ConsentStatus::Revoked {
                    *d = (ConsentStatus::Revoked, d.1, Some(revoked_at));
                }
            }
            _ => {}
        }
    }
    let actual: BTreeMap<_, _> = c
        .topics
        .iter()
        .map(|(k, t)| (k.clone(), (t.status, t.confirmed_at, t.revoked_at)))
        .collect();
    assert_eq!(actual, derived, "{p:?}: state and history disagree");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_bodies_never_break_the_receiver() {
    let iterations: usize = std::env::var("BOTE_WEBHOOK_FUZZ")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let f = fixture().await;
    let phones: Vec<Phone> = (0..6).map(|i| phone(900 + i)).collect();
    let mut records = Vec::new();
    for (i, p) in phones.iter().enumerate() {
        let status = [ConsentStatus::Confirmed, ConsentStatus::Pending][i % 2];
        seed(
            &f.store,
            *p,
            &[("sale", status), ("events", ConsentStatus::Pending)],
        );
        let state = [
            RecipientState::Accepted,
            RecipientState::Unknown,
            RecipientState::Sent,
        ][i % 3];
        let wamid = (state != RecipientState::Unknown).then(|| format!("wamid.P{i}"));
        records.push(record(*p, state, wamid.as_deref(), Params::default()));
    }
    let c = campaign(&f.campaigns, 42, records);
    let seed: u64 = std::env::var("BOTE_WEBHOOK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xB07E_0007);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let started = std::time::Instant::now();
    let mut ok = 0u64;
    let mut codes: BTreeMap<u16, u32> = BTreeMap::new();
    for _ in 0..iterations {
        let mut v = valid_body(&mut rng, &phones, c);
        let body = match rng.gen_range(0..10) {
            0..=2 => serde_json::to_vec(&v).expect("json"),
            3..=5 => {
                for _ in 0..rng.gen_range(1..4) {
                    mutate_value(&mut rng, &mut v);
                }
                serde_json::to_vec(&v).expect("json")
            }
            6..=7 => {
                let mut b = serde_json::to_vec(&v).expect("json");
                for _ in 0..rng.gen_range(1..4) {
                    mutate_bytes(&mut rng, &mut b);
                }
                b
            }
            _ => serde_json::to_vec(&random_json(&mut rng, 4)).expect("json"),
        };
        let sig = match rng.gen_range(0..20) {
            0 => None,
            1 => Some(sign(b"wrong", &body)),
            _ => Some(sign(SECRET.as_bytes(), &body)),
        };
        let code = f.post_with(body, sig).await;
        assert!(
            matches!(code, 200 | 400 | 401 | 413),
            "unexpected status {code}"
        );
        ok += u64::from(code == 200);
        *codes.entry(code).or_default() += 1;
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "fuzz run too slow"
        );
    }
    f.settle().await;
    eprintln!("fuzz: seed {seed}, {iterations} bodies, answers {codes:?}");
    assert!(
        ok > 0 && codes.contains_key(&400),
        "the generator must reach both paths: {codes:?}"
    );
    // Every stored body was processed, exactly once.
    let stats = f.handle().stats();
    assert_eq!((stats.received, stats.processed), (ok, ok));
    assert_eq!(f.inbox().pending_len(), 0);
    assert_eq!(f.inbox().processed_len() as u64, ok);
    // No half-applied consent change.
    for p in &phones {
        assert_history_explains(&f.store, *p);
    }
    // Journal records stay on the state machine.
    for r in f.campaigns.journal(c).expect("journal").iter() {
        let (_, rec) = r.expect("record");
        assert!(!matches!(
            rec.state,
            RecipientState::Pending | RecipientState::InFlight
        ));
    }
    // And the receiver still works.
    let p = phones[0];
    assert_eq!(f.post_json(&text(p, "wamid.after", "STOP")).await, 200);
    assert!(f
        .contact(p)
        .topics
        .values()
        .all(|t| t.status == ConsentStatus::Revoked));
}

// ---------------------------------------------------------------- edges

#[path = "webhook/edges.rs"]
mod edges;
#[path = "webhook/intake.rs"]
mod intake;
#[path = "webhook/properties.rs"]
mod properties;
#[path = "webhook/slowloris.rs"]
mod slowloris;

// ---------------------------------------------------------------- invite

mod invite {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use bote::dispatch::{Messenger, Reply};
    use bote::webhook::invite::{InviteState, Invites};
    use bote::webhook::{invite, InviteError};
    use futures::future::BoxFuture;
    use futures::FutureExt;

    use super::*;

    const PRIVACY: &str = "https://example.com/datenschutz";

    /// Answers from a script (accepted by default) and records every send.
    #[derive(Default)]
    struct Script {
        replies: Mutex<VecDeque<Reply>>,
        sent: Mutex<Vec<(Phone, String, Params, String)>>,
    }

    impl Script {
        fn then(self, r: Reply) -> Self {
            self.replies.lock().expect("lock").push_back(r);
            self
        }

        fn sent(&self) -> Vec<(Phone, String, Params, String)> {
            self.sent.lock().expect("lock").clone()
        }
    }

    impl Messenger for Script {
        fn send<'a>(
            &'a self,
            to: Phone,
            template: &'a Template,
            params: &'a Params,
            callback_data: &'a str,
        ) -> BoxFuture<'a, Reply> {
            async move {
                let mut sent = self.sent.lock().expect("lock");
                sent.push((
                    to,
                    template.name.clone(),
                    params.clone(),
                    callback_data.into(),
                ));
                let n = sent.len();
                drop(sent);
                self.replies
                    .lock()
                    .expect("lock")
                    .pop_front()
                    .unwrap_or(Reply::Accepted {
                        wamid: format!("wamid.INV{n}"),
                    })
            }
            .boxed()
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(&dir.path().join("store")).expect("store");
        (dir, store)
    }

    #[tokio::test]
    async fn only_pending_consents_are_invited_and_only_once() {
        let (_dir, store) = store();
        let optin = template("optin_bestaetigung");
        let (pending, confirmed, stranger) = (phone(1000), phone(1001), phone(1002));
        seed(&store, pending, &[("sale", ConsentStatus::Pending)]);
        seed(&store, confirmed, &[("sale", ConsentStatus::Confirmed)]);
        let m = Script::default();
        let r = invite(&store, &m, &optin, PRIVACY, pending, "sale", "tester")
            .await
            .expect("invited");
        assert_eq!(
            (r.state, r.wamid.as_deref()),
            (InviteState::Sent, Some("wamid.INV1"))
        );
        let sent = m.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            (sent[0].0, sent[0].1.as_str()),
            (pending, "optin_bestaetigung")
        );
        assert_eq!(
            sent[0].2 .0,
            vec![PRIVACY.to_string()],
            "carries the privacy link (G7)"
        );
        let stored = Invites::open(&store)
            .expect("invites")
            .get(pending, "sale")
            .expect("read");
        assert_eq!(stored, Some(r));
        // Only once.
        let again = invite(&store, &m, &optin, PRIVACY, pending, "sale", "tester").await;
        assert!(
            matches!(again, Err(InviteError::AlreadyInvited { .. })),
            "{again:?}"
        );
        // Only pending, only known numbers, only existing consents.
        let e = invite(&store, &m, &optin, PRIVACY, confirmed, "sale", "tester").await;
        assert!(matches!(e, Err(InviteError::NotPending { .. })), "{e:?}");
        let e = invite(&store, &m, &optin, PRIVACY, stranger, "sale", "tester").await;
        assert!(matches!(e, Err(InviteError::NotInStore(_))), "{e:?}");
        let e = invite(&store, &m, &optin, PRIVACY, pending, "events", "tester").await;
        assert!(matches!(e, Err(InviteError::NoConsent { .. })), "{e:?}");
        assert_eq!(m.sent().len(), 1);
        // Errors name the number masked only.
        let shown = e.map(|_| ()).expect_err("error").to_string();
        assert!(!shown.contains(&pending.digits()), "{shown}");
    }

    #[tokio::test]
    async fn refused_sends_may_be_retried_unknown_ones_are_not() {
        let (_dir, store) = store();
        let optin = template("optin_bestaetigung");
        let (a, b) = (phone(1010), phone(1011));
        seed(&store, a, &[("sale", ConsentStatus::Pending)]);
        seed(&store, b, &[("sale", ConsentStatus::Pending)]);
        let m = Script::default()
            .then(Reply::Retry {
                code: 130_429,
                after: Duration::from_secs(1),
                throttle: true,
                pause_all: false,
            })
            .then(Reply::Accepted {
                wamid: "wamid.OK".into(),
            })
            .then(Reply::Unknown {
                reason: "timeout".into(),
            });
        let e = invite(&store, &m, &optin, PRIVACY, a, "sale", "tester").await;
        assert!(
            matches!(e, Err(InviteError::NotSent { code: 130_429, .. })),
            "{e:?}"
        );
        let r = invite(&store, &m, &optin, PRIVACY, a, "sale", "tester")
            .await
            .expect("second try");
        assert_eq!(r.wamid.as_deref(), Some("wamid.OK"));
        let r = invite(&store, &m, &optin, PRIVACY, b, "sale", "tester")
            .await
            .expect("unknown is recorded");
        assert_eq!(r.state, InviteState::Unknown);
        let e = invite(&store, &m, &optin, PRIVACY, b, "sale", "tester").await;
        assert!(
            matches!(
                e,
                Err(InviteError::AlreadyInvited {
                    state: InviteState::Unknown,
                    ..
                })
            ),
            "{e:?}"
        );
        assert_eq!(m.sent().len(), 3);
    }

    #[tokio::test]
    async fn the_invitation_must_carry_the_configured_privacy_link() {
        let (_dir, store) = store();
        let p = phone(1020);
        seed(&store, p, &[("sale", ConsentStatus::Pending)]);
        let m = Script::default();
        let e = invite(
            &store,
            &m,
            &template("optin_bestaetigung"),
            "https://shop.example/privacy",
            p,
            "sale",
            "tester",
        )
        .await;
        assert!(matches!(e, Err(InviteError::Template { .. })), "{e:?}");
        assert!(m.sent().is_empty());
        assert_eq!(
            Invites::open(&store)
                .expect("invites")
                .get(p, "sale")
                .expect("read"),
            None
        );
    }
}
