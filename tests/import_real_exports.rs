//! `bote consent import` of files as spreadsheets and form tools really
//! write them (issue 16): Excel's `sep=` line, apostrophes before numbers,
//! topics in another case, a default confirmation method, no-break spaces,
//! scientific notation, CR-only line endings.

mod common;

use common::{e164, Sandbox};
use serde_json::Value;

fn reasons(report: &Value) -> Vec<(u64, String)> {
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

#[test]
fn an_excel_export_with_its_habits_imports() {
    let sb = Sandbox::new();
    // Excel, German settings: sep= line, CRLF, apostrophes kept by a
    // "numbers as text" column, no-break spaces from a copied web page,
    // topics as someone typed them, a form's default method column.
    let text = [
        "sep=;",
        "Telefon;Einwilligung am;Quelle;Bestätigt am;Bestätigungsart;Themen;Vorname",
        "'0171 2345678;'01.03.2025;web-form;02.03.2025;Link; SALE |Events;Anna",
        "0171\u{a0}2345679;01.03.2025;web-form;;link;Sale;\u{a0}Bea\u{a0}",
        "'+49 171 2345680;2025-03-01;web-form;;;new-collection;Carla",
        "",
    ]
    .join("\r\n");
    let f = sb.file("excel.csv", text);
    let report = sb.import_json(&f, &[]).expect_code(0).json();
    assert_eq!(report["delimiter"], ";");
    assert_eq!(report["rows"], 3, "{report:#}");
    assert_eq!(report["imported"], 3, "{report:#}");
    assert_eq!(report["pending"], 2, "{report:#}");
    assert_eq!(
        report["topic_spellings"],
        serde_json::json!({"SALE": "sale", "Events": "events", "Sale": "sale"})
    );
    let notes = report["notes"].to_string();
    assert!(notes.contains("sep=;"), "{notes}");
    assert!(
        notes.contains("without confirmed_at: kept as pending"),
        "{notes}"
    );
    assert_eq!(report["notes"][1]["line"], 4, "{report:#}");

    let anna = sb.show("0171 2345678");
    assert_eq!(anna["contact"]["topics"]["sale"]["status"], "confirmed");
    assert_eq!(anna["contact"]["topics"]["events"]["status"], "confirmed");
    let bea = sb.show("0171 2345679");
    assert_eq!(bea["phone"], e164("0171 2345679"));
    assert_eq!(bea["contact"]["topics"]["sale"]["status"], "pending");
    assert_eq!(bea["contact"]["attributes"]["first_name"], "Bea");
    assert!(bea["contact"]["topics"]["sale"]["method"].is_null());
    assert_eq!(
        sb.show("0171 2345680")["contact"]["topics"]["new-collection"]["status"],
        "pending"
    );

    // The text report names the mapped spellings.
    let out = sb.bote(["consent".as_ref(), "import".as_ref(), f.as_os_str()]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("topics spelled otherwise") && out.stdout.contains("\"SALE\" → sale"),
        "{}",
        out.stdout
    );
}

#[test]
fn scientific_notation_is_rejected_with_how_to_export_correctly() {
    let sb = Sandbox::new();
    let text = [
        "sep=,",
        "phone,opted_in_at,opt_in_source,topics",
        "\"4,91713E+11\",2025-03-01,web-form,sale",
        "4.91713E+11,2025-03-01,web-form,sale",
        "+491712345678,2025-03-01,web-form,sale",
        "",
    ]
    .join("\n");
    let report = sb.import_text("sci.csv", &text, 3);
    let got = reasons(&report);
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        [3, 4],
        "{report:#}"
    );
    for (_, reason) in &got {
        assert!(reason.contains("scientific notation"), "{reason}");
        assert!(reason.contains("last digits are lost"), "{reason}");
        assert!(reason.contains("format the column as Text"), "{reason}");
    }
    assert_eq!(report["imported"], 1);
}

/// Before: every reject of a CR-only file was "line 1" (and a long one
/// was refused as one runaway line).
#[test]
fn cr_only_line_endings_give_true_line_numbers() {
    let sb = Sandbox::new();
    let mut lines = vec!["phone;opted_in_at;opt_in_source;topics;Notiz".to_string()];
    for i in 0..1_500 {
        lines.push(format!("0171 23{i:05};2025-03-01;web-form;sale;note {i}"));
    }
    lines[700] = "12345;2025-03-01;web-form;sale;".into();
    lines[1_200] = "0171 2399999;2025-03-01;web-form;sale;\"two\rlines\"".into();
    lines[1_400] = "0171 2399998;gestern;web-form;sale;".into();
    let mut text = lines.join("\r");
    text.push('\r');
    let report = sb.import_text("mac.csv", &text, 3);
    assert_eq!(report["rows"], 1_500, "{report:#}");
    let got = reasons(&report);
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        [701, 1_402],
        "{report:#}"
    );
    assert_eq!(report["imported"], 1_498);
    let origin = sb.show("0171 2399999")["history"][0]["origin"]
        .as_str()
        .expect("origin")
        .to_string();
    assert!(origin.ends_with("mac.csv:1201"), "{origin}");
}
