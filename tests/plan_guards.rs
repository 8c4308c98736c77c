//! Guards against the wrong send (issue 17): what would silently plan
//! something else than the operator meant is an error naming the problem.

mod common;

use common::Sandbox;

/// A sandbox with these consent rows (after [`common::HEADER`]) imported.
fn with_consents(rows: &[&str]) -> Sandbox {
    let sb = Sandbox::new();
    let mut lines = vec![common::HEADER];
    lines.extend_from_slice(rows);
    sb.import_text("c.csv", &common::csv(&lines), 0);
    sb
}

fn seeded() -> Sandbox {
    with_consents(&[
        "0171 6600001;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de_AT;Eva",
        "0171 6600002;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;;Max",
    ])
}

#[test]
fn a_param_the_template_has_no_placeholder_for_is_an_error() {
    let sb = seeded();
    let out = sb.bote([
        "campaign",
        "plan",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--param",
        "9=X",
    ]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("--param 9=") && out.stderr.contains("no placeholder {{9}}"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_locale_nobody_has_is_an_error_not_the_contacts_without_one() {
    let sb = seeded();
    let out = sb.bote([
        "campaign",
        "plan",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--locale",
        "xx",
    ]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("--locale xx") && out.stderr.contains("known: de"),
        "{}",
        out.stderr
    );
    // A stored locale is known even without a template in it, and `de` matches `de_AT`.
    let plan = sb.plan(&[
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--locale",
        "de_AT",
    ]);
    assert_eq!(plan["eligible"], 2, "{plan}");
}

#[test]
fn a_templates_dir_that_does_not_exist_is_an_error() {
    let sb = seeded();
    let out = std::process::Command::new(common::BIN)
        .arg("--store")
        .arg(sb.store())
        .arg("--config")
        .arg(sb.path().join("bote.toml"))
        .args(["--templates", "/nonexistent/templates", "template", "list"])
        .env_remove("BOTE_TOKEN")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--templates /nonexistent/templates: no such directory"),
        "{stderr}"
    );
}

/// The same template to the same people twice: the second plan names who
/// got it and when, and leaves them out unless asked to include them.
#[test]
fn a_repeat_of_a_template_is_excluded_with_when_it_was_sent() {
    let sb = common::seeded();
    common::send_sale(&sb);
    let plan = |extra: &[&str]| {
        let mut args = vec![
            "campaign",
            "plan",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
            "--json",
        ];
        args.extend_from_slice(extra);
        sb.bote(args).expect_code(0).json()
    };
    let again = plan(&[]);
    assert_eq!(again["eligible"], 0, "{again:#}");
    assert_eq!(
        common::reasons(&again).get("recently_sent"),
        Some(&5),
        "{again:#}"
    );
    let why = again["excluded_sample"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.starts_with("got herbst_sale less than a minute before this plan (campaign 1)"),
        "{why}"
    );
    let text = sb
        .bote([
            "campaign",
            "plan",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
        ])
        .expect_code(0)
        .stdout
        .clone();
    assert!(text.contains("recently_sent"), "{text}");

    let included = plan(&["--include-recent"]);
    assert_eq!(included["eligible"], 5, "{included:#}");
    assert_eq!(common::reasons(&included).get("recently_sent"), None);

    // Another template to the same people is not a repeat.
    let other = sb
        .bote([
            "campaign",
            "plan",
            "--template",
            "event_einladung",
            "--topic",
            "sale",
            "--json",
        ])
        .expect_code(0)
        .json();
    assert_eq!(
        common::reasons(&other).get("recently_sent"),
        None,
        "{other:#}"
    );
}

/// A template written for another topic than the campaign's: the dry run
/// warns, the send refuses until the operator acknowledges it.
#[test]
fn a_template_for_another_topic_is_sent_only_when_acknowledged() {
    let sb = with_consents(&[
        "0171 6600001;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale|events;de;Eva",
    ]);
    let args = ["--template", "herbst_sale", "--topic", "events"];
    let plan = sb
        .bote([&["campaign", "plan", "--json"][..], &args].concat())
        .expect_code(0)
        .json();
    let lints = plan["lints"].to_string();
    assert!(
        lints.contains("written for topic sale") && lints.contains("--ack-topic"),
        "{lints}"
    );
    let refused = sb.bote([&["campaign", "send", "--yes"][..], &args].concat());
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("written for topic sale, not events")
            && refused.stderr.contains("nothing was sent"),
        "{}",
        refused.stderr
    );
    let list = sb
        .bote(["campaign", "list", "--json"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        !list.contains("herbst_sale"),
        "no campaign was created: {list}"
    );
    sb.bote([&["campaign", "send", "--yes", "--ack-topic"][..], &args].concat())
        .expect_code(0);
    // The campaign's own topic matches: no warning.
    let same = sb
        .bote([
            "campaign",
            "plan",
            "--json",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
        ])
        .expect_code(0)
        .json();
    assert!(
        !same["lints"].to_string().contains("written for topic"),
        "{same:#}"
    );
}

/// A German template for English readers: the dry run counts the eligible
/// per language and warns.
#[test]
fn the_dry_run_counts_the_eligible_per_language() {
    let sb = with_consents(&[
        "0171 6620001;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Eva",
        "0171 6620002;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;en;Max",
        "0171 6620003;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;;Ida",
    ]);
    let plan = sb
        .bote([
            "campaign",
            "plan",
            "--json",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
        ])
        .expect_code(0)
        .json();
    assert_eq!(
        plan["languages"],
        serde_json::json!({"": 1, "de": 1, "en": 1}),
        "{plan:#}"
    );
    let lints = plan["lints"].to_string();
    assert!(
        lints.contains("of 3 eligible, 1 read en, 1 have no language; the template is de"),
        "{lints}"
    );
    let text = sb
        .bote([
            "campaign",
            "plan",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
        ])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        text.contains("languages of the eligible: none 1 · de 1 · en 1"),
        "{text}"
    );
    // Narrowed to German readers, nothing to warn about.
    let de = sb
        .bote([
            "campaign",
            "plan",
            "--json",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
            "--locale",
            "de",
        ])
        .expect_code(0)
        .json();
    assert!(!de["lints"].to_string().contains(" read en"), "{de:#}");
}
