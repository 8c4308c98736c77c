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

pub(super) fn map_columns(
    path: &Path,
    headers: &csv::StringRecord,
    config: &Config,
    has_default_source: bool,
) -> Result<Vec<Column>, ImportError> {
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| Column::from_header(h, &config.consent.attributes))
        .collect();
    for (i, c) in columns.iter().enumerate() {
        if *c == Column::Dropped {
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
            found: headers.iter().map(String::from).collect(),
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
}
