//! The time zones a number's holder may be in, for quiet hours: one for
//! most countries, several for a country that spans more (the USA, Canada,
//! Russia, Brazil, Australia, Mexico, Spain with the Canaries, …). Quiet
//! hours hold a send while it is quiet in any of them, so a number whose
//! zone bote cannot pin down never gets a message at 05:00 in the west.
//!
//! Zones of one country with the same offsets all year (America/Detroit
//! and America/New_York) count once. A calling code shared by several
//! regions (+1, +7, +44) is resolved to the number's own region by
//! libphonenumber when those regions' zones differ; the NANP area code
//! decides +1, so that lookup is cached per area code.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use chrono::{Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::zone_table::COUNTRY_ZONES;
use super::Phone;

/// Where quiet hours are assumed when a number's country has no zone data:
/// the business's own zone is the safest guess for its customers.
pub const FALLBACK: Tz = chrono_tz::Europe::Berlin;

/// The zones a number's holder may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalZones {
    /// The ISO region the zones are for (`None`: no region known).
    pub region: Option<&'static str>,
    /// Distinct zones, the country's main one first; never empty.
    pub zones: &'static [Tz],
    /// False when the country has no zone data and [`FALLBACK`] stands in.
    pub known: bool,
}

impl LocalZones {
    /// The zone most of the country's people live in: the answer when quiet
    /// hours somewhere in the country cover the whole day.
    pub fn main(&self) -> Tz {
        self.zones.first().copied().unwrap_or(FALLBACK)
    }
}

/// The main zone where `zone.tab`'s first entry for a country is not
/// where most of its people live.
const MAIN_ZONE: &[(&str, &str)] = &[
    ("AU", "Australia/Sydney"),
    ("BR", "America/Sao_Paulo"),
    ("CA", "America/Toronto"),
    ("CD", "Africa/Kinshasa"),
    ("CL", "America/Santiago"),
    ("EC", "America/Guayaquil"),
    ("ES", "Europe/Madrid"),
    ("KZ", "Asia/Almaty"),
    ("MN", "Asia/Ulaanbaatar"),
    ("PT", "Europe/Lisbon"),
    ("RU", "Europe/Moscow"),
    ("UA", "Europe/Kyiv"),
];

/// Every country's distinct zones, main first (computed once, ~30 ms).
fn table() -> &'static HashMap<&'static str, Vec<Tz>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<Tz>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        COUNTRY_ZONES
            .iter()
            .map(|(country, names)| {
                let main = MAIN_ZONE
                    .iter()
                    .find(|(c, _)| c == country)
                    .map(|(_, z)| *z);
                let ordered = main
                    .into_iter()
                    .chain(names.iter().copied().filter(|n| Some(*n) != main));
                let mut zones: Vec<Tz> = Vec::new();
                let mut seen: Vec<Vec<i32>> = Vec::new();
                for tz in ordered.filter_map(|n| n.parse::<Tz>().ok()) {
                    let offsets = year_of_offsets(tz);
                    if !seen.contains(&offsets) {
                        seen.push(offsets);
                        zones.push(tz);
                    }
                }
                (*country, zones)
            })
            .filter(|(_, zones)| !zones.is_empty())
            .collect()
    })
}

/// A zone's UTC offset twice a day through a year: zones alike in these
/// are alike for quiet hours.
fn year_of_offsets(tz: Tz) -> Vec<i32> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
    start
        .map(|start| {
            (0..730)
                .map(|half_days| {
                    let at = start + Duration::hours(12 * half_days);
                    at.with_timezone(&tz).offset().fix().local_minus_utc()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The zones of a region (`DE`, `US`, …).
pub fn of_region(region: Option<&'static str>) -> LocalZones {
    match region.and_then(|r| table().get(r)) {
        Some(zones) => LocalZones {
            region,
            zones,
            known: true,
        },
        None => LocalZones {
            region,
            zones: &[FALLBACK],
            known: false,
        },
    }
}

/// The zones the holder of `phone` may be in.
pub fn of(phone: Phone) -> LocalZones {
    of_region(region_for_zones(phone))
}

/// How the plan names a number's country: its region, or its calling code
/// when it belongs to none (`+882`).
pub fn country_label(phone: Phone, zones: &LocalZones) -> String {
    match zones.region {
        Some(r) => r.to_string(),
        None => {
            let digits = phone.digits();
            let cc = digits
                .get(..super::country_code_len(&digits))
                .unwrap_or("?");
            format!("+{cc}")
        }
    }
}

/// The number's region as far as it matters for its zone: the calling
/// code's main region, unless the code is shared by regions in different
/// zones; then libphonenumber's region of this number.
fn region_for_zones(phone: Phone) -> Option<&'static str> {
    // "001" is libphonenumber's region of non-geographic codes (+800,
    // +882): no country, so no zone.
    let main = phone.region_code().filter(|r| *r != "001")?;
    let digits = phone.digits();
    let cc_len = super::country_code_len(&digits);
    let cc: u16 = digits.get(..cc_len)?.parse().ok()?;
    if !shared_across_zones(cc) {
        return Some(main);
    }
    // +1: the three digits after the code are the NANP area code, which
    // belongs to exactly one region.
    let cache_key = (cc == 1)
        .then(|| digits.get(1..4).and_then(|a| a.parse::<u16>().ok()))
        .flatten();
    static AREAS: OnceLock<Mutex<HashMap<u16, Option<&'static str>>>> = OnceLock::new();
    let areas = AREAS.get_or_init(Default::default);
    if let Some(area) = cache_key {
        if let Some(hit) = areas.lock().ok().and_then(|m| m.get(&area).copied()) {
            return hit;
        }
    }
    let region = phone
        .region()
        .and_then(|id| static_region(id.as_ref()))
        .or(Some(main));
    if let (Some(area), Ok(mut m)) = (cache_key, areas.lock()) {
        m.insert(area, region);
    }
    region
}

/// The table's own `'static` spelling of a region code.
fn static_region(id: &str) -> Option<&'static str> {
    COUNTRY_ZONES
        .binary_search_by(|(c, _)| (*c).cmp(id))
        .ok()
        .and_then(|i| COUNTRY_ZONES.get(i))
        .map(|(c, _)| *c)
}

/// Whether the regions sharing calling code `cc` lie in different zones.
fn shared_across_zones(cc: u16) -> bool {
    // Worked out once for every calling code: a lock or a map insert per
    // send would sit on the feeder's path.
    static SHARED: OnceLock<HashSet<u16>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            (1..=999u16)
                .filter(|cc| {
                    let regions = phonenumber::metadata::DATABASE
                        .region(cc)
                        .unwrap_or_default();
                    if regions.len() < 2 {
                        return false;
                    }
                    // Compared by their clocks: Europe/Guernsey is Europe/London.
                    let mut sets = regions.iter().map(|r| {
                        table().get(r).map(|zones| {
                            let mut clocks: Vec<Vec<i32>> =
                                zones.iter().map(|z| year_of_offsets(*z)).collect();
                            clocks.sort();
                            clocks
                        })
                    });
                    match sets.next() {
                        Some(first) => sets.any(|s| s != first),
                        None => false,
                    }
                })
                .collect()
        })
        .contains(&cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(e164: &str) -> Phone {
        Phone::from_e164(e164).expect("e164")
    }

    #[test]
    fn every_zone_name_is_known_to_chrono_tz() {
        let bad: Vec<&str> = COUNTRY_ZONES
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .filter(|n| n.parse::<Tz>().is_err())
            .collect();
        assert!(bad.is_empty(), "unknown zones: {bad:?}");
        assert!(COUNTRY_ZONES.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
        for (country, zone) in MAIN_ZONE {
            let zones = table().get(country).expect("country in table");
            assert_eq!(zones[0].name(), *zone, "{country}'s main zone");
        }
    }

    #[test]
    fn one_zone_countries_and_the_fallback() {
        let de = of(phone("+491712345678"));
        assert_eq!(
            (de.region, de.zones, de.known),
            (Some("DE"), &[chrono_tz::Europe::Berlin][..], true)
        );
        // +882 (international networks) belongs to no country.
        let sat = of(phone("+88216123456"));
        assert!(!sat.known);
        assert_eq!(sat.zones, &[FALLBACK]);
    }

    #[test]
    fn the_usa_spans_its_zones_once_each() {
        let us = of(phone("+12025550123"));
        assert_eq!(us.region, Some("US"));
        let names: Vec<&str> = us.zones.iter().map(|z| z.name()).collect();
        assert_eq!(names[0], "America/New_York");
        for z in [
            "America/Chicago",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "Pacific/Honolulu",
        ] {
            assert!(names.contains(&z), "{z} in {names:?}");
        }
        // Detroit keeps New York's clock: not a zone of its own here.
        assert!(!names.contains(&"America/Detroit"), "{names:?}");
        assert!(names.len() < 12, "{names:?}");
    }

    #[test]
    fn shared_calling_codes_resolve_to_the_numbers_region() {
        // 416 is Toronto's area code: Canada, not the USA.
        let toronto = of(phone("+14165550123"));
        assert_eq!(toronto.region, Some("CA"));
        assert_eq!(toronto.main().name(), "America/Toronto");
        // The answer is cached per area code and stays the same.
        assert_eq!(of(phone("+14165550199")).region, Some("CA"));
        // +7 7xx is Kazakhstan.
        assert_eq!(of(phone("+77012345678")).region, Some("KZ"));
        assert_eq!(of(phone("+79123456789")).region, Some("RU"));
        // +44's regions (GB, GG, JE, IM) share London's clock: no parse.
        assert!(!shared_across_zones(44));
        assert!(shared_across_zones(1));
    }
}
