//! The dry run as a person reads it on the terminal (`campaign plan`,
//! `campaign send` before it asks, `bote` without arguments), in the
//! operator's language.

use std::io::Write;

use anyhow::Result;

use crate::audience::PlanSummary;

/// Prints the dry run for humans, in the operator's language.
pub(super) fn print_plan(
    out: &mut impl Write,
    banner: &str,
    s: &PlanSummary,
    ui: &crate::config::UiConfig,
) -> Result<()> {
    use crate::i18n::{Arg, Language};
    let lang = ui.language.unwrap_or_else(Language::from_env);
    let texts = lang.texts();
    let say = |id: &str, args: &[(&str, Arg)]| texts.with(id, args);
    let n = |v: u64| Arg::from(v.to_string());
    writeln!(out, "{banner}")?;
    writeln!(
        out,
        "{}",
        say(
            "cli-plan-title",
            &[
                ("template", s.template.clone().into()),
                ("language", s.language.clone().into()),
                ("category", s.category.to_string().into()),
                ("status", s.status.to_string().into()),
                ("topic", s.topic.clone().into()),
                (
                    "locale",
                    s.locale
                        .as_ref()
                        .map(|l| say("cli-plan-locale", &[("locale", l.clone().into())]))
                        .unwrap_or_default()
                        .into(),
                ),
                (
                    "list",
                    s.list
                        .as_ref()
                        .map(|l| say("cli-plan-list", &[("list", l.clone().into())]))
                        .unwrap_or_default()
                        .into(),
                ),
            ],
        )
    )?;
    writeln!(out)?;
    let counts = [
        ("cli-plan-audience", s.audience),
        ("cli-plan-eligible", s.eligible),
        ("cli-plan-excluded", s.excluded),
    ]
    .map(|(id, v)| (texts.get(id), v));
    let w = counts
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(8);
    for (label, v) in counts {
        writeln!(out, "  {label:<w$} {v:>8}")?;
    }
    for r in &s.reasons {
        writeln!(out, "    {:<24}{:>6}", r.code, r.count)?;
    }
    if !s.languages.is_empty() {
        let per: Vec<String> = s
            .languages
            .iter()
            .map(|(l, n)| {
                let l = if l.is_empty() {
                    texts.get("cli-plan-no-language")
                } else {
                    l.clone()
                };
                format!("{l} {n}")
            })
            .collect();
        writeln!(
            out,
            "{}",
            say(
                "cli-plan-languages",
                &[
                    ("languages", per.join(" · ").into()),
                    ("template", s.language.clone().into()),
                ]
            )
        )?;
    }
    if !s.excluded_sample.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", texts.get("cli-plan-excluded-sample"))?;
        for e in &s.excluded_sample {
            let line = e
                .line
                .map(|l| say("cli-plan-line", &[("n", format!("{l:>4}").into())]))
                .unwrap_or_default();
            writeln!(out, "  {line}{:<18} {}", e.recipient, e.description)?;
        }
    }
    if !s.previews.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", texts.get("cli-plan-previews"))?;
        for p in &s.previews {
            writeln!(
                out,
                "  ┌─ {}",
                say("cli-plan-to", &[("who", p.recipient.clone().into())])
            )?;
            for line in p.text.lines() {
                writeln!(out, "  │ {line}")?;
            }
            writeln!(out, "  └─")?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        say(
            "cli-plan-cost",
            &[("money", lang.money(s.cost.total, &s.cost.currency).into())]
        )
    )?;
    for (country, c) in &s.cost.by_country {
        writeln!(
            out,
            "  {country:<6} {:>6} × {} = {}",
            c.recipients,
            lang.fixed(c.price, 4),
            lang.money(c.subtotal, &s.cost.currency)
        )?;
    }
    let t = &s.tier;
    if t.later == 0 {
        writeln!(
            out,
            "{}",
            say(
                "cli-plan-tier-all",
                &[("used", n(t.used)), ("tier", n(t.tier)), ("now", n(t.now))]
            )
        )?;
    } else {
        let when = t
            .later_at
            .map(|d| ui.minute(d))
            .unwrap_or_else(|| texts.get("cli-plan-later-day"));
        writeln!(
            out,
            "{}",
            say(
                "cli-plan-tier-split",
                &[
                    ("used", n(t.used)),
                    ("tier", n(t.tier)),
                    ("now", n(t.now)),
                    ("later", n(t.later)),
                    ("when", when.into()),
                ]
            )
        )?;
    }
    let source = t
        .source
        .clone()
        .unwrap_or_else(|| texts.get("cli-plan-tier-config"));
    writeln!(
        out,
        "{}",
        say("cli-plan-tier-from", &[("source", source.into())])
    )?;
    let e = &s.estimate;
    let finish = e
        .finishes_at
        .map_or_else(|| texts.get("cli-plan-not-in-a-day"), |d| ui.minute(d));
    match e.quiet_until {
        Some(until) => writeln!(
            out,
            "{}",
            say(
                "cli-plan-time-quiet",
                &[
                    ("secs", n(e.sending_secs)),
                    ("held", n(e.quiet_held)),
                    ("until", ui.minute(until).into()),
                    ("finish", finish.into()),
                ]
            )
        )?,
        None => writeln!(
            out,
            "{}",
            say(
                "cli-plan-time",
                &[("secs", n(e.sending_secs)), ("finish", finish.into())]
            )
        )?,
    }
    for l in &s.lints {
        writeln!(out, "{}: {}", l.level, l.message)?;
    }
    Ok(())
}
