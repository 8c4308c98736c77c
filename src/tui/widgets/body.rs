//! A template as the operator reviews it: header, body and footer with
//! every `{{placeholder}}` highlighted and annotated with where its value
//! comes from, wrapped by the paragraph that shows it.

use ratatui::text::{Line, Span, Text};

use super::super::theme::Theme;
use crate::template::{Binding, Template};

/// Splits `text` into plain and placeholder spans.
pub fn highlight(text: &str, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start + 2..].find("}}") else {
            break;
        };
        if start > 0 {
            spans.push(Span::raw(rest[..start].to_string()));
        }
        let end = start + 2 + len + 2;
        spans.push(Span::styled(
            rest[start..end].to_string(),
            theme.placeholder(),
        ));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        spans.push(Span::raw(rest.to_string()));
    }
    spans
}

fn paragraphs(text: &str, theme: Theme, out: &mut Vec<Line<'static>>) {
    for line in text.lines() {
        out.push(Line::from(highlight(line, theme)));
    }
}

/// The template's text parts, highlighted, then one line per placeholder
/// binding (`{{1}} ← first_name`, `{{2}} = HERBST20`).
pub fn template_text(t: &Template, theme: Theme) -> Text<'static> {
    let mut lines = Vec::new();
    if let Some(h) = t.header_text() {
        paragraphs(h, theme, &mut lines);
        lines.push(Line::default());
    }
    paragraphs(t.body(), theme, &mut lines);
    if let Some(f) = t.footer() {
        lines.push(Line::default());
        lines.push(Line::styled(f.to_string(), theme.dim()));
    }
    let buttons: Vec<String> = t
        .buttons()
        .iter()
        .map(|b| format!("[ {} ]", b.text))
        .collect();
    if !buttons.is_empty() {
        lines.push(Line::styled(buttons.join(" "), theme.dim()));
    }
    let slots = t.slots();
    if !slots.is_empty() {
        lines.push(Line::default());
    }
    for slot in slots {
        let source = match t.binding(&slot.key) {
            Some(Binding::Attribute {
                attribute,
                fallback: Some(f),
            }) => format!("← {attribute} (else {f:?})"),
            Some(Binding::Attribute { attribute, .. }) => format!("← {attribute}"),
            Some(Binding::Value { value }) => format!("= {value}"),
            None => "unbound".into(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{{{{{}}}}}", slot.key), theme.placeholder()),
            Span::raw(format!(" {source}")),
        ]));
    }
    Text::from(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_split_out() {
        let spans = highlight("Hallo {{1}}, Code {{code}}!", Theme::MONO);
        let texts: Vec<&str> = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, ["Hallo ", "{{1}}", ", Code ", "{{code}}", "!"]);
        let open = highlight("broken {{1", Theme::MONO);
        assert_eq!(open.len(), 1);
    }
}
