//! A third-party client against the simulator: curl sends Meta's documented
//! JSON body, and the answers must have Meta's documented shapes. This pins
//! the simulator to the contract independently of bote's own client types.

use bote::cloud::ApiToken;
use bote::sim::{Sim, SimConfig, SimHandle};
use bote::template::{Catalog, Template};
use serde_json::{json, Value};

const TOKEN: &str = "curl-test-token";

/// The template of the example in `docs/cloud-api.md`: image header, two
/// body parameters, a URL button with a suffix.
fn autumn_sale() -> Template {
    serde_json::from_value(json!({
        "name": "autumn_sale", "language": "de", "status": "APPROVED", "category": "MARKETING",
        "components": [
            { "type": "HEADER", "format": "IMAGE" },
            { "type": "BODY", "text": "Hallo {{1}}, mit dem Code {{2}} sparst du 20 %." },
            { "type": "FOOTER", "text": "Keine Werbung mehr? Antworte STOP." },
            { "type": "BUTTONS", "buttons": [
                { "type": "URL", "text": "Zum Shop", "url": "https://shop.example/{{1}}" },
                { "type": "QUICK_REPLY", "text": "Stop promotions" } ] }
        ],
        "bindings": { "1": { "attribute": "first_name" }, "2": { "value": "HERBST20" } }
    }))
    .expect("template")
}

fn documented_body() -> Value {
    json!({
      "messaging_product": "whatsapp",
      "recipient_type": "individual",
      "to": "4917123456789",
      "type": "template",
      "template": {
        "name": "autumn_sale",
        "language": { "code": "de" },
        "components": [
          { "type": "header", "parameters": [ { "type": "image", "image": { "link": "https://example.com/a.jpg" } } ] },
          { "type": "body", "parameters": [
              { "type": "text", "text": "Anna" },
              { "type": "text", "text": "HERBST20" } ] },
          { "type": "button", "sub_type": "url", "index": "0",
            "parameters": [ { "type": "text", "text": "herbst20" } ] }
        ]
      },
      "biz_opaque_callback_data": "c=42;r=1187"
    })
}

fn curl_present() -> bool {
    let found = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        eprintln!("notice: curl is not installed; skipping the third-party client test");
    }
    found
}

/// Runs curl; returns (HTTP status, parsed JSON body).
async fn curl(args: Vec<String>) -> (u16, Value) {
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let (body, status) = text.rsplit_once('\n').expect("status line");
    let status = status.trim().parse().expect("status");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn sim() -> SimHandle {
    let catalog = Catalog::new(vec![autumn_sale()]).expect("catalog");
    let mut config = SimConfig::new(catalog);
    config.token = Some(ApiToken::new(TOKEN).expect("token"));
    config.phone_number_id = Some("106540352242922".into());
    config.waba_id = Some("102290129340398".into());
    Sim::start(config).await.expect("sim starts")
}

fn post(url: String, token: &str, body: &Value) -> Vec<String> {
    [
        "-X",
        "POST",
        &url,
        "-H",
        &format!("Authorization: Bearer {token}"),
        "-H",
        "Content-Type: application/json",
        "-d",
        &body.to_string(),
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test]
async fn curl_send_gets_metas_success_shape() {
    if !curl_present() {
        return;
    }
    let sim = sim().await;
    let url = format!("{}/v25.0/106540352242922/messages", sim.base_url());
    let (status, body) = curl(post(url, TOKEN, &documented_body())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["contacts"][0]["input"], "4917123456789");
    let id = body["messages"][0]["id"].as_str().expect("id");
    assert!(id.starts_with("wamid."), "{id}");
    assert_eq!(body["messages"][0]["message_status"], "accepted");
    let records = sim.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].callback_data.as_deref(), Some("c=42;r=1187"));
    assert_eq!(records[0].params, vec!["Anna", "HERBST20", "herbst20"]);
}

#[tokio::test]
async fn curl_errors_get_graphs_error_envelope() {
    if !curl_present() {
        return;
    }
    let sim = sim().await;
    let url = format!("{}/v25.0/106540352242922/messages", sim.base_url());
    let (status, body) = curl(post(url.clone(), "wrong", &documented_body())).await;
    assert_eq!(status, 401);
    let error = &body["error"];
    assert_eq!(error["code"], 190);
    assert_eq!(error["type"], "OAuthException");
    assert!(
        error["message"].is_string() && error["fbtrace_id"].is_string(),
        "{body}"
    );

    let mut short = documented_body();
    short["template"]["components"][1]["parameters"] = json!([{ "type": "text", "text": "Anna" }]);
    let (status, body) = curl(post(url.clone(), TOKEN, &short)).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(132000)),
        "{body}"
    );
    assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");

    let mut other = documented_body();
    other["template"]["name"] = json!("winter_sale");
    let (status, body) = curl(post(url, TOKEN, &other)).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (400, Some(132001)),
        "{body}"
    );
    assert_eq!(sim.stats().accepted, 0);
}

#[tokio::test]
async fn curl_lists_templates() {
    if !curl_present() {
        return;
    }
    let sim = sim().await;
    let url = format!(
        "{}/v25.0/102290129340398/message_templates?fields=name,language,status,category,components&limit=100",
        sim.base_url()
    );
    let auth = format!("Authorization: Bearer {TOKEN}");
    let (status, body) = curl(vec![url, "-H".into(), auth]).await;
    assert_eq!(status, 200, "{body}");
    let t = &body["data"][0];
    assert_eq!(
        (t["name"].as_str(), t["status"].as_str()),
        (Some("autumn_sale"), Some("APPROVED"))
    );
    assert_eq!(t["components"][0]["type"], "HEADER");
    assert!(t.get("bindings").is_none());
    assert!(body["paging"]["cursors"]["after"].is_string());
    assert!(body["paging"].get("next").is_none(), "one page only");
}
