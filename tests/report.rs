//! `bote campaign report`: what a campaign achieved, through the real
//! binary on the sandbox — the funnel, opt-outs after it, cost, the
//! Markdown and JSON forms, and a file that is never overwritten silently.

mod common;

use bote::consent::store::Revocation;
use bote::phone::Phone;
use common::{seeded, send_sale};

#[test]
fn the_report_shows_the_funnel_opt_outs_and_cost() {
    let sb = seeded();
    send_sale(&sb);
    // One recipient answers STOP after the campaign, through WhatsApp.
    sb.with_store(|store| {
        let phone = Phone::parse("0171 6600001", "DE").expect("phone");
        store
            .opt_out(
                phone,
                &Revocation {
                    at: chrono::Utc::now(),
                    actor: "webhook".into(),
                    origin: "webhook:wamid.stop-report".into(),
                    reason: "replied with a stop keyword".into(),
                },
            )
            .expect("opt out");
    });
    let json = sb
        .bote(["campaign", "report", "1", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(json["recipients"], 5, "{json:#}");
    let stages: Vec<(&str, u64)> = json["funnel"]
        .as_array()
        .expect("funnel")
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap_or(""),
                s["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(stages[0], ("accepted", 5), "{json:#}");
    let names: Vec<&str> = stages.iter().map(|(s, _)| *s).collect();
    assert_eq!(names, ["accepted", "sent", "delivered", "read"]);
    assert!(
        stages.windows(2).all(|w| w[0].1 >= w[1].1),
        "each stage is at most the one before: {stages:?}"
    );
    assert_eq!(json["funnel"][0]["rate"], 1.0);
    assert_eq!(json["opted_out"], 1, "{json:#}");
    assert_eq!(json["campaign"]["template"]["name"], "herbst_sale");
    assert!(json["estimated_cost"].is_array(), "{json:#}");

    let md = sb
        .bote(["campaign", "report", "1"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(md.starts_with("# Campaign 1 — herbst_sale"), "{md}");
    assert!(md.contains("| accepted | 5 | 100.0 % |"), "{md}");
    assert!(
        md.contains("| opted out (STOP within 7 days) | 1 | 20.0 % |"),
        "{md}"
    );
    assert!(md.contains("## Cost") && md.contains("estimated"), "{md}");
    assert!(!md.contains("6600001"), "no number in a report: {md}");
    // Times in the operator's zone, labelled.
    assert!(md.contains("CET") || md.contains("CEST"), "{md}");
}

#[test]
fn a_report_file_is_never_overwritten_silently() {
    let sb = seeded();
    send_sale(&sb);
    let path = sb.path().join("report.md");
    let path_s = path.to_string_lossy().to_string();
    sb.bote(["campaign", "report", "1", "-o", &path_s])
        .expect_code(0);
    let first = std::fs::read_to_string(&path).expect("report");
    assert!(first.contains("## Funnel"));
    let again = sb.bote(["campaign", "report", "1", "-o", &path_s]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    sb.bote(["campaign", "report", "1", "-o", &path_s, "--force"])
        .expect_code(0);

    let missing = sb.bote(["campaign", "report", "9"]);
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains('9'), "{}", missing.stderr);
}
