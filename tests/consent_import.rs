//! `bote consent import` through the real binary: the consent CSV contract
//! of docs/product.md (formats, rejection rules with physical lines,
//! encodings, idempotence, G5/G8) and refusals of files that are no consent
//! list at all, which must leave the store exactly as it was.

mod common;

use std::collections::BTreeSet;

use common::{csv, e164, Sandbox, HEADER};
use serde_json::Value;

/// A valid, confirmed row for `phone`.
fn row(phone: &str) -> String {
    format!("{phone};2025-03-01T10:00:00+01:00;web-form:shop.example/newsletter;2025-03-01T10:05:00+01:00;link;sale;de;Anna")
}

fn rejects(report: &Value) -> Vec<(u64, String)> {
    report["rejects"]
        .as_array()
        .expect("rejects")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().expect("line"),
                r["reason"].as_str().expect("reason").to_string(),
            )
        })
        .collect()
}

fn stored_numbers(sb: &Sandbox) -> BTreeSet<String> {
    sb.contacts()
        .iter()
        .map(|c| c["phone"].as_str().expect("phone").to_string())
        .collect()
}

#[test]
fn every_documented_phone_format_is_normalised_or_rejected_with_a_reason() {
    let sb = Sandbox::new();
    let accepted = [
        ("0171 2345678", "+491712345678"),
        ("+49 (0) 171 2345679", "+491712345679"),
        ("0049 171 2345680", "+491712345680"),
        ("+43 664 1234567", "+436641234567"),
        ("0176/12345678", "+4917612345678"),
        ("+49-160-9876543", "+491609876543"),
    ];
    let mut lines = vec![HEADER.to_string()];
    lines.extend(accepted.iter().map(|(p, _)| row(p)));
    lines.push(row("12345"));
    lines.push(row("0171-234567"));
    let text = csv(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    let report = sb.import_text("phones.csv", &text, 3);

    assert_eq!(report["imported"], 6, "{report:#}");
    assert_eq!(report["rejected"], 2, "{report:#}");
    let rej = rejects(&report);
    assert_eq!(rej.len(), 2);
    assert_eq!(rej[0].0, 8);
    assert!(rej[0].1.starts_with("phone:"), "{}", rej[0].1);
    assert!(rej[0].1.contains("\"12345\""), "{}", rej[0].1);
    assert!(rej[0].1.contains("not a valid number"), "{}", rej[0].1);
    assert_eq!(rej[1].0, 9);
    assert!(rej[1].1.contains("\"0171-234567\""), "{}", rej[1].1);
    assert!(rej[1].1.contains("not a valid number"), "{}", rej[1].1);

    let want: BTreeSet<String> = accepted.iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(stored_numbers(&sb), want);
}

/// Every rejection rule, behind a quoted field spanning two physical lines,
/// so that each reported line is the one an editor shows.
fn rejection_fixture(eol: &str) -> String {
    let lines = [
        "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;revoked_at;Notiz",
        // line 2–3: valid, with a note spanning two lines
        "0171 1000001;2025-03-01T10:00:00+01:00;web-form;2025-03-01T10:05:00+01:00;link;sale;;\"zwei",
        "Zeilen\"",
        // line 4: invalid phone
        "12345;2025-03-01;web-form;;;sale;;",
        // line 5–8: a required field missing, each
        ";2025-03-01;web-form;;;sale;;",
        "0171 1000005;;web-form;;;sale;;",
        "0171 1000006;2025-03-01;;;;sale;;",
        "0171 1000007;2025-03-01;web-form;;;;;",
        // line 9: unparseable date
        "0171 1000008;gestern;web-form;;;sale;;",
        // line 10: confirmation before the sign-up
        "0171 1000009;02.03.2025 10:00;web-form;01.03.2025 10:00;link;sale;;",
        // line 11: a date in the future
        "0171 1000010;01.01.2099;web-form;;;sale;;",
        // line 12: unknown topic
        "0171 1000011;2025-03-01;web-form;;;newsletter;;",
        // line 13: confirmed_at without confirmation_method
        "0171 1000012;2025-03-01;web-form;2025-03-02;;sale;;",
        // line 14: revocation before the sign-up
        "0171 1000013;2025-03-02;web-form;;;sale;2025-03-01;",
        // line 15: valid
        "0171 1000014;2025-03-01;web-form;;;sale;;",
    ];
    let mut s = lines.join(eol);
    s.push_str(eol);
    s
}

#[test]
fn each_rejection_rule_reports_its_physical_line_lf_crlf_and_cr() {
    for (eol, name) in [("\n", "lf.csv"), ("\r\n", "crlf.csv"), ("\r", "cr.csv")] {
        let sb = Sandbox::new();
        let report = sb.import_text(name, &rejection_fixture(eol), 3);
        let expected: &[(u64, &[&str])] = &[
            (4, &["phone:", "\"12345\"", "not a valid number"]),
            (5, &["phone is missing"]),
            (6, &["opted_in_at is missing"]),
            (7, &["opt_in_source is missing"]),
            (8, &["topics is missing"]),
            (9, &["opted_in_at:", "\"gestern\"", "is not a date"]),
            (10, &["confirmed_at precedes opted_in_at"]),
            (11, &["opted_in_at", "\"01.01.2099\"", "lies in the future"]),
            (
                12,
                &[
                    "unknown topic \"newsletter\"",
                    "sale, new-collection, events",
                ],
            ),
            (
                13,
                &[
                    "confirmation_method is missing",
                    "required with confirmed_at",
                ],
            ),
            (14, &["revoked_at precedes opted_in_at"]),
        ];
        let got = rejects(&report);
        assert_eq!(
            got.iter().map(|r| r.0).collect::<Vec<_>>(),
            expected.iter().map(|e| e.0).collect::<Vec<_>>(),
            "{name}: {report:#}"
        );
        for ((line, reason), (_, needles)) in got.iter().zip(expected) {
            for n in *needles {
                assert!(
                    reason.contains(n),
                    "{name} line {line}: {reason:?} lacks {n:?}"
                );
            }
        }
        assert_eq!(report["rows"], 13, "{name}");
        assert_eq!(report["rejected"], 11, "{name}");
        assert_eq!(report["imported"], 2, "{name}");
        assert_eq!(report["pending"], 1, "{name}");
        assert_eq!(report["dropped_columns"], serde_json::json!(["Notiz"]));
        let stored = stored_numbers(&sb);
        assert_eq!(
            stored,
            BTreeSet::from([e164("0171 1000001"), e164("0171 1000014")])
        );
    }
}

#[test]
fn windows_1252_umlauts_arrive_intact() {
    let sb = Sandbox::new();
    // Excel's "CSV (Trennzeichen-getrennt)": Windows-1252, German headers, CRLF.
    let bytes: &[u8] = b"Telefon;Vorname;Einwilligung am;Quelle;Best\xe4tigt am;Best\xe4tigungsart;Themen;Sprache\r\n\
0171 2345678;J\xfcrgen \xd6zdemir-Stra\xdfer;01.03.2025 10:00;kasse:filiale-gro\xdfenhain;01.03.2025 10:05;Link;sale|events;de\r\n";
    let f = sb.file("excel.csv", bytes);
    let report = sb.import_json(&f, &[]).expect_code(0).json();
    assert_eq!(report["encoding"], "windows-1252", "{report:#}");
    assert_eq!(report["delimiter"], ";");
    assert_eq!(report["imported"], 1, "{report:#}");

    let shown = sb.show("0171 2345678");
    let contact = &shown["contact"];
    assert_eq!(
        contact["attributes"]["first_name"],
        "Jürgen Özdemir-Straßer"
    );
    assert_eq!(
        contact["topics"]["sale"]["source"],
        "kasse:filiale-großenhain"
    );
    // "Bestätigt am" / "Bestätigungsart" were recognised after decoding.
    assert_eq!(contact["topics"]["sale"]["status"], "confirmed");
    assert_eq!(contact["topics"]["events"]["method"], "link");
}

#[test]
fn utf8_bom_and_crlf_are_handled() {
    let sb = Sandbox::new();
    let text = format!(
        "\u{feff}{HEADER}\r\n{}\r\n0171 2345679;2025-03-01;web-form;;;sale;;\r\n",
        row("0171 2345678")
    );
    let report = sb.import_text("bom.csv", &text, 0);
    assert_eq!(report["encoding"], "utf8-bom", "{report:#}");
    assert_eq!(report["imported"], 2, "{report:#}");
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["dropped_columns"], serde_json::json!([]));
    let shown = sb.show("0171 2345678");
    // No BOM glued to the first header, no CR left on the last cell.
    assert_eq!(shown["contact"]["attributes"]["first_name"], "Anna");
    assert_eq!(shown["contact"]["locale"], "de");
    assert_eq!(
        sb.show("0171 2345679")["contact"]["topics"]["sale"]["status"],
        "pending"
    );
}

#[test]
fn quoted_fields_hold_delimiters_quotes_and_newlines() {
    let sb = Sandbox::new();
    // Comma-delimited this time; the quoted cells hold `,`, `;`, `""` and a newline.
    let text = csv(&[
        "phone,opted_in_at,opt_in_source,confirmed_at,confirmation_method,topics,first_name",
        "\"0171 2345678\",2025-03-01,\"web-form:shop.example/a,b;c\",2025-03-02,link,sale,\"Anna \"\"Anni\"\" Maria\"",
        "0171 2345679,2025-03-01,\"kasse:filiale",
        "leipzig\",,,events,Bernd",
        "0171 2345680,2025-03-01,web-form,,,sale,",
    ]);
    let report = sb.import_text("quoted.csv", &text, 0);
    assert_eq!(report["delimiter"], ",");
    assert_eq!(report["rows"], 3);
    assert_eq!(report["imported"], 3, "{report:#}");

    let a = sb.show("0171 2345678");
    assert_eq!(
        a["contact"]["attributes"]["first_name"],
        "Anna \"Anni\" Maria"
    );
    assert_eq!(
        a["contact"]["topics"]["sale"]["source"],
        "web-form:shop.example/a,b;c"
    );
    let b = sb.show("0171 2345679");
    assert_eq!(
        b["contact"]["topics"]["events"]["source"],
        "kasse:filiale\nleipzig"
    );
    assert_eq!(b["contact"]["attributes"]["first_name"], "Bernd");
    // The history names the line the row started on (3, not 4).
    let origin = b["history"][0]["origin"].as_str().expect("origin");
    assert!(origin.ends_with("quoted.csv:3"), "{origin}");
    assert!(sb.show("0171 2345680")["contact"]["attributes"]
        .get("first_name")
        .is_none());
}

#[test]
fn undeclared_columns_are_dropped_and_reported() {
    let sb = Sandbox::new();
    let text = csv(&[
        "Telefon;Kundennummer;Einwilligung am;Quelle;Themen;Vorname;Geburtstag",
        "0171 2345678;K-4711;2025-03-01;web-form;sale;Anna;1990-04-01",
    ]);
    let report = sb.import_text("extra.csv", &text, 0);
    assert_eq!(
        report["dropped_columns"],
        serde_json::json!(["Kundennummer", "Geburtstag"])
    );
    let shown = sb.show("0171 2345678");
    assert_eq!(
        shown["contact"]["attributes"],
        serde_json::json!({"first_name": "Anna"})
    );
    let everything = format!("{}{}", sb.list(), shown);
    assert!(!everything.contains("K-4711"), "{everything}");
    assert!(!everything.contains("1990-04-01"), "{everything}");

    let text_out = sb
        .bote([
            "consent".as_ref(),
            "import".as_ref(),
            sb.path().join("extra.csv").as_os_str(),
        ])
        .expect_code(0)
        .stdout
        .clone();
    assert!(
        text_out.contains("dropped columns: Kundennummer, Geburtstag"),
        "{text_out}"
    );
}

fn sample_like() -> String {
    csv(&[
        HEADER,
        &row("0171 2345678"),
        "0171 2345679;2025-03-01;web-form;;;sale|events;en;",
        "0171 2345680;2025-03-01;web-form;2025-03-03;code;events;;Carla",
        // the same number again, later: merged
        "0171 2345679;2025-04-01;web-form;2025-04-02;reply;sale;en;Bea",
        "12345;2025-03-01;web-form;;;sale;;",
    ])
}

#[test]
fn reimport_is_idempotent() {
    let sb = Sandbox::new();
    let f = sb.file("list.csv", sample_like());
    let first = sb.import_json(&f, &[]).expect_code(3).json();
    assert_eq!(first["imported"], 3, "{first:#}");
    assert_eq!(first["duplicates"], 1);
    let accepted = first["imported"].as_u64().unwrap_or(0)
        + first["updated"].as_u64().unwrap_or(0)
        + first["unchanged"].as_u64().unwrap_or(0);
    assert_eq!(accepted, 4);
    let state = sb.list();
    let history = sb.show("0171 2345679")["history"].clone();

    let second = sb.import_json(&f, &[]).expect_code(3).json();
    assert_eq!(second["imported"], 0, "{second:#}");
    assert_eq!(second["updated"], 0, "{second:#}");
    assert_eq!(second["unchanged"], accepted, "{second:#}");
    assert_eq!(second["rejected"], 1);
    assert_eq!(sb.list(), state);
    assert_eq!(sb.show("0171 2345679")["history"], history);
}

#[test]
fn an_older_reimport_never_undoes_a_revocation() {
    let sb = Sandbox::new();
    let f = sb.file("list.csv", csv(&[HEADER, &row("0171 2345678")]));
    sb.import_json(&f, &[]).expect_code(0);

    // Revoked by the operator (G5) …
    let out = sb.bote(["consent", "revoke", "0171 2345678"]);
    out.expect_code(0);
    assert!(out.stdout.contains("revoked 1 topic"), "{}", out.stdout);
    // … then the old export is imported again.
    let report = sb.import_json(&f, &[]).expect_code(0).json();
    assert_eq!(report["updated"], 0, "{report:#}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("an older opt-in does not restore it"),
        "{notes}"
    );
    assert_eq!(
        sb.show("0171 2345678")["contact"]["topics"]["sale"]["status"],
        "revoked"
    );

    // A revocation carried by a file holds against the older file too.
    let g = sb.file(
        "revoked.csv",
        csv(&[
            "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics;revoked_at",
            "0171 2345699;2025-03-01;web-form;2025-03-02;link;sale;2025-06-01",
        ]),
    );
    let h = sb.file(
        "older.csv",
        csv(&[
            "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics",
            "0171 2345699;2025-03-01;web-form;2025-03-02;link;sale",
        ]),
    );
    sb.import_json(&g, &[]).expect_code(0);
    sb.import_json(&h, &[]).expect_code(0);
    assert_eq!(
        sb.show("0171 2345699")["contact"]["topics"]["sale"]["status"],
        "revoked"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let sb = Sandbox::new();
    let f = sb.file("list.csv", sample_like());
    let report = sb.import_json(&f, &["--dry-run"]).expect_code(3).json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["imported"], 3, "{report:#}");
    assert_eq!(sb.list(), "", "a dry run on an empty store wrote contacts");

    let g = sb.file("one.csv", csv(&[HEADER, &row("0171 2345600")]));
    sb.import_json(&g, &[]).expect_code(0);
    let before = sb.list();
    let history = sb.show("0171 2345600")["history"].clone();
    sb.import_json(&f, &["--dry-run"]).expect_code(3);
    let text = sb.bote([
        "consent".as_ref(),
        "import".as_ref(),
        f.as_os_str(),
        "--dry-run".as_ref(),
    ]);
    assert!(
        text.stdout.contains("Nothing was written"),
        "{}",
        text.stdout
    );
    assert_eq!(sb.list(), before);
    assert_eq!(sb.show("0171 2345600")["history"], history);
}

#[test]
fn rejects_file_holds_line_reason_and_the_original_cells() {
    let sb = Sandbox::new();
    let f = sb.file(
        "list.csv",
        csv(&[
            HEADER,
            &row("0171 2345678"),
            "12345;2025-03-01;\"web;form\";;;sale;de;\"Anna",
            "Maria\"",
            "0171 2345679;2025-03-01;web-form;;;newsletter;de;Bea",
        ]),
    );
    let out_path = sb.path().join("rejects.csv");
    let report = sb
        .import_json(&f, &["--rejects", out_path.to_str().expect("utf-8 path")])
        .expect_code(3)
        .json();
    assert_eq!(report["rejected"], 2);

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(&out_path)
        .expect("rejects file");
    let head: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let mut want_head = vec!["line".to_string(), "reason".to_string()];
    want_head.extend(HEADER.split(';').map(String::from));
    assert_eq!(head, want_head);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("row").iter().map(String::from).collect())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], "3");
    assert!(rows[0][1].contains("\"12345\""), "{}", rows[0][1]);
    assert_eq!(
        rows[0][2..],
        [
            "12345",
            "2025-03-01",
            "web;form",
            "",
            "",
            "sale",
            "de",
            "Anna\nMaria"
        ]
    );
    assert_eq!(rows[1][0], "5");
    assert!(rows[1][1].contains("unknown topic"), "{}", rows[1][1]);
    assert_eq!(rows[1][2], "0171 2345679");
    assert_eq!(rows[1][9], "Bea");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "rejects file holds numbers: owner-only");
    }
}

#[test]
fn exit_codes_follow_the_contract() {
    let sb = Sandbox::new();
    let clean = sb.file("clean.csv", csv(&[HEADER, &row("0171 2345678")]));
    let dirty = sb.file("dirty.csv", csv(&[HEADER, &row("12345")]));
    sb.import_json(&clean, &[]).expect_code(0);
    sb.import_json(&dirty, &[]).expect_code(3);

    let missing = sb.path().join("nope.csv");
    let out = sb.import_json(&missing, &[]);
    out.expect_code(1);
    assert!(out.stderr.contains("nope.csv"), "{}", out.stderr);

    sb.bote(["consent", "import"]).expect_code(2);
    sb.bote([
        "consent".as_ref(),
        "import".as_ref(),
        clean.as_os_str(),
        "--no-such-flag".as_ref(),
    ])
    .expect_code(2);
}

/// Files that are no consent list: each is refused naming the problem and
/// the file, with exit 1, and the store stays as it was.
#[test]
fn bad_files_are_refused_and_leave_the_store_untouched() {
    let sb = Sandbox::new();
    let good = sb.file(
        "good.csv",
        csv(&[HEADER, &row("0171 2345678"), &row("0171 2345679")]),
    );
    sb.import_json(&good, &[]).expect_code(0);
    let before = sb.list();
    assert_eq!(before.lines().count(), 2);

    let mut binary = b"phone;opted_in_at\n".to_vec();
    binary.extend((0u8..=255).cycle().take(4096));
    let mut huge = format!("{HEADER}\n0171 2345680;").into_bytes();
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.push(b'\n');
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("binary.csv", binary, &["not a CSV text file", "line 2"]),
        (
            "image.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            &["not a CSV text file"],
        ),
        ("empty.csv", Vec::new(), &["is empty"]),
        ("blank.csv", b"\xEF\xBB\xBF\r\n\r\n".to_vec(), &["is empty"]),
        (
            "no-phone.csv",
            csv(&[
                "name;opted_in_at;opt_in_source;topics",
                "Anna;2025-03-01;web-form;sale",
            ])
            .into_bytes(),
            &["lacks required column", "phone", "found: name"],
        ),
        (
            "huge-line.csv",
            huge,
            &["line 2 is longer than", "not a consent list"],
        ),
    ];
    for (name, bytes, needles) in cases {
        let f = sb.file(name, &bytes);
        let out = sb.import_json(&f, &[]);
        out.expect_code(1);
        assert!(
            out.stderr.contains(&f.display().to_string()),
            "{name}: error does not name the file: {}",
            out.stderr
        );
        for n in needles {
            assert!(
                out.stderr.contains(n),
                "{name}: {:?} lacks {n:?}",
                out.stderr
            );
        }
        assert!(
            out.stdout.is_empty(),
            "{name}: printed a report: {}",
            out.stdout
        );
        assert_eq!(sb.list(), before, "{name} changed the store");
    }
}
