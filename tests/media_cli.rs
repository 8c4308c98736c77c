//! `bote media upload` through the real binary in the sandbox: the daemon
//! uploads to its simulator and records the id; a template file naming
//! the id sends — also after the auto-started daemon went away, since a new
//! sandbox simulator is given the store's uploads, as Meta keeps them.

mod common;

use common::{csv, sale_consents, Sandbox};

#[test]
fn an_uploaded_image_sends_as_the_header_of_a_template_file() {
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
    let lines = sale_consents();
    let rows: Vec<&str> = lines.iter().map(String::as_str).collect();
    let consents = sb.file("consents.csv", csv(&rows));
    sb.bote_with_templates(
        &templates,
        ["consent".as_ref(), "import".as_ref(), consents.as_os_str()],
    )
    .expect_code(0);

    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.resize(1_024, 7);
    let image = sb.file("winter.jpg", &jpeg);
    let up = sb
        .bote_with_templates(
            &templates,
            [
                "media".as_ref(),
                "upload".as_ref(),
                image.as_os_str(),
                "--json".as_ref(),
            ],
        )
        .expect_code(0)
        .json();
    let id = up["record"]["id"].as_str().expect("id").to_string();
    assert_eq!(up["record"]["kind"], "image");
    assert_eq!(up["record"]["bytes"], 1_024);
    let refused = sb.bote_with_templates(
        &templates,
        ["media".as_ref(), "upload".as_ref(), consents.as_os_str()],
    );
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("consents.csv"),
        "{}",
        refused.stderr
    );

    // The operator names the upload in the template file.
    let file = templates.join("winter_gutschein.toml");
    let text = std::fs::read_to_string(&file).expect("read");
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("link = ") {
                format!("id = \"{id}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&file, text.join("\n") + "\n").expect("write");
    sb.stop_daemon();

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
    let send = sb.bote_with_templates(
        &templates,
        [
            "campaign",
            "send",
            "--template",
            "winter_gutschein",
            "--topic",
            "sale",
            "--yes",
        ],
    );
    send.expect_code(0);
    let (total, status) = common::campaign_total(&sb, "1");
    assert_eq!(total, 5);
    assert_eq!(
        status["counts"]["failed"].as_u64().unwrap_or(0),
        0,
        "{status}"
    );
    assert_eq!(
        status["counts"]["pending"].as_u64().unwrap_or(0),
        0,
        "{status}"
    );
    let listed = sb
        .bote_with_templates(&templates, ["media", "list", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(listed[0]["id"], id.as_str());
}
