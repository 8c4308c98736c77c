//! `bote consent import` through the real binary: the ways an import used
//! to lose or corrupt data (issue 16) — a ragged rejected row, a stray
//! quote, one bad byte, the rejects file's path and contents, absurd dates,
//! a pipe — each pinned so that it cannot come back.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use common::{csv, e164, Sandbox, BIN, HEADER};
use serde_json::Value;

/// A valid, confirmed row for `phone`.
fn row(phone: &str) -> String {
    format!("{phone};2025-03-01T10:00:00+01:00;web-form:shop.example/newsletter;2025-03-01T10:05:00+01:00;link;sale;de;Anna")
}

fn stored_numbers(sb: &Sandbox) -> BTreeSet<String> {
    sb.contacts()
        .iter()
        .map(|c| c["phone"].as_str().expect("phone").to_string())
        .collect()
}

fn read_rejects(path: &std::path::Path) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .has_headers(false)
        .from_path(path)
        .expect("rejects file")
        .records()
        .map(|r| r.expect("row").iter().map(String::from).collect())
        .collect()
}

fn lines_of(report: &Value, key: &str) -> Vec<u64> {
    report[key]
        .as_array()
        .expect(key)
        .iter()
        .map(|r| r["line"].as_u64().expect("line"))
        .collect()
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
}

/// Before: "found record with 5 fields, but the previous record has 10
/// fields", exit 1, the rows after it dropped.
#[test]
fn a_ragged_rejected_row_goes_to_the_rejects_file_as_it_was_and_the_import_goes_on() {
    let sb = Sandbox::new();
    let f = sb.file(
        "ragged.csv",
        csv(&[
            HEADER,
            &row("0171 2345678"),
            "12345;2025-03-01;web-form;;sale",
            "0171 2345679;2025-03-01;web-form;;;sale;de;Bea;extra;cells",
            &row("0171 2345680"),
        ]),
    );
    let out = sb.path().join("rejects.csv");
    let report = sb
        .import_json(&f, &["--rejects", out.to_str().expect("utf-8")])
        .expect_code(3)
        .json();
    assert_eq!(report["rows"], 4, "{report:#}");
    assert_eq!(report["imported"], 3, "{report:#}");
    assert_eq!(report["rejected"], 1, "{report:#}");
    assert_eq!(
        stored_numbers(&sb),
        BTreeSet::from([
            e164("0171 2345678"),
            e164("0171 2345679"),
            e164("0171 2345680")
        ])
    );
    let rows = read_rejects(&out);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "3");
    assert_eq!(
        rows[1][2..],
        ["12345", "2025-03-01", "web-form", "", "sale"]
    );
}

/// Before: a quote in front of line 12 made the rest of the file one cell —
/// "rows 11, imported 10", the rest silently not imported, and the reason
/// echoed every later phone number.
#[test]
fn a_stray_quote_costs_its_own_line_only_and_quotes_nothing_else() {
    let sb = Sandbox::new();
    let phone = |i: usize| format!("0171 23{i:05}");
    let mut lines = vec![HEADER.to_string()];
    for i in 0..3_000 {
        lines.push(row(&phone(i)));
    }
    lines[11] = format!("\"{}", lines[11]);
    let f = sb.file(
        "stray.csv",
        csv(&lines.iter().map(String::as_str).collect::<Vec<_>>()),
    );
    let out = sb.path().join("rejects.csv");
    let run = sb.bote([
        "consent".as_ref(),
        "import".as_ref(),
        f.as_os_str(),
        "--rejects".as_ref(),
        out.as_os_str(),
    ]);
    run.expect_code(3);
    assert!(run.stdout.contains("unreadable"), "{}", run.stdout);
    assert!(
        run.stdout.contains("line 12: unbalanced quote"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.len() < 4_000,
        "the report echoes the file: {} bytes",
        run.stdout.len()
    );
    for i in [12, 13, 500, 2_999] {
        assert!(
            !run.stdout.contains(&phone(i)),
            "the report quotes another row's number {}",
            phone(i)
        );
    }

    let report = sb.import_json(&f, &["--dry-run"]).expect_code(3).json();
    assert_eq!(report["rows"], 3_000, "{report:#}");
    assert_eq!(report["unreadable"], 1, "{report:#}");
    assert_eq!(lines_of(&report, "unreadable_rows"), [12]);
    assert_eq!(report["unchanged"], 2_999, "{report:#}");
    assert_eq!(stored_numbers(&sb).len(), 2_999);
    assert!(!stored_numbers(&sb).contains(&e164(&phone(10))));
    let rows = read_rejects(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], "12");
    assert!(rows[1][1].contains("unbalanced quote"), "{}", rows[1][1]);
    assert_eq!(
        rows[1][2], lines[11],
        "the line as it was, to fix and re-import"
    );
}

/// Before: one bad byte at the end made the file Windows-1252: "Bestätigt
/// am" became "BestÃ¤tigt am", was dropped, and every consent was pending.
#[test]
fn one_bad_byte_in_a_utf8_file_is_one_located_row_not_a_new_encoding() {
    let sb = Sandbox::new();
    let mut bytes = csv(&[
        "Telefon;Einwilligung am;Quelle;Bestätigt am;Bestätigungsart;Themen;Vorname",
        "0171 2345678;01.03.2025;web-form;02.03.2025;link;sale;Zoë",
        "0171 2345679;01.03.2025;web-form;02.03.2025;link;sale;Jürgen",
    ])
    .into_bytes();
    bytes.extend_from_slice(b"0171 2345680;01.03.2025;web-form;02.03.2025;link;sale;Zo\xc3");
    let f = sb.file("tail.csv", &bytes);
    let report = sb.import_json(&f, &[]).expect_code(3).json();
    assert_eq!(report["encoding"], "utf8", "{report:#}");
    assert_eq!(report["imported"], 2, "{report:#}");
    assert_eq!(report["unreadable"], 1, "{report:#}");
    assert_eq!(lines_of(&report, "unreadable_rows"), [4]);
    assert!(report["unreadable_rows"][0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("not UTF-8")));
    assert_eq!(report["dropped_columns"], serde_json::json!([]));
    let zoe = sb.show("0171 2345678");
    assert_eq!(zoe["contact"]["attributes"]["first_name"], "Zoë");
    assert_eq!(zoe["contact"]["topics"]["sale"]["status"], "confirmed");
}

/// A header garbled by a wrong decoding is refused, not dropped.
#[test]
fn a_garbled_required_header_refuses_the_file() {
    let sb = Sandbox::new();
    let f = sb.file(
        "garbled.csv",
        csv(&[
            "Telefon;Einwilligung am;Quelle;BestÃ¤tigt am;BestÃ¤tigungsart;Themen",
            "0171 2345678;01.03.2025;web-form;02.03.2025;link;sale",
        ]),
    );
    let out = sb.import_json(&f, &[]);
    out.expect_code(1);
    assert!(out.stderr.contains("garbled"), "{}", out.stderr);
    assert!(out.stderr.contains("Bestätigt am"), "{}", out.stderr);
    assert_eq!(sb.list(), "");

    // A header holding a byte that is not UTF-8, in a file that is UTF-8
    // everywhere else: refused, not read with that column dropped.
    let mut bytes =
        b"Telefon;Einwilligung am;Quelle;Best\xe4tigt am;Best\xe4tigungsart;Themen;Vorname\n"
            .to_vec();
    for i in 0..3 {
        bytes.extend_from_slice(
            format!("0171 234567{i};01.03.2025;web-form;02.03.2025;link;sale;Zoë Jürgen Öz\n")
                .as_bytes(),
        );
    }
    let f = sb.file("mixed-header.csv", &bytes);
    let out = sb.import_json(&f, &[]);
    out.expect_code(1);
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
    assert_eq!(sb.list(), "");
}

/// Before: `--rejects in.csv` could destroy the input, and an existing
/// rejects file could not be replaced on purpose.
#[test]
fn the_rejects_file_never_is_the_input_never_replaces_unasked_and_is_private() {
    let sb = Sandbox::new();
    let text = csv(&[HEADER, &row("0171 2345678"), &row("12345")]);
    let input = sb.file("in.csv", &text);
    std::fs::create_dir(sb.path().join("sub")).expect("dir");
    let other_path = sb.path().join("sub").join("..").join("in.csv");
    for extra in [vec![], vec!["--force"]] {
        let mut args = vec!["--rejects", other_path.to_str().expect("utf-8")];
        args.extend(extra);
        let out = sb.import_json(&input, &args);
        out.expect_code(1);
        assert!(
            out.stderr.contains("is the file being imported"),
            "{}",
            out.stderr
        );
        assert_eq!(std::fs::read_to_string(&input).expect("input"), text);
        assert_eq!(sb.list(), "", "refused, yet imported");
    }
    #[cfg(unix)]
    {
        let link = sb.path().join("link.csv");
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        let out = sb.import_json(
            &input,
            &["--rejects", link.to_str().expect("utf-8"), "--force"],
        );
        out.expect_code(1);
        assert_eq!(std::fs::read_to_string(&input).expect("input"), text);
    }

    // A rejects file that cannot be written refuses the run before the
    // store changes, not after it.
    let nowhere = sb.path().join("no-such-dir").join("rejects.csv");
    let out = sb.import_json(&input, &["--rejects", nowhere.to_str().expect("utf-8")]);
    out.expect_code(1);
    assert!(out.stderr.contains("no-such-dir"), "{}", out.stderr);
    assert_eq!(sb.list(), "");

    let rejects = sb.file("rejects.csv", "keep me\n");
    let out = sb.import_json(&input, &["--rejects", rejects.to_str().expect("utf-8")]);
    out.expect_code(1);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&rejects).expect("kept"),
        "keep me\n"
    );
    assert_eq!(sb.list(), "");

    let report = sb
        .import_json(
            &input,
            &["--rejects", rejects.to_str().expect("utf-8"), "--force"],
        )
        .expect_code(3)
        .json();
    assert_eq!(report["rejected"], 1);
    let rows = read_rejects(&rejects);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][2], "12345");
    #[cfg(unix)]
    assert_eq!(mode(&rejects), 0o600);
    let names: Vec<String> = std::fs::read_dir(sb.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(names.is_empty(), "temp files left: {names:?}");
}

/// Before: the rejects CSV held `=cmd|…` verbatim while campaign export
/// escaped it.
#[test]
fn the_rejects_file_is_spreadsheet_safe() {
    let sb = Sandbox::new();
    let f = sb.file(
        "evil.csv",
        csv(&[
            HEADER,
            "=cmd|' /C calc'!A0;2025-03-01;@SUM(1);;;sale;de;+Anna",
            "-1;2025-03-01;web-form;;;sale;de;\tTab",
        ]),
    );
    let out = sb.path().join("rejects.csv");
    sb.import_json(&f, &["--rejects", out.to_str().expect("utf-8")])
        .expect_code(3);
    let rows = read_rejects(&out);
    assert_eq!(rows.len(), 3, "{rows:?}");
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a spreadsheet would run {cell:?}"
        );
    }
    assert_eq!(rows[1][2], "'=cmd|' /C calc'!A0");
    assert_eq!(rows[1][4], "'@SUM(1)");
    assert_eq!(rows[1][9], "'+Anna");
    assert_eq!(rows[2][2], "'-1");
}

/// Before: `01.01.0001`, `-0001-01-01` and `1.1.26` (year 26) were stored
/// as consents.
#[test]
fn absurd_dates_are_located_rejections() {
    let sb = Sandbox::new();
    let f = sb.file(
        "dates.csv",
        csv(&[
            "phone;opted_in_at;opt_in_source;confirmed_at;confirmation_method;topics",
            "0171 2345671;01.01.0001;web-form;;;sale",
            "0171 2345672;-0001-01-01;web-form;;;sale",
            "0171 2345673;1.1.26;web-form;;;sale",
            "0171 2345674;31.12.1999;web-form;;;sale",
            "0171 2345675;2025-03-01;web-form;1900-01-01;link;sale",
            "0171 2345676;01.01.2000;web-form;;;sale",
        ]),
    );
    let report = sb.import_json(&f, &[]).expect_code(3).json();
    assert_eq!(lines_of(&report, "rejects"), [2, 3, 4, 5, 6], "{report:#}");
    let reasons: Vec<&str> = report["rejects"]
        .as_array()
        .expect("rejects")
        .iter()
        .map(|r| r["reason"].as_str().expect("reason"))
        .collect();
    assert!(reasons[0].contains("before 2000-01-01"), "{}", reasons[0]);
    assert!(reasons[2].contains("two-digit year"), "{}", reasons[2]);
    assert!(reasons[3].contains("before 2000-01-01"), "{}", reasons[3]);
    assert!(reasons[4].starts_with("confirmed_at"), "{}", reasons[4]);
    assert_eq!(stored_numbers(&sb), BTreeSet::from([e164("0171 2345676")]));
}

/// Before: "not a regular file" — a pipe had to be saved by hand.
#[test]
fn a_pipe_imports_like_a_file() {
    let sb = Sandbox::new();
    let text = csv(&[HEADER, &row("0171 2345678"), &row("0171 2345679")]);
    let templates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let mut child = Command::new(BIN)
        .current_dir(sb.path())
        .arg("--store")
        .arg(sb.store())
        .arg("--config")
        .arg(sb.path().join("bote.toml"))
        .arg("--templates")
        .arg(templates)
        .args(["consent", "import", "/dev/stdin", "--json"])
        .env_remove("BOTE_TOKEN")
        .env_remove("BOTE_STORE")
        .env_remove("BOTE_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bote");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("pipe");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["imported"], 2, "{report:#}");
    assert_eq!(report["file"], "/dev/stdin");
    assert_eq!(
        stored_numbers(&sb),
        BTreeSet::from([e164("0171 2345678"), e164("0171 2345679")])
    );
}
