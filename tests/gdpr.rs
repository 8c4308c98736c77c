//! GDPR operations with the real binary on the sandbox: the audit trail
//! (G4, G13) records every step without a phone number in clear, `audit
//! verify` names the first edited, removed or reordered entry, and the DPO
//! proof shows the consent behind every send.

mod common;

use common::{actions, seeded, send_sale, trail as entries};
use serde_json::Value;

#[test]
fn every_step_is_in_the_trail_with_its_actor_and_no_number() {
    let sb = seeded();
    send_sale(&sb);
    sb.bote(["consent", "revoke", "0171 6600002"])
        .expect_code(0);
    sb.bote([
        "campaign",
        "plan",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--include-recent",
    ])
    .expect_code(0);

    let all = entries(&sb, &[]);
    let a = actions(&all);
    for want in [
        "daemon_started",
        "settings_changed",
        "consent_import",
        "campaign_created",
        "campaign_started",
        "campaign_finished",
        "revocation",
        "plan",
    ] {
        assert!(a.contains(&want.to_string()), "{want} missing from {a:?}");
    }
    let me = common::os_user();
    let import = &all[a
        .iter()
        .position(|x| x == "consent_import")
        .expect("import")];
    assert_eq!(import["actor"], me.as_str());
    assert_eq!(import["details"]["imported"], 5);
    let digest = import["details"]["sha256"].as_str().expect("sha256");
    assert_eq!(digest.len(), 64);
    let finished = &all[a
        .iter()
        .position(|x| x == "campaign_finished")
        .expect("fin")];
    assert_eq!(finished["subject"], "campaign:1");
    assert_eq!(
        finished["details"]["counts"]["accepted"]
            .as_u64()
            .unwrap_or(0)
            + finished["details"]["counts"]["sent"].as_u64().unwrap_or(0)
            + finished["details"]["counts"]["delivered"]
                .as_u64()
                .unwrap_or(0)
            + finished["details"]["counts"]["read"].as_u64().unwrap_or(0),
        5
    );
    let plan = &all[a.iter().rposition(|x| x == "plan").expect("plan")];
    assert_eq!(plan["details"]["eligible"], 4);

    // The revocation is found by the number, though the trail holds only its reference.
    let about = entries(&sb, &["--subject", "+49 171 6600002"]);
    assert_eq!(actions(&about), ["revocation"]);
    assert!(about[0]["subject"].as_str().expect("ref").starts_with("c:"));

    sb.stop_daemon();
    let text = std::fs::read_to_string(sb.store().join("audit.jsonl")).expect("trail");
    for digits in ["1716600002", "01716600002", "+491716600002", "491716600002"] {
        assert!(!text.contains(digits), "the trail holds {digits}");
    }
    let v = sb.bote(["audit", "verify", "--json"]).expect_code(0).json();
    assert_eq!(v["first_break"], Value::Null);
    assert_eq!(v["entries"].as_u64(), Some(text.lines().count() as u64 + 1));
}

#[test]
fn verify_names_the_first_edited_removed_or_reordered_entry() {
    let sb = seeded();
    sb.bote(["consent", "revoke", "0171 6600001"])
        .expect_code(0);
    sb.bote(["consent", "revoke", "0171 6600003"])
        .expect_code(0);
    sb.stop_daemon();
    let path = sb.store().join("audit.jsonl");
    let original = std::fs::read_to_string(&path).expect("trail");
    let lines: Vec<&str> = original.lines().collect();
    assert!(lines.len() >= 5, "{original}");
    let write = |ls: &[String]| std::fs::write(&path, ls.join("\n") + "\n").expect("write");
    let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();

    // Edited: the actor of entry 3 changed.
    let mut edited = owned.clone();
    let actor = serde_json::from_str::<Value>(&edited[2]).expect("json")["actor"]
        .as_str()
        .expect("actor")
        .to_string();
    edited[2] = edited[2].replacen(
        &format!("\"actor\":\"{actor}\""),
        "\"actor\":\"mallory\"",
        1,
    );
    // Each damaged trail: verify fails (exit 1) and says why.
    let verdict = |trail: &[String]| {
        write(trail);
        let out = sb.bote(["audit", "verify"]);
        out.expect_code(1);
        sb.stop_daemon();
        out.stdout
    };
    let said = verdict(&edited);
    assert!(said.contains("entry 3 (line 3) was edited"), "{said}");

    // Removed: entry 2 gone.
    let mut removed = owned.clone();
    removed.remove(1);
    let said = verdict(&removed);
    assert!(said.contains("entries 2..2 are missing"), "{said}");

    // Reordered: entries 2 and 3 swapped.
    let mut swapped = owned.clone();
    swapped.swap(1, 2);
    let said = verdict(&swapped);
    assert!(
        said.contains("entry 3 (line 2) does not follow entry 1"),
        "{said}"
    );

    // The end cut off: the head the store recorded names it.
    let said = verdict(&owned[..owned.len() - 2]);
    assert!(
        said.contains("were removed") || said.contains("are missing"),
        "{said}"
    );
}

#[test]
fn the_proof_shows_the_consent_behind_every_send_and_the_reason_for_every_exclusion() {
    let sb = seeded();
    // A pending contact (never confirmed) and a revoked one are excluded.
    sb.import_text(
        "more.csv",
        &common::csv(&[
            common::HEADER,
            "0171 6600100;2026-03-02T10:00:00Z;fair;;;sale;de;Offen",
        ]),
        0,
    );
    sb.bote(["consent", "revoke", "0171 6600004"])
        .expect_code(0);
    send_sale(&sb);

    let out = sb.path().join("proof.json");
    let out_s = out.to_str().expect("path");
    sb.bote([
        "audit",
        "export",
        "--campaign",
        "1",
        "--format",
        "json",
        "--out",
        out_s,
    ])
    .expect_code(0);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).expect("proof").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = sb.bote([
        "audit",
        "export",
        "--campaign",
        "1",
        "--format",
        "json",
        "--out",
        out_s,
    ]);
    again.expect_code(1);
    assert!(
        again.stderr.contains("does not overwrite"),
        "{}",
        again.stderr
    );

    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    let s = &doc["summary"];
    assert_eq!(s["messaged"], 4, "{s}");
    assert_eq!(s["messaged_with_consent"], 4, "{s}");
    assert_eq!(s["messaged_without_consent"], 0, "{s}");
    assert_eq!(s["not_messaged"], 2, "{s}");
    let rows = doc["recipients"].as_array().expect("rows");
    for r in rows.iter().filter(|r| r["messaged"] == true) {
        assert_eq!(r["verdict"], "consent", "{r}");
        let e = &r["evidence"];
        assert_eq!(e["source"], "shop", "{r}");
        assert_eq!(e["method"], "link", "{r}");
        assert!(e["confirmed_at"].is_string(), "{r}");
        assert!(
            r["checked_at"].as_str().expect("checked") >= e["recorded_at"].as_str().expect("rec"),
            "{r}"
        );
    }
    let reasons: Vec<&str> = rows
        .iter()
        .filter(|r| r["messaged"] == false)
        .map(|r| r["reason"].as_str().expect("reason"))
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|r| r.contains("revoked")), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("pending") || r.contains("not confirmed")),
        "{reasons:?}"
    );

    let md = sb.bote(["audit", "export", "--campaign", "1", "--format", "md"]);
    md.expect_code(0);
    assert!(
        md.stdout
            .contains("| **messaged without consent** | **0** |"),
        "{}",
        md.stdout
    );
    let csv = sb.bote(["audit", "export", "--campaign", "1", "--format", "csv"]);
    csv.expect_code(0);
    assert_eq!(csv.stdout.lines().count(), 1 + 6);
    assert!(
        csv.stdout.lines().nth(1).expect("row").contains("'+49171"),
        "{}",
        csv.stdout
    );
    let trail = entries(&sb, &["--action", "proof_export"]);
    assert_eq!(
        trail.len(),
        3,
        "every export is recorded (the refused overwrite never reached the daemon)"
    );
}

/// G7: what the person was told. A consent wording declared in
/// `[consent.wording]` is named by `consent show` and the DPO proof; one
/// that is not is said to be missing, not left out.
#[test]
fn what_each_consent_wording_told_is_shown_and_proven() {
    let sb = common::Sandbox::with_config(
        "[consent.wording.v3]\ncontent = \"Angebote und Rabattcodes\"\nfrequency = \"höchstens zwei pro Woche\"\n",
    );
    sb.import_text(
        "told.csv",
        &common::csv(&[
            "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;locale;first_name;consent_text_version",
            "0171 6610001;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Eva;v3",
            "0171 6610002;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Max;v9",
        ]),
        0,
    );
    let show = sb
        .bote(["consent", "show", "0171 6610001"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        show.contains("consent wording v3")
            && show.contains(
                "Told with wording v3: Angebote und Rabattcodes · höchstens zwei pro Woche"
            ),
        "{show}"
    );
    let other = sb
        .bote(["consent", "show", "0171 6610002"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        other.contains("v9: not declared in [consent.wording]"),
        "{other}"
    );
    send_sale(&sb);
    let md = sb
        .bote(["audit", "export", "--campaign", "1", "--format", "md"])
        .expect_code(0)
        .stdout
        .clone();
    assert!(md.contains("What the recipients were told (G7)"), "{md}");
    assert!(
        md.contains("| v3 | Angebote und Rabattcodes | höchstens zwei pro Woche |"),
        "{md}"
    );
    assert!(
        md.contains("| v9 | **not declared in [consent.wording]** |"),
        "{md}"
    );
    let bad =
        common::Sandbox::with_config("[consent.wording.v1]\ncontent = \"\"\nfrequency = \"oft\"\n");
    let refused = bad.bote(["consent", "list"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("consent.wording.v1"),
        "{}",
        refused.stderr
    );
}
