//! `[ui]`: how bote shows times to a person — in the operator's zone
//! (default Europe/Berlin, where bote's users are), always labelled, one
//! format everywhere, whatever zone the machine or the daemon runs in.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{de, Deserialize, Deserializer};

/// `[ui]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// The operator's time zone (IANA name, e.g. `Europe/Berlin`).
    #[serde(deserialize_with = "de_zone")]
    pub timezone: chrono_tz::Tz,
    /// The language of screens and messages (`de` or `en`); unset: the
    /// environment's (`LANG`), English outside a German locale.
    pub language: Option<crate::i18n::Language>,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            timezone: chrono_tz::Europe::Berlin,
            language: None,
        }
    }
}

fn de_zone<'de, D: Deserializer<'de>>(d: D) -> Result<chrono_tz::Tz, D::Error> {
    let s = String::deserialize(d)?;
    s.trim().parse().map_err(|_| {
        de::Error::custom(format!(
            "unknown time zone {s:?}: use an IANA name such as \"Europe/Berlin\" or \"Europe/Vienna\""
        ))
    })
}

impl UiConfig {
    /// `t` to the minute in the operator's zone, labelled: `2026-12-04 21:05 CET`.
    pub fn minute(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.timezone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    /// `t` to the second in the operator's zone, labelled.
    pub fn second(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.timezone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// The zone's abbreviation now (`CET`, `CEST`), for table headers.
    pub fn label_now(&self) -> String {
        Utc::now()
            .with_timezone(&self.timezone)
            .format("%Z")
            .to_string()
    }

    /// A wall-clock time the operator typed, read in their zone; an hour
    /// that a clock change skips is an error, one it repeats the earlier.
    pub fn read_local(&self, naive: NaiveDateTime) -> Result<DateTime<Utc>, String> {
        match self.timezone.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
            chrono::LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
            chrono::LocalResult::None => Err(format!(
                "{naive} does not exist in {} (the clocks skip it)",
                self.timezone
            )),
        }
    }

    /// The zone's offset from UTC now.
    pub fn offset_now(&self) -> chrono::FixedOffset {
        use chrono::Offset;
        Utc::now().with_timezone(&self.timezone).offset().fix()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_operators_zone_and_labelled() {
        let ui = UiConfig::default();
        let winter = DateTime::from_timestamp(1_796_400_000, 0).expect("t"); // 2026-12-04
        assert_eq!(ui.minute(winter), "2026-12-04 17:00 CET");
        let summer = DateTime::from_timestamp(1_783_000_000, 0).expect("t"); // 2026-07-02
        assert!(
            ui.second(summer).ends_with(" CEST"),
            "{}",
            ui.second(summer)
        );
        let vienna: UiConfig = toml::from_str("timezone = \"Europe/Vienna\"").expect("zone");
        assert_eq!(vienna.timezone, chrono_tz::Europe::Vienna);
        let e = toml::from_str::<UiConfig>("timezone = \"Berlin\"").expect_err("no such zone");
        assert!(
            e.to_string().contains("unknown time zone \"Berlin\""),
            "{e}"
        );
    }

    #[test]
    fn a_typed_time_is_read_in_the_zone_and_a_skipped_hour_is_refused() {
        let ui = UiConfig::default();
        let t = |s| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("naive");
        assert_eq!(
            ui.read_local(t("2026-12-04 09:00"))
                .expect("ok")
                .to_rfc3339(),
            "2026-12-04T08:00:00+00:00"
        );
        let e = ui.read_local(t("2026-03-29 02:30")).expect_err("skipped");
        assert!(e.contains("does not exist in Europe/Berlin"), "{e}");
    }
}
