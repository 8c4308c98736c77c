//! `bote campaign plan` (the dry run) through the real binary: who is
//! eligible, every exclusion reason with its list line, topic binding (G6),
//! pending never eligible (G3), the `--json` shape, locale filter, errors;
//! plus the messaging-tier split at library level.
//!
//! What the CLI cannot do yet (erase → suppression, recorded sends) is set
//! up through the library between runs of the binary.

mod common;

use std::collections::BTreeMap;

use bote::consent::Store;
use bote::phone::Phone;
use chrono::{DateTime, Duration, Utc};
use common::{csv, e164, reasons, Sandbox, HEADER, SEND_SALE_DETACHED};
use serde_json::Value;

/// One consent per situation a plan for topic `sale` with `herbst_sale`
/// (first name required) must tell apart.
const CONSENTS: &[&str] = &[
    HEADER,
    "0171 1000001;2025-03-01;web;2025-03-02;link;sale|events;de;Anna", // eligible
    "0171 1000002;2025-03-01;web;;;sale|events;de;Bert",               // pending
    "0171 1000003;2025-03-01;web;2025-03-02;link;events;de;Cem",       // events only
    "0171 1000004;2025-03-01;web;2025-03-02;link;sale;de;Dora",        // revoked below
    "0171 1000005;2025-03-01;web;2025-03-02;link;sale;de;",            // no first name
    "0171 1000006;2025-03-01;web;2025-03-02;link;sale;de;Finn",        // capped below
    "0171 1000007;2025-03-01;web;2025-03-02;link;sale;de;Gabi",        // suppressed below
    "+43 664 1000008;2025-03-01;web;2025-03-02;link;sale;de_AT;Hanna", // eligible (AT)
    "0171 1000009;2025-03-01;web;2025-03-02;button;sale;en;Ian",       // eligible (en)
    "0171 1000010;2025-03-01;web;2025-03-02;code;sale;;Jule",          // eligible (no locale)
];

fn phone(s: &str) -> Phone {
    Phone::parse(s, "DE").unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Imports [`CONSENTS`], revokes 1000004 through the CLI, records three
/// recent sends to 1000006 and suppresses 1000007 through the library.
fn fixture() -> Sandbox {
    let sb = Sandbox::new();
    sb.import_text("consents.csv", &csv(CONSENTS), 0);
    sb.bote(["consent", "revoke", "0171 1000004"])
        .expect_code(0);
    let now = Utc::now();
    sb.with_store(|store| {
        for h in [25, 48, 72] {
            store
                .record_send(phone("0171 1000006"), now - Duration::hours(h), "c1")
                .expect("record send");
        }
        store
            .suppress(phone("0171 1000007"), now - Duration::hours(1))
            .expect("suppress");
    });
    sb
}

fn list_file(sb: &Sandbox) -> String {
    let path = sb.file(
        "kampagne.csv",
        csv(&[
            "Telefon;Name",
            "0171 1000001;Anna",     // 2 eligible
            "0171 1000002;Bert",     // 3 pending
            "0171 1000003;Cem",      // 4 topic_not_covered
            "0171 1000004;Dora",     // 5 revoked
            "0171 1000005;",         // 6 missing_parameter
            "0171 1000006;Finn",     // 7 frequency_cap
            "0171 1000007;Gabi",     // 8 suppressed
            "0171 1000099;Xaver",    // 9 no_consent
            "12345;Kurz",            // 10 invalid_number
            "+49 171 1000001;Anna",  // 11 duplicate_in_list
            "+43 664 1000008;Hanna", // 12 eligible
        ]),
    );
    path.to_str().expect("utf-8 path").to_string()
}

/// The excluded sample entry for a reason code.
fn sample<'a>(plan: &'a Value, code: &str) -> &'a Value {
    plan["excluded_sample"]
        .as_array()
        .expect("excluded_sample")
        .iter()
        .find(|e| e["reason"]["code"] == code)
        .unwrap_or_else(|| panic!("no excluded sample for {code}: {plan:#}"))
}

#[test]
fn every_exclusion_reason_is_reachable_with_its_list_line() {
    let sb = fixture();
    let list = list_file(&sb);
    let plan = sb.plan(&[
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--list",
        &list,
    ]);
    let want: BTreeMap<String, u64> = [
        "duplicate_in_list",
        "frequency_cap",
        "invalid_number",
        "missing_parameter",
        "no_consent",
        "pending",
        "revoked",
        "suppressed",
        "topic_not_covered",
    ]
    .into_iter()
    .map(|c| (c.to_string(), 1))
    .collect();
    assert_eq!(reasons(&plan), want, "{plan:#}");
    assert_eq!(plan["audience"], 11);
    assert_eq!(plan["eligible"], 2);
    assert_eq!(plan["excluded"], 9);

    for (code, line) in [
        ("pending", 3),
        ("topic_not_covered", 4),
        ("revoked", 5),
        ("missing_parameter", 6),
        ("frequency_cap", 7),
        ("suppressed", 8),
        ("no_consent", 9),
        ("invalid_number", 10),
        ("duplicate_in_list", 11),
    ] {
        assert_eq!(sample(&plan, code)["line"], line, "{code}");
    }
    let invalid = sample(&plan, "invalid_number");
    assert_eq!(invalid["recipient"], "12345");
    assert!(invalid["reason"]["detail"]
        .as_str()
        .is_some_and(|d| d.contains("not a valid number")));
    assert_eq!(
        sample(&plan, "duplicate_in_list")["reason"]["first_line"],
        2
    );
    let capped = &sample(&plan, "frequency_cap")["reason"];
    assert_eq!(
        (capped["sent"].as_u64(), capped["max"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        sample(&plan, "missing_parameter")["reason"]["attribute"],
        "first_name"
    );
    // Masked numbers only (G12): never a whole number in a sample.
    let samples = plan["excluded_sample"].to_string();
    assert!(!samples.contains(&e164("0171 1000002")[1..]), "{samples}");

    // The human output names each reason too.
    let text = sb
        .bote([
            "campaign",
            "plan",
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
            "--list",
            &list,
        ])
        .expect_code(0)
        .stdout
        .clone();
    for code in want.keys() {
        assert!(text.contains(code.as_str()), "{code} missing in:\n{text}");
    }
    assert!(text.contains("Nothing was sent (dry run)."), "{text}");
}

#[test]
fn a_paused_template_excludes_everyone_as_not_approved() {
    let sb = fixture();
    let plan = sb.plan(&["--template", "event_einladung", "--topic", "events"]);
    assert_eq!(plan["status"], "PAUSED");
    assert_eq!(plan["eligible"], 0, "{plan:#}");
    // Anna and Cem consented to events and have a first name; Bert is pending.
    let r = reasons(&plan);
    assert_eq!(r.get("template_not_approved"), Some(&2), "{plan:#}");
    assert_eq!(r.get("pending"), Some(&1), "{plan:#}");
    assert_eq!(
        sample(&plan, "template_not_approved")["reason"]["status"],
        "PAUSED"
    );
}

#[test]
fn pending_consents_are_never_eligible() {
    let sb = Sandbox::new();
    sb.import_text(
        "pending.csv",
        &csv(&[
            HEADER,
            "0171 2000001;2025-03-01;web;;;sale;de;Anna",
            "0171 2000002;2025-03-01;web;;;sale|events;de;Bert",
            "0171 2000003;2025-03-01;web;;;sale|new-collection|events;;Cem",
        ]),
        0,
    );
    let list = sb.file(
        "list.csv",
        csv(&["phone", "0171 2000001", "0171 2000002", "0171 2000003"]),
    );
    let list = list.to_str().expect("utf-8 path");
    for (template, topic) in [
        ("herbst_sale", "sale"),
        ("herbst_sale", "events"),
        ("neue_kollektion", "new-collection"),
        ("oeffnungszeiten_update", "sale"),
    ] {
        let want_pending = match topic {
            "sale" => 3,
            "events" => 2,
            _ => 1,
        };
        let segment = sb.plan(&["--template", template, "--topic", topic]);
        assert_eq!(segment["eligible"], 0, "{template}/{topic}: {segment:#}");
        assert_eq!(
            reasons(&segment).get("pending"),
            Some(&want_pending),
            "{segment:#}"
        );
        let listed = sb.plan(&["--template", template, "--topic", topic, "--list", list]);
        assert_eq!(listed["eligible"], 0, "{template}/{topic}: {listed:#}");
        assert_eq!(reasons(&listed).get("pending"), Some(&want_pending));
    }
}

#[test]
fn consent_is_bound_to_the_campaign_topic() {
    let sb = Sandbox::new();
    sb.import_text(
        "events.csv",
        &csv(&[
            HEADER,
            "0171 3000001;2025-03-01;web;2025-03-02;link;events;de;Anna",
        ]),
        0,
    );
    let sale = sb.plan(&["--template", "herbst_sale", "--topic", "sale"]);
    assert_eq!(sale["eligible"], 0);
    assert_eq!(
        reasons(&sale),
        BTreeMap::from([("topic_not_covered".to_string(), 1)])
    );
    let events = sb.plan(&["--template", "herbst_sale", "--topic", "events"]);
    assert_eq!(events["eligible"], 1, "{events:#}");
    assert_eq!(events["excluded"], 0);
}

#[test]
fn json_shape_counts_previews_cost_and_tier() {
    let sb = fixture();
    let plan = sb.plan(&["--template", "herbst_sale", "--topic", "sale"]);
    for key in [
        "template",
        "language",
        "category",
        "status",
        "topic",
        "locale",
        "list",
        "audience",
        "eligible",
        "excluded",
        "reasons",
        "excluded_sample",
        "previews",
        "cost",
        "tier",
        "lints",
    ] {
        assert!(plan.get(key).is_some(), "missing {key}: {plan:#}");
    }
    assert_eq!(plan["template"], "herbst_sale");
    assert_eq!(plan["category"], "MARKETING");
    assert_eq!(plan["topic"], "sale");
    assert_eq!(plan["list"], Value::Null);

    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    let eligible = n(&plan["eligible"]);
    let excluded = n(&plan["excluded"]);
    // Segment mode: the whole store (10 contacts).
    assert_eq!(n(&plan["audience"]), 10);
    assert_eq!(eligible + excluded, 10);
    assert_eq!(reasons(&plan).values().sum::<u64>(), excluded);

    let previews = plan["previews"].as_array().expect("previews");
    assert_eq!(previews.len() as u64, eligible.min(5));
    for p in previews {
        let text = p["text"].as_str().expect("text");
        assert!(!text.contains("{{"), "unrendered placeholder: {text}");
        assert!(text.starts_with("Herbst-Sale"), "{text}");
        assert!(text.contains("HERBST20"), "{text}");
        let to = p["recipient"].as_str().expect("recipient");
        assert!(to.contains('•'), "unmasked: {to}");
    }
    let texts = plan["previews"].to_string();
    assert!(texts.contains("Hallo Anna,"), "{texts}");
    assert!(texts.contains("Hallo Hanna,"), "{texts}");

    let cost = &plan["cost"];
    assert_eq!(cost["currency"], "EUR");
    let by_country = cost["by_country"].as_object().expect("by_country");
    assert_eq!(by_country["AT"]["recipients"], 1, "{cost:#}");
    assert_eq!(n(&by_country["DE"]["recipients"]), eligible - 1, "{cost:#}");
    let mut total = 0.0;
    for (country, c) in by_country {
        let sub = c["recipients"].as_f64().expect("n") * c["price"].as_f64().expect("price");
        assert!(
            (c["subtotal"].as_f64().expect("subtotal") - sub).abs() < 1e-9,
            "{country}"
        );
        total += sub;
    }
    assert!((cost["total"].as_f64().expect("total") - total).abs() < 1e-9);

    let tier = &plan["tier"];
    assert_eq!(tier["tier"], 10000);
    // Finn's sends are 25–72 h old: none within the last 24 h counts.
    assert_eq!(tier["used"], 0);
    assert_eq!(n(&tier["now"]), eligible);
    assert_eq!(tier["later"], 0);
    assert_eq!(tier["later_at"], Value::Null);
}

#[test]
fn locale_filter_narrows_the_segment() {
    let sb = Sandbox::new();
    sb.import_text(
        "locales.csv",
        &csv(&[
            HEADER,
            "0171 4000001;2025-03-01;web;2025-03-02;link;sale;de;Anna",
            "+43 664 4000002;2025-03-01;web;2025-03-02;link;sale;de_AT;Hanna",
            "0171 4000003;2025-03-01;web;2025-03-02;link;sale;en;Ian",
            "0171 4000004;2025-03-01;web;2025-03-02;link;sale;;Jule",
        ]),
        0,
    );
    let audience = |locale: &str| {
        let plan = sb.plan(&[
            "--template",
            "herbst_sale",
            "--topic",
            "sale",
            "--locale",
            locale,
        ]);
        assert_eq!(plan["locale"], locale);
        plan["eligible"].as_u64().expect("eligible")
    };
    // `de` covers de_AT; contacts without a locale belong to every locale.
    assert_eq!(audience("de"), 3);
    assert_eq!(audience("de_AT"), 2);
    assert_eq!(audience("en"), 2);
    // A locale nobody has would select only those without one: an error (issue 17).
    let fr = sb.bote([
        "campaign",
        "plan",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--locale",
        "fr",
    ]);
    assert_ne!(fr.code, 0);
    assert!(fr.stderr.contains("--locale fr"), "{}", fr.stderr);
    assert_eq!(
        sb.plan(&["--template", "herbst_sale", "--topic", "sale"])["eligible"],
        4
    );
}

#[test]
fn unknown_topic_template_or_list_is_an_error_naming_it() {
    let sb = Sandbox::new();
    let out = sb.bote([
        "campaign",
        "plan",
        "--template",
        "herbst_sale",
        "--topic",
        "newsletter",
    ]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("unknown topic \"newsletter\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("sale, new-collection, events"),
        "{}",
        out.stderr
    );

    let out = sb.bote(["campaign", "plan", "--template", "nope", "--topic", "sale"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("no template named \"nope\""),
        "{}",
        out.stderr
    );

    let list = sb.file("names.csv", csv(&["Name;Stadt", "Anna;Leipzig"]));
    let out = sb.bote([
        "campaign".as_ref(),
        "plan".as_ref(),
        "--template".as_ref(),
        "herbst_sale".as_ref(),
        "--topic".as_ref(),
        "sale".as_ref(),
        "--list".as_ref(),
        list.as_os_str(),
    ]);
    out.expect_code(1);
    assert!(out.stderr.contains("no phone column"), "{}", out.stderr);
    assert!(out.stderr.contains("names.csv"), "{}", out.stderr);

    sb.bote(["campaign", "plan", "--topic", "sale"])
        .expect_code(2);
}

#[test]
fn tier_check_splits_now_and_later() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("open");
    let now = DateTime::from_timestamp(1_790_000_000, 0).expect("time");
    let h = Duration::hours;
    let (r1, r2, r3, old) = (
        phone("0171 5000001"),
        phone("0171 5000002"),
        phone("0171 5000003"),
        phone("0171 5000004"),
    );
    store.record_send(old, now - h(30), "c0").expect("send");
    store.record_send(r1, now - h(20), "c1").expect("send");
    store.record_send(r2, now - h(10), "c1").expect("send");
    store.record_send(r3, now - h(5), "c2").expect("send");
    store.record_send(r1, now - h(1), "c2").expect("send");

    let check = |tier, wanted| audience_tier(&store, tier, wanted, now);
    // 3 unique recipients in the last 24 h (r1 twice, `old` outside): 2 of 5
    // free. They stop counting when their latest send leaves the window: r2
    // at -10 h + 24 h, r3 at -5 h + 24 h, r1 at -1 h + 24 h (its send at
    // -20 h leaving frees nothing).
    let t = check(5, 4);
    assert_eq!((t.used, t.now, t.later), (3, 2, 2));
    // 2 now, so 2 of the 3 must leave before the other 2 can go: r3's.
    assert_eq!(t.later_at, Some(now - h(5) + h(24)));
    let t = check(5, 2);
    assert_eq!((t.now, t.later, t.later_at), (2, 0, None));
    // More waiting than the window will ever free: split the campaign.
    let t = check(5, 10);
    assert_eq!((t.now, t.later, t.later_at), (2, 8, None));
    let t = check(3, 1);
    assert_eq!((t.used, t.now, t.later), (3, 0, 1));
    assert_eq!(t.later_at, Some(now - h(10) + h(24)));
    // Over-used (a lower tier than what was sent): 3 used of 2, so 2 must
    // leave before 1 more can go.
    let t = check(2, 1);
    assert_eq!((t.used, t.now, t.later), (3, 0, 1));
    assert_eq!(t.later_at, Some(now - h(5) + h(24)));
}

fn audience_tier(
    store: &Store,
    tier: u64,
    wanted: u64,
    now: DateTime<Utc>,
) -> bote::audience::TierCheck {
    bote::audience::tier_check(store, tier, wanted, now).expect("tier check")
}

#[test]
fn the_plan_reports_the_tier_split_with_its_time() {
    let sb = Sandbox::with_config(
        "[api]\nmessaging_tier = 4\n[consent]\nattributes = [\"first_name\"]\n",
    );
    sb.import_text(
        "three.csv",
        &csv(&[
            HEADER,
            "0171 6000001;2025-03-01;web;2025-03-02;link;sale;de;Anna",
            "0171 6000002;2025-03-01;web;2025-03-02;link;sale;de;Bert",
            "0171 6000003;2025-03-01;web;2025-03-02;link;sale;de;Cem",
        ]),
        0,
    );
    // Two other recipients were messaged 23 h and 22 h ago.
    let first = DateTime::from_timestamp(Utc::now().timestamp() - 23 * 3600, 0).expect("time");
    sb.with_store(|store| {
        store
            .record_send(phone("0171 6000098"), first, "earlier")
            .expect("send");
        store
            .record_send(phone("0171 6000099"), first + Duration::hours(1), "earlier")
            .expect("send");
    });
    let plan = sb.plan(&["--template", "herbst_sale", "--topic", "sale"]);
    let tier = &plan["tier"];
    assert_eq!(tier["tier"], 4);
    assert_eq!(tier["used"], 2);
    assert_eq!(tier["now"], 2);
    assert_eq!(tier["later"], 1);
    let later_at: DateTime<Utc> =
        serde_json::from_value(tier["later_at"].clone()).expect("later_at");
    assert_eq!(later_at, first + Duration::hours(24));

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
    // In the operator's zone (default Europe/Berlin), labelled.
    let when = later_at
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string();
    assert!(
        text.contains(&format!("2 of 4 used; 2 now, the other 1 after {when}")),
        "{text}"
    );
}

/// An export holds numbers: created 0600, never over an existing file
/// unless `--force`, and then owner-only as well.
#[test]
fn export_is_owner_only_and_overwrites_only_with_force() {
    use std::os::unix::fs::PermissionsExt;
    let sb = fixture();
    sb.bote(SEND_SALE_DETACHED).expect_code(0);
    let out = sb.path().join("results.csv");
    let out_arg = out.display().to_string();
    sb.bote(["campaign", "export", "1", "--out", &out_arg])
        .expect_code(0);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o600);
    let first = std::fs::read_to_string(&out).expect("read");
    assert!(first.lines().count() > 1, "{first}");

    std::fs::write(&out, "someone else's file").expect("write");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let refused = sb.bote(["campaign", "export", "1", "--out", &out_arg]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        "someone else's file",
        "not overwritten"
    );

    sb.bote(["campaign", "export", "1", "--out", &out_arg, "--force"])
        .expect_code(0);
    assert_eq!(mode(&out), 0o600, "replaced and made owner-only");
    assert!(std::fs::read_to_string(&out).expect("read").lines().count() > 1);

    // --mask: the rows, without the numbers.
    let masked = sb
        .bote(["campaign", "export", "1", "--mask"])
        .expect_code(0)
        .stdout
        .clone();
    assert_eq!(masked.lines().count(), first.lines().count(), "{masked}");
    assert!(first.contains(&e164("0171 1000001")), "{first}");
    assert!(!masked.contains(&e164("0171 1000001")), "{masked}");
    assert!(masked.contains("0001"), "the last digits stay: {masked}");
}
