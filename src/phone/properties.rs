//! Property tests of the phone parser: hostile input never panics, a parsed
//! number is its own E.164 form, and a number written with its country code
//! means the same whatever the default region.

use phonenumber::metadata::DATABASE;

use super::Phone;
use crate::property::{check, Gen};

/// Default regions lists are read in: Germany's neighbours, and regions
/// whose national prefixes differ (IT keeps its 0, US strips 1, RU 8, BR
/// carrier codes, JP, NZ, HU 06).
const REGIONS: &[&str] = &[
    "DE", "AT", "CH", "IT", "FR", "NL", "GB", "US", "RU", "BR", "JP", "NZ", "HU", "ES",
];

/// Country calling codes and leading digits of the generated numbers.
const CODES: &[&str] = &[
    "49", "43", "41", "39", "33", "31", "44", "1", "7", "55", "81", "64", "36", "34", "800", "979",
    "0", "00", "049",
];

/// Separators and odd bits people type between digits.
const SEPARATORS: &[&str] = &[" ", "-", "/", ".", "(0)", "(", ")", "\u{a0}", "", "  "];

/// Something shaped like a phone number: a prefix (`+`, `00`, `0`, none),
/// a code, digits and separators.
fn phone_like(g: &mut Gen) -> String {
    let prefix = *g.pick(&["+", "00", "0", "", "+0", "++", "011", "8", "(+"]);
    let mut s = prefix.to_string();
    s.push_str(g.pick::<&str>(CODES));
    for _ in 0..g.below(6) {
        s.push_str(g.pick::<&str>(SEPARATORS));
        let n = 1 + g.below(5);
        s.push_str(&g.digits(n));
    }
    s
}

/// Every known region's example numbers (national significant numbers),
/// with the region's calling code: real numbers in every national shape.
fn examples() -> Vec<(String, u16, String)> {
    let mut out = Vec::new();
    for meta in DATABASE.iter() {
        if meta.id() == "001" {
            continue;
        }
        let d = meta.descriptors();
        for desc in [d.mobile(), d.fixed_line(), d.toll_free(), d.voip()]
            .into_iter()
            .flatten()
        {
            if let Some(e) = desc.example() {
                out.push((meta.id().to_string(), meta.country_code(), e.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn hostile_input_never_panics_and_every_number_is_its_own_e164() {
    check(
        "phone: hostile input",
        3000,
        |g| {
            let input = if g.chance(50) {
                phone_like(g)
            } else {
                g.hostile(40)
            };
            (input, *g.pick(REGIONS))
        },
        |(input, region)| {
            let Ok(p) = Phone::parse(input, region) else {
                return Ok(());
            };
            let e164 = p.e164();
            if Phone::from_e164(&e164) != Some(p) || Phone::from_u64(p.as_u64()) != Some(p) {
                return Err(format!("{e164} does not read back"));
            }
            if Phone::from_key(&p.key()) != Some(p) {
                return Err(format!("{e164}: its store key does not read back"));
            }
            for other in REGIONS {
                match Phone::parse(&e164, other) {
                    Ok(q) if q == p => {}
                    got => return Err(format!("{e164} re-parsed in {other}: {got:?}")),
                }
            }
            Ok(())
        },
    );
}

#[test]
fn a_number_with_its_country_code_ignores_the_default_region() {
    check(
        "phone: + and 00 ignore the default region",
        2000,
        |g| {
            let body = phone_like(g);
            let body = body.trim_start_matches(['+', '0', '(']).to_string();
            let a = *g.pick(REGIONS);
            let b = *g.pick(REGIONS);
            (body, a, b)
        },
        |(body, a, b)| {
            let plus = format!("+{body}");
            let (in_a, in_b) = (Phone::parse(&plus, a), Phone::parse(&plus, b));
            if in_a.as_ref().ok() != in_b.as_ref().ok() {
                return Err(format!("{plus:?}: {in_a:?} in {a}, {in_b:?} in {b}"));
            }
            // Where the international prefix is 00, 00 never names another
            // number than + (the crate refuses some + shapes it reads with
            // 00, e.g. with dots: a refusal, never another recipient).
            for r in [a, b] {
                let idd = DATABASE
                    .by_id(*r)
                    .and_then(|m| m.international_prefix())
                    .map(|p| p.as_str() == "00");
                if idd == Some(true) {
                    let zeros = Phone::parse(&format!("00{body}"), r);
                    if let (Ok(z), Ok(p)) = (&zeros, &in_a) {
                        if z != p {
                            return Err(format!("00{body} in {r}: {z:?}, +{body}: {p:?}"));
                        }
                    }
                }
            }
            Ok(())
        },
    );
}

#[test]
fn every_example_number_of_every_region_reads_as_itself_from_anywhere() {
    let examples = examples();
    assert!(examples.len() > 400, "{} examples", examples.len());
    check(
        "phone: metadata examples in + form",
        600,
        |g| (g.pick(&examples).clone(), *g.pick(REGIONS), g.below(3)),
        |((region, code, national), default, shape)| {
            let e164 = format!("+{code}{national}");
            let Some(expected) = Phone::from_e164(&e164) else {
                return Ok(());
            };
            // Only numbers libphonenumber itself calls valid in their region.
            let valid = phonenumber::parse(None, &e164).is_ok_and(|n| phonenumber::is_valid(&n));
            if !valid {
                return Ok(());
            }
            let written = match shape {
                0 => e164.clone(),
                1 => format!("+{code} {national}"),
                _ => format!("+{code}-{national}"),
            };
            match Phone::parse(&written, default) {
                Ok(p) if p == expected => Ok(()),
                got => Err(format!(
                    "{written:?} ({region}) read in {default}: {got:?}, expected {e164}"
                )),
            }
        },
    );
}
