//! The writing thread's half of the pipeline: validated rows merged into the store, chunk by chunk.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use super::parse::{Handoff, Parsed, Row, Valid};
use super::report::{ImportReport, RejectsFile};
use super::{ImportError, ImportOptions, CHUNK};
use crate::consent::merge::{merge, ConsentRecord};
use crate::consent::store::{Batch, Store, StoreError, Suppression, SuppressionCause};
use crate::consent::{Change, ConsentEvent, ConsentStatus, Contact};
use crate::phone::Phone;

/// State of one import run (on the calling thread, the only one that
/// touches the store).
pub(super) struct Run<'a> {
    pub(super) store: &'a Store,
    pub(super) opts: &'a ImportOptions,
    pub(super) file_label: String,
    /// Whether the store has suppressed numbers at all; when not, no row
    /// needs the suppression lookup (asked again with each chunk's writer).
    pub(super) has_suppressions: bool,
    /// Whether the store had no contacts when the run began. Imports run one at a
    /// time (`Store::importer`), and nothing else creates contacts.
    pub(super) started_empty: bool,
    /// Contacts changed in the current chunk (all of them in a dry run).
    pub(super) overlay: HashMap<Phone, Contact>,
    pub(super) batch: Batch,
    /// Number → first line it appeared on.
    pub(super) seen: HashMap<Phone, u64>,
    pub(super) report: ImportReport,
    /// Accepted rows with a confirmation method but no date: (first line, count).
    pub(super) method_without_date: Option<(u64, u64)>,
    /// The store's consent writer, held from the chunk's first read to its
    /// commit: a revocation landing meanwhile waits instead of being
    /// overwritten by the chunk (it goes between chunks).
    pub(super) writer: Option<std::sync::MutexGuard<'a, ()>>,
}

impl Run<'_> {
    /// Takes the parse thread's rows in file order until it is done; writes
    /// a chunk every [`CHUNK`] rows.
    pub(super) fn consume(
        &mut self,
        rx: Receiver<Handoff>,
        mut rejects: Option<RejectsFile>,
        progress: &dyn Fn(),
    ) -> Result<(), ImportError> {
        let mut in_chunk = 0;
        for handoff in rx {
            let rows = match handoff {
                Handoff::Rows(rows) => rows,
                Handoff::Failed(e) => {
                    self.flush()?;
                    return Err(e.into());
                }
            };
            for Parsed { line, row, cells } in rows {
                self.report.rows += 1;
                let refused = match row {
                    Row::Unreadable(reason) => {
                        self.report.unreadable(line, reason.clone());
                        Some(reason)
                    }
                    Row::Invalid(reason) => {
                        self.report.reject(line, reason.clone());
                        Some(reason)
                    }
                    Row::Valid(valid) => {
                        let Valid {
                            record,
                            method_without_date,
                            spellings,
                        } = *valid;
                        match self.row(record, line) {
                            Ok(()) => {
                                if method_without_date {
                                    self.method_without_date.get_or_insert((line, 0)).1 += 1;
                                }
                                for (spelling, topic) in spellings {
                                    self.report.topic_spellings.insert(spelling, topic);
                                }
                                None
                            }
                            Err(reason) => {
                                self.report.reject(line, reason.clone());
                                Some(reason)
                            }
                        }
                    }
                };
                if let (Some(reason), Some(r)) = (refused, rejects.as_mut()) {
                    let line = line.to_string();
                    let head = [line.as_str(), reason.as_str()];
                    r.write(
                        head.into_iter()
                            .chain(cells.iter().flatten().map(String::as_str)),
                    )?;
                }
                in_chunk += 1;
                if in_chunk == CHUNK {
                    self.flush()?;
                    in_chunk = 0;
                    progress();
                }
            }
        }
        self.flush()?;
        // One note, not one per row: form exports fill the method column
        // on every row.
        if let Some((first, n)) = self.method_without_date {
            let rows = if n == 1 {
                "1 row".to_string()
            } else {
                format!("{n} rows, the first here")
            };
            self.report.note(
                first,
                format!(
                    "confirmation_method without confirmed_at: kept as pending (no marketing until confirmed); {rows}"
                ),
            );
        }
        if let Some(r) = rejects {
            r.finish()?;
        }
        Ok(())
    }

    /// Folds one validated row into the store state.
    fn row(&mut self, consent: ConsentRecord, line: u64) -> Result<(), String> {
        if self.writer.is_none() && !self.opts.dry_run {
            self.writer = Some(self.store.consent_writer());
            // The webhook suppresses numbers that opt out before they are
            // in the store; with the writer held none can appear until the
            // chunk is committed, so asking once per chunk is enough.
            self.has_suppressions |= self.store.has_suppressions().map_err(|e| e.to_string())?;
        }
        let phone = consent.phone;
        let mut events_prefix = Vec::new();
        let suppressed = if self.has_suppressions {
            self.store.suppression(phone).map_err(|e| e.to_string())?
        } else {
            None
        };
        if let Some(Suppression { since, cause }) = suppressed {
            if consent.opted_in_at <= since || consent.revoked_at.is_some() {
                let day = since.format("%Y-%m-%d");
                return Err(match cause {
                    SuppressionCause::Erased => format!(
                        "number was erased on {day} (G10); only a consent given after that can re-add it"
                    ),
                    SuppressionCause::OptedOut => format!(
                        "number opted out on {day} (G5); only a consent given after that can add it"
                    ),
                });
            }
            if !self.overlay.contains_key(&phone) {
                self.store.stage_unsuppress(&mut self.batch, phone);
                events_prefix.push(match cause {
                    SuppressionCause::Erased => Change::SuppressionLifted { erased_at: since },
                    SuppressionCause::OptedOut => Change::OptOutLifted {
                        opted_out_at: since,
                    },
                });
            }
        }
        let existing = match self.overlay.get(&phone) {
            Some(c) => Some(c.clone()),
            // Into an empty store, only this run's own rows can have
            // written a number: skip the lookup for the others.
            None if self.started_empty && !self.seen.contains_key(&phone) => None,
            None => self.store.contact(phone).map_err(|e| e.to_string())?,
        };
        let origin = format!("import:{}:{line}", self.file_label);
        let merged = merge(existing.as_ref(), &consent, &origin);
        for msg in &merged.ignored {
            self.report.note(line, msg.clone());
        }
        if let Some(first) = self.seen.get(&phone).copied() {
            self.report.duplicates += 1;
            self.report.note(
                line,
                format!("same number as line {first}: merged (latest event wins)"),
            );
        } else {
            self.seen.insert(phone, line);
        }
        match (
            &existing,
            merged.changes.is_empty() && events_prefix.is_empty(),
        ) {
            (None, _) => self.report.imported += 1,
            (Some(_), false) => self.report.updated += 1,
            (Some(_), true) => self.report.unchanged += 1,
        }
        if consent
            .topics
            .iter()
            .any(|t| merged.contact.topics.get(t).map(|c| c.status) == Some(ConsentStatus::Pending))
        {
            self.report.pending += 1;
        }
        if merged.changes.is_empty() && events_prefix.is_empty() && existing.is_some() {
            return Ok(());
        }
        if !self.opts.dry_run {
            // One record for the row's events (see `Store::stage_events`).
            let events: Vec<ConsentEvent> = events_prefix
                .into_iter()
                .chain(merged.changes)
                .map(|change| ConsentEvent {
                    recorded_at: self.opts.now,
                    actor: self.opts.actor.clone(),
                    origin: origin.clone(),
                    change,
                })
                .collect();
            self.store
                .stage_events(&mut self.batch, phone, &events)
                .map_err(|e| e.to_string())?;
        }
        self.overlay.insert(phone, merged.contact);
        Ok(())
    }

    /// Writes the chunk atomically (a dry run keeps its overlay instead).
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.opts.dry_run {
            return Ok(());
        }
        for contact in self.overlay.values() {
            self.store.stage_contact(&mut self.batch, contact)?;
        }
        self.store.commit(std::mem::take(&mut self.batch))?;
        self.overlay.clear();
        self.writer = None;
        Ok(())
    }
}
