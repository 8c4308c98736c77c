//! GDPR operations with the real binary on the sandbox: the audit trail
//! (G4, G13) records every step without a phone number in clear, and
//! `audit verify` names the first edited, removed or reordered entry.

mod common;

use common::Sandbox;
use serde_json::Value;

/// Five confirmed contacts for `sale`, numbers 0171 66000xx.
fn seeded() -> Sandbox {
    let sb = Sandbox::new();
    let mut lines = vec![common::HEADER.to_string()];
    for i in 0..5 {
        lines.push(format!(
            "0171 66{i:05};2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Kunde{i}"
        ));
    }
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    sb.import_text("consents.csv", &common::csv(&rows), 0);
    sb
}

fn entries(sb: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "show", "--json"];
    all.extend_from_slice(args);
    sb.bote(all)
        .expect_code(0)
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("entry JSON"))
        .collect()
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_string())
        .collect()
}

#[test]
fn every_step_is_in_the_trail_with_its_actor_and_no_number() {
    let sb = seeded();
    sb.bote([
        "campaign",
        "send",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--yes",
    ])
    .expect_code(0);
    sb.bote(["consent", "revoke", "0171 6600002"])
        .expect_code(0);
    sb.bote([
        "campaign",
        "plan",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
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
    write(&edited);
    let out = sb.bote(["audit", "verify"]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("entry 3 (line 3) was edited"),
        "{}",
        out.stdout
    );
    sb.stop_daemon();

    // Removed: entry 2 gone.
    let mut removed = owned.clone();
    removed.remove(1);
    write(&removed);
    let out = sb.bote(["audit", "verify"]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("entries 2..2 are missing"),
        "{}",
        out.stdout
    );
    sb.stop_daemon();

    // Reordered: entries 2 and 3 swapped.
    let mut swapped = owned.clone();
    swapped.swap(1, 2);
    write(&swapped);
    let out = sb.bote(["audit", "verify"]);
    out.expect_code(1);
    assert!(
        out.stdout
            .contains("entry 3 (line 2) does not follow entry 1"),
        "{}",
        out.stdout
    );
    sb.stop_daemon();

    // The end cut off: the head the store recorded names it.
    write(&owned[..owned.len() - 2]);
    let out = sb.bote(["audit", "verify"]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("were removed") || out.stdout.contains("are missing"),
        "{}",
        out.stdout
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
    sb.bote([
        "campaign",
        "send",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--yes",
    ])
    .expect_code(0);

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

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

#[test]
fn access_shows_everything_and_erasure_leaves_no_trace_of_the_number() {
    let sb = seeded();
    sb.bote([
        "campaign",
        "send",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--yes",
    ])
    .expect_code(0);
    let target = "0171 6600002";

    let access = sb.bote(["consent", "export", target]).expect_code(0).json();
    assert_eq!(access["phone"], "+491716600002");
    assert_eq!(access["contact"]["topics"]["sale"]["status"], "confirmed");
    assert!(!access["history"].as_array().expect("history").is_empty());
    let campaigns = access["campaigns"].as_array().expect("campaigns");
    assert_eq!(campaigns.len(), 1, "{access}");
    assert_eq!(campaigns[0]["campaign"], 1);
    assert_eq!(campaigns[0]["params"][0], "Kunde2");
    let reference = access["reference"].as_str().expect("ref").to_string();
    // An import is one entry for the file: nothing about this number yet.
    assert_eq!(access["audit"], serde_json::json!([]));

    let refused = sb.bote(["consent", "erase", target]);
    refused.expect_code(4);
    let erased = sb.bote(["consent", "erase", target, "--yes"]);
    erased.expect_code(0);
    assert!(
        erased
            .stdout
            .contains("1 campaign record(s) made anonymous"),
        "{}",
        erased.stdout
    );

    // Gone from the store, kept as a suppression; the campaign still adds up.
    let after = sb.bote(["consent", "export", target]).expect_code(0).json();
    assert_eq!(after["contact"], Value::Null);
    assert_eq!(after["history"], serde_json::json!([]));
    assert_eq!(after["campaigns"], serde_json::json!([]));
    assert_eq!(after["suppression"]["cause"], "erased", "{after}");
    let about: Vec<String> = actions(after["audit"].as_array().expect("audit"));
    assert_eq!(
        about,
        ["access_export", "erasure"],
        "the trail keeps what was done, by reference"
    );
    let status = sb
        .bote(["campaign", "status", "1", "--json"])
        .expect_code(0)
        .json();
    let counts = &status["counts"];
    let total: u64 = [
        "pending",
        "in_flight",
        "accepted",
        "sent",
        "delivered",
        "read",
        "failed",
        "skipped",
        "unknown",
    ]
    .iter()
    .map(|k| counts[k].as_u64().unwrap_or(0))
    .sum();
    assert_eq!(total, 5, "{status}");
    let erasure = entries(&sb, &["--action", "erasure"]);
    assert_eq!(erasure.len(), 1);
    assert_eq!(erasure[0]["subject"], reference.as_str());

    // A re-import with the old opt-in is refused as suppressed.
    let again = sb.import_text(
        "again.csv",
        &common::csv(&[
            common::HEADER,
            "0171 6600002;2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Kunde2",
        ]),
        3,
    );
    assert_eq!(again["rejected"], 1, "{again}");

    // The next start rewrites the database; then no file holds the number.
    sb.stop_daemon();
    sb.bote(["audit", "verify"]).expect_code(0);
    sb.stop_daemon();
    let packed = bote::phone::Phone::parse("+491716600002", "DE")
        .expect("phone")
        .key();
    let store = sb.store();
    for needle in [
        &b"1716600002"[..],
        b"+49 171 6600002",
        b"0171 6600002",
        b"Kunde2",
        &packed[..],
    ] {
        assert_eq!(
            files_holding(&store, needle),
            Vec::<String>::new(),
            "{:?} survives",
            String::from_utf8_lossy(needle)
        );
    }
    // The others are all still there.
    let list = sb.list();
    assert_eq!(list.lines().count(), 4, "{list}");
}

#[test]
fn purge_applies_every_retention_period_and_a_dry_run_changes_nothing() {
    let config = format!(
        "{}\n[retention]\nresults = \"0d\"\npending_unconfirmed = \"0d\"\nrevoked = \"0d\"\n",
        common::CONFIG
    );
    let sb = Sandbox::with_config(&config);
    let mut lines = vec![common::HEADER.to_string()];
    for i in 0..5 {
        lines.push(format!(
            "0171 66{i:05};2026-03-01T10:00:00Z;shop;2026-03-01T10:05:00Z;link;sale;de;Kunde{i}"
        ));
    }
    lines.push("0171 6600100;2026-03-02T10:00:00Z;fair;;;sale;de;Offen".into());
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    sb.import_text("consents.csv", &common::csv(&rows), 0);
    sb.bote(["consent", "revoke", "0171 6600004"])
        .expect_code(0);
    sb.bote([
        "campaign",
        "send",
        "--template",
        "herbst_sale",
        "--topic",
        "sale",
        "--yes",
    ])
    .expect_code(0);
    let before = sb.list();

    let dry = sb
        .bote(["purge", "--dry-run", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(dry["campaigns"], 1, "{dry}");
    assert_eq!(dry["results_anonymised"], 6, "{dry}");
    assert_eq!(dry["pending_removed"], 1, "{dry}");
    assert_eq!(dry["contacts_removed"], 1, "{dry}");
    assert_eq!(dry["revoked_minimised"], 1, "{dry}");
    assert_eq!(sb.list(), before, "a dry run changes nothing");

    let done = sb.bote(["purge", "--json"]).expect_code(0).json();
    for k in [
        "campaigns",
        "results_anonymised",
        "pending_removed",
        "revoked_minimised",
    ] {
        assert_eq!(done[k], dry[k], "{k}: {done}");
    }
    assert_eq!(sb.contacts().len(), 4);
    let revoked = sb
        .bote(["consent", "export", "0171 6600004"])
        .expect_code(0)
        .json();
    assert_eq!(revoked["contact"], Value::Null);
    assert_eq!(revoked["suppression"]["cause"], "opted_out", "{revoked}");
    let pending = sb
        .bote(["consent", "export", "0171 6600100"])
        .expect_code(0)
        .json();
    assert_eq!(pending["contact"], Value::Null);
    assert_eq!(
        pending["suppression"],
        Value::Null,
        "never confirmed: nothing to suppress"
    );

    let status = sb
        .bote(["campaign", "status", "1", "--json"])
        .expect_code(0)
        .json();
    let counts = &status["counts"];
    let total: u64 = [
        "pending",
        "in_flight",
        "accepted",
        "sent",
        "delivered",
        "read",
        "failed",
        "skipped",
        "unknown",
    ]
    .iter()
    .map(|k| counts[k].as_u64().unwrap_or(0))
    .sum();
    assert_eq!(total, 6, "anonymous counts still add up: {status}");
    let export = sb.bote(["campaign", "export", "1", "--format", "json"]);
    export.expect_code(0);
    assert!(!export.stdout.contains("+49171"), "{}", export.stdout);

    let again = sb.bote(["purge", "--json"]).expect_code(0).json();
    assert_eq!(again["results_anonymised"], 0, "{again}");
    let purges = entries(&sb, &["--action", "purge"]);
    assert_eq!(purges.len(), 3);
    assert_eq!(purges[1]["details"]["revoked_minimised"], 1);
    assert_eq!(purges[0]["details"]["dry_run"], true);
}

#[test]
fn an_unknown_retention_key_is_an_error_naming_it() {
    let config = format!("{}\n[retention]\nresult = \"30d\"\n", common::CONFIG);
    let sb = Sandbox::with_config(&config);
    let out = sb.bote(["purge", "--dry-run"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("result"), "{}", out.stderr);
}

#[test]
fn doctor_names_what_a_dpo_would_ask_about_and_fails_on_a_broken_trail() {
    let sb = seeded();
    let checks = sb.bote(["doctor", "--json"]).expect_code(0).json();
    let verdict = |checks: &Value, name: &str| {
        checks
            .as_array()
            .expect("checks")
            .iter()
            .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .map(|c| {
                (
                    c["verdict"].as_str().unwrap_or("").to_string(),
                    c["detail"].to_string(),
                )
            })
            .expect(name)
    };
    assert_eq!(
        verdict(&checks, "processing agreement").0,
        "warn",
        "sandbox: not needed yet"
    );
    let roles = verdict(&checks, "roles");
    assert_eq!(roles.0, "ok");
    assert!(roles.1.contains("only the store's owner"), "{}", roles.1);
    assert_eq!(verdict(&checks, "store permissions").0, "ok");
    assert_eq!(verdict(&checks, "audit trail").0, "ok");

    sb.stop_daemon();
    let path = sb.store().join("audit.jsonl");
    let text = std::fs::read_to_string(&path).expect("trail");
    std::fs::write(&path, text.replacen("\"seq\":1,", "\"seq\":1, ", 1)).expect("tamper");
    let out = sb.bote(["doctor"]);
    out.expect_code(1);
    assert!(
        out.stdout.contains("FAIL  audit trail (G13)")
            && out.stdout.contains("entry 1 (line 1) was edited"),
        "{}",
        out.stdout
    );

    let wide = Sandbox::with_config(&format!("{}\n[roles]\nadmin = [\"*\"]\n", common::CONFIG));
    let checks = wide.bote(["doctor", "--json"]).expect_code(0).json();
    let roles = verdict(&checks, "roles");
    assert_eq!(roles.0, "warn");
    assert!(roles.1.contains("every local user is admin"), "{}", roles.1);
}
