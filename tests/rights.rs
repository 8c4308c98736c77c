//! The data subject's rights and the DPO's checks with the real binary on
//! the sandbox: access and erasure (G10, down to the bytes on disk),
//! retention (G9) and `bote doctor`.

mod common;

use common::{
    actions, campaign_total, sale_consents, seeded, send_sale, trail as entries, Sandbox,
};
use serde_json::Value;

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
    send_sale(&sb);
    // Let the simulator's statuses arrive first: one that comes after the
    // erasure is dropped and asks for another rewrite (checked below).
    let settled = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let s = sb
            .bote(["campaign", "status", "1", "--json"])
            .expect_code(0)
            .json();
        if s["counts"]["read"].as_u64() == Some(5) || std::time::Instant::now() > settled {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
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
    let (total, status) = campaign_total(&sb, "1");
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
    let mut lines = sale_consents();
    lines.push("0171 6600100;2026-03-02T10:00:00Z;fair;;;sale;de;Offen".into());
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    sb.import_text("consents.csv", &common::csv(&rows), 0);
    sb.bote(["consent", "revoke", "0171 6600004"])
        .expect_code(0);
    send_sale(&sb);
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

    let (total, status) = campaign_total(&sb, "1");
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
