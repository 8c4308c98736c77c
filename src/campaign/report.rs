//! What a campaign achieved: the funnel from the API's acceptance to the
//! read receipt, who opted out after it, why the rest failed, and what it
//! cost against the plan's estimate — for `campaign report` (Markdown or
//! JSON, to share) and the TUI's detail screen.
//!
//! The funnel is cumulative: a read message was also delivered, sent and
//! accepted, so each stage counts the recipients that got at least that
//! far, and its rate is relative to the accepted. An opt-out counts for
//! the campaign when the recipient revoked its topic through WhatsApp
//! (STOP, the stop button) between the campaign's start and
//! [`OPT_OUT_WINDOW`] after its end.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::cost::{actual_cost, ActualCost};
use super::journal::{Counts, RecipientState};
use super::{CampaignMeta, Journal};
use crate::config::PricingConfig;
use crate::consent::{Change, Store, StoreError};

/// How long after a campaign's end a STOP still counts against it.
pub const OPT_OUT_WINDOW: Duration = Duration::days(7);

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// `accepted`, `sent`, `delivered`, `read`.
    pub stage: String,
    /// Recipients that got at least this far.
    pub count: u64,
    /// Share of the accepted, 0–1 (`None` when nothing was accepted).
    pub rate: Option<f64>,
}

/// Failures with one error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureGroup {
    /// The Cloud API's error code (`None`: bote's own reason).
    pub code: Option<u32>,
    /// The plain-language reason of the first such record.
    pub reason: String,
    /// Recipients.
    pub count: u64,
}

/// What a campaign achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The campaign.
    pub campaign: CampaignMeta,
    /// Recipients in the journal.
    pub recipients: u64,
    /// Accepted → sent → delivered → read.
    pub funnel: Vec<Stage>,
    /// Recipients who revoked the topic through WhatsApp after it.
    pub opted_out: u64,
    /// Recipients never reached, by state (`failed`, `skipped`, …).
    pub not_reached: BTreeMap<String, u64>,
    /// Failures by code, most frequent first.
    pub failures: Vec<FailureGroup>,
    /// The plan's estimate, frozen with the campaign (currency, total).
    pub estimated_cost: Option<(String, f64)>,
    /// What the delivered messages cost, as Meta priced them.
    pub actual_cost: ActualCost,
    /// When the report was made.
    pub made_at: DateTime<Utc>,
}

/// The states of the funnel, in order: each one past the one before.
const FUNNEL: [RecipientState; 4] = [
    RecipientState::Accepted,
    RecipientState::Sent,
    RecipientState::Delivered,
    RecipientState::Read,
];

/// The funnel of `counts`: how many got at least as far as each stage,
/// and their share of the accepted (the TUI draws the same numbers).
pub fn funnel(counts: &Counts) -> Vec<Stage> {
    let at_least = |i: usize| -> u64 { FUNNEL.iter().skip(i).map(|s| counts.get(*s)).sum() };
    let accepted = at_least(0);
    FUNNEL
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let count = at_least(i);
            Stage {
                stage: s.to_string(),
                count,
                rate: (accepted > 0).then(|| count as f64 / accepted as f64),
            }
        })
        .collect()
}

/// Makes the report of `campaign` from its journal and the consent store.
pub fn report(
    campaign: &CampaignMeta,
    journal: &Journal,
    store: &Store,
    prices: &PricingConfig,
    now: DateTime<Utc>,
) -> Result<Report, StoreError> {
    let mut counts = Counts::default();
    let mut failures: BTreeMap<Option<u32>, FailureGroup> = BTreeMap::new();
    let mut opted_out = 0u64;
    let window = campaign.started_at.map(|start| {
        let end = campaign.finished_at.unwrap_or(now).max(start);
        (start, end + OPT_OUT_WINDOW)
    });
    for r in journal.iter() {
        let (_, rec) = r?;
        counts.shift(None, rec.state);
        if rec.state == RecipientState::Failed {
            let group = failures.entry(rec.code).or_insert_with(|| FailureGroup {
                code: rec.code,
                reason: rec
                    .reason
                    .clone()
                    .unwrap_or_else(|| "no reason recorded".into()),
                count: 0,
            });
            group.count += 1;
        }
        let reached = matches!(
            rec.state,
            RecipientState::Accepted
                | RecipientState::Sent
                | RecipientState::Delivered
                | RecipientState::Read
        );
        if let (Some(phone), Some((from, to)), true) = (rec.phone, window, reached) {
            let stopped = store.history(phone)?.iter().any(|e| {
                e.origin.starts_with("webhook:")
                    && matches!(&e.change, Change::Revoked { topic, revoked_at, .. }
                        if topic == &campaign.topic && *revoked_at >= from && *revoked_at <= to)
            });
            opted_out += u64::from(stopped);
        }
    }
    let not_reached = RecipientState::ALL
        .iter()
        .filter(|s| !FUNNEL.contains(s) && counts.get(**s) > 0)
        .map(|s| (s.to_string(), counts.get(*s)))
        .collect();
    let mut failures: Vec<FailureGroup> = failures.into_values().collect();
    failures.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(&b.code)));
    Ok(Report {
        campaign: campaign.clone(),
        recipients: counts.total(),
        funnel: funnel(&counts),
        opted_out,
        not_reached,
        failures,
        estimated_cost: campaign
            .estimate
            .as_ref()
            .map(|e| (e.currency.clone(), e.total)),
        actual_cost: actual_cost(journal, prices)?,
        made_at: now,
    })
}

impl Report {
    /// The report as Markdown, times in `zone` (labelled).
    pub fn markdown(&self, zone: chrono_tz::Tz) -> String {
        let c = &self.campaign;
        let at = |t: Option<DateTime<Utc>>| {
            t.map(|t| {
                t.with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string()
            })
            .unwrap_or_else(|| "—".into())
        };
        let pct = |r: Option<f64>| r.map_or("—".to_string(), |r| format!("{:.1} %", r * 100.0));
        let mut out = format!(
            "# Campaign {} — {} ({}, {})\n\n\
             Topic {} · state {} · {} recipients · started {} · finished {}\n\n\
             ## Funnel\n\n| stage | recipients | of accepted |\n|---|---:|---:|\n",
            c.id,
            c.template.name,
            c.template.language,
            c.template.category,
            c.topic,
            c.state,
            self.recipients,
            at(c.started_at),
            at(c.finished_at),
        );
        for s in &self.funnel {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                s.stage,
                s.count,
                pct(s.rate)
            ));
        }
        let accepted = self.funnel.first().map_or(0, |s| s.count);
        out.push_str(&format!(
            "| opted out (STOP within {} days) | {} | {} |\n",
            OPT_OUT_WINDOW.num_days(),
            self.opted_out,
            pct((accepted > 0).then(|| self.opted_out as f64 / accepted as f64)),
        ));
        if !self.not_reached.is_empty() {
            out.push_str("\n## Not reached\n\n| state | recipients |\n|---|---:|\n");
            for (state, n) in &self.not_reached {
                out.push_str(&format!("| {state} | {n} |\n"));
            }
        }
        if !self.failures.is_empty() {
            out.push_str(
                "\n## Failures by reason\n\n| code | reason | recipients |\n|---|---|---:|\n",
            );
            for f in &self.failures {
                let code = f.code.map_or("—".to_string(), |c| c.to_string());
                out.push_str(&format!(
                    "| {code} | {} | {} |\n",
                    f.reason.replace('|', "/"),
                    f.count
                ));
            }
        }
        let a = &self.actual_cost;
        out.push_str(&format!(
            "\n## Cost\n\n{}\n\nMade {}.\n",
            super::cost::line(
                self.estimated_cost
                    .as_ref()
                    .map(|(cur, t)| (*t, cur.as_str())),
                a
            ),
            at(Some(self.made_at)),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funnel_is_cumulative_and_relative_to_the_accepted() {
        let counts = Counts {
            accepted: 2,
            sent: 3,
            delivered: 10,
            read: 5,
            failed: 4,
            skipped: 7,
            ..Counts::default()
        };
        let f = funnel(&counts);
        let got: Vec<(&str, u64)> = f.iter().map(|s| (s.stage.as_str(), s.count)).collect();
        assert_eq!(
            got,
            [
                ("accepted", 20),
                ("sent", 18),
                ("delivered", 15),
                ("read", 5)
            ]
        );
        assert_eq!(f[0].rate, Some(1.0));
        assert_eq!(f[3].rate, Some(0.25));
        let none = funnel(&Counts {
            failed: 3,
            ..Counts::default()
        });
        assert!(none.iter().all(|s| s.count == 0 && s.rate.is_none()));
    }
}
