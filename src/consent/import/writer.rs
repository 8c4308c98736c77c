//! The writing thread's half of the pipeline: validated rows merged into the store, chunk by chunk.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use super::parse::{Handoff, Parsed, Row, Valid};
use super::report::ImportReport;
use super::sorted::Spool;
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
    /// The valid rows, until they are merged.
    pub(super) spool: Spool,
    /// The current chunk's rows (line, row), in number order.
    pub(super) pending: Vec<(u64, Valid)>,
    pub(super) batch: Batch,
    /// The number merged last and the first line it appeared on (rows
    /// come in number order, so this is all duplicate detection needs).
    pub(super) last: Option<(Phone, u64)>,
    /// Refused rows (line, reason), kept for the rejects file when one is
    /// wanted: it is written in line order once the merge is done.
    pub(super) refused: Option<Vec<(u64, String)>>,
    pub(super) report: ImportReport,
    /// Accepted rows with a confirmation method but no date: (first line, count).
    pub(super) method_without_date: Option<(u64, u64)>,
    /// The store's consent writer, held from the chunk's first read to its
    /// commit: a revocation landing meanwhile waits instead of being
    /// overwritten by the chunk (it goes between chunks).
    pub(super) writer: Option<std::sync::MutexGuard<'a, ()>>,
}

/// How far the import is, for the progress callback.
pub(super) enum Progress {
    /// Reading and validating the file (the reader's position tells how far).
    Reading,
    /// Writing in number order: `rows` of `of` merged.
    Writing { rows: u64, of: u64 },
}

impl Run<'_> {
    /// Takes the parse thread's rows until it is done, keeping the valid
    /// ones in the spool; then merges them in number order (a number's
    /// rows in file order), writing a chunk every [`CHUNK`] rows.
    pub(super) fn consume(
        &mut self,
        rx: Receiver<Handoff>,
        progress: &dyn Fn(Progress),
    ) -> Result<(), ImportError> {
        let mut failed = None;
        for handoff in rx {
            match handoff {
                Handoff::Rows(rows) => {
                    for parsed in rows {
                        self.collect(parsed)?;
                    }
                    progress(Progress::Reading);
                }
                // The other parse thread may still hold rows read before
                // the failure: take them all, then fail.
                Handoff::Failed(e) => failed = Some(e),
            }
        }
        // The rows read before a failure still go in.
        let of = self.spool.rows();
        let mut sorted =
            std::mem::replace(&mut self.spool, Spool::new(self.store.dir(), 0)).into_sorted()?;
        let mut rows = 0;
        while let Some(row) = sorted.next_row()? {
            self.pending.push(row);
            if self.pending.len() == CHUNK {
                self.chunk()?;
                rows += CHUNK as u64;
                progress(Progress::Writing { rows, of });
            }
        }
        self.chunk()?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        self.report.settle();
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
        Ok(())
    }

    /// Accounts for one row as it comes from the parse thread, in file
    /// order: a refused one is reported, a valid one spooled for the merge.
    fn collect(&mut self, Parsed { line, row }: Parsed) -> Result<(), ImportError> {
        self.report.rows += 1;
        let reason = match row {
            Row::Valid(valid) => return self.spool.push(line, *valid),
            Row::Unreadable(reason) => {
                self.report.unreadable(line, reason.clone());
                reason
            }
            Row::Invalid(reason) => {
                self.report.reject(line, reason.clone());
                reason
            }
        };
        if let Some(refused) = self.refused.as_mut() {
            refused.push((line, reason));
        }
        Ok(())
    }

    /// Merges the pending rows (a number range, in number order) and
    /// writes them as one atomic batch. The stored records they merge with
    /// are read first, in number order, with the consent writer held until
    /// the commit.
    fn chunk(&mut self) -> Result<(), ImportError> {
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
        let last = self.last.map(|(p, _)| p);
        let mut wanted: Vec<Phone> = self
            .pending
            .iter()
            .map(|(_, v)| v.record.phone)
            // Into an empty store, only this run's own rows can have
            // written a number, and in number order only the previous
            // chunk's last number can come again: no lookup for the others.
            .filter(|p| !self.overlay.contains_key(p) && (!self.started_empty || last == Some(*p)))
            .collect();
        wanted.dedup();
        for phone in wanted {
            let record = self.store.contact_record(phone)?;
            self.fetched.insert(phone, record);
        }
        for (line, valid) in std::mem::take(&mut self.pending) {
            self.merge_row(line, valid);
        }
        self.fetched.clear();
        self.flush()?;
        Ok(())
    }

    /// Merges one valid row and accounts for it.
    fn merge_row(&mut self, line: u64, valid: Valid) {
        let Valid {
            record,
            method_without_date,
            spellings,
        } = valid;
        match self.row(record, line) {
            Ok(()) => {
                if method_without_date {
                    let (first, n) = self.method_without_date.get_or_insert((line, 0));
                    *first = (*first).min(line);
                    *n += 1;
                }
                for (spelling, topic) in spellings {
                    self.report.topic_spellings.insert(spelling, topic);
                }
            }
            Err(reason) => {
                self.report.reject(line, reason.clone());
                if let Some(refused) = self.refused.as_mut() {
                    refused.push((line, reason));
                }
            }
        }
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
        // Rows come in (number, line) order: a number seen before in the
        // file is the last one merged.
        match self.last {
            Some((p, first)) if p == phone => {
                self.report.duplicates += 1;
                self.report.note(
                    line,
                    format!("same number as line {first}: merged (latest event wins)"),
                );
            }
            _ => self.last = Some((phone, line)),
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

    /// Writes the chunk atomically. A dry run keeps, instead, the staged
    /// state of the chunk's last number, the only one the next chunk can
    /// merge again.
    fn flush(&mut self) -> Result<(), StoreError> {
        if self.opts.dry_run {
            let last = self.last.map(|(p, _)| p);
            self.overlay.retain(|p, _| Some(*p) == last);
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
