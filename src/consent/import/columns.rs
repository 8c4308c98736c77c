//! The consent CSV's columns: header cells (German and English aliases) mapped to what they hold.

use std::path::Path;

use super::ImportError;
use crate::config::Config;
use crate::consent::table;

/// A column of the consent CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Column {
    Phone,
    OptedInAt,
    Source,
    ConfirmedAt,
    Method,
    Topics,
    Locale,
    TextVersion,
    RevokedAt,
    Attribute(String),
    Dropped,
}

impl Column {
    fn canonical(&self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::OptedInAt => "opted_in_at",
            Self::Source => "opt_in_source",
            Self::ConfirmedAt => "confirmed_at",
            Self::Method => "confirmation_method",
            Self::Topics => "topics",
            Self::Locale => "locale",
            Self::TextVersion => "consent_text_version",
            Self::RevokedAt => "revoked_at",
            Self::Attribute(_) => "attribute",
            Self::Dropped => "dropped",
        }
    }

    fn from_header(cell: &str, declared: &[String]) -> Self {
        let n = table::normalise_header(cell);
        match n.as_str() {
            "phone" | "telefon" | "telefonnummer" | "handynummer" | "handy" | "mobil"
            | "mobilnummer" | "mobile" | "phone number" => Self::Phone,
            "opted in at" | "einwilligung am" | "einwilligung" => Self::OptedInAt,
            "opt in source" | "source" | "quelle" => Self::Source,
            "confirmed at" | "bestätigt am" | "bestaetigt am" => Self::ConfirmedAt,
            "confirmation method" | "bestätigungsart" | "bestaetigungsart" => Self::Method,
            "topics" | "themen" => Self::Topics,
            "locale" | "sprache" | "language" => Self::Locale,
            "consent text version" | "einwilligungstext" => Self::TextVersion,
            "revoked at" | "widerruf am" | "widerrufen am" => Self::RevokedAt,
            other => {
                let alias = match other {
                    "vorname" | "first name" => "first_name",
                    "nachname" | "last name" => "last_name",
                    _ => other,
                };
                declared
                    .iter()
                    .find(|d| table::normalise_header(d) == table::normalise_header(alias))
                    .map(|d| Self::Attribute(d.clone()))
                    .unwrap_or(Self::Dropped)
            }
        }
    }
}

/// Whether a header cell names the phone column (also used for campaign lists).
pub fn is_phone_header(cell: &str) -> bool {
    Column::from_header(cell, &[]) == Column::Phone
}

/// Headers with letters beyond ASCII: the ones a wrong decoding garbles
/// (`Bestätigt am` read as Windows-1252 is `BestÃ¤tigt am`).
const NON_ASCII_HEADERS: &[(&str, &str)] = &[
    ("Bestätigt am", "confirmed_at"),
    ("Bestätigungsart", "confirmation_method"),
];

/// A header's letters and digits without any beyond ASCII: what survives
/// of it whichever way its umlauts were garbled.
fn skeleton(h: &str) -> String {
    table::normalise_header(h)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

pub(super) fn map_columns(
    path: &Path,
    headers: &[String],
    config: &Config,
    has_default_source: bool,
) -> Result<Vec<Column>, ImportError> {
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| Column::from_header(h, &config.consent.attributes))
        .collect();
    for (i, c) in columns.iter().enumerate() {
        if *c == Column::Dropped {
            // Dropping a garbled `Bestätigt am` would store every consent
            // as pending: refuse instead.
            let declared = config.consent.attributes.iter().filter(|a| !a.is_ascii());
            let garbled = NON_ASCII_HEADERS
                .iter()
                .copied()
                .chain(declared.map(|a| (a.as_str(), a.as_str())))
                .find(|(alias, _)| skeleton(alias) == skeleton(&headers[i]));
            if let Some((alias, column)) = garbled {
                return Err(ImportError::GarbledHeader {
                    path: path.to_owned(),
                    cell: headers[i].chars().take(40).collect(),
                    alias: alias.to_string(),
                    column: column.to_string(),
                });
            }
            continue;
        }
        if let Some(j) = columns[..i].iter().position(|d| d == c) {
            return Err(ImportError::DuplicateColumn {
                path: path.to_owned(),
                column: c.canonical(),
                first: headers[j].to_string(),
                second: headers[i].to_string(),
            });
        }
    }
    let mut required = vec![Column::Phone, Column::OptedInAt, Column::Topics];
    if !has_default_source {
        required.push(Column::Source);
    }
    let missing: Vec<&'static str> = required
        .iter()
        .filter(|r| !columns.contains(r))
        .map(Column::canonical)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns {
            path: path.to_owned(),
            missing,
            found: headers
                .iter()
                .map(|h| h.chars().take(40).collect())
                .collect(),
        });
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_aliases() {
        let declared = vec!["first_name".to_string()];
        assert_eq!(Column::from_header("Telefon", &declared), Column::Phone);
        assert_eq!(Column::from_header("Handynummer", &declared), Column::Phone);
        assert_eq!(
            Column::from_header("Einwilligung am", &declared),
            Column::OptedInAt
        );
        assert_eq!(
            Column::from_header("Bestätigt am", &declared),
            Column::ConfirmedAt
        );
        assert_eq!(
            Column::from_header("Vorname", &declared),
            Column::Attribute("first_name".into())
        );
        assert_eq!(
            Column::from_header("Geburtstag", &declared),
            Column::Dropped
        );
    }

    #[test]
    fn a_garbled_umlaut_header_refuses_the_file() {
        let config = Config::default();
        let head = |h: &str| {
            ["phone", "opted_in_at", "opt_in_source", "topics", h]
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
        };
        for garbled in ["BestÃ¤tigt am", "Best\u{fffd}tigt am", "Best?tigungsart"] {
            let e =
                map_columns(Path::new("x.csv"), &head(garbled), &config, false).expect_err(garbled);
            assert!(matches!(e, ImportError::GarbledHeader { .. }), "{e}");
        }
        assert!(map_columns(Path::new("x.csv"), &head("Bestätigt am"), &config, false).is_ok());
        assert!(map_columns(Path::new("x.csv"), &head("Geburtstag"), &config, false).is_ok());
    }
}
