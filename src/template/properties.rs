//! Property tests of templates: any template, however odd, validates,
//! resolves and renders without a panic; a valid one renders every value
//! it resolves; a catalog takes exactly the valid, unique ones; and what a
//! catalog refuses or does not know changes nothing in it.

use std::collections::BTreeMap;

use super::{
    placeholders, substitute, Binding, Button, Catalog, Category, Component, Params, Part, Status,
    Template,
};
use crate::config::ConsentConfig;
use crate::property::{check, Gen};

/// Bits of template text: words, placeholders well and badly formed, odd
/// characters.
const TEXT: &[&str] = &[
    "Hallo ",
    "Sale",
    " ",
    "\n",
    "{{1}}",
    "{{2}}",
    "{{ 3 }}",
    "{{first_name}}",
    "{{code}}",
    "{{",
    "}}",
    "{",
    "}",
    "{{{{1}}}}",
    "{{}}",
    "STOP",
    "🍂",
    "ß",
    "\u{202e}",
    "%",
    "\\",
    "\"",
];

/// Bits of values: never braces, so that a leftover placeholder in the
/// output can only come from the template.
const VALUE: &[&str] = &[
    "Anna", "Jürgen", "HERBST20", " ", "😀", "<b>", "\u{a0}", "x",
];

const KEYS: &[&str] = &["1", "2", "3", "4", "first_name", "code", "city", ""];

fn text(g: &mut Gen, max: usize) -> String {
    let n = g.below(max + 1);
    let mut s: String = (0..n).map(|_| *g.pick(TEXT)).collect();
    if g.chance(10) {
        s.push_str(&g.hostile(6));
    }
    s
}

fn value(g: &mut Gen) -> String {
    let n = 1 + g.below(3);
    (0..n).map(|_| *g.pick(VALUE)).collect()
}

fn button(g: &mut Gen) -> Button {
    let url = g.chance(40).then(|| {
        let tail = *g.pick(&["", "{{1}}", "{{code}}", "{{2}}", "{{"]);
        format!("https://shop.example/{tail}")
    });
    Button {
        kind: (*g.pick(&["QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", ""])).to_string(),
        text: value(g),
        url,
        phone_number: None,
    }
}

/// A template of any shape: half of them well-formed (placeholders
/// numbered and bound), the rest anything.
fn template(g: &mut Gen) -> Template {
    if g.chance(50) {
        tidy(g)
    } else {
        untidy(g)
    }
}

/// A template as a careful author writes one, with hostile text around
/// its placeholders.
fn tidy(g: &mut Gen) -> Template {
    let n = g.below(4);
    let named = g.chance(30);
    let mut body = text(g, 2).replace(['{', '}'], "");
    let mut bindings = BTreeMap::new();
    for i in 1..=n {
        let key = if named {
            (*g.pick(&["first_name", "city", "code"])).to_string()
        } else {
            i.to_string()
        };
        body.push_str(&format!(" {{{{{key}}}}} {}", value(g)));
        if !named || g.chance(50) {
            let binding = if g.chance(50) {
                Binding::Value { value: value(g) }
            } else {
                Binding::Attribute {
                    attribute: "first_name".into(),
                    fallback: g.chance(50).then(|| value(g)),
                }
            };
            bindings.insert(key, binding);
        }
    }
    let mut components = vec![Component::Body {
        text: body,
        example: None,
    }];
    if g.chance(50) {
        components.push(Component::Footer { text: value(g) });
    }
    if g.chance(50) {
        let buttons = (0..g.below(11))
            .map(|_| Button {
                kind: "QUICK_REPLY".into(),
                text: value(g),
                url: None,
                phone_number: None,
            })
            .collect();
        components.push(Component::Buttons { buttons });
    }
    Template {
        id: None,
        name: (*g.pick(&["herbst_sale", "a", "x_1", "neu"])).to_string(),
        language: (*g.pick(&["de", "de_AT", "en"])).to_string(),
        category: *g.pick(&[Category::Marketing, Category::Utility]),
        status: *g.pick(&[Status::Approved, Status::Paused]),
        components,
        bindings,
        media: None,
        topic: None,
    }
}

/// A template of any shape: rarely valid.
fn untidy(g: &mut Gen) -> Template {
    let mut components = Vec::new();
    if g.chance(50) {
        let textual = g.chance(70);
        components.push(Component::Header {
            format: if textual { "TEXT" } else { "IMAGE" }.into(),
            text: textual.then(|| text(g, 3)),
            example: None,
        });
    }
    let bodies = *g.pick(&[1, 1, 1, 1, 0, 2]);
    for _ in 0..bodies {
        components.push(Component::Body {
            text: text(g, 8),
            example: None,
        });
    }
    if g.chance(50) {
        let footer = if g.chance(10) { text(g, 3) } else { value(g) };
        components.push(Component::Footer { text: footer });
    }
    if g.chance(50) {
        let n = *g.pick(&[0, 1, 2, 3, 10, 11, 12, 300]);
        let buttons = (0..n).map(|_| button(g)).collect();
        components.push(Component::Buttons { buttons });
    }
    if g.chance(5) {
        let i = g.below(components.len() + 1);
        components.insert(i, Component::Footer { text: value(g) });
    }
    let mut bindings = BTreeMap::new();
    for _ in 0..g.below(5) {
        let key = (*g.pick(KEYS)).to_string();
        let binding = if g.chance(50) {
            Binding::Value { value: value(g) }
        } else {
            Binding::Attribute {
                attribute: (*g.pick(&["first_name", "city", "code"])).to_string(),
                fallback: g.chance(50).then(|| value(g)),
            }
        };
        bindings.insert(key, binding);
    }
    Template {
        id: None,
        name: (*g.pick(&["herbst_sale", "a", "x_1", "", "Herbst", "a-b", "neu"])).to_string(),
        language: (*g.pick(&["de", "de_AT", "en"])).to_string(),
        category: *g.pick(&[
            Category::Marketing,
            Category::Utility,
            Category::Authentication,
        ]),
        status: *g.pick(&[Status::Approved, Status::Paused, Status::Pending]),
        components,
        bindings,
        media: None,
        topic: None,
    }
}

fn attributes(g: &mut Gen) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    for name in ["first_name", "city", "code"] {
        if g.chance(60) {
            a.insert(name.to_string(), value(g));
        }
    }
    a
}

#[test]
fn any_template_validates_resolves_and_renders_without_a_panic() {
    let consent = ConsentConfig::default();
    let (mut cases, mut valid_count, mut rendered_count) = (0, 0, 0);
    check(
        "template: any shape",
        5000,
        |g| {
            let t = template(g);
            let params: Vec<String> = (0..g.below(6)).map(|_| value(g)).collect();
            (t, attributes(g), Params(params))
        },
        |(t, attrs, params)| {
            cases += 1;
            let valid = t.validate();
            let _ = t.lint(&consent);
            let _ = t.required_attributes();
            let _ = t.render(params);
            let slots = t.slots();
            let resolved = t.resolve(attrs, &BTreeMap::new());
            if valid.is_err() {
                return Ok(());
            }
            valid_count += 1;
            let buttons = t.buttons().len();
            if buttons > 10 {
                return Err(format!("{buttons} buttons validated"));
            }
            for s in &slots {
                if let Part::Button(i) = s.part {
                    if usize::from(i) >= buttons || t.buttons()[usize::from(i)].url.is_none() {
                        return Err(format!("slot {s:?} names no URL button"));
                    }
                }
            }
            // A valid template renders every value it resolves for its
            // header and body (button URLs are not part of the text).
            let Ok(params) = resolved else {
                return Ok(());
            };
            if params.0.len() != slots.len() {
                return Err(format!(
                    "{} values for {} slots",
                    params.0.len(),
                    slots.len()
                ));
            }
            let rendered = t.render(&params);
            rendered_count += 1;
            for (slot, v) in slots.iter().zip(&params.0) {
                if slot.part != Part::Header && slot.part != Part::Body {
                    continue;
                }
                if !rendered.contains(v.as_str()) {
                    return Err(format!("{slot:?} = {v:?} missing from {rendered:?}"));
                }
            }
            Ok(())
        },
    );
    // The generator must reach the valid, renderable templates too.
    assert!(
        cases < 100 || (valid_count * 5 > cases && rendered_count * 10 > cases),
        "{valid_count} valid, {rendered_count} rendered of {cases}"
    );
}

#[test]
fn substitution_never_panics_and_leaves_no_placeholder_it_could_fill() {
    check(
        "template: substitute",
        5000,
        |g| {
            let mut t = text(g, 10);
            t.push_str(&g.hostile(10));
            t
        },
        |t| {
            let keys = placeholders(t);
            if substitute(t, |_| None) != *t {
                return Err("substitute without values changed the text".into());
            }
            let filled = substitute(t, |_| Some("v"));
            if !placeholders(&filled).is_empty() {
                return Err(format!("{filled:?} still holds placeholders"));
            }
            if filled.matches('v').count() < keys.len() {
                return Err(format!("{} keys, {filled:?}", keys.len()));
            }
            Ok(())
        },
    );
}

#[test]
fn a_catalog_takes_exactly_the_valid_unique_templates() {
    check(
        "template: Catalog::new",
        3000,
        |g| (0..g.below(5)).map(|_| template(g)).collect::<Vec<_>>(),
        |templates| {
            let mut seen = std::collections::BTreeSet::new();
            let acceptable = templates
                .iter()
                .all(|t| t.validate_shape().is_ok() && seen.insert((&t.name, &t.language)));
            match Catalog::new(templates.clone()) {
                Ok(c) if acceptable => {
                    if c.len() != templates.len() {
                        return Err(format!("{} of {} kept", c.len(), templates.len()));
                    }
                    for t in templates {
                        if c.get(&t.name, Some(&t.language)).ok() != Some(t) {
                            return Err(format!("{} ({}) not found", t.name, t.language));
                        }
                    }
                    Ok(())
                }
                Err(_) if !acceptable => Ok(()),
                Ok(_) => Err("accepted an invalid or duplicate template".into()),
                Err(e) => Err(format!("refused valid templates: {e}")),
            }
        },
    );
}

#[test]
fn what_a_catalog_does_not_know_leaves_it_unchanged() {
    let shipped = Catalog::embedded().expect("shipped templates");
    check(
        "template: apply_remote",
        2000,
        |g| {
            (0..g.below(6))
                .map(|_| {
                    let mut t = template(g);
                    if g.chance(50) {
                        let known = shipped.list()[g.below(shipped.len())].clone();
                        t.name = known.name;
                        t.language = known.language;
                    }
                    t.id = g.chance(50).then(|| g.digits(4));
                    t
                })
                .collect::<Vec<_>>()
        },
        |remote| {
            let mut catalog = shipped.clone();
            let changed = catalog.apply_remote(remote);
            let mut expected_changes = 0;
            for before in shipped.list() {
                let last = remote
                    .iter()
                    .rev()
                    .find(|r| r.name == before.name && r.language == before.language);
                let after = catalog
                    .get(&before.name, Some(&before.language))
                    .map_err(|e| e.to_string())?;
                let (status, id) = last.map_or((before.status, &before.id), |r| (r.status, &r.id));
                if after.status != status || &after.id != id {
                    return Err(format!(
                        "{}: {:?} / {:?}",
                        before.name, after.status, after.id
                    ));
                }
                // Everything but status and id stays as shipped.
                let mut same = after.clone();
                same.status = before.status;
                same.id.clone_from(&before.id);
                if same != *before {
                    return Err(format!("{} changed beyond its status", before.name));
                }
                expected_changes +=
                    usize::from(after.status != before.status || after.id != before.id);
            }
            if catalog.len() != shipped.len() {
                return Err("a remote template was added".into());
            }
            if changed < expected_changes {
                return Err(format!(
                    "{changed} changes reported, {expected_changes} made"
                ));
            }
            Ok(())
        },
    );
}
