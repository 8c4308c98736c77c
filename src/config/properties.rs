//! Property tests of the config parser: no input panics it, a document of
//! sane values is accepted however it is laid out, and a document with a
//! wrong value is refused naming the file and that value's key.

use std::path::Path;

use super::Config;
use crate::property::{check, Gen};

/// A key, values bote must accept, and values it must refuse (TOML text).
struct Key {
    name: &'static str,
    sane: &'static [&'static str],
    wrong: &'static [&'static str],
}

const fn key(
    name: &'static str,
    sane: &'static [&'static str],
    wrong: &'static [&'static str],
) -> Key {
    Key { name, sane, wrong }
}

const PERIOD_SANE: &[&str] = &["\"180d\"", "\"0d\"", "\"12h\"", "\"3653d\"", "\"87672h\""];
const PERIOD_WRONG: &[&str] = &[
    "\"3654d\"",
    "\"87673h\"",
    "\"99999999999999999999d\"",
    "\"3381903080180084463m\"",
    "\"7\"",
    "\"7w\"",
    "\"-1d\"",
    "7",
];
const ENV_SANE: &[&str] = &["\"BOTE_SECRET\"", "\"X\""];
const ENV_WRONG: &[&str] = &["\"\"", "\"  \"", "\"A=B\"", "\" X\"", "1"];
const PRICES_SANE: &[&str] = &[
    "{ DE = 0.1131, default = 0.0604 }",
    "{}",
    "{ AT = 0 }",
    "{ default = 1000000.0 }",
];
const PRICES_WRONG: &[&str] = &[
    "{ DE = nan }",
    "{ DE = inf }",
    "{ default = -inf }",
    "{ AT = -0.5 }",
    "{ DE = 1e7 }",
    "{ DE = \"cheap\" }",
    "[0.1]",
];
const ROLES_SANE: &[&str] = &["[\"*\"]", "[]", "[\"alice\", \"bob\"]"];
const ROLES_WRONG: &[&str] = &["\"alice\"", "[1]"];

/// Every section bote reads, with its keys.
const SECTIONS: &[(&str, &[Key])] = &[
    (
        "api",
        &[
            key(
                "base_url",
                &["\"https://graph.facebook.com\"", "\"http://127.0.0.1:9\""],
                &["\"ftp://x\"", "\"\"", "3"],
            ),
            key(
                "version",
                &["\"v25.0\"", "\"v26.0\"", "\"v27.0\""],
                &["1", "\"v24.0\"", "\"v28.0\"", "\"25.0\""],
            ),
            key(
                "marketing_endpoint",
                &["\"marketing_messages\"", "\"messages\""],
                &["\"mm\"", "1"],
            ),
            key("phone_number_id", &["\"1234567890\"", "\"\""], &["[]"]),
            key("token_env", ENV_SANE, ENV_WRONG),
            key("token_file", &["\"/run/secrets/t\""], &["\"\"", "\" \""]),
            key(
                "messaging_tier",
                &["1", "250", "9223372036854775807"],
                &["0", "-1", "\"many\"", "1.5"],
            ),
        ],
    ),
    (
        "send",
        &[
            key(
                "rate",
                &["1", "80", "1000"],
                &["0", "1001", "-5", "4294967296", "\"80\""],
            ),
            key(
                "concurrency",
                &["\"auto\"", "1", "10000"],
                &["0", "10001", "\"many\"", "-1"],
            ),
            key("max_retries", &["0", "5"], &["-1", "\"x\""]),
            key("timeout_ms", &["1", "10000"], &["0", "-1"]),
            key(
                "quiet_hours",
                &[
                    "\"21:00-08:00\"",
                    "\"12:00-13:00\"",
                    "\"08:00-07:00\"",
                    "\"23:00-00:00\"",
                ],
                &[
                    "\"00:00-23:59\"",
                    "\"08:00-08:00\"",
                    "\"25:00-01:00\"",
                    "\"nine to five\"",
                    "\"08:00-07:01\"",
                    "7",
                ],
            ),
            key("batch_size", &["1", "250"], &["0", "-3"]),
        ],
    ),
    (
        "consent",
        &[
            key(
                "default_region",
                &["\"DE\"", "\"AT\"", "\"US\""],
                &["\"XX\"", "\"\"", "49"],
            ),
            key(
                "topics",
                &["[\"sale\"]", "[\"sale\", \"events\"]"],
                &["[]", "[\"a b\"]", "[\"\"]", "[\"x|y\"]", "\"sale\""],
            ),
            key(
                "stop_keywords",
                &["[\"STOP\"]", "[\"STOP\", \"Abmelden\"]", "[\"stopp!\"]"],
                &[
                    "[]",
                    "[\" \"]",
                    "[\"STOP\", \"\"]",
                    "[\"!\"]",
                    "[\"STOP\", 1]",
                ],
            ),
            key("confirm_keywords", &["[\"JA\"]", "[]"], &["[1]", "\"JA\""]),
            key(
                "attributes",
                &["[\"first_name\"]", "[]"],
                &["\"first_name\""],
            ),
            key(
                "frequency_cap",
                &["\"3/7d\"", "\"1/1s\"", "\"1/3653d\"", "\"4294967295/12h\""],
                &[
                    "\"0/7d\"",
                    "\"3/0d\"",
                    "\"1/3381903080180084463m\"",
                    "\"3/3654d\"",
                    "\"3 per week\"",
                    "\"-1/7d\"",
                    "\"3/7w\"",
                    "\"4294967296/1d\"",
                    "\"/\"",
                    "3",
                ],
            ),
            key("privacy_url", &["\"https://example.com/d\""], &["1"]),
        ],
    ),
    (
        "compliance",
        &[
            key("processor", &["\"Meta Platforms Ireland\""], &["1"]),
            key(
                "dpa_signed_at",
                &["\"2026-09-01\""],
                &["\"2026-13-01\"", "\"yesterday\""],
            ),
        ],
    ),
    (
        "retention",
        &[
            key("results", PERIOD_SANE, PERIOD_WRONG),
            key("pending_unconfirmed", PERIOD_SANE, PERIOD_WRONG),
            key("revoked", PERIOD_SANE, PERIOD_WRONG),
        ],
    ),
    (
        "webhook",
        &[
            key("listen", &["\"127.0.0.1:8443\""], &["8443"]),
            key("verify_token_env", ENV_SANE, ENV_WRONG),
            key("app_secret_env", ENV_SANE, ENV_WRONG),
        ],
    ),
    (
        "roles",
        &[
            key("admin", ROLES_SANE, ROLES_WRONG),
            key("operator", ROLES_SANE, ROLES_WRONG),
            key("viewer", ROLES_SANE, ROLES_WRONG),
        ],
    ),
    (
        "pricing",
        &[
            key("currency", &["\"EUR\""], &["1"]),
            key("marketing", PRICES_SANE, PRICES_WRONG),
            key("utility", PRICES_SANE, PRICES_WRONG),
        ],
    ),
    ("store", &[key("path", &["\"/srv/bote\""], &["1"])]),
    ("templates", &[key("dir", &["\"templates\""], &["[]"])]),
];

/// A generated `bote.toml` and the dotted keys given a wrong value.
#[derive(Debug)]
struct Document {
    text: String,
    wrong: Vec<String>,
}

/// Some sections, some of their keys, in random order and layout
/// (`[table]`, inline table, dotted keys); with `wrong_percent` chance a
/// value is wrong, and now and then a key or a section is unknown.
fn document(g: &mut Gen, wrong_percent: u32) -> Document {
    let (mut head, mut tables) = (String::new(), String::new());
    let mut wrong = Vec::new();
    let mut order: Vec<usize> = (0..SECTIONS.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, g.below(i + 1));
    }
    for &s in order.iter().take(g.below(SECTIONS.len() + 1)) {
        let (section, keys) = &SECTIONS[s];
        let mut pairs = Vec::new();
        for k in keys.iter() {
            if !g.chance(60) {
                continue;
            }
            let value = if g.chance(wrong_percent) {
                wrong.push(format!("{section}.{}", k.name));
                *g.pick(k.wrong)
            } else {
                *g.pick(k.sane)
            };
            pairs.push((k.name, value));
        }
        if g.chance(wrong_percent / 4) {
            let typo = *g.pick(&["rat", "topic", "quiet_hour", "frequencycap", "x"]);
            wrong.push(format!("{section}.{typo}"));
            pairs.push((typo, "1"));
        }
        match g.below(3) {
            0 => {
                let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                head.push_str(&format!("{section} = {{ {} }}\n", body.join(", ")));
            }
            1 => {
                for (k, v) in &pairs {
                    head.push_str(&format!("{section}.{k} = {v}\n"));
                }
            }
            _ => {
                tables.push_str(&format!("\n[{section}]\n"));
                for (k, v) in &pairs {
                    tables.push_str(&format!("{k} = {v}\n"));
                }
            }
        }
    }
    if g.chance(wrong_percent / 4) {
        wrong.push("sendd".into());
        tables.push_str("\n[sendd]\nrate = 1\n");
    }
    Document {
        text: head + &tables,
        wrong,
    }
}

fn parse(text: &str) -> Result<Config, String> {
    Config::from_toml(text, Path::new("bote.toml")).map_err(|e| e.to_string())
}

#[test]
fn a_config_of_sane_values_is_accepted_however_it_is_laid_out() {
    check(
        "config: sane documents",
        1500,
        |g| document(g, 0),
        |doc| parse(&doc.text).map(|_| ()),
    );
}

#[test]
fn a_wrong_value_is_refused_naming_the_file_and_its_key() {
    check(
        "config: documents with wrong values",
        3000,
        |g| document(g, 15),
        |doc| match parse(&doc.text) {
            Ok(_) if doc.wrong.is_empty() => Ok(()),
            Ok(_) => Err(format!("accepted, though {:?} are wrong", doc.wrong)),
            Err(msg) if doc.wrong.is_empty() => Err(format!("refused a sane document: {msg}")),
            Err(msg) => {
                let named = doc.wrong.iter().any(|k| msg.contains(&format!("`{k}")));
                if named && msg.contains("bote.toml") {
                    Ok(())
                } else {
                    Err(format!("{msg}\n…names none of {:?}", doc.wrong))
                }
            }
        },
    );
}

#[test]
fn no_input_panics_the_parser() {
    const TOML: &[&str] = &[
        "[",
        "]",
        "[[",
        "]]",
        "=",
        "\"",
        "'",
        "\"\"\"",
        "{",
        "}",
        ",",
        ".",
        "\n",
        " ",
        "#",
        "send",
        "consent",
        "rate",
        "frequency_cap",
        "pricing",
        "marketing",
        "1",
        "-",
        "nan",
        "inf",
        "1e999",
        "9223372036854775808",
        "true",
        "1979-05-27T07:32:00Z",
        "\\u0000",
        "\\",
        "\u{feff}",
    ];
    check(
        "config: any text",
        3000,
        |g| {
            let mut s = String::new();
            for _ in 0..g.below(30) {
                if g.chance(80) {
                    s.push_str(g.pick::<&str>(TOML));
                } else {
                    s.push_str(&g.hostile(4));
                }
            }
            s
        },
        |text| match parse(text) {
            Ok(_) => Ok(()),
            Err(msg) if msg.contains("bote.toml") => Ok(()),
            Err(msg) => Err(format!("an error that does not name the file: {msg}")),
        },
    );
}
