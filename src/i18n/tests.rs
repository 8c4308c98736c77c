use super::*;

#[test]
fn both_catalogs_parse_and_hold_the_same_ids() {
    for (name, source) in [("en.ftl", EN_FTL), ("de.ftl", DE_FTL)] {
        if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
            panic!("{name}: {errors:?}");
        }
    }
    let en: std::collections::BTreeSet<String> = ids_of(EN_FTL).into_iter().collect();
    let de: std::collections::BTreeSet<String> = ids_of(DE_FTL).into_iter().collect();
    let only_en: Vec<_> = en.difference(&de).collect();
    let only_de: Vec<_> = de.difference(&en).collect();
    assert!(
        only_en.is_empty() && only_de.is_empty(),
        "missing in de.ftl: {only_en:?}; missing in en.ftl: {only_de:?}"
    );
    assert_eq!(en.len(), ids_of(EN_FTL).len(), "an id twice in en.ftl");
    assert_eq!(de.len(), ids_of(DE_FTL).len(), "an id twice in de.ftl");
}

/// Every message id the TUI and the CLI name (a string literal that looks like one)
/// is in the catalog: a typo would show the raw id on screen.
#[test]
fn every_id_the_tui_uses_is_in_the_catalog() {
    let en: std::collections::BTreeSet<String> = ids_of(EN_FTL).into_iter().collect();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut seen = 0;
    let mut stack = vec![src.join("tui"), src.join("cli")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/tui") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for literal in text.split('"').skip(1).step_by(2) {
                let looks_like_id = ["key-", "hint-", "tui-", "cli-"]
                    .iter()
                    .any(|p| literal.starts_with(p))
                    && literal
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if looks_like_id {
                    seen += 1;
                    if !en.contains(literal) {
                        missing.push(format!("{}: {literal}", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        seen > 40,
        "found only {seen} ids: is the scan looking in the right place?"
    );
    assert!(missing.is_empty(), "ids not in the catalog: {missing:#?}");
}

#[test]
fn the_language_follows_the_config_then_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        Language::from_vars(env(&[("LANG", "de_DE.UTF-8")])),
        Language::De
    );
    assert_eq!(Language::from_vars(env(&[("LANG", "de_AT")])), Language::De);
    assert_eq!(
        Language::from_vars(env(&[("LC_ALL", "C"), ("LANG", "de_DE.UTF-8")])),
        Language::De,
        "C says nothing about the language"
    );
    assert_eq!(
        Language::from_vars(env(&[
            ("LC_MESSAGES", "en_US.UTF-8"),
            ("LANG", "de_DE.UTF-8")
        ])),
        Language::En
    );
    assert_eq!(
        Language::from_vars(env(&[("LANG", "fr_FR.UTF-8")])),
        Language::En
    );
    assert_eq!(Language::from_vars(env(&[])), Language::En);
    assert_eq!(Language::parse("DE"), Some(Language::De));
    assert_eq!(Language::parse("sv"), None);
}

#[test]
fn messages_money_and_a_missing_id() {
    assert_eq!(Language::De.texts().get("key-quit"), "beenden");
    assert_eq!(Language::En.texts().get("key-quit"), "quit");
    assert_eq!(Language::En.texts().get("no-such-id"), "no-such-id");
    assert_eq!(Language::En.money(13.57, "EUR"), "13.57 EUR");
    assert_eq!(Language::De.money(13.57, "EUR"), "13,57\u{a0}€");
    assert_eq!(Language::De.money(2.5, "CHF"), "2,50\u{a0}CHF");
    assert_eq!(Language::De.decimal(0.1131), "0,1131");
    assert_eq!(Language::En.decimal(0.1131), "0.1131");
}
