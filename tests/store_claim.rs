//! `--store DIR` takes only a directory that is bote's: a new one, an empty
//! one or a store. Anything else — someone's documents, a symbolic link —
//! is refused before bote writes a byte into it or changes its permissions,
//! by the client that would start a daemon and by the daemon itself.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_directory_of_other_files_is_refused_by_client_and_daemon_untouched() {
    let sb = common::Sandbox::new();
    let docs = sb.store();
    std::fs::create_dir(&docs).expect("mkdir");
    std::fs::write(docs.join("taxes.pdf"), "x").expect("write");
    std::fs::set_permissions(&docs, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // A client would start a sandbox daemon (and write its start log) …
    let out = sb.bote(["consent", "list"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("cannot be a bote store") && out.stderr.contains("not empty"),
        "{}",
        out.stderr
    );
    // … and a daemon started by hand would write its log, mode and PID.
    let out = sb.bote(["daemon"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("cannot be a bote store"),
        "{}",
        out.stderr
    );
    assert_eq!(names(&docs), ["taxes.pdf"], "nothing written into it");
    assert_eq!(mode(&docs), 0o755, "its permissions unchanged");
}

#[test]
fn a_symlinked_store_is_refused_and_its_target_left_alone() {
    let sb = common::Sandbox::new();
    let target = sb.path().join("elsewhere");
    std::fs::create_dir(&target).expect("mkdir");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::symlink(&target, sb.store()).expect("symlink");
    for args in [&["consent", "list"][..], &["daemon"][..]] {
        let out = sb.bote(args);
        out.expect_code(1);
        assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    }
    assert!(
        names(&target).is_empty(),
        "nothing written through the link"
    );
    assert_eq!(mode(&target), 0o755, "the target's permissions unchanged");
}

#[test]
fn an_empty_directory_becomes_the_store() {
    let sb = common::Sandbox::new();
    std::fs::create_dir(sb.store()).expect("mkdir");
    std::fs::set_permissions(sb.store(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sb.bote(["consent", "list"]).expect_code(0);
    assert_eq!(mode(&sb.store()), 0o700);
    // The next command finds its own store again.
    sb.bote(["consent", "list"]).expect_code(0);
}

#[test]
fn a_store_others_can_read_is_refused_unless_allowed_and_then_left_as_it_is() {
    let sb = common::Sandbox::new();
    sb.bote(["consent", "list"]).expect_code(0);
    sb.stop_daemon();
    let store = sb.store();
    assert_eq!(mode(&store), 0o700);
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let out = sb.bote(["consent", "list"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("others can read it") && out.stderr.contains("--allow-shared-store"),
        "{}",
        out.stderr
    );
    assert_eq!(mode(&store), 0o750, "refused untouched");
    sb.bote(["--allow-shared-store", "consent", "list"])
        .expect_code(0);
    assert_eq!(mode(&store), 0o750, "used as it is");
    sb.stop_daemon();
}
