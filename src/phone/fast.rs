//! Parsing without libphonenumber's general parser, for the shapes lists are made of: the metadata's own patterns, compiled once.
//!
//! The fast path of [`Phone::parse_in`] for the shapes consent lists are made
//! of (`0171 2345678`, `+49 171 …`, `0049 …`, `0176/…`, `+43-664-…`).
//!
//! libphonenumber's parser is general (RFC 3966, letters, extensions, carrier
//! codes) and the `phonenumber` crate runs every regex of its metadata
//! through one mutex-guarded LRU cache keyed by the pattern text, hashing
//! kilobyte-long patterns on every match: ~50 µs per number, the largest
//! single cost of an import. Here the digits are split into country code
//! and national number by the same rules the full parse applies to these
//! shapes, and validity is decided by the metadata's own patterns — compiled
//! once through the crate's cache with the crate's options and kept — with
//! the same test as `phonenumber::is_valid` (`number_type != Unknown`).
//!
//! It only ever *accepts*: any other shape, any region whose national-prefix
//! rules need more than stripping a literal prefix, shared country codes
//! (+1, +7) and every number it does not find valid go to the full parse,
//! which produces the result and every error message. A test checks that
//! both paths agree.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use phonenumber::country::Id as Region;
use phonenumber::metadata::{Descriptor, Metadata, DATABASE};

use super::Phone;

/// A metadata pattern: `Descriptor::is_match` without the shared cache.
struct Pattern {
    lengths: Vec<u16>,
    // The regex type is the `regex` crate's, reached through the
    // `phonenumber` crate's cache: a closure keeps it without naming it.
    matches: Box<dyn Fn(&str) -> bool + Send + Sync>,
}

impl Pattern {
    fn new(d: &Descriptor) -> Option<Self> {
        let cache = DATABASE.cache();
        let mut cache = cache.lock().ok()?;
        // The metadata loader builds every pattern with `ignore_whitespace`.
        let re = cache
            .configure(d.national_number().as_str(), |b| b.ignore_whitespace(true))
            .ok()?
            .clone();
        Some(Self {
            lengths: d.possible_length().to_vec(),
            matches: Box::new(move |s| re.find(s).is_some_and(|m| m.start() == 0)),
        })
    }

    fn is_match(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && (self.matches)(national)
    }
}

/// libphonenumber's validity for one region: the general pattern and at
/// least one number type match (`number_type` is then not `Unknown`).
struct Validator {
    general: Pattern,
    types: Vec<Pattern>,
}

impl Validator {
    fn new(meta: &Metadata) -> Option<Self> {
        let d = meta.descriptors();
        // Any match makes the type known, so the order is free: the
        // types lists are made of come first.
        let types = [
            d.mobile(),
            d.fixed_line(),
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .map(Pattern::new)
        .collect::<Option<Vec<_>>>()?;
        Some(Self {
            general: Pattern::new(d.general())?,
            types,
        })
    }

    fn is_valid(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

type Validators = RwLock<HashMap<u16, Option<Arc<Validator>>>>;

/// The validator of a country calling code that belongs to exactly one
/// region, compiled on first use.
fn validator(code: u16) -> Option<Arc<Validator>> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.read().ok()?.get(&code) {
        return v.clone();
    }
    let built = DATABASE
        .region(&code)
        .filter(|regions| regions.len() == 1 && regions[0] != "001")
        .and_then(|regions| DATABASE.by_id(regions[0]))
        .and_then(Validator::new)
        .map(Arc::new);
    cache.write().ok()?.insert(code, built.clone());
    built
}

/// Splits off the country calling code (codes are prefix-free; the full
/// parse takes the first length that exists, as here). No code starts with
/// 0: "049" is not 49 (the full parse refuses `+049` and `00049`).
fn split_code(digits: &str) -> Option<(u16, &str)> {
    if digits.starts_with('0') {
        return None;
    }
    (1..=3).find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        DATABASE
            .region(&code)
            .is_some()
            .then(|| (code, &digits[len..]))
    })
}

/// `cleaned` is the trimmed input with `(0)` removed.
pub(super) fn parse(cleaned: &str, region: Region) -> Option<Phone> {
    let meta = DATABASE.by_id(region.as_ref())?;
    // The full parse applies the *default* region's national-prefix rules
    // to every number; only the plain "strip a literal prefix" kind is
    // reproduced here.
    if meta.national_prefix_for_parsing().is_some()
        || meta.national_prefix_transform_rule().is_some()
    {
        return None;
    }
    let prefix = meta.national_prefix()?;
    let mut buf = [0u8; 18];
    let mut n = 0;
    let mut plus = false;
    let mut last_digit = false;
    // Digits before the first separator, whether a space occurs, and
    // whether `/` or `.` do (kept out of `+` shapes: the full parse reads
    // some of them differently, e.g. as RFC 3966 separators).
    let mut first_group = None;
    let mut spaced = false;
    let mut slash_or_dot = false;
    for (i, c) in cleaned.char_indices() {
        last_digit = c.is_ascii_digit();
        match c {
            '0'..='9' => {
                *buf.get_mut(n)? = c as u8;
                n += 1;
            }
            '+' if i == 0 => plus = true,
            ' ' | '-' | '/' | '.' if n > 0 => {
                first_group.get_or_insert(n);
                spaced |= c == ' ';
                slash_or_dot |= c == '/' || c == '.';
            }
            _ => return None,
        }
    }
    if !last_digit {
        return None;
    }
    let digits = std::str::from_utf8(&buf[..n]).ok()?;
    let (code, national) = if plus {
        let (code, national) = split_code(digits)?;
        // `+` with only `-` separators is read as RFC 3966, which takes
        // the first group as the country code: "+49171-…" is not +49
        // there. Agree, or leave it to the full parse.
        let first_is_code = first_group.is_none_or(|g| g == digits.len() - national.len());
        if slash_or_dot || (!spaced && !first_is_code) {
            return None;
        }
        (code, national)
    } else if let Some(rest) = digits.strip_prefix("00") {
        // International dialling prefix, where it is exactly `00`.
        if meta.international_prefix().map(|p| p.as_str()) != Some("00") {
            return None;
        }
        split_code(rest)?
    } else {
        (meta.country_code(), digits.strip_prefix(prefix)?)
    };
    if national.is_empty() || national.starts_with('0') || national.starts_with(prefix) {
        return None;
    }
    if !validator(code)?.is_valid(national) {
        return None;
    }
    let mut e164 = code.to_string();
    e164.push_str(national);
    Phone::from_e164(&e164)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::fast;

    fn e164(input: &str) -> String {
        Phone::parse(input, "DE")
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .e164()
    }

    /// A deterministic xorshift, for generated inputs.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Writes `cc` + `national` in one of the shapes lists have, with random
    /// separators (national shapes only for the region's own numbers).
    fn shape(rng: &mut Rng, cc: &str, national: &str, own: bool) -> String {
        let seps = [" ", "-", "/", ".", "\u{a0}", "  ", " / ", ""];
        let mut body = String::new();
        for (i, c) in national.chars().enumerate() {
            if i > 0 && rng.below(4) == 0 {
                body.push_str(seps[rng.below(seps.len())]);
            }
            body.push(c);
        }
        match rng.below(if own { 7 } else { 5 }) {
            0 => format!("+{cc} {body}"),
            1 => format!("00{cc} {body}"),
            2 => format!("+{cc} (0) {body}"),
            3 => format!("+{cc}-{body}"),
            4 => format!("+{cc}{body}"),
            5 => format!("0{body}"),
            _ => format!("(0){body}"),
        }
    }

    #[test]
    fn fast_path_agrees_with_the_full_parse() {
        // (country code, its region, leading digits of national numbers)
        let plans: &[(&str, &str, &[&str])] = &[
            (
                "49",
                "DE",
                &[
                    "151", "160", "171", "176", "1512", "30", "89", "221", "800", "900", "180",
                    "32", "0", "1",
                ],
            ),
            ("43", "AT", &["664", "676", "1", "316", "0", "720"]),
            ("41", "CH", &["79", "44", "0"]),
            ("44", "GB", &["7911", "20", "0"]),
            ("1", "US", &["202", "415"]),
            ("39", "IT", &["06", "347", "0"]),
            ("33", "FR", &["6", "1"]),
            ("7", "RU", &["912", "495"]),
            ("800", "001", &["1234"]),
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut fast_hits, mut valid) = (0, 0);
        for region_name in ["DE", "AT", "CH", "US"] {
            let region: Region = region_name.parse().expect("region");
            for _ in 0..1000 {
                let (cc, home, leads) = plans[rng.below(plans.len())];
                let mut national = leads[rng.below(leads.len())].to_string();
                for _ in 0..3 + rng.below(9) {
                    national.push((b'0' + rng.below(10) as u8) as char);
                }
                let input = shape(&mut rng, cc, &national, home == region_name);
                let trimmed = input.trim();
                let cleaned = trimmed.replace("(0)", "");
                let full = Phone::parse_full(trimmed, &cleaned, region);
                valid += usize::from(full.is_ok());
                if let Some(fast) = fast::parse(&cleaned, region) {
                    fast_hits += 1;
                    assert_eq!(Ok(fast), full, "{input:?} in {region_name}");
                }
            }
        }
        // The generator is deliberately odd (`+` shapes with `/` or `.`,
        // no-break spaces, shared country codes): those go the full way.
        assert!(
            fast_hits > 100,
            "fast path taken for {fast_hits} of {valid} valid inputs"
        );
        // The documented examples and the shapes of real lists all take it.
        let de: Region = "DE".parse().expect("DE");
        let mut ok = vec![
            "0171 2345678".to_string(),
            "+49 (0) 171 2345679".into(),
            "0049 171 2345680".into(),
            "+43 664 1234567".into(),
            "0176/12345678".into(),
            "+49-160-9876543".into(),
        ];
        for sub in ["3920000", "3920017", "9876543"] {
            for f in [
                "0171 ",
                "+49 171 ",
                "0049 171 ",
                "+49 (0) 171 ",
                "0171",
                "0171/",
                "+49-171-",
            ] {
                ok.push(format!("{f}{sub}"));
            }
        }
        for ok in ok {
            let cleaned = ok.replace("(0)", "");
            assert_eq!(
                fast::parse(&cleaned, de).map(|p| p.e164()),
                Some(e164(&ok)),
                "{ok}"
            );
        }
        // Invalid numbers never do: their errors come from the full parse.
        // No country code starts with 0, so neither do `+049` and `00049`.
        for bad in [
            "12345",
            "0171-234567",
            "+49 171 23",
            "0800 12",
            "+049 171 2345678",
            "00049 171 2345678",
        ] {
            assert_eq!(fast::parse(bad, de), None, "{bad}");
            assert!(Phone::parse(bad, "DE").is_err(), "{bad}");
        }
    }
}
