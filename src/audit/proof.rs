//! The DPO proof of one campaign (G2, G4): for every recipient the consent
//! evidence that allowed the send, as bote knew it when it checked, the
//! check's time, the outcome; for every excluded or skipped one the reason.
//! A DPO checks "nobody without consent got a message" from this file
//! alone: its summary counts the messages that left without evidence, and
//! that count must be 0.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::campaign::journal::{RecipientRecord, RecipientState};
use crate::campaign::{CampaignMeta, Journal};
use crate::config::Wording;
use crate::consent::{Change, ConfirmationMethod, ConsentEvent, Store, StoreError};
use crate::webhook::invite::Invites;

/// How the proof is written.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ProofFormat {
    /// One JSON document: summary and recipients.
    Json,
    /// `;`-separated, spreadsheet-safe, one row per recipient.
    Csv,
    /// Markdown: the summary and a table.
    Md,
}

/// Renders the proof of `meta` in `format`; returns the recipient count
/// and the summary with the text.
pub fn render(
    store: &Store,
    meta: &CampaignMeta,
    journal: &Journal,
    wordings: &BTreeMap<String, Wording>,
    now: DateTime<Utc>,
    format: ProofFormat,
) -> Result<(ProofSummary, Vec<u8>), StoreError> {
    let (mut summary, rows) = build(store, meta, journal, now)?;
    summary.told = told(&rows, wordings);
    let mut out = Vec::new();
    let written = match format {
        ProofFormat::Json => write_json(&mut out, &summary, &rows),
        ProofFormat::Csv => write_csv(&mut out, &rows),
        ProofFormat::Md => write_md(&mut out, &summary, &rows),
    };
    written.map_err(|e| StoreError::Corrupt {
        key: format!("proof of campaign {}", meta.id),
        message: e.to_string(),
    })?;
    Ok((summary, out))
}

/// The consent that covered a send, as the store knew it at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Where the opt-in came from.
    pub source: String,
    /// When the person opted in.
    pub opted_in_at: DateTime<Utc>,
    /// When the double opt-in was confirmed.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// How.
    pub method: Option<ConfirmationMethod>,
    /// The consent wording's version.
    pub text_version: Option<String>,
    /// When bote recorded the confirmation (or the import that carried it).
    pub recorded_at: DateTime<Utc>,
    /// The confirmation request bote sent, if it sent one.
    pub invitation: Option<Invitation>,
}

/// A double opt-in invitation, as the proof shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    /// The confirmation template.
    pub template: String,
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// What became of it.
    pub state: String,
}

/// One recipient of the proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofRow {
    /// Position in the campaign.
    pub index: u32,
    /// E.164, empty for list entries that were no valid number.
    pub phone: String,
    /// Outcome.
    pub state: RecipientState,
    /// Whether a request for this recipient reached the API.
    pub messaged: bool,
    /// When consent was checked right before the request.
    pub checked_at: Option<DateTime<Utc>>,
    /// The latest status and when it came.
    pub updated_at: DateTime<Utc>,
    /// Error code.
    pub code: Option<u32>,
    /// Why it was excluded, skipped, failed or is unknown.
    pub reason: Option<String>,
    /// The consent that allowed the send (for a recipient never messaged:
    /// the consent at planning, if there was one).
    pub evidence: Option<Evidence>,
    /// `consent` (confirmed and not revoked at the check), or what is
    /// wrong: `NO CONSENT AT SEND`, or `not messaged`.
    pub verdict: String,
}

/// The proof's head: the campaign and the numbers a DPO checks first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofSummary {
    /// Campaign id.
    pub campaign: u32,
    /// Template name, language and category.
    pub template: String,
    /// Its category as frozen at creation.
    pub category: String,
    /// The consent topic it needed.
    pub topic: String,
    /// Created when and by whom.
    pub created_at: DateTime<Utc>,
    /// Creator.
    pub created_by: String,
    /// Campaign state.
    pub state: String,
    /// Recipients in the audience.
    pub recipients: u64,
    /// Requests that reached the API.
    pub messaged: u64,
    /// Messaged with confirmed consent at the check.
    pub messaged_with_consent: u64,
    /// Messaged without: must be 0.
    pub messaged_without_consent: u64,
    /// Never messaged (excluded, skipped, pending).
    pub not_messaged: u64,
    /// When this proof was made.
    pub generated_at: DateTime<Utc>,
    /// What each consent wording the messaged recipients agreed to told
    /// them to expect (G7): `None` for a version `[consent.wording]` does
    /// not declare.
    #[serde(default)]
    pub told: BTreeMap<String, Option<Wording>>,
}

/// The declared wording of every consent version the messaged rows name.
fn told(
    rows: &[ProofRow],
    wordings: &BTreeMap<String, Wording>,
) -> BTreeMap<String, Option<Wording>> {
    rows.iter()
        .filter(|r| r.messaged)
        .filter_map(|r| r.evidence.as_ref()?.text_version.clone())
        .map(|v| {
            let w = wordings.get(&v).cloned();
            (v, w)
        })
        .collect()
}

/// Builds the proof of `meta` from its journal and the store.
pub fn build(
    store: &Store,
    meta: &CampaignMeta,
    journal: &Journal,
    now: DateTime<Utc>,
) -> Result<(ProofSummary, Vec<ProofRow>), StoreError> {
    let invites = Invites::open(store)?;
    let mut rows = Vec::new();
    for r in journal.iter() {
        let (index, rec) = r?;
        rows.push(row(store, &invites, meta, index, &rec)?);
    }
    let messaged = rows.iter().filter(|r| r.messaged).count() as u64;
    let with = rows
        .iter()
        .filter(|r| r.messaged && r.verdict == CONSENT)
        .count() as u64;
    let summary = ProofSummary {
        campaign: meta.id.0,
        template: format!("{} ({})", meta.template.name, meta.template.language),
        category: format!("{:?}", meta.template.category).to_uppercase(),
        topic: meta.topic.clone(),
        created_at: meta.created_at,
        created_by: meta.created_by.clone(),
        state: meta.state.to_string(),
        recipients: rows.len() as u64,
        messaged,
        messaged_with_consent: with,
        messaged_without_consent: messaged - with,
        not_messaged: rows.len() as u64 - messaged,
        generated_at: now,
        told: BTreeMap::new(),
    };
    Ok((summary, rows))
}

const CONSENT: &str = "consent";

fn row(
    store: &Store,
    invites: &Invites,
    meta: &CampaignMeta,
    index: u32,
    rec: &RecipientRecord,
) -> Result<ProofRow, StoreError> {
    let messaged = rec.attempts > 0
        || matches!(
            rec.state,
            RecipientState::InFlight
                | RecipientState::Accepted
                | RecipientState::Sent
                | RecipientState::Delivered
                | RecipientState::Read
                | RecipientState::Unknown
        );
    // What bote knew when it checked; a recipient never checked is judged
    // as the plan saw it.
    let at = rec.checked_at.unwrap_or(meta.created_at);
    let evidence = match rec.phone {
        Some(p) => {
            let history = store.history(p)?;
            consent_at(&history, &meta.topic, at).map(|mut e| {
                e.invitation = invites
                    .get(p, &meta.topic)
                    .ok()
                    .flatten()
                    .map(|i| Invitation {
                        template: i.template,
                        at: i.at,
                        state: format!("{:?}", i.state).to_lowercase(),
                    });
                e
            })
        }
        None => None,
    };
    let verdict = match (messaged, &evidence) {
        (false, _) => "not messaged".to_string(),
        (true, Some(e)) if e.confirmed_at.is_some() => CONSENT.to_string(),
        (true, _) => "NO CONSENT AT SEND".to_string(),
    };
    Ok(ProofRow {
        index,
        phone: rec.phone.map(|p| p.e164()).unwrap_or_default(),
        state: rec.state,
        messaged,
        checked_at: rec.checked_at,
        updated_at: rec.updated_at,
        code: rec.code,
        reason: rec.reason.clone(),
        evidence,
        verdict,
    })
}

/// The consent for `topic` that `history` shows as of `at` (events bote
/// had recorded by then): the latest opt-in, confirmed or not, unless it
/// was revoked after; `None` when there was none or it was revoked.
pub fn consent_at(history: &[ConsentEvent], topic: &str, at: DateTime<Utc>) -> Option<Evidence> {
    let mut current: Option<Evidence> = None;
    for e in history.iter().filter(|e| e.recorded_at <= at) {
        match &e.change {
            Change::OptedIn {
                topic: t,
                opted_in_at,
                source,
                text_version,
            } if t == topic => {
                current = Some(Evidence {
                    source: source.clone(),
                    opted_in_at: *opted_in_at,
                    confirmed_at: None,
                    method: None,
                    text_version: text_version.clone(),
                    recorded_at: e.recorded_at,
                    invitation: None,
                });
            }
            Change::Confirmed {
                topic: t,
                confirmed_at,
                method,
            } if t == topic => {
                if let Some(c) = current.as_mut() {
                    c.confirmed_at = Some(*confirmed_at);
                    c.method = Some(*method);
                    c.recorded_at = e.recorded_at;
                }
            }
            Change::Revoked { topic: t, .. } if t == topic => current = None,
            _ => {}
        }
    }
    current
}

/// Writes the proof as one JSON document: `{summary, recipients}`.
pub fn write_json(
    out: &mut dyn Write,
    summary: &ProofSummary,
    rows: &[ProofRow],
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(
        &mut *out,
        &serde_json::json!({ "summary": summary, "recipients": rows }),
    )?;
    writeln!(out)
}

const CSV_HEAD: [&str; 15] = [
    "index",
    "phone",
    "state",
    "messaged",
    "verdict",
    "checked_at",
    "updated_at",
    "code",
    "reason",
    "source",
    "opted_in_at",
    "confirmed_at",
    "method",
    "text_version",
    "invitation",
];

fn cells(r: &ProofRow) -> [String; 15] {
    let t = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    let e = r.evidence.as_ref();
    [
        r.index.to_string(),
        r.phone.clone(),
        r.state.to_string(),
        r.messaged.to_string(),
        r.verdict.clone(),
        t(r.checked_at),
        r.updated_at.to_rfc3339(),
        r.code.map(|c| c.to_string()).unwrap_or_default(),
        r.reason.clone().unwrap_or_default(),
        e.map(|e| e.source.clone()).unwrap_or_default(),
        t(e.map(|e| e.opted_in_at)),
        t(e.and_then(|e| e.confirmed_at)),
        e.and_then(|e| e.method)
            .map(|m| format!("{m:?}").to_lowercase())
            .unwrap_or_default(),
        e.and_then(|e| e.text_version.clone()).unwrap_or_default(),
        e.and_then(|e| e.invitation.as_ref())
            .map(|i| format!("{} at {} ({})", i.template, i.at.to_rfc3339(), i.state))
            .unwrap_or_default(),
    ]
}

/// Writes the proof as CSV (`;`, spreadsheet-safe), one row per recipient.
pub fn write_csv(out: &mut dyn Write, rows: &[ProofRow]) -> std::io::Result<()> {
    let mut w = crate::consent::table::SheetWriter::new(out);
    w.row(CSV_HEAD)?;
    for r in rows {
        w.row(cells(r))?;
    }
    w.into_inner().map(drop)
}

/// Writes the proof as Markdown: the summary, then one table row per recipient.
pub fn write_md(
    out: &mut dyn Write,
    summary: &ProofSummary,
    rows: &[ProofRow],
) -> std::io::Result<()> {
    let s = summary;
    writeln!(out, "# Consent proof — campaign {}\n", s.campaign)?;
    writeln!(out, "| | |\n|---|---|")?;
    for (k, v) in [
        ("template", s.template.clone()),
        ("category", s.category.clone()),
        ("consent topic", s.topic.clone()),
        (
            "created",
            format!(
                "{} UTC by {}",
                s.created_at.format("%Y-%m-%d %H:%M:%S"),
                s.created_by
            ),
        ),
        ("state", s.state.clone()),
        ("recipients", s.recipients.to_string()),
        ("messaged", s.messaged.to_string()),
        (
            "messaged with confirmed consent",
            s.messaged_with_consent.to_string(),
        ),
        (
            "**messaged without consent**",
            format!("**{}**", s.messaged_without_consent),
        ),
        (
            "not messaged (excluded, skipped, pending)",
            s.not_messaged.to_string(),
        ),
        (
            "generated",
            format!("{} UTC", s.generated_at.format("%Y-%m-%d %H:%M:%S")),
        ),
    ] {
        writeln!(out, "| {k} | {v} |")?;
    }
    if !s.told.is_empty() {
        writeln!(
            out,
            "\n## What the recipients were told (G7)\n\n| consent wording | content | frequency |\n|---|---|---|"
        )?;
        for (version, w) in &s.told {
            let (content, frequency) = match w {
                Some(w) => (
                    w.content.replace('|', "\\|"),
                    w.frequency.replace('|', "\\|"),
                ),
                None => (
                    "**not declared in [consent.wording]**".to_string(),
                    "—".to_string(),
                ),
            };
            writeln!(out, "| {version} | {content} | {frequency} |")?;
        }
    }
    writeln!(out, "\nTimes are UTC.\n")?;
    writeln!(out, "| {} |", CSV_HEAD.join(" | "))?;
    writeln!(out, "|{}|", vec!["---"; CSV_HEAD.len()].join("|"))?;
    for r in rows {
        let c: Vec<String> = cells(r).iter().map(|c| c.replace('|', "\\|")).collect();
        writeln!(out, "| {} |", c.join(" | "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + h * 3600, 0).expect("time")
    }

    fn ev(h: i64, change: Change) -> ConsentEvent {
        ConsentEvent {
            recorded_at: t(h),
            actor: "alice".into(),
            origin: "import:x.csv:2".into(),
            change,
        }
    }

    fn opted(h: i64) -> ConsentEvent {
        ev(
            h,
            Change::OptedIn {
                topic: "sale".into(),
                opted_in_at: t(h - 100),
                source: "shop".into(),
                text_version: Some("v3".into()),
            },
        )
    }

    fn confirmed(h: i64) -> ConsentEvent {
        ev(
            h,
            Change::Confirmed {
                topic: "sale".into(),
                confirmed_at: t(h),
                method: ConfirmationMethod::Link,
            },
        )
    }

    fn revoked(h: i64) -> ConsentEvent {
        ev(
            h,
            Change::Revoked {
                topic: "sale".into(),
                revoked_at: t(h),
                reason: "STOP".into(),
            },
        )
    }

    #[test]
    fn the_consent_at_a_time_is_what_was_recorded_by_then() {
        let h = [opted(0), confirmed(1), revoked(10)];
        assert_eq!(
            consent_at(&h, "sale", t(0)).expect("opted").confirmed_at,
            None
        );
        let e = consent_at(&h, "sale", t(5)).expect("confirmed");
        assert_eq!(e.confirmed_at, Some(t(1)));
        assert_eq!(e.method, Some(ConfirmationMethod::Link));
        assert_eq!(e.text_version.as_deref(), Some("v3"));
        assert_eq!(consent_at(&h, "sale", t(11)), None, "revoked by then");
        assert_eq!(consent_at(&h, "events", t(5)), None, "another topic");
        assert_eq!(consent_at(&h, "sale", t(-1)), None, "before anything");
    }

    #[test]
    fn a_new_opt_in_after_a_revocation_needs_its_own_confirmation() {
        let h = [opted(0), confirmed(1), revoked(2), opted(3)];
        assert_eq!(
            consent_at(&h, "sale", t(4))
                .expect("opted again")
                .confirmed_at,
            None
        );
    }
}
