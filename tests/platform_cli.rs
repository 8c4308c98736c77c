//! The platform items through the real binary: the version range in the
//! config, `template list --sync` feeding the daemon's latest categories,
//! and `campaign resend ID --deferred` refusing what is not due.

mod common;

use common::Sandbox;

#[test]
fn api_versions_outside_v25_to_v27_are_refused_with_the_key_named() {
    let sb = Sandbox::with_config(&format!(
        "{}\n",
        common::CONFIG.replace("[api]", "[api]\nversion = \"v24.0\"")
    ));
    let out = sb.bote(["template", "list"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("api.version"), "{}", out.stderr);
    assert!(out.stderr.contains("v25.0, v26.0, v27.0"), "{}", out.stderr);
    let sb = Sandbox::with_config(&common::CONFIG.replace("[api]", "[api]\nversion = \"v27.0\""));
    sb.bote(["template", "list"]).expect_code(0);
}

#[test]
fn a_sync_records_the_listed_categories_in_the_daemon() {
    let sb = Sandbox::new();
    let list = sb
        .bote(["template", "list", "--sync", "--json"])
        .expect_code(0)
        .json();
    let utility = list
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["name"] == "oeffnungszeiten_update")
        .expect("listed");
    assert_eq!(utility["category"], "UTILITY");
    assert!(utility["impending_category"].is_null());
    let n = sb.with_store(|store| {
        bote::cloud::TemplateCategories::open(store.db())
            .expect("map")
            .all()
            .expect("read")
            .len()
    });
    assert!(n >= 5, "every listed template has its latest category: {n}");
}

#[test]
fn resend_deferred_says_when_there_is_nothing_to_send() {
    let sb = Sandbox::new();
    let rows = [
        common::HEADER,
        "0171 6600001;2026-03-01T10:00:00Z;test;2026-03-01T10:05:00Z;link;sale;de;Anna",
    ];
    sb.import_text("consents.csv", &common::csv(&rows), 0);
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
    let out = sb.bote(["campaign", "resend", "1", "--deferred"]);
    assert_eq!(out.code, 4, "refused: {}", out.stderr);
    assert!(
        out.stderr.contains("no deferred recipients"),
        "{}",
        out.stderr
    );
    let out = sb.bote(["campaign", "resend", "1"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--deferred"), "{}", out.stderr);
}

#[test]
fn a_sync_reports_what_lacks_bindings_and_a_bindings_file_binds_it() {
    let sb = Sandbox::new();
    let templates = sb.path().join("templates");
    std::fs::create_dir(&templates).expect("dir");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&shipped).expect("templates") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, templates.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    // The image template as Meta has it: the file names no picture.
    let file = templates.join("winter_gutschein.toml");
    let text = std::fs::read_to_string(&file).expect("read");
    let text = text.replace("[media]\n", "").replace(
        "link = \"https://shop.example/bilder/winter-gutschein.jpg\"\n",
        "",
    );
    std::fs::write(&file, text).expect("write");
    let lines = common::sale_consents();
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    let consents = sb.file("consents.csv", common::csv(&rows));
    sb.bote_with_templates(
        &templates,
        ["consent".as_ref(), "import".as_ref(), consents.as_os_str()],
    )
    .expect_code(0);
    let sync = sb.bote_with_templates(&templates, ["template", "list", "--sync"]);
    sync.expect_code(0);
    assert!(
        sync.stderr.contains("synced 6 templates from the API"),
        "{}",
        sync.stderr
    );
    assert!(
        sync.stderr.contains(
            "not sendable until bound: winter_gutschein (de) — the image of the header ([media])"
        ),
        "{}",
        sync.stderr
    );
    assert!(sync.stdout.contains("not sendable yet"), "{}", sync.stdout);
    let refused = sb.bote_with_templates(
        &templates,
        [
            "campaign",
            "plan",
            "--template",
            "winter_gutschein",
            "--topic",
            "sale",
        ],
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("templates/bindings/winter_gutschein.de.toml"),
        "{}",
        refused.stderr
    );

    std::fs::create_dir(templates.join("bindings")).expect("bindings");
    std::fs::write(
        templates.join("bindings").join("winter_gutschein.de.toml"),
        "[media]\nlink = \"https://shop.example/bilder/winter.jpg\"\n",
    )
    .expect("write");
    sb.stop_daemon(); // the daemon reads the template dir when it starts
    let plan = sb
        .bote_with_templates(
            &templates,
            [
                "campaign",
                "plan",
                "--template",
                "winter_gutschein",
                "--topic",
                "sale",
                "--json",
            ],
        )
        .expect_code(0)
        .json();
    assert_eq!(plan["eligible"], 5, "{plan}");
}
