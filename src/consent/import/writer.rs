//! The writing thread's half of the pipeline: validated rows merged into the store, chunk by chunk.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use super::parse::{Handoff, Parsed, Row, Valid};
use super::report::{ImportReport, RejectsFile};
use super::{ImportError, ImportOptions, CHUNK};
use crate::consent::merge::{merge, ConsentRecord};
use crate::consent::store::{
    record_contact, record_history, Batch, Store, StoreError, Suppression, SuppressionCause,
};
use crate::consent::{Change, ConsentEvent, ConsentStatus, Contact};
use crate::phone::Phone;

/// A contact the current chunk changes: its new state, the record it
/// replaces (whose history it keeps) and the events the chunk adds.
pub(super) struct Staged {
    contact: Contact,
    base: Option<sled::IVec>,
    events: Vec<ConsentEvent>,
}

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
    pub(super) overlay: HashMap<Phone, Staged>,
    /// The stored records of the current chunk's numbers, read in number
    /// order before the chunk is merged (`None`: not in the store).
    pub(super) fetched: HashMap<Phone, Option<sled::IVec>>,
    /// The current chunk's rows, in file order.
    pub(super) pending: Vec<Parsed>,
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
        for handoff in rx {
            let rows = match handoff {
                Handoff::Rows(rows) => rows,
                Handoff::Failed(e) => {
                    // The rows read before the failure still go in.
                    self.chunk(&mut rejects)?;
                    return Err(e.into());
                }
            };
            for parsed in rows {
                self.pending.push(parsed);
                if self.pending.len() == CHUNK {
                    self.chunk(&mut rejects)?;
                    progress();
                }
            }
        }
        self.chunk(&mut rejects)?;
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

    /// Merges the pending rows in file order and writes them as one atomic
    /// batch. The stored records they merge with are read first, in number
    /// order, and the batch is written in number order: sled then visits
    /// each leaf once per chunk instead of once per row.
    fn chunk(&mut self, rejects: &mut Option<RejectsFile>) -> Result<(), ImportError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if !self.opts.dry_run {
            self.writer = Some(self.store.consent_writer());
            // The webhook suppresses numbers that opt out before they are
            // in the store; with the writer held none can appear until the
            // chunk is committed, so asking once per chunk is enough.
            self.has_suppressions |= self.store.has_suppressions()?;
        }
        let mut wanted: Vec<Phone> = self
            .pending
            .iter()
            .filter_map(|p| match &p.row {
                Row::Valid(v) => Some(v.record.phone),
                _ => None,
            })
            // Into an empty store, only this run's own rows can have
            // written a number: no lookup for the others.
            .filter(|p| {
                !self.overlay.contains_key(p) && (!self.started_empty || self.seen.contains_key(p))
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for phone in wanted {
            let record = self.store.contact_record(phone)?;
            self.fetched.insert(phone, record);
        }
        for parsed in std::mem::take(&mut self.pending) {
            self.parsed(parsed, rejects)?;
        }
        self.fetched.clear();
        self.flush()?;
        Ok(())
    }

    /// Accounts for one row of the chunk, in file order.
    fn parsed(
        &mut self,
        Parsed { line, row, cells }: Parsed,
        rejects: &mut Option<RejectsFile>,
    ) -> Result<(), ImportError> {
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
        Ok(())
    }

    /// Folds one validated row into the store state.
    fn row(&mut self, consent: ConsentRecord, line: u64) -> Result<(), String> {
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
            Some(s) => Some(s.contact.clone()),
            None => match self.fetched.get(&phone) {
                Some(Some(record)) => {
                    Some(record_contact(phone, record).map_err(|e| e.to_string())?)
                }
                _ => None,
            },
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
        let events: Vec<ConsentEvent> = if self.opts.dry_run {
            Vec::new()
        } else {
            events_prefix
                .into_iter()
                .chain(merged.changes)
                .map(|change| ConsentEvent {
                    recorded_at: self.opts.now,
                    actor: self.opts.actor.clone(),
                    origin: origin.clone(),
                    change,
                })
                .collect()
        };
        match self.overlay.get_mut(&phone) {
            Some(staged) => {
                staged.contact = merged.contact;
                staged.events.extend(events);
            }
            None => {
                let base = self.fetched.remove(&phone).flatten();
                self.overlay.insert(
                    phone,
                    Staged {
                        contact: merged.contact,
                        base,
                        events,
                    },
                );
            }
        }
        Ok(())
    }

    /// Writes the chunk atomically (a dry run keeps its overlay instead).
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.opts.dry_run {
            return Ok(());
        }
        let mut staged: Vec<(Phone, Staged)> = self.overlay.drain().collect();
        staged.sort_unstable_by_key(|(p, _)| *p);
        for (phone, s) in &staged {
            let kept = match &s.base {
                Some(record) => record_history(*phone, record)?,
                None => Vec::new(),
            };
            self.store
                .stage_record(&mut self.batch, &s.contact, kept.iter().chain(&s.events));
        }
        self.store.commit(std::mem::take(&mut self.batch))?;
        self.writer = None;
        Ok(())
    }
}
