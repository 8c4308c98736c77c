//! List mode: a CSV list of numbers matched against the store.

use std::collections::HashMap;
use std::path::Path;

use super::rules::{Rules, Verdicts};
use super::{Excluded, Exclusion, PlanError};
use crate::config::Config;
use crate::consent::table;
use crate::phone::Phone;

impl Rules<'_> {
    /// Matches a CSV list against the store.
    pub(super) fn list(&self, path: &Path, config: &Config) -> Result<Verdicts, PlanError> {
        let mut out = Verdicts::default();
        let sniffed = table::sniff(path)?;
        let (mut reader, lines) = table::open(path, &sniffed, Default::default())?;
        let headers = reader
            .headers()
            .map_err(|e| table::csv_error(path, &e))?
            .clone();
        let col = headers
            .iter()
            .position(crate::consent::import::is_phone_header)
            .ok_or_else(|| PlanError::NoPhoneColumn(path.to_owned()))?;
        let region = config
            .consent
            .default_region
            .parse()
            .map_err(|_| PlanError::NoPhoneColumn(path.to_owned()))?;
        let mut seen: HashMap<Phone, u64> = HashMap::new();
        let mut record = csv::StringRecord::new();
        while reader
            .read_record(&mut record)
            .map_err(|e| table::csv_error(path, &e))?
        {
            let line = lines.of(&record);
            let cell = record.get(col).unwrap_or_default();
            if record.iter().all(str::is_empty) {
                continue;
            }
            let phone = match Phone::parse_in(cell, region) {
                Ok(p) => p,
                Err(e) => {
                    out.excluded.push(Excluded {
                        phone: None,
                        input: Some(cell.to_string()),
                        line: Some(line),
                        reason: Exclusion::InvalidNumber {
                            detail: e.to_string(),
                        },
                    });
                    continue;
                }
            };
            if let Some(first_line) = seen.get(&phone).copied() {
                out.exclude(
                    Some(phone),
                    Some(line),
                    Exclusion::DuplicateInList { first_line },
                );
                continue;
            }
            seen.insert(phone, line);
            if self.store.suppressed_since(phone)?.is_some() {
                out.exclude(Some(phone), Some(line), Exclusion::Suppressed);
                continue;
            }
            match self.store.contact(phone)? {
                Some(c) => {
                    let status = c.topic(&self.request.topic).map(|t| t.status);
                    let before = out.eligible.len();
                    self.decide(&mut out, phone, status, Some(line), || c.attributes.clone());
                    out.count_language(before, c.locale.as_deref());
                }
                None => out.exclude(Some(phone), Some(line), Exclusion::NoConsent),
            }
        }
        Ok(out)
    }
}
