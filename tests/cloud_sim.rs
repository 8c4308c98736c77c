//! The Cloud API client against the simulator over 127.0.0.1: every class
//! of answer the dispatcher must handle, template paging, lost responses,
//! webhooks, and that the token never shows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use bote::cloud::{ApiToken, Client, MessageStatus, RetryScope, SendOutcome};
use bote::config::SendConfig;
use bote::phone::Phone;
use bote::sim::webhooks::signature;
use bote::sim::{DropStyle, Mark, Sim, SimConfig, SimHandle, WebhookTarget};
use bote::template::{Catalog, Component, Params, Status, Template};

const TOKEN: &str = "EAAGsimTOKEN-s3cr3t-value";

fn catalog() -> Catalog {
    Catalog::embedded().expect("shipped templates")
}

fn phone(n: u32) -> Phone {
    Phone::from_e164(&format!("+49176{n:08}")).expect("valid number")
}

async fn start(tweak: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig::new(catalog());
    config.token = Some(ApiToken::new(TOKEN).expect("token"));
    config.mps = 1000;
    tweak(&mut config);
    Sim::start(config).await.expect("sim starts")
}

fn client_with(sim: &SimHandle, token: &str, timeout_ms: u64) -> Client {
    let send = SendConfig {
        timeout_ms,
        ..SendConfig::default()
    };
    Client::new(
        &sim.api_config(),
        &send,
        ApiToken::new(token).expect("token"),
    )
    .expect("client")
}

fn client(sim: &SimHandle) -> Client {
    client_with(sim, TOKEN, 5_000)
}

fn sale() -> Template {
    catalog()
        .get("herbst_sale", Some("de"))
        .expect("exists")
        .clone()
}

fn sale_params() -> Params {
    Params(vec!["Anna".into(), "HERBST20".into()])
}

async fn send(c: &Client, n: u32) -> SendOutcome {
    c.send_template(phone(n), &sale(), &sale_params(), &format!("c=1;r={n}"))
        .await
}

fn code_of(o: &SendOutcome) -> Option<i64> {
    o.code()
}

#[tokio::test]
async fn accepted_send_is_recorded() {
    let sim = start(|_| {}).await;
    let out = send(&client(&sim), 1).await;
    let SendOutcome::Accepted {
        wamid,
        status,
        wa_id,
    } = &out
    else {
        panic!("not accepted: {out:?}")
    };
    assert!(wamid.starts_with("wamid."), "{wamid}");
    assert_eq!(*status, MessageStatus::Accepted);
    assert_eq!(wa_id.as_deref(), Some(phone(1).digits().as_str()));
    let records = sim.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].wamid, *wamid);
    assert_eq!(records[0].params, vec!["Anna", "HERBST20"]);
    assert_eq!(records[0].callback_data.as_deref(), Some("c=1;r=1"));
    let named = catalog()
        .get("neue_kollektion", None)
        .expect("exists")
        .clone();
    let out = client(&sim)
        .send_template(phone(2), &named, &Params(vec!["Bo".into()]), "")
        .await;
    assert!(matches!(out, SendOutcome::Accepted { .. }), "{out:?}");
    sim.faults().set_hold_rate(1.0);
    let out = send(&client(&sim).with_marketing_messages(), 3).await;
    assert!(
        matches!(
            out,
            SendOutcome::Accepted {
                status: MessageStatus::HeldForQualityAssessment,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(sim.stats().accepted, 3);
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_token_stops_the_campaign_and_never_shows() {
    let sim = start(|_| {}).await;
    let bad = "EAAGwrong-token-0000";
    let c = client_with(&sim, bad, 5_000);
    let out = send(&c, 1).await;
    assert!(
        matches!(
            out,
            SendOutcome::StopCampaign {
                code: Some(190),
                ..
            }
        ),
        "{out:?}"
    );
    let listing = c.list_templates().await.expect_err("unauthorized");
    for text in [
        format!("{out:?}"),
        listing.to_string(),
        format!("{listing:?}"),
        format!("{c:?}"),
    ] {
        assert!(
            !text.contains(bad) && !text.contains(TOKEN),
            "token leaked: {text}"
        );
    }
    assert!(format!("{:?}", client(&sim)).contains("ApiToken(***)"));
    assert_eq!(sim.stats().rejected(190), 2);
    assert_eq!(sim.stats().accepted, 0);
}

#[tokio::test]
async fn template_errors_stop_the_campaign() {
    let sim = start(|_| {}).await;
    let c = client(&sim);
    let mut english = sale();
    english.language = "en".into();
    let out = c
        .send_template(phone(1), &english, &sale_params(), "")
        .await;
    assert_eq!(
        (
            matches!(out, SendOutcome::StopCampaign { .. }),
            code_of(&out)
        ),
        (true, Some(132001))
    );

    // bote's copy of the template has a placeholder more than Meta's.
    let mut longer = sale();
    for comp in &mut longer.components {
        if let Component::Body { text, .. } = comp {
            text.push_str(" {{3}}");
        }
    }
    let three = Params(vec!["a".into(), "b".into(), "c".into()]);
    let out = c.send_template(phone(2), &longer, &three, "").await;
    assert_eq!(
        (
            matches!(out, SendOutcome::StopCampaign { .. }),
            code_of(&out)
        ),
        (true, Some(132000))
    );

    let paused = catalog()
        .get("event_einladung", None)
        .expect("exists")
        .clone();
    let two = Params(vec!["a".into(), "b".into()]);
    let out = c.send_template(phone(3), &paused, &two, "").await;
    assert_eq!(code_of(&out), Some(132015), "{out:?}");
    assert!(sim.set_template_status("herbst_sale", "de", Status::Paused));
    assert_eq!(code_of(&send(&c, 4).await), Some(132015));

    let long = "x".repeat(513);
    let out = c
        .send_template(phone(5), &sale(), &sale_params(), &long)
        .await;
    assert!(
        matches!(out, SendOutcome::StopCampaign { code: None, .. }),
        "{out:?}"
    );
    assert_eq!(sim.stats().accepted, 0);
}

#[tokio::test]
async fn throughput_ceiling_answers_130429() {
    let sim = start(|c| c.mps = 5).await;
    let c = Arc::new(client(&sim));
    let tasks: Vec<_> = (0..30)
        .map(|n| {
            let c = c.clone();
            tokio::spawn(async move { send(&c, n).await })
        })
        .collect();
    let mut throttled = 0;
    for t in tasks {
        match t.await.expect("task") {
            SendOutcome::Accepted { .. } => {}
            SendOutcome::Retry {
                code: Some(130429),
                scope: RetryScope::Number,
                ..
            } => throttled += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let stats = sim.stats();
    assert!(throttled >= 20, "throttled {throttled}");
    assert_eq!(stats.rejected(130429), throttled);
    assert!(stats.max_admitted_per_window <= 5, "{stats:?}");
    assert_eq!(stats.accepted + throttled, 30);
}

#[tokio::test]
async fn pair_rate_answers_131056_for_that_recipient_only() {
    let sim = start(|c| c.pair_burst = 2).await;
    let c = client(&sim);
    assert!(matches!(send(&c, 7).await, SendOutcome::Accepted { .. }));
    assert!(matches!(send(&c, 7).await, SendOutcome::Accepted { .. }));
    let out = send(&c, 7).await;
    assert!(
        matches!(
            out,
            SendOutcome::Retry {
                code: Some(131056),
                scope: RetryScope::Recipient,
                ..
            }
        ),
        "{out:?}"
    );
    assert!(matches!(send(&c, 8).await, SendOutcome::Accepted { .. }));
    assert_eq!(
        sim.stats().duplicates,
        1,
        "same recipient and callback data twice"
    );
}

#[tokio::test]
async fn marked_numbers_are_final_and_opt_out_revokes() {
    let sim = start(|_| {}).await;
    sim.faults().mark(phone(1), Mark::Undeliverable);
    sim.faults().mark(phone(2), Mark::OptedOut);
    let c = client(&sim);
    let out = send(&c, 1).await;
    assert!(
        matches!(
            out,
            SendOutcome::FinalForRecipient {
                code: Some(131026),
                revoke_consent: false,
                ..
            }
        ),
        "{out:?}"
    );
    let out = send(&c, 2).await;
    assert!(
        matches!(
            out,
            SendOutcome::FinalForRecipient {
                code: Some(131050),
                revoke_consent: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert!(matches!(send(&c, 3).await, SendOutcome::Accepted { .. }));
}

#[tokio::test]
async fn server_errors_are_retryable_and_not_accepted() {
    let sim = start(|c| c.faults.fail_rate = 1.0).await;
    let out = send(&client(&sim), 1).await;
    assert!(
        matches!(
            out,
            SendOutcome::Retry {
                code: Some(131000),
                scope: RetryScope::Recipient,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(sim.stats().accepted, 0);
    assert_eq!(sim.stats().rejected(131000), 1);

    // Nothing listens: the request never left, so retrying is safe.
    let api = sim.api_config();
    sim.shutdown().await.expect("shutdown");
    let c = Client::new(
        &api,
        &SendConfig::default(),
        ApiToken::new(TOKEN).expect("t"),
    )
    .expect("c");
    let out = send(&c, 1).await;
    assert!(
        matches!(
            out,
            SendOutcome::Retry {
                code: None,
                scope: RetryScope::App,
                ..
            }
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn lost_responses_are_unknown_but_recorded() {
    let sim = start(|c| c.faults.drop_rate = 1.0).await;
    let out = send(&client(&sim), 1).await;
    let SendOutcome::Unknown { reason } = &out else {
        panic!("closed: {out:?}")
    };
    assert!(reason.contains("connection closed"), "{reason}");
    sim.faults().set_drop_style(DropStyle::Hang);
    let started = std::time::Instant::now();
    let out = send(&client_with(&sim, TOKEN, 300), 2).await;
    let SendOutcome::Unknown { reason } = &out else {
        panic!("hung: {out:?}")
    };
    assert!(reason.contains("timeout"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let records = sim.records();
    assert_eq!(records.len(), 2, "both were accepted");
    assert!(records.iter().all(|r| r.response_dropped));
    assert_eq!(sim.stats().responses_dropped, 2);
    sim.faults().set_drop_rate(0.0);
    assert!(matches!(
        send(&client(&sim), 3).await,
        SendOutcome::Accepted { .. }
    ));
    sim.shutdown()
        .await
        .expect("shutdown despite a hung request");
}

#[tokio::test]
async fn templates_are_listed_across_pages() {
    let sim = start(|_| {}).await;
    let listed = client(&sim)
        .with_template_page_size(2)
        .list_templates()
        .await
        .expect("list");
    let mut names: Vec<String> = listed.iter().map(|t| t.name.clone()).collect();
    names.sort();
    let mut want: Vec<String> = catalog().list().iter().map(|t| t.name.clone()).collect();
    want.sort();
    assert_eq!(names, want);
    assert!(listed
        .iter()
        .all(|t| t.bindings.is_empty() && t.id.is_some()));
    assert!(listed.iter().any(|t| t.status == Status::Paused));

    // Walk the pages by hand: limit=2 over 5 templates is 3 pages, each
    // `next` an absolute URL.
    let http = reqwest::Client::new();
    let mut url = format!(
        "{}/v25.0/{}/message_templates?limit=2",
        sim.base_url(),
        sim.api_config().waba_id
    );
    let mut pages = 0;
    loop {
        pages += 1;
        let page: serde_json::Value = http
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert!(page["data"]
            .as_array()
            .is_some_and(|d| d.len() <= 2 && !d.is_empty()));
        match page["paging"]["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&sim.base_url()), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
}

type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().route(
        "/webhook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| async move {
            store.lock().expect("lock").push((headers, body));
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/webhook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

async fn wait_for(seen: &Seen, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        if seen.lock().expect("lock").len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = seen.lock().expect("lock");
    for (headers, body) in seen.iter() {
        let sig = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        assert_eq!(sig, Some(signature(b"app-secret", body).as_str()));
    }
    seen.iter()
        .map(|(_, b)| serde_json::from_slice(b).expect("json"))
        .collect()
}

#[tokio::test]
async fn status_webhooks_are_signed_and_echo_callback_data() {
    let (url, seen) = receiver().await;
    let sim = start(|c| {
        let mut target = WebhookTarget::new(url, "app-secret");
        target.step = Duration::from_millis(1);
        c.webhook = Some(target);
        c.faults.async_failures = true;
    })
    .await;
    sim.faults().mark(phone(2), Mark::OptedOut);
    let c = client(&sim);
    assert!(matches!(send(&c, 1).await, SendOutcome::Accepted { .. }));
    assert!(
        matches!(send(&c, 2).await, SendOutcome::Accepted { .. }),
        "async failure: 200 first"
    );
    let events = wait_for(&seen, 4).await;
    let statuses: Vec<(String, String, Option<i64>)> = events
        .iter()
        .map(|e| {
            let s = &e["entry"][0]["changes"][0]["value"]["statuses"][0];
            let cb = s["biz_opaque_callback_data"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (
                cb,
                s["status"].as_str().unwrap_or_default().to_string(),
                s["errors"][0]["code"].as_i64(),
            )
        })
        .collect();
    for want in ["sent", "delivered", "read"] {
        assert!(
            statuses.contains(&("c=1;r=1".into(), want.into(), None)),
            "{statuses:?}"
        );
    }
    assert!(
        statuses.contains(&("c=1;r=2".into(), "failed".into(), Some(131050))),
        "{statuses:?}"
    );

    assert_eq!(
        sim.inject_text(phone(3), "STOP").await.expect("posted"),
        200
    );
    let events = wait_for(&seen, 5).await;
    let inbound = events
        .iter()
        .find_map(|e| e["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"].as_str());
    assert_eq!(inbound, Some("STOP"));
    // The sim counts a delivery once the receiver's answer is back.
    for _ in 0..200 {
        if sim.stats().webhooks_delivered == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.stats().webhooks_delivered, 4);
}

#[tokio::test]
async fn record_file_gets_one_line_per_accepted_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sim.jsonl");
    let sim = start(|c| c.record = Some(path.clone())).await;
    let c = client(&sim);
    for n in 0..5 {
        assert!(matches!(send(&c, n).await, SendOutcome::Accepted { .. }));
    }
    sim.shutdown().await.expect("shutdown flushes");
    let text = std::fs::read_to_string(&path).expect("record");
    assert_eq!(text.lines().count(), 5);
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn webhooks_can_come_twice_and_out_of_order() {
    let (url, seen) = receiver().await;
    let sim = start(|c| {
        let mut target = WebhookTarget::new(url, "app-secret");
        target.step = Duration::from_millis(1);
        target.duplicate_rate = 1.0;
        target.reorder_rate = 1.0;
        c.webhook = Some(target);
    })
    .await;
    assert!(matches!(
        send(&client(&sim), 1).await,
        SendOutcome::Accepted { .. }
    ));
    let events = wait_for(&seen, 6).await;
    let order: Vec<&str> = events
        .iter()
        .filter_map(|e| e["entry"][0]["changes"][0]["value"]["statuses"][0]["status"].as_str())
        .collect();
    assert_eq!(
        order,
        ["read", "read", "delivered", "delivered", "sent", "sent"]
    );
}
